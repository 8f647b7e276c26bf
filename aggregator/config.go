package aggregator

import (
	"errors"
	"time"

	"github.com/openai-api-convertor/convertor/events"
	"github.com/openai-api-convertor/convertor/internal/envvar"
)

// Defaults; each can be overridden through the variable named on its
// Config field.
const (
	// DefaultBatchSize is large because records of one batch share rows:
	// 200 records are two or three transactions, not 200 (the DynamoDB stats store).
	// The subscription's in-flight limit (EVENTS_MAX_IN_FLIGHT, 512 on
	// NATS; EVENTS_SQS_WORKERS on SQS) caps it further.
	DefaultBatchSize = 200
	// DefaultBatchWait bounds how long a record waits for company, and so
	// how far month spend, and the budgets read from it, lag.
	DefaultBatchWait = 200 * time.Millisecond
	// DefaultConcurrency is one batch at a time: roll-up transactions of
	// concurrent batches touch the same rows and conflict on DynamoDB.
	DefaultConcurrency = 1
	// DefaultConsumerName is the durable consumer group on NATS.
	DefaultConsumerName = "aggregator"
	// DefaultMetricsAddr serves /metrics next to the accountant's 8006,
	// on loopback unless a deployment opens it (":8007").
	DefaultMetricsAddr = "127.0.0.1:8007"
)

// Config is the aggregator's configuration.
type Config struct {
	// Events is the usage-event bus configuration; the aggregator reads the
	// priced records of events.PricedConfig(Events).
	Events events.Config // NATS_URL, SQS_* and EVENTS_* (see events.LoadConfig)

	BatchSize    int           // AGGREGATOR_BATCH_SIZE, default 200
	BatchWait    time.Duration // AGGREGATOR_BATCH_WAIT, default 200ms
	Concurrency  int           // AGGREGATOR_CONCURRENCY (batches at once), default 1
	ConsumerName string        // AGGREGATOR_CONSUMER, default "aggregator"
	// MetricsAddr serves Prometheus metrics at /metrics
	// (AGGREGATOR_METRICS_ADDR, default "127.0.0.1:8007"; "off"
	// disables).
	MetricsAddr string
}

// LoadConfig reads and validates the configuration, reporting every problem at once.
func LoadConfig(getenv func(string) string) (Config, error) {
	ecfg, eerr := events.LoadConfig(getenv)
	r := envvar.New(getenv)
	cfg := Config{
		Events:       ecfg,
		BatchSize:    r.Int("AGGREGATOR_BATCH_SIZE", DefaultBatchSize, 1),
		BatchWait:    r.Duration("AGGREGATOR_BATCH_WAIT", DefaultBatchWait, envvar.Positive),
		Concurrency:  r.Int("AGGREGATOR_CONCURRENCY", DefaultConcurrency, 1),
		ConsumerName: r.String("AGGREGATOR_CONSUMER", DefaultConsumerName),
		MetricsAddr:  r.String("AGGREGATOR_METRICS_ADDR", DefaultMetricsAddr),
	}
	if cfg.MetricsAddr == "off" {
		cfg.MetricsAddr = ""
	}
	errs := []error{eerr, r.Err()}
	if cfg.Events.NATSURL == "" && cfg.Events.SQSQueueURL == "" {
		errs = append(errs, errors.New("NATS_URL or SQS_QUEUE_URL: one is required to receive priced records"))
	}
	return cfg, errors.Join(errs...)
}
