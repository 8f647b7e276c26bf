package events_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/events"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// TestConsume_OutageOutlastsRedeliveries: a handler whose store stays down
// for more deliveries than JetStream used to allow (EVENTS_MAX_DELIVER,
// 20) gets every event once the store is back: the bus never stops
// redelivering them.
func TestConsume_OutageOutlastsRedeliveries(t *testing.T) {
	t.Parallel()
	cfg := jetStreamConfig(t, testenv.NATS(t))
	cfg.AckWait = time.Second
	cfg.MaxDeliver = 3
	b := openConfig(t, cfg)
	evs := testEvents(t, 5)
	got := newSeen()
	var (
		mu       sync.Mutex
		attempts = map[string]int{}
	)
	const outage = 25 // failed deliveries of each event
	consume(t, b.sub(t, "outage"), b.topic, func(_ context.Context, batch []*convertor.UsageEvent) error {
		mu.Lock()
		defer mu.Unlock()
		down := false
		for _, ev := range batch {
			attempts[ev.ID]++
			down = down || attempts[ev.ID] <= outage
		}
		if down {
			return convertor.Errorf(convertor.EUnavailable, "the store is unavailable")
		}
		got.add(batch)
		return nil
	}, events.ConsumeOptions{BatchSize: 5, BatchWait: time.Millisecond, Log: testLog(t)})
	publish(t, b.pub, b.topic, evs)
	waitFor(t, 2*time.Minute, "every event after the outage", func() bool { return got.missing(evs) == 0 })
	mu.Lock()
	defer mu.Unlock()
	for _, ev := range evs {
		if attempts[ev.ID] <= outage {
			t.Errorf("event %s delivered %d times, want more than %d", ev.ID, attempts[ev.ID], outage)
		}
	}
}

// flakySubscriber fails its first Subscribe calls, then closes the first
// subscription it gives, before subscribing for good.
type flakySubscriber struct {
	message.Subscriber
	mu       sync.Mutex
	failures int
	closeOne bool
}

func (f *flakySubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failures > 0 {
		f.failures--
		return nil, errors.New("nats: context deadline exceeded")
	}
	if f.closeOne {
		f.closeOne = false
		ch := make(chan *message.Message)
		close(ch)
		return ch, nil
	}
	return f.Subscriber.Subscribe(ctx, topic)
}

// TestConsume_KeepsSubscribing: a consumer whose Subscribe fails, and whose
// subscription the bus closes, subscribes again and consumes every event,
// counting the failures and showing whether it is subscribed.
func TestConsume_KeepsSubscribing(t *testing.T) {
	t.Parallel()
	b := openJetStream(t)
	sub := &flakySubscriber{Subscriber: b.sub(t, "flaky"), failures: 3, closeOne: true}
	m := events.NewMetrics(nil)
	got := newSeen()
	consume(t, sub, b.topic, func(_ context.Context, batch []*convertor.UsageEvent) error {
		got.add(batch)
		return nil
	}, events.ConsumeOptions{BatchSize: 8, BatchWait: 10 * time.Millisecond, Metrics: m, Log: testLog(t)})
	evs := testEvents(t, 20)
	publish(t, b.pub, b.topic, evs)
	waitFor(t, 2*time.Minute, "every event after the failed subscriptions", func() bool { return got.missing(evs) == 0 })
	if n := testutil.ToFloat64(m.SubscribeFailures); n != 3 {
		t.Errorf("subscribe failures = %v, want 3", n)
	}
	if testutil.ToFloat64(m.Subscribed) != 1 || m.Ready() != nil {
		t.Errorf("subscribed gauge = %v, ready %v; want 1 and ready", testutil.ToFloat64(m.Subscribed), m.Ready())
	}
}
