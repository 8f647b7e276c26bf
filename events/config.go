package events

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/openai-api-convertor/convertor/internal/envvar"
)

// Defaults. Each can be overridden through the variable named on its
// Config field.
const (
	// DefaultStream is the JetStream stream holding the usage subjects.
	DefaultStream = "USAGE"
	// DefaultAckWait is how long a consumer may hold a message before the
	// bus redelivers it: long enough for a batch write to DynamoDB with
	// retries, short enough that a crashed consumer's batch comes back soon.
	DefaultAckWait = 30 * time.Second
	// DefaultMaxDeliver is SQS's RedrivePolicy maxReceiveCount for queues
	// created here: after that many receives SQS moves a message to the
	// dead-letter queue. A store outage does not count against it, since
	// consumers hold a failing batch rather than give it back (Settle);
	// what does is a consumer dying with messages in hand, over and over.
	// JetStream redelivers without limit (see natsSubscriber.Subscribe).
	DefaultMaxDeliver = 20
	// DefaultMaxInFlight is how many unacknowledged messages one
	// subscription holds at once; it caps a consumer batch.
	DefaultMaxInFlight = 512
	// DefaultDuplicateWindow is JetStream's Nats-Msg-Id memory. It covers a
	// spool replay after a bus outage of the same length; consumers dedupe
	// beyond it anyway.
	DefaultDuplicateWindow = time.Hour
	// DefaultMaxAge bounds the stream (limits retention): consumers that
	// fall further behind than this lose events, so it is generous.
	DefaultMaxAge = 7 * 24 * time.Hour
	// DefaultSQSWorkers is how many receive loops one SQS subscription
	// runs; each holds one message at a time, so it caps a consumer batch.
	DefaultSQSWorkers = 16
	// DefaultSQSVisibilityTimeout applies to queues this package creates;
	// it is SQS's AckWait.
	DefaultSQSVisibilityTimeout = 30 * time.Second
)

// Config selects and tunes the events transport: NATS JetStream when
// NATSURL is set, otherwise SQS when SQSQueueURL is set.
type Config struct {
	NATSURL string // NATS_URL; when set, JetStream is the bus

	SQSQueueURL      string // SQS_QUEUE_URL; the queue of Topic when NATS_URL is empty
	SQSDeadLetterURL string // SQS_DLQ_URL; the queue of DeadLetterTopic and the RedrivePolicy target
	SQSEndpoint      string // AWS_ENDPOINT_URL_SQS; a local SQS-compatible server
	Region           string // AWS_REGION

	Stream          string // EVENTS_STREAM, default "USAGE"
	Topic           string // EVENTS_SUBJECT, default "usage.events"
	DeadLetterTopic string // EVENTS_DEADLETTER_SUBJECT, default "usage.deadletter"

	AckWait         time.Duration // EVENTS_ACK_WAIT, default 30s
	MaxDeliver      int           // EVENTS_MAX_DELIVER, default 20: SQS receives before the dead-letter queue
	MaxInFlight     int           // EVENTS_MAX_IN_FLIGHT, default 512 (JetStream MaxAckPending)
	DuplicateWindow time.Duration // EVENTS_DUPLICATE_WINDOW, default 1h
	MaxAge          time.Duration // EVENTS_MAX_AGE, default 168h

	SQSWorkers           int           // EVENTS_SQS_WORKERS, default 16
	SQSVisibilityTimeout time.Duration // EVENTS_SQS_VISIBILITY_TIMEOUT, default 30s, for queues created here
}

// LoadConfig reads the events configuration, reporting every problem at
// once. Leaving both NATS_URL and SQS_QUEUE_URL empty is not an error here:
// a caller may embed a NATS server and set NATSURL itself; NewPublisher and
// NewSubscriber refuse a Config with no transport.
func LoadConfig(getenv func(string) string) (Config, error) {
	r := envvar.New(getenv)
	c := Config{
		NATSURL:          r.String("NATS_URL", ""),
		SQSQueueURL:      r.String("SQS_QUEUE_URL", ""),
		SQSDeadLetterURL: r.String("SQS_DLQ_URL", ""),
		SQSEndpoint:      r.String("AWS_ENDPOINT_URL_SQS", ""),
		Region:           r.String("AWS_REGION", ""),
		Stream:           r.String("EVENTS_STREAM", DefaultStream),
		Topic:            r.String("EVENTS_SUBJECT", DefaultTopic),
		DeadLetterTopic:  r.String("EVENTS_DEADLETTER_SUBJECT", DefaultDeadLetterTopic),

		AckWait:         r.Duration("EVENTS_ACK_WAIT", DefaultAckWait, envvar.Positive),
		MaxDeliver:      r.Int("EVENTS_MAX_DELIVER", DefaultMaxDeliver, 1),
		MaxInFlight:     r.Int("EVENTS_MAX_IN_FLIGHT", DefaultMaxInFlight, 1),
		DuplicateWindow: r.Duration("EVENTS_DUPLICATE_WINDOW", DefaultDuplicateWindow, envvar.Positive),
		MaxAge:          r.Duration("EVENTS_MAX_AGE", DefaultMaxAge, envvar.Positive),

		SQSWorkers:           r.Int("EVENTS_SQS_WORKERS", DefaultSQSWorkers, 1),
		SQSVisibilityTimeout: r.Duration("EVENTS_SQS_VISIBILITY_TIMEOUT", DefaultSQSVisibilityTimeout, envvar.Positive),
	}
	return c, errors.Join(r.Err(), c.validateNames())
}

// setDefaults fills every zero field with its default, for a Config built
// in code rather than by LoadConfig.
func (c *Config) setDefaults() {
	if c.Stream == "" {
		c.Stream = DefaultStream
	}
	if c.Topic == "" {
		c.Topic = DefaultTopic
	}
	if c.DeadLetterTopic == "" {
		c.DeadLetterTopic = DefaultDeadLetterTopic
	}
	if c.AckWait <= 0 {
		c.AckWait = DefaultAckWait
	}
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = DefaultMaxDeliver
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.DuplicateWindow <= 0 {
		c.DuplicateWindow = DefaultDuplicateWindow
	}
	if c.MaxAge <= 0 {
		c.MaxAge = DefaultMaxAge
	}
	if c.SQSWorkers <= 0 {
		c.SQSWorkers = DefaultSQSWorkers
	}
	if c.SQSVisibilityTimeout <= 0 {
		c.SQSVisibilityTimeout = DefaultSQSVisibilityTimeout
	}
}

// validateNames checks what the servers would refuse later with a less
// helpful message.
func (c *Config) validateNames() error {
	var errs []error
	if !validStreamName(c.Stream) {
		errs = append(errs, fmt.Errorf("EVENTS_STREAM: %q may not contain '.', '*', '>', '/', '\\' or spaces", c.Stream))
	}
	if c.Topic == c.DeadLetterTopic {
		errs = append(errs, fmt.Errorf("EVENTS_DEADLETTER_SUBJECT: %q is also EVENTS_SUBJECT", c.Topic))
	}
	if c.DuplicateWindow > c.MaxAge {
		errs = append(errs, fmt.Errorf("EVENTS_DUPLICATE_WINDOW: %s exceeds EVENTS_MAX_AGE %s", c.DuplicateWindow, c.MaxAge))
	}
	return errors.Join(errs...)
}

// validate is what NewPublisher and NewSubscriber need beyond LoadConfig.
func (c *Config) validate() error {
	if c.NATSURL == "" && c.SQSQueueURL == "" {
		return errors.New("events: no transport: set NATS_URL or SQS_QUEUE_URL")
	}
	return c.validateNames()
}

// validStreamName reports whether JetStream accepts name as a stream or
// durable consumer name.
func validStreamName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		switch r {
		case '.', '*', '>', '/', '\\', ' ', '\t', '\n', '\r':
			return false
		}
	}
	return true
}

// WarnInFlight logs a warning when a consumer holding concurrency batches
// in its workers plus one being collected, of batchSize each, would hold
// more than MaxInFlight unacknowledged messages: JetStream stops
// delivering there, so batches would not fill and the concurrency would
// not pay.
func (c Config) WarnInFlight(log *slog.Logger, batchSize, concurrency int) {
	if held := (concurrency + 1) * batchSize; c.NATSURL != "" && held > c.MaxInFlight {
		orDiscard(log).Warn("EVENTS_MAX_IN_FLIGHT is below what the batches in flight hold; batches will be smaller",
			"max_in_flight", c.MaxInFlight, "batches_held", concurrency+1, "batch_size", batchSize)
	}
}
