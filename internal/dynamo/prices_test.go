package dynamo

import (
	"testing"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/storetest"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// TestPriceStore runs the PriceStore contract against DynamoDB
// (dynamolocal) and dynalite, when TEST_DYNALITE_ENDPOINT is set.
func TestPriceStore(t *testing.T) {
	runSuite(t, storetest.PriceStore,
		backend[convertor.PriceStore]{"dynamodb", func(t *testing.T) convertor.PriceStore {
			db, tables := newTestTables(t, testenv.DynamoDB(t))
			return NewPriceStore(db, tables.ModelPricing)
		}},
		backend[convertor.PriceStore]{"dynalite", func(t *testing.T) convertor.PriceStore {
			db, tables := newTestTables(t, testenv.Dynalite(t))
			return NewPriceStore(db, tables.ModelPricing)
		}},
	)
}
