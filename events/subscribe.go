package events

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// Resubscription backoff: quick at first, since a bus restart takes a
// second or two, and capped, so that a long outage costs a line a minute.
const (
	resubscribeMin = 500 * time.Millisecond
	resubscribeMax = time.Minute
)

// KeepSubscribed subscribes to topic and runs run over the messages until
// ctx ends, subscribing again, with capped backoff, whenever Subscribe
// fails or the subscription closes: a consumer never gives up on its bus,
// it says so (log and metrics) and waits for it. run returns nil when ctx
// ends and ErrSubscriptionClosed when the channel closes, as BatchLoop.Run
// does; any other error ends KeepSubscribed. The Subscribed gauge is 1
// while a subscription is live, which the services' readiness reports.
func KeepSubscribed(ctx context.Context, sub message.Subscriber, topic string, log *slog.Logger, m *Metrics, run func(<-chan *message.Message) error) error {
	log = orDiscard(log)
	if m == nil {
		m = NewMetrics(nil)
	}
	backoff := resubscribeMin
	wait := func() bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, resubscribeMax)
		return true
	}
	for ctx.Err() == nil {
		msgs, err := sub.Subscribe(ctx, topic)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			m.SubscribeFailures.Inc()
			log.Error("subscribe failed; consuming stops until it succeeds", "retry_in", backoff, "error", err)
			if !wait() {
				return nil
			}
			continue
		}
		if backoff > resubscribeMin {
			log.Info("subscribed again; consuming")
		}
		backoff = resubscribeMin
		m.Subscribed.Set(1)
		err = run(msgs)
		m.Subscribed.Set(0)
		switch {
		case ctx.Err() != nil || err == nil:
			return nil
		case errors.Is(err, ErrSubscriptionClosed):
			log.Warn("subscription closed by the bus; subscribing again", "retry_in", backoff)
			if !wait() {
				return nil
			}
		default:
			return err
		}
	}
	return nil
}
