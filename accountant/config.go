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
	"time"

	"github.com/openai-api-convertor/convertor/events"
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
	Events events.Config // NATS_URL, SQS_* and EVENTS_* (see events.LoadConfig)

	BatchSize        int           // ACCOUNTANT_BATCH_SIZE, default 100
	BatchWait        time.Duration // ACCOUNTANT_BATCH_WAIT, default 200ms
	WriteConcurrency int           // ACCOUNTANT_WRITE_CONCURRENCY, default 16
	Concurrency      int           // ACCOUNTANT_CONCURRENCY (batches at once), default 4
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
	// and /ready (ACCOUNTANT_METRICS_ADDR, default "127.0.0.1:8006";
	// "off" disables).
	MetricsAddr string
}

// DefaultMetricsAddr is the accountant's metrics listener: next to the
// admin API's 8005, and on loopback, so that what the process exposes is
// reachable from elsewhere only when a deployment says so (":8006").
const DefaultMetricsAddr = "127.0.0.1:8006"

// LoadConfig reads and validates the configuration, reporting every problem at once.
func LoadConfig(getenv func(string) string) (Config, error) {
	ecfg, eerr := events.LoadConfig(getenv)
	r := envvar.New(getenv)
	cfg := Config{
		Events:           ecfg,
		BatchSize:        r.Int("ACCOUNTANT_BATCH_SIZE", DefaultBatchSize, 1),
		BatchWait:        r.Duration("ACCOUNTANT_BATCH_WAIT", DefaultBatchWait, envvar.Positive),
		WriteConcurrency: r.Int("ACCOUNTANT_WRITE_CONCURRENCY", DefaultWriteConcurrency, 1),
		Concurrency:      r.Int("ACCOUNTANT_CONCURRENCY", DefaultConcurrency, 1),
		PriceRefresh:     r.Duration("ACCOUNTANT_PRICE_REFRESH", DefaultPriceRefresh, envvar.Positive),
		ConsumerName:     r.String("ACCOUNTANT_CONSUMER", DefaultConsumerName),
		TransactWrites:   r.Bool("ACCOUNTANT_TRANSACT_WRITES", false),
		SeedPrices:       r.Bool("ACCOUNTANT_SEED_PRICES", true),
		MetricsAddr:      r.String("ACCOUNTANT_METRICS_ADDR", DefaultMetricsAddr),
	}
	if cfg.MetricsAddr == "off" {
		cfg.MetricsAddr = ""
	}
	errs := []error{eerr, r.Err()}
	if cfg.Events.NATSURL == "" && cfg.Events.SQSQueueURL == "" {
		errs = append(errs, errors.New("NATS_URL or SQS_QUEUE_URL: one is required to receive usage events"))
	}
	return cfg, errors.Join(errs...)
}
