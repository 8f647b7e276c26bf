package dynamo

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/openai-api-convertor/convertor"
)

var _ convertor.UsageStore = (*UsageStore)(nil)

// DefaultUsageTTL is how long usage records are kept: more than a year,
// because invoices are disputed and re-run after a year closes.
const DefaultUsageTTL = 400 * 24 * time.Hour

// usageHourLayout names the by-hour index partition of a record.
const usageHourLayout = "2006-01-02T15"

// Attributes of the usage table; the index keys are described in
// deploy/tables/README.md.
const (
	usageTS           = "ts"     // event time, sort key of both indexes
	usageKeyID        = "key_id" // by-key partition; absent for requests without a key
	usageHour         = "hour"   // by-hour partition
	usageVersion      = "v"
	usageRequestID    = "request_id"
	usageModel        = "model"
	usageBedrockModel = "bedrock_model_id"
	usageRegion       = "region"
	usageInput        = "input_tokens"
	usageOutput       = "output_tokens"
	usageCacheRead    = "cache_read_tokens"
	usageCacheWrite   = "cache_write_tokens"
	usageCacheWrite1h = "cache_write_1h_tokens"
	usageEstimated    = "estimated"
	usageLatency      = "latency_ms"
	usageTTFT         = "ttft_ms"
	usageStatus       = "status"
	usageErrorType    = "error_type"
	usageHTTPStatus   = "http_status"
	usageStreamed     = "streamed"
	usageDisconnected = "disconnected"
	usageCost         = "cost_micros"
	usagePriceFrom    = "price_from"
	usageUnpriced     = "unpriced"
)

// UsageStore keeps priced usage records in the usage table, one item per
// event id, a convertor.UsageStore safe for concurrent use. Items carry
// the index attributes (key_id, hour, ts) and a TTL attribute, so DynamoDB
// deletes a record ttl after its event.
type UsageStore struct {
	db    *dynamodb.Client
	table string
	ttl   time.Duration
	// noTx is set once the server has said it does not implement
	// TransactWriteItems; PutUsages then puts records one by one.
	noTx atomic.Bool
}

// NewUsageStore returns the store for the usage table named table; records
// expire ttl after their event time (DefaultUsageTTL when ttl <= 0).
func NewUsageStore(db *dynamodb.Client, table string, ttl time.Duration) *UsageStore {
	if db == nil || table == "" {
		panic("dynamo: NewUsageStore needs a client and a table name")
	}
	if ttl <= 0 {
		ttl = DefaultUsageTTL
	}
	return &UsageStore{db: db, table: table, ttl: ttl}
}

// PutUsage stores r with a conditional put on its event id: a redelivered
// event finds its record and reports stored false, not an error. Returns
// EInvalid if r's event does not validate.
func (s *UsageStore) PutUsage(ctx context.Context, r *convertor.UsageRecord) (stored bool, err error) {
	if err := r.Validate(); err != nil {
		return false, err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           &s.table,
		Item:                s.usageItem(r),
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, storeError("put usage "+r.ID, s.table, err)
	}
	return true, nil
}

// usageTxItems is DynamoDB's limit on the items of one TransactWriteItems.
const usageTxItems = 100

// PutUsages stores many records as PutUsage would, reporting per record
// whether it was stored (false for a record that existed). Up to 100
// records go in one TransactWriteItems of conditional puts: one request
// instead of a hundred, which is what lets one accountant keep up with a
// busy gateway. A transaction that fails only because some records exist
// is retried without them; on servers without transactions (dynalite) the
// records are put one by one. Returns EInvalid if a record does not
// validate, before writing anything.
func (s *UsageStore) PutUsages(ctx context.Context, recs []*convertor.UsageRecord) (stored []bool, err error) {
	for _, r := range recs {
		if err := r.Validate(); err != nil {
			return nil, err
		}
	}
	stored = make([]bool, len(recs))
	// A transaction may not touch one item twice: later copies of an id
	// are duplicates of the first.
	first := make(map[string]bool, len(recs))
	var todo []int
	for i, r := range recs {
		if !first[r.ID] {
			first[r.ID] = true
			todo = append(todo, i)
		}
	}
	for len(todo) > 0 {
		n := min(len(todo), usageTxItems)
		if err := s.putChunk(ctx, recs, todo[:n], stored); err != nil {
			return stored, err
		}
		todo = todo[n:]
	}
	return stored, nil
}

// putChunk writes recs[i] for i in idx, setting stored[i].
func (s *UsageStore) putChunk(ctx context.Context, recs []*convertor.UsageRecord, idx []int, stored []bool) error {
	// Each round drops the records found to exist, so it ends within
	// len(idx)+1 rounds; other cancellations (conflicts with a concurrent
	// writer of the same id) are retried a few times.
	for conflicts := 0; len(idx) > 0; {
		if s.noTx.Load() {
			return s.putEach(ctx, recs, idx, stored)
		}
		items := make([]types.TransactWriteItem, len(idx))
		for j, i := range idx {
			items[j] = types.TransactWriteItem{Put: &types.Put{
				TableName:           &s.table,
				Item:                s.usageItem(recs[i]),
				ConditionExpression: aws.String("attribute_not_exists(pk)"),
			}}
		}
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err == nil {
			for _, i := range idx {
				stored[i] = true
			}
			return nil
		}
		if isUnknownOperation(err) {
			s.noTx.Store(true)
			continue
		}
		codes, ok := canceledReasons(err)
		if !ok || conflicts >= maxAttempts {
			return storeError(fmt.Sprintf("put %d usage records", len(idx)), s.table, err)
		}
		var rest []int
		for j, i := range idx {
			if reason(codes, j) != "ConditionalCheckFailed" {
				rest = append(rest, i)
			}
		}
		if len(rest) == len(idx) {
			conflicts++
		}
		idx = rest
	}
	return nil
}

// putEach writes the records one conditional put at a time.
func (s *UsageStore) putEach(ctx context.Context, recs []*convertor.UsageRecord, idx []int, stored []bool) error {
	for _, i := range idx {
		ok, err := s.PutUsage(ctx, recs[i])
		if err != nil {
			return err
		}
		stored[i] = ok
	}
	return nil
}

// RepriceUsage rewrites the record with r's cost fields, on condition that
// it exists. The whole item is written rather than updated in place so
// that clearing PriceFrom needs no REMOVE, which some local servers
// ignore; the
// fields other than the cost come from the stored item. Returns ENotFound.
func (s *UsageStore) RepriceUsage(ctx context.Context, r *convertor.UsageRecord) error {
	op := "reprice usage " + r.ID
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            pk(r.ID),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return storeError(op, s.table, err)
	}
	if out.Item == nil {
		return convertor.Errorf(convertor.ENotFound, "usage record %s not found", r.ID)
	}
	old, err := parseUsage(out.Item)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	old.CostMicros, old.PriceFrom, old.Unpriced = r.CostMicros, r.PriceFrom, r.Unpriced
	it := s.usageItem(old)
	// Keep the stored expiry: a re-pricing must not extend retention.
	if exp, ok := out.Item[UsageTTLAttribute]; ok {
		it[UsageTTLAttribute] = exp
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           &s.table,
		Item:                it,
		ConditionExpression: aws.String("attribute_exists(pk)"),
	})
	if isConditionFailed(err) {
		return convertor.Errorf(convertor.ENotFound, "usage record %s not found", r.ID)
	}
	if err != nil {
		return storeError(op, s.table, err)
	}
	return nil
}

// Usage calls fn with the records with from <= Time < to, oldest first, a
// DynamoDB page at a time. With keyID it queries the by-key index; without,
// it walks the by-hour index one hour of the period after the other. Index
// reads are eventually consistent: a record written a moment ago may be
// missing, which suits replays of closed periods and request logs.
func (s *UsageStore) Usage(ctx context.Context, from, to time.Time, keyID string, fn func([]*convertor.UsageRecord) error) error {
	from, to = from.UTC(), to.UTC()
	if !from.Before(to) {
		return nil
	}
	// BETWEEN is inclusive; the last instant before to makes it half-open.
	lo, hi := attrTime(from), attrTime(to.Add(-time.Nanosecond))
	if keyID != "" {
		return s.query(ctx, UsageByKeyIndex, usageKeyID, attrS(keyID), lo, hi, fn)
	}
	for h := from.Truncate(time.Hour); h.Before(to); h = h.Add(time.Hour) {
		if err := s.query(ctx, UsageByHourIndex, usageHour, attrS(h.Format(usageHourLayout)), lo, hi, fn); err != nil {
			return err
		}
	}
	return nil
}

func (s *UsageStore) query(ctx context.Context, index, hashAttr string, hash, lo, hi types.AttributeValue, fn func([]*convertor.UsageRecord) error) error {
	op := "query usage " + index
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 aws.String(index),
		KeyConditionExpression:    aws.String("#h = :h AND #ts BETWEEN :lo AND :hi"),
		ExpressionAttributeNames:  map[string]string{"#h": hashAttr, "#ts": usageTS},
		ExpressionAttributeValues: item{":h": hash, ":lo": lo, ":hi": hi},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return storeError(op, s.table, err)
		}
		if len(page.Items) == 0 {
			continue
		}
		recs := make([]*convertor.UsageRecord, len(page.Items))
		for i, it := range page.Items {
			if recs[i], err = parseUsage(it); err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
		}
		if err := fn(recs); err != nil {
			return err
		}
	}
	return nil
}

func (s *UsageStore) usageItem(r *convertor.UsageRecord) item {
	t := r.Time.UTC()
	it := item{
		attrPK:            attrS(r.ID),
		usageTS:           attrTime(t),
		usageHour:         attrS(t.Format(usageHourLayout)),
		UsageTTLAttribute: attrN(t.Add(s.ttl).Unix()),
		usageVersion:      attrN(int64(r.Version)),
		usageStatus:       attrS(r.Status),
		usageModel:        attrS(r.Model),
		// Numbers always present, so that readers and the admin API never
		// mistake an absent counter for a missing field.
		usageInput:      attrN(r.InputTokens),
		usageOutput:     attrN(r.OutputTokens),
		usageCacheRead:  attrN(r.CacheReadTokens),
		usageCacheWrite: attrN(r.CacheWriteTokens),
		usageCost:       attrN(r.CostMicros),
	}
	it.setS(usageKeyID, r.KeyID)
	it.setS(usageRequestID, r.RequestID)
	it.setS(usageBedrockModel, r.BedrockModelID)
	it.setS(usageRegion, r.Region)
	it.setS(usageErrorType, r.ErrorType)
	it.setN(usageCacheWrite1h, r.CacheWrite1hTokens)
	it.setN(usageLatency, r.LatencyMs)
	it.setN(usageTTFT, r.TTFTMs)
	it.setN(usageHTTPStatus, int64(r.HTTPStatus))
	it.setTime(usagePriceFrom, r.PriceFrom)
	usageFlag(it, usageEstimated, r.Estimated)
	usageFlag(it, usageStreamed, r.Streamed)
	usageFlag(it, usageDisconnected, r.Disconnected)
	usageFlag(it, usageUnpriced, r.Unpriced)
	return it
}

// usageFlag stores only true: absent reads as false.
func usageFlag(it item, name string, v bool) {
	if v {
		it[name] = &types.AttributeValueMemberBOOL{Value: true}
	}
}

func parseUsage(it item) (*convertor.UsageRecord, error) {
	r := &convertor.UsageRecord{}
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
	flag := func(dst *bool, name string) {
		v, err := it.boolean(name)
		*dst = v
		errs = append(errs, err)
	}
	when := func(dst *time.Time, name string) {
		v, err := it.time(name)
		*dst = v
		errs = append(errs, err)
	}
	var version, httpStatus int64
	str(&r.ID, attrPK)
	num(&version, usageVersion)
	str(&r.RequestID, usageRequestID)
	when(&r.Time, usageTS)
	str(&r.KeyID, usageKeyID)
	str(&r.Model, usageModel)
	str(&r.BedrockModelID, usageBedrockModel)
	str(&r.Region, usageRegion)
	num(&r.InputTokens, usageInput)
	num(&r.OutputTokens, usageOutput)
	num(&r.CacheReadTokens, usageCacheRead)
	num(&r.CacheWriteTokens, usageCacheWrite)
	num(&r.CacheWrite1hTokens, usageCacheWrite1h)
	flag(&r.Estimated, usageEstimated)
	num(&r.LatencyMs, usageLatency)
	num(&r.TTFTMs, usageTTFT)
	str(&r.Status, usageStatus)
	str(&r.ErrorType, usageErrorType)
	num(&httpStatus, usageHTTPStatus)
	flag(&r.Streamed, usageStreamed)
	flag(&r.Disconnected, usageDisconnected)
	num(&r.CostMicros, usageCost)
	when(&r.PriceFrom, usagePriceFrom)
	flag(&r.Unpriced, usageUnpriced)
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("usage item %s: %w", r.ID, err)
		}
	}
	r.Version, r.HTTPStatus = int(version), int(httpStatus)
	return r, nil
}
