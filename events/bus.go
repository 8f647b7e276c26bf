package events

import (
	"context"
	"log/slog"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
)

// NewPublisher connects the configured bus for publishing: JetStream when
// cfg.NATSURL is set, SQS otherwise. On NATS the stream is created or
// updated before the first publish; a server that is down at start does not
// fail NewPublisher (publishes fail until it is back, and the emitter spools
// meanwhile). On SQS the queues are created when missing, which only a
// local server should ever need.
func NewPublisher(ctx context.Context, cfg Config, log *slog.Logger) (message.Publisher, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	log = orDiscard(log)
	if cfg.NATSURL != "" {
		return newNATSPublisher(ctx, cfg, log)
	}
	return newSQSPublisher(ctx, cfg, log)
}

// NewSubscriber connects the configured bus for consuming as consumerName.
// On NATS each consumerName is a durable consumer per topic with explicit
// acks, cfg.AckWait and cfg.MaxDeliver, so several consumer groups
// (accountant, aggregator) each see every event. On SQS a queue is one
// consumer group whatever the name: give each group its own queue.
//
// A NATS server that is down at start, or a stream it cannot create yet,
// does not fail NewSubscriber: Subscribe fails until the server is back,
// and KeepSubscribed (which Consume runs) retries it.
//
// A subscription holds up to cfg.MaxInFlight (NATS) or cfg.SQSWorkers (SQS)
// unacknowledged messages at once, which bounds the batches Consume forms.
func NewSubscriber(ctx context.Context, cfg Config, consumerName string, log *slog.Logger) (message.Subscriber, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	log = orDiscard(log)
	if cfg.NATSURL != "" {
		return newNATSSubscriber(cfg, consumerName, log)
	}
	return newSQSSubscriber(ctx, cfg, log)
}

// orDiscard returns log, or a logger that drops everything for nil: this
// package never falls back to slog.Default.
func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}

// watermillLogger adapts log for watermill's components. Their Info lines
// are per-subscription chatter, so they go to Debug.
func watermillLogger(log *slog.Logger) watermill.LoggerAdapter {
	return watermill.NewSlogLoggerWithLevelMapping(log, map[slog.Level]slog.Level{
		slog.LevelInfo: slog.LevelDebug,
	})
}
