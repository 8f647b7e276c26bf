package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/openai-api-convertor/convertor"
)

var _ convertor.PriceStore = (*PriceStore)(nil)

// Attributes of the model-pricing table.
const (
	priceSK           = "sk"
	priceModel        = "model"
	priceRoute        = "route"
	priceFrom         = "effective_from"
	priceInput        = "input_micros_per_mtok"
	priceOutput       = "output_micros_per_mtok"
	priceCacheRead    = "cache_read_micros_per_mtok"
	priceCacheWrite   = "cache_write_micros_per_mtok"
	priceCacheWrite1h = "cache_write_1h_micros_per_mtok"
	priceTiers        = "tiers" // JSON list of convertor.PriceTier
	priceSource       = "source"
	priceAnyRouteSort = "*" // the sort-key route of a price for every route
)

// PriceStore keeps the pricing table, a convertor.PriceStore safe for
// concurrent use. Each price is one item: pk the model id (without
// geography prefix), sk "<route or *>#<effective_from>", so a model's
// prices sit in one partition in effective order per route.
type PriceStore struct {
	db    *dynamodb.Client
	table string
}

// NewPriceStore returns the store for the model-pricing table named table.
func NewPriceStore(db *dynamodb.Client, table string) *PriceStore {
	if db == nil || table == "" {
		panic("dynamo: NewPriceStore needs a client and a table name")
	}
	return &PriceStore{db: db, table: table}
}

// Prices returns every price. It scans the table: it holds a few rows per
// model and callers cache the result.
func (s *PriceStore) Prices(ctx context.Context) ([]convertor.Price, error) {
	var out []convertor.Price
	p := dynamodb.NewScanPaginator(s.db, &dynamodb.ScanInput{TableName: &s.table, ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, storeError("list prices", s.table, err)
		}
		for _, it := range page.Items {
			pr, err := parsePrice(it)
			if err != nil {
				return nil, fmt.Errorf("list prices: %w", err)
			}
			out = append(out, pr)
		}
	}
	return out, nil
}

// CreatePrice adds p with a conditional put, so a price once written is
// never rewritten: corrections are newer prices, and replays of past
// periods keep pricing as they did. Returns EInvalid if p does not
// validate and EConflict if a price of the same model, route and
// effective instant exists.
func (s *PriceStore) CreatePrice(ctx context.Context, p convertor.Price) error {
	if err := p.Validate(); err != nil {
		return err
	}
	route := p.Route
	if route == "" {
		route = priceAnyRouteSort
	}
	it := item{
		attrPK:          attrS(p.Model),
		priceSK:         attrS(route + "#" + p.EffectiveFrom.UTC().Format(timeLayout)),
		priceModel:      attrS(p.Model),
		priceFrom:       attrTime(p.EffectiveFrom),
		priceInput:      attrN(p.InputMicros),
		priceOutput:     attrN(p.OutputMicros),
		priceCacheRead:  attrN(p.CacheReadMicros),
		priceCacheWrite: attrN(p.CacheWriteMicros),
	}
	it.setS(priceRoute, p.Route)
	it.setS(priceSource, p.Source)
	it.setN(priceCacheWrite1h, p.CacheWrite1hMicros)
	if len(p.Tiers) > 0 {
		// Tiers are read and written whole, never queried: one JSON
		// attribute keeps the item flat.
		b, err := json.Marshal(p.Tiers)
		if err != nil {
			return fmt.Errorf("create price %s: %w", p.Model, err)
		}
		it.setS(priceTiers, string(b))
	}
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           &s.table,
		Item:                it,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if isConditionFailed(err) {
		return errPriceExists(p)
	}
	if err != nil {
		return storeError("create price "+p.Model, s.table, err)
	}
	return nil
}

func errPriceExists(p convertor.Price) error {
	route := p.Route
	if route == "" {
		route = "(every route)"
	}
	return convertor.Errorf(convertor.EConflict, "a price for %s %s from %s exists; prices are never rewritten",
		p.Model, route, p.EffectiveFrom.UTC().Format(time.RFC3339Nano))
}

func parsePrice(it item) (convertor.Price, error) {
	var p convertor.Price
	var errs []error
	str := func(dst *string, name string) {
		v, err := it.str(name)
		*dst = v
		errs = append(errs, err)
	}
	num := func(dst *int64, name string) {
		v, err := it.num(name)
		*dst = v
		errs = append(errs, err)
	}
	str(&p.Model, priceModel)
	str(&p.Route, priceRoute)
	str(&p.Source, priceSource)
	num(&p.InputMicros, priceInput)
	num(&p.OutputMicros, priceOutput)
	num(&p.CacheReadMicros, priceCacheRead)
	num(&p.CacheWriteMicros, priceCacheWrite)
	num(&p.CacheWrite1hMicros, priceCacheWrite1h)
	var tiers string
	str(&tiers, priceTiers)
	if tiers != "" {
		errs = append(errs, json.Unmarshal([]byte(tiers), &p.Tiers))
	}
	from, err := it.time(priceFrom)
	p.EffectiveFrom = from
	errs = append(errs, err)
	for _, err := range errs {
		if err != nil {
			return convertor.Price{}, fmt.Errorf("price item %s: %w", p.Model, err)
		}
	}
	return p, nil
}
