// Package stores builds the product's stores once per process, from the
// settings, and hands them to the services that use them: the gateway,
// the accountant, the aggregator, replay, the admin API and the CLI all
// take their stores as dependencies instead of connecting on their own.
package stores

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/dynamo"
	"github.com/openai-api-convertor/convertor/internal/envvar"
	"github.com/openai-api-convertor/convertor/internal/memstore"
)

// DefaultUsageTTLDays keeps usage records more than a year: billing
// disputes and year-end re-runs need the last twelve months complete.
const DefaultUsageTTLDays = 400

// Config says where the stores are and how long usage records live.
type Config struct {
	// Dynamo is DYNAMODB_ENDPOINT_URL, AWS_REGION and the DYNAMODB_*_TABLE
	// names (see dynamo.LoadConfig).
	Dynamo dynamo.Config
	// UsageTTL is USAGE_TTL_DAYS (days), default 400: how long after its
	// event a usage record may be deleted by DynamoDB's TTL.
	UsageTTL time.Duration
}

// LoadConfig reads and validates the configuration, reporting every problem at once.
func LoadConfig(getenv func(string) string) (Config, error) {
	dcfg, err := dynamo.LoadConfig(getenv)
	r := envvar.New(getenv)
	days := r.Int("USAGE_TTL_DAYS", DefaultUsageTTLDays, 1)
	return Config{Dynamo: dcfg, UsageTTL: time.Duration(days) * 24 * time.Hour}, errors.Join(err, r.Err())
}

// Stores are the product's stores. Every field is set; each is safe for
// concurrent use.
type Stores struct {
	Keys   convertor.APIKeyStore
	Usage  convertor.UsageStore
	Stats  convertor.StatsStore
	Prices convertor.PriceStore
	Routes convertor.RouteStore
	Audit  convertor.AuditStore

	// db and tables are set for DynamoDB stores, for CreateTables.
	db     *dynamodb.Client
	tables dynamo.Tables
}

// Open connects the stores to DynamoDB (or the local server
// cfg.Dynamo.Endpoint names) with one client for all of them.
func Open(ctx context.Context, cfg Config) (*Stores, error) {
	db, err := dynamo.NewClient(ctx, cfg.Dynamo)
	if err != nil {
		return nil, err
	}
	t := cfg.Dynamo.Tables
	return &Stores{
		Keys:   dynamo.NewAPIKeyStore(db, t.APIKeys),
		Usage:  dynamo.NewUsageStore(db, t.Usage, cfg.UsageTTL),
		Stats:  dynamo.NewStatsStore(db, t.UsageStats),
		Prices: dynamo.NewPriceStore(db, t.ModelPricing),
		Routes: dynamo.NewRouteStore(db, t.ModelMapping),
		Audit:  dynamo.NewAuditStore(db, t.Audit),
		db:     db,
		tables: t,
	}, nil
}

// Memory returns empty in-memory stores with the semantics of the DynamoDB
// ones, for tests and single-process use; what they hold is lost at exit.
func Memory() *Stores {
	return &Stores{
		Keys:   memstore.NewAPIKeyStore(),
		Usage:  memstore.NewUsageStore(),
		Stats:  memstore.NewStatsStore(),
		Prices: memstore.NewPriceStore(),
		Routes: memstore.NewRouteStore(),
		Audit:  memstore.NewAuditStore(),
	}
}

// CreateTables creates the DynamoDB tables that do not exist yet
// (dynamo.CreateTables); in-memory stores need none.
func (s *Stores) CreateTables(ctx context.Context, log *slog.Logger) ([]dynamo.TableResult, error) {
	if s.db == nil {
		return nil, nil
	}
	results, err := dynamo.CreateTables(ctx, s.db, s.tables, log)
	if err != nil {
		return results, fmt.Errorf("create tables: %w", err)
	}
	return results, nil
}
