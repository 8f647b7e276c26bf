package events

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/openai-api-convertor/convertor"
)

// Consume defaults.
const (
	DefaultBatchSize = 100
	// DefaultBatchWait bounds how long a first event waits for company
	// before its batch is handled.
	DefaultBatchWait = 200 * time.Millisecond
)

// maxFailurePause caps the pause between tries of a failed batch: a store
// that is back is used again within it.
const maxFailurePause = 10 * time.Second

// ErrSubscriptionClosed is returned by Consume when the subscriber ended
// the subscription while ctx was still live.
var ErrSubscriptionClosed = errors.New("events: subscription closed")

// MetadataReason is the metadata key under which a dead-lettered message
// carries why it was refused.
const MetadataReason = "reason"

// ConsumeOptions tunes Consume. Zero fields take their defaults.
type ConsumeOptions struct {
	// BatchSize is the most events one handler call gets; a batch fills
	// only up to what the subscription holds unacknowledged (see
	// NewSubscriber).
	BatchSize int
	// BatchWait is how long the first event of a batch waits for more.
	BatchWait time.Duration
	// Concurrency is how many batches are handled at once, default 1.
	// While they are, the next batch is already being collected, so even
	// one handler never waits for a batch to fill; more overlap handlers
	// that spend their time waiting on a store. The subscription's
	// unacknowledged limit must hold Concurrency+1 batches.
	Concurrency int
	// DeadLetter receives every payload that is not a valid event, with
	// the reason; the message is acked once DeadLetter returns nil and
	// nacked (to be retried) when it fails, so it is never lost. Nil logs
	// the payload at Error and acks it.
	DeadLetter func(raw []byte, reason error) error
	Log        *slog.Logger
	// Metrics, nil for unregistered ones.
	Metrics *Metrics
}

// Consume subscribes to topic and hands valid events to handler in
// batches: up to BatchSize events, or what arrived within BatchWait of the
// first. A batch is acked when handler returns nil; while it fails it is
// held and handed to handler again (Settle): delivery is at least once, so
// handler must be idempotent on event id. Invalid payloads, and events the handler
// refuses as invalid, go to DeadLetter and never block a batch. The
// subscription is kept alive (KeepSubscribed): a failed or closed one is
// made again until ctx ends. Consume returns nil when ctx ends (the
// batches in hand are nacked, for redelivery).
func Consume(ctx context.Context, sub message.Subscriber, topic string, handler func(context.Context, []*convertor.UsageEvent) error, opts ConsumeOptions) error {
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.BatchWait <= 0 {
		opts.BatchWait = DefaultBatchWait
	}
	log := orDiscard(opts.Log).With("topic", topic)
	m := opts.Metrics
	if m == nil {
		m = NewMetrics(nil)
	}
	c := &consumer{handler: handler, opts: opts, log: log, m: m}
	return KeepSubscribed(ctx, sub, topic, log, m, func(msgs <-chan *message.Message) error {
		return BatchLoop[*convertor.UsageEvent]{
			Size:    opts.BatchSize,
			Wait:    opts.BatchWait,
			Workers: opts.Concurrency,
			Decode:  c.decode,
			Handle:  func(msgs []*message.Message, evs []*convertor.UsageEvent) { c.handle(ctx, msgs, evs) },
		}.Run(ctx, msgs)
	})
}

// consumer is what the batches of one Consume call share; its workers
// use it concurrently.
type consumer struct {
	handler func(context.Context, []*convertor.UsageEvent) error
	opts    ConsumeOptions
	log     *slog.Logger
	m       *Metrics
}

// decode decodes msg into an event; an invalid one is dead-lettered
// instead and decode reports false.
func (c *consumer) decode(msg *message.Message) (*convertor.UsageEvent, bool) {
	ev, err := Unmarshal(msg.Payload)
	if err == nil {
		return ev, true
	}
	c.m.DeadLettered.Inc()
	c.log.Error("usage event is invalid; dead-lettered", "message_id", msg.UUID, "bytes", len(msg.Payload), "error", err)
	if c.opts.DeadLetter == nil {
		c.log.Error("no dead letter configured; invalid payload logged here", "message_id", msg.UUID, "payload", truncate(msg.Payload, 4096))
		msg.Ack()
		return nil, false
	}
	if dlErr := c.opts.DeadLetter(msg.Payload, err); dlErr != nil {
		c.log.Error("dead letter failed; message nacked for retry", "message_id", msg.UUID, "error", dlErr)
		msg.Nack()
		return nil, false
	}
	msg.Ack()
	return nil, false
}

// handle hands a batch to the handler through Settle, which holds and
// retries it while the handler fails.
func (c *consumer) handle(ctx context.Context, msgs []*message.Message, evs []*convertor.UsageEvent) {
	_ = Settle(ctx, msgs, evs, c.handler, SettleOptions{DeadLetter: c.opts.DeadLetter, Pause: c.opts.BatchWait, Log: c.log, Metrics: c.m})
}

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}

// NewDeadLetter returns a ConsumeOptions.DeadLetter that publishes the raw
// payload unchanged to topic (normally the config's DeadLetterTopic), with
// the reason in metadata under MetadataReason. The message UUID is a hash
// of the payload, so a payload dead-lettered again after a redelivery is
// deduplicated on NATS.
func NewDeadLetter(pub message.Publisher, topic string) func(raw []byte, reason error) error {
	return func(raw []byte, reason error) error {
		sum := sha256.Sum256(raw)
		msg := message.NewMessage("dl-"+hex.EncodeToString(sum[:16]), raw)
		why := "unknown"
		if reason != nil {
			// Headers and message attributes are single-line.
			why = strings.Join(strings.Fields(reason.Error()), " ")
		}
		msg.Metadata.Set(MetadataReason, why)
		if err := pub.Publish(topic, msg); err != nil {
			return fmt.Errorf("dead letter: %w", err)
		}
		return nil
	}
}
