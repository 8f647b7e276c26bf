package dynamo

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/storetest"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// TestAPIKeyStore runs the APIKeyStore contract against DynamoDB
// (dynamolocal) with transactions and with the sequential path forced,
// and against dynalite (no transactions) when TEST_DYNALITE_ENDPOINT is set.
func TestAPIKeyStore(t *testing.T) {
	runSuite(t, storetest.APIKeyStore,
		backend[convertor.APIKeyStore]{"dynamodb", func(t *testing.T) convertor.APIKeyStore {
			return newTestStore(t, testenv.DynamoDB(t))
		}},
		backend[convertor.APIKeyStore]{"dynamodb-sequential", func(t *testing.T) convertor.APIKeyStore {
			s := newTestStore(t, testenv.DynamoDB(t))
			s.noTx.Store(true)
			return s
		}},
		backend[convertor.APIKeyStore]{"dynalite", func(t *testing.T) convertor.APIKeyStore {
			return newTestStore(t, testenv.Dynalite(t))
		}},
	)
}

// backend is one way of building a store for a contract suite.
type backend[S any] struct {
	name string
	new  func(t *testing.T) S
}

// runSuite runs suite against every backend, all in parallel.
func runSuite[S any](t *testing.T, suite func(*testing.T, func(*testing.T) S), backends ...backend[S]) {
	t.Helper()
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			suite(t, b.new)
		})
	}
}

// newTestStore creates uniquely named tables for t on endpoint and returns
// the api-keys store over them.
func newTestStore(t *testing.T, endpoint string) *APIKeyStore {
	t.Helper()
	db, tables := newTestTables(t, endpoint)
	return NewAPIKeyStore(db, tables.APIKeys)
}

var unsafeTableChars = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// testTables returns table names unique to t, so tests can share a server.
func testTables(t testing.TB) Tables {
	name := unsafeTableChars.ReplaceAllString(t.Name(), "-")
	if len(name) > 80 {
		name = name[len(name)-80:]
	}
	p := "t-" + name + "-" + strings.ToLower(rand.Text()[:8]) + "-"
	return Tables{
		APIKeys:      p + "api-keys",
		Usage:        p + "usage",
		UsageStats:   p + "usage-stats",
		ModelPricing: p + "model-pricing",
		ModelMapping: p + "model-mapping",
		Audit:        p + "audit",
	}
}

// newTestClient returns a client for endpoint and table names unique to
// t, whose tables are deleted after t; it creates none.
func newTestClient(t testing.TB, endpoint string) (*dynamodb.Client, Tables) {
	t.Helper()
	cfg := Config{Endpoint: endpoint, Region: DefaultRegion, Tables: testTables(t)}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Config.Validate() error = %v", err)
	}
	db, err := NewClient(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewClient() error = %v", err)
	}
	t.Cleanup(func() {
		for _, def := range Definitions(cfg.Tables) {
			// Only a shared server keeps tables after the test; ignore
			// failures there, the names are unique anyway.
			_, _ = db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: def.TableName})
		}
	})
	return db, cfg.Tables
}

// newTestTables creates tables unique to t on endpoint.
func newTestTables(t testing.TB, endpoint string) (*dynamodb.Client, Tables) {
	t.Helper()
	db, tables := newTestClient(t, endpoint)
	if _, err := CreateTables(context.Background(), db, tables, discardLog()); err != nil {
		t.Fatalf("CreateTables() error = %v", err)
	}
	return db, tables
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
