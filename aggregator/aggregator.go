// Package aggregator rolls priced usage records into the usage-stats
// table: it consumes the accountant's "usage.priced" records in batches
// and applies each batch through convertor.StatsStore, whose ApplyUsage is
// exactly once per record id. Redelivered, duplicated or half-applied
// batches are therefore simply applied again.
package aggregator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/events"
	"github.com/openai-api-convertor/convertor/internal/metricsserver"
)

// Options tunes an Aggregator. Zero fields take their defaults.
type Options struct {
	BatchSize int
	BatchWait time.Duration
	// Concurrency is how many batches are applied at once, default 1:
	// the next batch is collected while one is applied either way, and
	// concurrent transactions on the same rows conflict on DynamoDB.
	Concurrency int
	// DeadLetter receives every payload that is not a valid priced
	// record; the message is acked once it returns nil and nacked when it
	// fails, so nothing disappears. Nil logs the payload at Error and acks.
	DeadLetter func(raw []byte, reason error) error
	Log        *slog.Logger
	Metrics    *Metrics // nil for unregistered ones
	// Events counts the subscription and the dead letters (nil for
	// unregistered ones).
	Events *events.Metrics
}

// Aggregator applies batches of priced records to a StatsStore.
type Aggregator struct {
	store convertor.StatsStore
	opts  Options
	log   *slog.Logger
	m     *Metrics
}

// New returns an Aggregator writing to store.
func New(store convertor.StatsStore, opts Options) *Aggregator {
	if store == nil {
		panic("aggregator: New needs a stats store")
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.BatchWait <= 0 {
		opts.BatchWait = DefaultBatchWait
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(nil)
	}
	if opts.Events == nil {
		opts.Events = events.NewMetrics(nil)
	}
	return &Aggregator{store: store, opts: opts, log: opts.Log, m: opts.Metrics}
}

// Apply applies one batch. An error means the batch must be redelivered;
// whatever part of it was applied is recognised then.
func (a *Aggregator) Apply(ctx context.Context, recs []*convertor.UsageRecord) error {
	start := time.Now()
	applied, err := a.store.ApplyUsage(ctx, recs)
	a.m.BatchSeconds.Observe(time.Since(start).Seconds())
	a.m.Applied.Add(float64(applied))
	if err != nil {
		a.m.BatchErrors.Inc()
		return fmt.Errorf("aggregate %d records: %w", len(recs), err)
	}
	a.m.Duplicates.Add(float64(len(recs) - applied))
	a.log.Debug("usage batch applied", "records", len(recs), "applied", applied, "duration", time.Since(start))
	return nil
}

// Consume reads priced records from topic in batches, up to BatchSize or
// what arrived within BatchWait of the first, and applies each batch
// (events.Settle): acked when Apply succeeds, held and applied again while
// it fails, records the store refuses as invalid dead-lettered. Invalid
// payloads go to DeadLetter. The subscription is kept alive
// (events.KeepSubscribed). It returns nil when ctx ends (the batch being
// collected is nacked; those being applied finish).
func (a *Aggregator) Consume(ctx context.Context, sub message.Subscriber, topic string) error {
	// A shutdown lets a batch being applied finish its transaction rather
	// than fail it half-way; it is acked if it makes it.
	applyCtx := context.WithoutCancel(ctx)
	apply := func(_ context.Context, recs []*convertor.UsageRecord) error { return a.Apply(applyCtx, recs) }
	opts := events.SettleOptions{DeadLetter: a.opts.DeadLetter, Pause: a.opts.BatchWait, Log: a.log, Metrics: a.opts.Events}
	return events.KeepSubscribed(ctx, sub, topic, a.log.With("topic", topic), a.opts.Events, func(msgs <-chan *message.Message) error {
		return events.BatchLoop[*convertor.UsageRecord]{
			Size:    a.opts.BatchSize,
			Wait:    a.opts.BatchWait,
			Workers: a.opts.Concurrency,
			Decode:  a.decode,
			Handle: func(msgs []*message.Message, recs []*convertor.UsageRecord) {
				_ = events.Settle(ctx, msgs, recs, apply, opts)
			},
		}.Run(ctx, msgs)
	})
}

// decode decodes msg into a record; an invalid one is dead-lettered
// instead and decode reports false.
func (a *Aggregator) decode(msg *message.Message) (*convertor.UsageRecord, bool) {
	r, err := events.UnmarshalRecord(msg.Payload)
	if err == nil {
		return r, true
	}
	a.m.DeadLettered.Inc()
	a.log.Error("priced record is invalid; dead-lettered", "message_id", msg.UUID, "bytes", len(msg.Payload), "error", err)
	if a.opts.DeadLetter == nil {
		a.log.Error("no dead letter configured; invalid payload logged here", "message_id", msg.UUID, "payload", string(msg.Payload))
		msg.Ack()
		return nil, false
	}
	if dlErr := a.opts.DeadLetter(msg.Payload, err); dlErr != nil {
		a.log.Error("dead letter failed; message nacked for retry", "message_id", msg.UUID, "error", dlErr)
		msg.Nack()
		return nil, false
	}
	msg.Ack()
	return nil, false
}

// Run consumes priced records into stats until ctx ends.
func Run(ctx context.Context, cfg Config, stats convertor.StatsStore, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if stats == nil {
		return errors.New("aggregator: a stats store is required")
	}

	reg := metricsserver.NewRegistry()
	em := events.NewMetrics(reg)
	stopMetrics, err := metricsserver.Serve(cfg.MetricsAddr, reg, log, em.Ready)
	if err != nil {
		return err
	}
	defer stopMetrics()

	priced := events.PricedConfig(cfg.Events)
	dlPub, err := events.NewPublisher(ctx, priced, log)
	if err != nil {
		return fmt.Errorf("dead-letter publisher: %w", err)
	}
	defer dlPub.Close()
	sub, err := events.NewSubscriber(ctx, priced, cfg.ConsumerName, log)
	if err != nil {
		return fmt.Errorf("subscriber: %w", err)
	}
	defer sub.Close()

	a := New(stats, Options{
		BatchSize:   cfg.BatchSize,
		BatchWait:   cfg.BatchWait,
		Concurrency: cfg.Concurrency,
		DeadLetter:  events.NewDeadLetter(dlPub, priced.DeadLetterTopic),
		Log:         log,
		Metrics:     NewMetrics(reg),
		Events:      em,
	})
	cfg.Events.WarnInFlight(log, cfg.BatchSize, cfg.Concurrency)
	log.Info("aggregator consuming", "topic", priced.Topic, "consumer", cfg.ConsumerName)
	if err := a.Consume(ctx, sub, priced.Topic); err != nil {
		return fmt.Errorf("aggregator: %w", err)
	}
	log.Info("aggregator stopped")
	return nil
}
