package events

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/openai-api-convertor/convertor"
)

// SettleOptions are what Settle needs besides the batch.
type SettleOptions struct {
	// DeadLetter receives the payloads the handler refuses as invalid (see
	// ConsumeOptions.DeadLetter); nil logs them at Error.
	DeadLetter func(raw []byte, reason error) error
	// Pause is the first pause before a failed batch is tried again; it
	// doubles with each failure in a row, up to 10 s.
	Pause time.Duration
	Log   *slog.Logger
	// Metrics, nil for unregistered ones.
	Metrics *Metrics
}

// Settle hands a batch to handle and acks or dead-letters every message of
// it.
//
// A batch the handler refuses as invalid (convertor.EInvalid) holds items no
// retry will ever take: it is split in halves, handled again, until the
// items at fault stand alone; those are dead-lettered (their payload, with
// the reason: a metric, a log line at Error and the dead-letter stream or
// queue, where an operator finds them) and acked, and the rest of the batch
// goes on as usual.
//
// Any other failure, such as a store that is down, leaves the messages it
// concerns unacknowledged and held here, and hands them to handle again
// after a pause, for as long as the failure lasts. Holding them rather
// than nacking them is what keeps an outage from counting against them:
// SQS moves a message to its dead-letter queue after EVENTS_MAX_DELIVER
// receives, and a consumer holding its messages receives no others, so
// the counts stand still however long the store is down. Meanwhile the
// HandlerErrors counter and the Retrying gauge show it, and every failure
// is logged. When ctx ends first the held messages are nacked, for
// redelivery, and Settle returns the last failure; it returns nil when
// every message was acked or dead-lettered.
func Settle[T any](ctx context.Context, msgs []*message.Message, items []T, handle func(context.Context, []T) error, opts SettleOptions) error {
	opts.Log = orDiscard(opts.Log)
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(nil)
	}
	for failures := int64(1); ; failures++ {
		pending, pendingItems, err := settleOnce(ctx, msgs, items, handle, opts)
		if err == nil {
			return nil
		}
		opts.Log.Error("usage batch failed; holding it to try again", "messages", len(pending), "failures_in_a_row", failures, "error", err)
		opts.Metrics.Retrying.Add(float64(len(pending)))
		select {
		case <-ctx.Done():
		case <-time.After(failurePause(opts.Pause, failures)):
		}
		opts.Metrics.Retrying.Sub(float64(len(pending)))
		if ctx.Err() != nil {
			for _, msg := range pending {
				msg.Nack()
			}
			return err
		}
		msgs, items = pending, pendingItems
	}
}

// settleOnce hands the batch to handle once, bisecting what it refuses as
// invalid; it returns the messages a transient failure left unsettled,
// with their items and the failure.
func settleOnce[T any](ctx context.Context, msgs []*message.Message, items []T, handle func(context.Context, []T) error, opts SettleOptions) ([]*message.Message, []T, error) {
	err := handle(ctx, items)
	switch {
	case err == nil:
		for _, msg := range msgs {
			msg.Ack()
		}
		opts.Metrics.Consumed.Add(float64(len(msgs)))
		return nil, nil, nil
	case convertor.ErrorCode(err) != convertor.EInvalid:
		opts.Metrics.HandlerErrors.Inc()
		return msgs, items, err
	case len(msgs) == 1:
		opts.Metrics.DeadLettered.Inc()
		opts.Log.Error("usage payload refused by the store as invalid; dead-lettered", "message_id", msgs[0].UUID, "error", err)
		deadLetterMsg(msgs[0], err, opts.DeadLetter, opts.Log)
		return nil, nil, nil
	}
	half := len(msgs) / 2
	m1, i1, err1 := settleOnce(ctx, msgs[:half], items[:half], handle, opts)
	m2, i2, err2 := settleOnce(ctx, msgs[half:], items[half:], handle, opts)
	if err1 == nil {
		err1 = err2
	}
	return slices.Concat(m1, m2), slices.Concat(i1, i2), err1
}

// deadLetterMsg sends msg's payload to the dead letter and acks it; when
// that fails it nacks it, to be tried again. Without a dead letter the
// payload goes to the log.
func deadLetterMsg(msg *message.Message, reason error, deadLetter func(raw []byte, reason error) error, log *slog.Logger) {
	if deadLetter == nil {
		log.Error("no dead letter configured; refused payload logged here", "message_id", msg.UUID, "payload", truncate(msg.Payload, 4096))
		msg.Ack()
		return
	}
	if err := deadLetter(msg.Payload, reason); err != nil {
		log.Error("dead letter failed; message nacked for retry", "message_id", msg.UUID, "error", err)
		msg.Nack()
		return
	}
	msg.Ack()
}
