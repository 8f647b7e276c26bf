package dynamo

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/openai-api-convertor/convertor"
)

var _ convertor.RouteStore = (*RouteStore)(nil)

// Attributes of the model-mapping table; pk is the route's model name.
const (
	routeBedrockModel = "bedrock_model_id"
	routeSource       = "source"
	routeUpdatedAt    = "updated_at"
)

// RouteStore keeps the admin routes in the model-mapping table, one item
// per model name (pk), a convertor.RouteStore safe for concurrent use. The
// table holds tens of routes and the gateway caches them, so listing is a
// Scan.
type RouteStore struct {
	db    *dynamodb.Client
	table string
}

// NewRouteStore returns the store for the model-mapping table named table.
func NewRouteStore(db *dynamodb.Client, table string) *RouteStore {
	if db == nil || table == "" {
		panic("dynamo: NewRouteStore needs a client and a table name")
	}
	return &RouteStore{db: db, table: table}
}

// Routes returns every admin route, ordered by model, from a strongly
// consistent Scan.
func (s *RouteStore) Routes(ctx context.Context) ([]convertor.Route, error) {
	var out []convertor.Route
	p := dynamodb.NewScanPaginator(s.db, &dynamodb.ScanInput{TableName: &s.table, ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, storeError("list routes", s.table, err)
		}
		for _, it := range page.Items {
			r, err := parseRoute(it)
			if err != nil {
				return nil, fmt.Errorf("list routes: %w", err)
			}
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b convertor.Route) int { return cmp.Compare(a.Model, b.Model) })
	return out, nil
}

// PutRoute creates or replaces the route of r.Model as an admin route
// updated now; the old item, returned by the same put, says whether it
// replaced one. Returns EInvalid if r does not validate.
func (s *RouteStore) PutRoute(ctx context.Context, r convertor.Route) (replaced bool, err error) {
	if err := r.Validate(); err != nil {
		return false, err
	}
	it := item{
		attrPK:            attrS(r.Model),
		routeBedrockModel: attrS(r.BedrockModelID),
		routeSource:       attrS(convertor.RouteSourceAdmin),
		routeUpdatedAt:    attrTime(time.Now()),
	}
	out, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:    &s.table,
		Item:         it,
		ReturnValues: types.ReturnValueAllOld,
	})
	if err != nil {
		return false, storeError("put route "+r.Model, s.table, err)
	}
	return len(out.Attributes) > 0, nil
}

// DeleteRoute removes the route of model on condition that it exists.
// Returns ENotFound if there is none.
func (s *RouteStore) DeleteRoute(ctx context.Context, model string) error {
	if convertor.ValidateModelName("model", model) != nil {
		// No route can have this name; DynamoDB would refuse some as keys.
		return errRouteNotFound(model)
	}
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:           &s.table,
		Key:                 pk(model),
		ConditionExpression: aws.String("attribute_exists(pk)"),
	})
	if isConditionFailed(err) {
		return errRouteNotFound(model)
	}
	if err != nil {
		return storeError("delete route "+model, s.table, err)
	}
	return nil
}

func errRouteNotFound(model string) error {
	return convertor.Errorf(convertor.ENotFound, "no admin route for model %q", model)
}

func parseRoute(it item) (convertor.Route, error) {
	r := convertor.Route{Source: convertor.RouteSourceAdmin}
	var errs [3]error
	r.Model, errs[0] = it.str(attrPK)
	r.BedrockModelID, errs[1] = it.str(routeBedrockModel)
	r.UpdatedAt, errs[2] = it.time(routeUpdatedAt)
	for _, err := range errs {
		if err != nil {
			return convertor.Route{}, fmt.Errorf("route item %s: %w", r.Model, err)
		}
	}
	return r, nil
}
