package dynamo

import (
	"testing"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/storetest"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// TestRouteStore runs the RouteStore contract against DynamoDB
// (dynamolocal) and dynalite, when TEST_DYNALITE_ENDPOINT is set.
func TestRouteStore(t *testing.T) {
	runSuite(t, storetest.RouteStore,
		backend[convertor.RouteStore]{"dynamodb", func(t *testing.T) convertor.RouteStore {
			db, tables := newTestTables(t, testenv.DynamoDB(t))
			return NewRouteStore(db, tables.ModelMapping)
		}},
		backend[convertor.RouteStore]{"dynalite", func(t *testing.T) convertor.RouteStore {
			db, tables := newTestTables(t, testenv.Dynalite(t))
			return NewRouteStore(db, tables.ModelMapping)
		}},
	)
}
