package events

import (
	"context"
	"log/slog"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/openai-api-convertor/convertor"
)

// Settle hands a batch to handle and acks or nacks every message of it.
//
// A batch the handler refuses as invalid (convertor.EInvalid) holds items no
// retry will ever take: it is split in halves, handled again, until the
// items at fault stand alone; those are dead-lettered (their payload, with
// the reason: a metric, a log line at Error and the dead-letter stream or
// queue, where an operator finds them) and acked, and the rest of the batch
// goes on as usual. Any other failure, such as a store that is down, nacks
// the batch for redelivery, and the bus redelivers without limit: an outage
// delays events but never loses them. Settle returns that failure, nil when
// every message was acked.
func Settle[T any](ctx context.Context, msgs []*message.Message, items []T, handle func(context.Context, []T) error, deadLetter func(raw []byte, reason error) error, log *slog.Logger, m *Metrics) error {
	log = orDiscard(log)
	if m == nil {
		m = NewMetrics(nil)
	}
	err := handle(ctx, items)
	switch {
	case err == nil:
		for _, msg := range msgs {
			msg.Ack()
		}
		m.Consumed.Add(float64(len(msgs)))
		return nil
	case convertor.ErrorCode(err) != convertor.EInvalid:
		m.HandlerErrors.Inc()
		for _, msg := range msgs {
			msg.Nack()
		}
		return err
	case len(msgs) == 1:
		m.DeadLettered.Inc()
		log.Error("usage payload refused by the store as invalid; dead-lettered", "message_id", msgs[0].UUID, "error", err)
		deadLetterMsg(msgs[0], err, deadLetter, log)
		return nil
	}
	half := len(msgs) / 2
	err1 := Settle(ctx, msgs[:half], items[:half], handle, deadLetter, log, m)
	err2 := Settle(ctx, msgs[half:], items[half:], handle, deadLetter, log, m)
	if err1 != nil {
		return err1
	}
	return err2
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
