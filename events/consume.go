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

// maxFailurePause caps the pause after a failed batch.
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
// first. A batch is acked when handler returns nil and nacked, for
// redelivery, when it fails: delivery is at least once, so handler must be
// idempotent on event id. Invalid payloads go to DeadLetter and never
// reach handler or block the batch. Consume returns nil when ctx ends
// (the batch in hand is nacked), ErrSubscriptionClosed when the subscriber
// closes, or the error of Subscribe.
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
	msgs, err := sub.Subscribe(ctx, topic)
	if err != nil {
		return fmt.Errorf("consume %s: %w", topic, err)
	}
	c := &consumer{handler: handler, opts: opts, log: log, m: m}
	timer := time.NewTimer(opts.BatchWait)
	timer.Stop()
	for {
		var wait <-chan time.Time
		if len(c.msgs) > 0 {
			wait = timer.C
		}
		select {
		case <-ctx.Done():
			c.nackAll()
			return nil
		case <-wait:
			c.flush(ctx)
		case msg, ok := <-msgs:
			if !ok {
				if ctx.Err() != nil {
					c.nackAll()
					return nil
				}
				c.flush(ctx)
				return ErrSubscriptionClosed
			}
			if !c.add(msg) {
				continue
			}
			if len(c.msgs) == 1 {
				timer.Reset(opts.BatchWait)
			}
			if len(c.msgs) >= opts.BatchSize {
				timer.Stop()
				c.flush(ctx)
			}
		}
	}
}

// consumer is the state of one Consume call; not safe for concurrent use.
type consumer struct {
	handler func(context.Context, []*convertor.UsageEvent) error
	opts    ConsumeOptions
	log     *slog.Logger
	m       *Metrics

	msgs     []*message.Message
	evs      []*convertor.UsageEvent
	failures int // handler failures in a row
}

// add decodes msg into the batch; an invalid one is dead-lettered instead
// and add reports false.
func (c *consumer) add(msg *message.Message) bool {
	ev, err := Unmarshal(msg.Payload)
	if err == nil {
		c.msgs = append(c.msgs, msg)
		c.evs = append(c.evs, ev)
		return true
	}
	c.m.DeadLettered.Inc()
	c.log.Error("usage event is invalid; dead-lettered", "message_id", msg.UUID, "bytes", len(msg.Payload), "error", err)
	if c.opts.DeadLetter == nil {
		c.log.Error("no dead letter configured; invalid payload logged here", "message_id", msg.UUID, "payload", truncate(msg.Payload, 4096))
		msg.Ack()
		return false
	}
	if dlErr := c.opts.DeadLetter(msg.Payload, err); dlErr != nil {
		c.log.Error("dead letter failed; message nacked for retry", "message_id", msg.UUID, "error", dlErr)
		msg.Nack()
		return false
	}
	msg.Ack()
	return false
}

// flush hands the batch to the handler, then acks or nacks all of it.
func (c *consumer) flush(ctx context.Context) {
	if len(c.msgs) == 0 {
		return
	}
	if err := c.handler(ctx, c.evs); err != nil {
		c.m.HandlerErrors.Inc()
		c.log.Error("usage batch failed; nacked for redelivery", "events", len(c.evs), "error", err)
		c.nackAll()
		// The redelivery comes at once; a handler whose store is down
		// would spin on it without a pause.
		c.failures++
		pause := min(c.opts.BatchWait<<min(c.failures, 8), maxFailurePause)
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
		return
	}
	c.failures = 0
	for _, msg := range c.msgs {
		msg.Ack()
	}
	c.m.Consumed.Add(float64(len(c.msgs)))
	c.reset()
}

func (c *consumer) nackAll() {
	for _, msg := range c.msgs {
		msg.Nack()
	}
	c.reset()
}

func (c *consumer) reset() {
	clear(c.msgs)
	clear(c.evs)
	c.msgs = c.msgs[:0]
	c.evs = c.evs[:0]
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
