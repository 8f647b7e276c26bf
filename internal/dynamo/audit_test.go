package dynamo

import (
	"testing"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/storetest"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// TestAuditStore runs the AuditStore contract against DynamoDB
// (dynamolocal), also with Query pages of two items so that every listing
// spans DynamoDB pages, and against dynalite when TEST_DYNALITE_ENDPOINT
// is set.
func TestAuditStore(t *testing.T) {
	runSuite(t, storetest.AuditStore,
		backend[convertor.AuditStore]{"dynamodb", func(t *testing.T) convertor.AuditStore {
			db, tables := newTestTables(t, testenv.DynamoDB(t))
			return NewAuditStore(db, tables.Audit)
		}},
		backend[convertor.AuditStore]{"dynamodb-small-pages", func(t *testing.T) convertor.AuditStore {
			db, tables := newTestTables(t, testenv.DynamoDB(t))
			s := NewAuditStore(db, tables.Audit)
			s.pageItems = 2
			return s
		}},
		backend[convertor.AuditStore]{"dynalite", func(t *testing.T) convertor.AuditStore {
			db, tables := newTestTables(t, testenv.Dynalite(t))
			return NewAuditStore(db, tables.Audit)
		}},
	)
}
