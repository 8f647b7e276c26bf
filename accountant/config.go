// Package accountant prices usage events and stores one usage record per
// event: it consumes "usage.events", prices each event from the pricing
// table in integer micro-dollars, writes the record idempotently on the
// event id and publishes it on "usage.priced" for the aggregator. Pricing
// itself is pure functions over domain types in the root package
// (convertor.PriceTable, convertor.Cost), shared with replay; the default
// prices it seeds are here (prices.go).
package accountant

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/openai-api-convertor/convertor/events"
	"github.com/openai-api-convertor/convertor/internal/dynamo"
	"github.com/openai-api-convertor/convertor/internal/envvar"
)

// Defaults; each can be overridden through the variable named on its
// Config field.
const (
	// DefaultBatchSize matches events.DefaultBatchSize: a batch of 100
	// writes finishes well inside the bus's ack wait even on a slow store.
	DefaultBatchSize = 100
	// DefaultBatchWait bounds how long an event waits for company.
	DefaultBatchWait = 200 * time.Millisecond
	// DefaultWriteConcurrency is how many conditional puts run at once.
	// BatchWriteItem cannot carry the attribute_not_exists condition that
	// makes a redelivery harmless, so records are written as parallel
	// conditional PutItems by default. TransactWriteItems (TransactWrites)
	// takes a batch in one request, but costs twice the write units on AWS;
	// where requests cost more than write units, as on the local store of
	// `convertor dev`, it is the faster choice (BenchmarkAccountant).
	DefaultWriteConcurrency = 16
	// DefaultUsageTTLDays keeps records more than a year: billing disputes
	// and year-end re-runs need the last twelve months complete.
	DefaultUsageTTLDays = 400
	// DefaultPriceRefresh is how soon an admin's price edit reaches
	// pricing; events priced before then keep the old price until a
	// replay.
	DefaultPriceRefresh = time.Minute
	// DefaultConcurrency is how many batches are written at once: writes
	// wait on the store far more than they compute, so overlapping a few
	// batches keeps the store busy while the bus delivers the next.
	DefaultConcurrency = 4
	// DefaultConsumerName is the durable consumer group on NATS.
	DefaultConsumerName = "accountant"
)

// Config is the accountant's configuration.
type Config struct {
	Dynamo dynamo.Config // DYNAMODB_* (see dynamo.LoadConfig)
	Events events.Config // NATS_URL, SQS_* and EVENTS_* (see events.LoadConfig)

	BatchSize        int           // ACCOUNTANT_BATCH_SIZE, default 100
	BatchWait        time.Duration // ACCOUNTANT_BATCH_WAIT, default 200ms
	WriteConcurrency int           // ACCOUNTANT_WRITE_CONCURRENCY, default 16
	Concurrency      int           // ACCOUNTANT_CONCURRENCY (batches at once), default 4
	UsageTTL         time.Duration // USAGE_TTL_DAYS (days), default 400
	PriceRefresh     time.Duration // ACCOUNTANT_PRICE_REFRESH, default 1m
	ConsumerName     string        // ACCOUNTANT_CONSUMER, default "accountant"
	// TransactWrites writes each batch as TransactWriteItems of up to 100
	// conditional puts (ACCOUNTANT_TRANSACT_WRITES, default false): a
	// hundred times fewer requests, for a store far away or rate-limited
	// per request.
	TransactWrites bool
	// SeedPrices stores the default prices the pricing table lacks at
	// start (ACCOUNTANT_SEED_PRICES, default true).
	SeedPrices bool
	// MetricsAddr serves Prometheus metrics at /metrics
	// (ACCOUNTANT_METRICS_ADDR, default ":8006"; "off" disables).
	MetricsAddr string
}

// DefaultMetricsAddr is the accountant's metrics listener: next to the
// admin API's 8005.
const DefaultMetricsAddr = ":8006"

// LoadConfig reads and validates the configuration, reporting every problem at once.
func LoadConfig(getenv func(string) string) (Config, error) {
	var errs []error
	dcfg, err := dynamo.LoadConfig(getenv)
	errs = append(errs, err)
	ecfg, err := events.LoadConfig(getenv)
	errs = append(errs, err)
	cfg := Config{
		Dynamo:           dcfg,
		Events:           ecfg,
		BatchSize:        DefaultBatchSize,
		BatchWait:        DefaultBatchWait,
		WriteConcurrency: DefaultWriteConcurrency,
		Concurrency:      DefaultConcurrency,
		UsageTTL:         DefaultUsageTTLDays * 24 * time.Hour,
		PriceRefresh:     DefaultPriceRefresh,
		ConsumerName:     DefaultConsumerName,
		SeedPrices:       true,
		MetricsAddr:      DefaultMetricsAddr,
	}
	env := envvar.New(getenv)
	integer, duration := env.PositiveInt, env.PositiveDuration
	integer("ACCOUNTANT_BATCH_SIZE", &cfg.BatchSize)
	duration("ACCOUNTANT_BATCH_WAIT", &cfg.BatchWait)
	integer("ACCOUNTANT_WRITE_CONCURRENCY", &cfg.WriteConcurrency)
	integer("ACCOUNTANT_CONCURRENCY", &cfg.Concurrency)
	duration("ACCOUNTANT_PRICE_REFRESH", &cfg.PriceRefresh)
	days := DefaultUsageTTLDays
	integer("USAGE_TTL_DAYS", &days)
	cfg.UsageTTL = time.Duration(days) * 24 * time.Hour
	errs = append(errs, env.Errs...)
	if v := getenv("ACCOUNTANT_CONSUMER"); v != "" {
		cfg.ConsumerName = v
	}
	if v := getenv("ACCOUNTANT_SEED_PRICES"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("ACCOUNTANT_SEED_PRICES: %q is not true or false", v))
		}
		cfg.SeedPrices = b
	}
	if v := getenv("ACCOUNTANT_TRANSACT_WRITES"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("ACCOUNTANT_TRANSACT_WRITES: %q is not true or false", v))
		}
		cfg.TransactWrites = b
	}
	if v := getenv("ACCOUNTANT_METRICS_ADDR"); v != "" {
		cfg.MetricsAddr = v
	}
	if cfg.MetricsAddr == "off" {
		cfg.MetricsAddr = ""
	}
	if cfg.Events.NATSURL == "" && cfg.Events.SQSQueueURL == "" {
		errs = append(errs, errors.New("NATS_URL or SQS_QUEUE_URL: one is required to receive usage events"))
	}
	return cfg, errors.Join(errs...)
}
