package events_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/events"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// deliveryTimeout is generous: the machine is small and shared.
const deliveryTimeout = 60 * time.Second

// bus is one transport under the contract suite.
type bus struct {
	pub message.Publisher
	// sub returns a subscriber for a consumer group.
	sub             func(t *testing.T, group string) message.Subscriber
	topic, deadTopc string
}

// transports are the implementations the contract suite runs against.
var transports = []struct {
	name string
	open func(t *testing.T) bus
}{
	{"GoChannel", openGoChannel},
	{"JetStream", openJetStream},
	{"SQS", openSQS},
}

func testLog(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return nil
}

func openGoChannel(t *testing.T) bus {
	// Persistent, so messages published before a subscription reach it,
	// as they would on a real bus.
	gc := gochannel.NewGoChannel(gochannel.Config{Persistent: true}, watermill.NopLogger{})
	t.Cleanup(func() { gc.Close() })
	return bus{
		pub:   gc,
		sub:   func(*testing.T, string) message.Subscriber { return gc },
		topic: events.DefaultTopic, deadTopc: events.DefaultDeadLetterTopic,
	}
}

// openPublisher opens a publisher on cfg, closed when the test ends.
func openPublisher(t *testing.T, cfg events.Config) message.Publisher {
	t.Helper()
	pub, err := events.NewPublisher(t.Context(), cfg, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Close() })
	return pub
}

// openSubscriber opens a subscriber on cfg for consumer, closed when the
// test ends.
func openSubscriber(t *testing.T, cfg events.Config, consumer string) message.Subscriber {
	t.Helper()
	sub, err := events.NewSubscriber(t.Context(), cfg, consumer, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	return sub
}

func jetStreamConfig(t *testing.T, url string) events.Config {
	name := uniqueName(t)
	return events.Config{
		NATSURL:         url,
		Stream:          name,
		Topic:           "t." + name + ".events",
		DeadLetterTopic: "t." + name + ".deadletter",
		MaxInFlight:     64,
	}
}

func openJetStream(t *testing.T) bus {
	return openConfig(t, jetStreamConfig(t, testenv.NATS(t)))
}

func openSQS(t *testing.T) bus {
	endpoint := testenv.SQS(t)
	name := uniqueName(t)
	return openConfig(t, events.Config{
		SQSEndpoint:      endpoint,
		SQSQueueURL:      endpoint + "/123456789012/" + name,
		SQSDeadLetterURL: endpoint + "/123456789012/" + name + "-dlq",
		// A nack on SQS is a message left invisible until this passes.
		SQSVisibilityTimeout: time.Second,
		SQSWorkers:           8,
	})
}

func openConfig(t *testing.T, cfg events.Config) bus {
	ctx := t.Context()
	pub, err := events.NewPublisher(ctx, cfg, testLog(t))
	if err != nil {
		t.Fatalf("NewPublisher() error = %v", err)
	}
	t.Cleanup(func() { pub.Close() })
	topic, dead := cfg.Topic, cfg.DeadLetterTopic
	if topic == "" {
		topic, dead = events.DefaultTopic, events.DefaultDeadLetterTopic
	}
	return bus{
		pub: pub,
		sub: func(t *testing.T, group string) message.Subscriber {
			sub, err := events.NewSubscriber(ctx, cfg, group, testLog(t))
			if err != nil {
				t.Fatalf("NewSubscriber() error = %v", err)
			}
			t.Cleanup(func() { sub.Close() })
			return sub
		},
		topic: topic, deadTopc: dead,
	}
}

func publish(t *testing.T, pub message.Publisher, topic string, evs []*convertor.UsageEvent) {
	t.Helper()
	for _, ev := range evs {
		msg, err := events.NewMessage(ev)
		if err != nil {
			t.Fatal(err)
		}
		if err := pub.Publish(topic, msg); err != nil {
			t.Fatalf("Publish() error = %v", err)
		}
	}
}

// consume runs events.Consume until the test ends and reports its result.
func consume(t *testing.T, sub message.Subscriber, topic string, handler func(context.Context, []*convertor.UsageEvent) error, opts events.ConsumeOptions) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- events.Consume(ctx, sub, topic, handler, opts) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Consume() error = %v", err)
		}
	})
}

func TestContract(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			t.Run("EveryEventDelivered", func(t *testing.T) {
				t.Parallel()
				testEveryEventDelivered(t, tr.open(t))
			})
			t.Run("RedeliveryAfterNack", func(t *testing.T) {
				t.Parallel()
				testRedeliveryAfterNack(t, tr.open(t))
			})
			t.Run("InvalidPayloadDeadLettered", func(t *testing.T) {
				t.Parallel()
				testInvalidPayloadDeadLettered(t, tr.open(t))
			})
			t.Run("RefusedEventsDeadLettered", func(t *testing.T) {
				t.Parallel()
				testRefusedEventsDeadLettered(t, tr.open(t))
			})
		})
	}
}

func testEveryEventDelivered(t *testing.T, b bus) {
	evs := testEvents(t, 120)
	got := newSeen()
	var batches, biggest atomic.Int64
	consume(t, b.sub(t, "contract"), b.topic, func(_ context.Context, batch []*convertor.UsageEvent) error {
		batches.Add(1)
		if n := int64(len(batch)); n > biggest.Load() {
			biggest.Store(n)
		}
		got.add(batch)
		return nil
	}, events.ConsumeOptions{BatchSize: 16, BatchWait: 50 * time.Millisecond, Log: testLog(t)})
	publish(t, b.pub, b.topic, evs)
	waitFor(t, deliveryTimeout, "every event", func() bool { return got.missing(evs) == 0 })
	if n := got.distinct(); n != len(evs) {
		t.Errorf("consumer saw %d distinct ids, want %d", n, len(evs))
	}
	if biggest.Load() > 16 {
		t.Errorf("largest batch = %d, want at most BatchSize 16", biggest.Load())
	}
	t.Logf("%d events in %d batches, largest %d", len(evs), batches.Load(), biggest.Load())
}

func testRedeliveryAfterNack(t *testing.T, b bus) {
	evs := testEvents(t, 10)
	got := newSeen()
	var failed sync.Map // id → true once its first batch was refused
	m := events.NewMetrics(nil)
	consume(t, b.sub(t, "contract"), b.topic, func(_ context.Context, batch []*convertor.UsageEvent) error {
		for _, ev := range batch {
			if _, again := failed.LoadOrStore(ev.ID, true); !again {
				// Refuse any batch holding an event seen for the first
				// time: every event must come back.
				for _, ev := range batch {
					failed.LoadOrStore(ev.ID, true)
				}
				return errors.New("store unavailable")
			}
		}
		got.add(batch)
		return nil
	}, events.ConsumeOptions{BatchSize: 4, BatchWait: 20 * time.Millisecond, Metrics: m, Log: testLog(t)})
	publish(t, b.pub, b.topic, evs)
	waitFor(t, deliveryTimeout, "every event after its redelivery", func() bool { return got.missing(evs) == 0 })
	if n := got.distinct(); n != len(evs) {
		t.Errorf("consumer acked %d distinct ids, want %d", n, len(evs))
	}
}

func testInvalidPayloadDeadLettered(t *testing.T, b bus) {
	before, after := testEvents(t, 3), []*convertor.UsageEvent{testEvent(t, 50), testEvent(t, 51)}
	got := newSeen()
	m := events.NewMetrics(nil)
	consume(t, b.sub(t, "contract"), b.topic, func(_ context.Context, batch []*convertor.UsageEvent) error {
		got.add(batch)
		return nil
	}, events.ConsumeOptions{
		BatchSize: 8, BatchWait: 20 * time.Millisecond,
		DeadLetter: events.NewDeadLetter(b.pub, b.deadTopc),
		Metrics:    m, Log: testLog(t),
	})
	poison := []byte(`{"v":99,"id":"x"}`)
	publish(t, b.pub, b.topic, before)
	if err := b.pub.Publish(b.topic, message.NewMessage("poison-1", poison)); err != nil {
		t.Fatal(err)
	}
	publish(t, b.pub, b.topic, after)
	all := append(before, after...)
	waitFor(t, deliveryTimeout, "the valid events around the invalid one", func() bool { return got.missing(all) == 0 })

	// The dead letter holds the payload unchanged, with the reason.
	dl, err := b.sub(t, "deadletter").Subscribe(t.Context(), b.deadTopc)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case msg := <-dl:
		msg.Ack()
		if string(msg.Payload) != string(poison) {
			t.Errorf("dead letter payload = %q, want %q", msg.Payload, poison)
		}
		if msg.Metadata.Get(events.MetadataReason) == "" {
			t.Errorf("dead letter metadata = %v, want a %q", msg.Metadata, events.MetadataReason)
		}
	case <-time.After(deliveryTimeout):
		t.Fatal("nothing reached the dead letter")
	}
}

// testRefusedEventsDeadLettered: events the handler refuses as invalid
// (EInvalid, as a store refuses what it can never take) are found among
// their batch, dead-lettered one by one, and the rest of the batch is
// handled; nothing is retried for ever and nothing vanishes.
func testRefusedEventsDeadLettered(t *testing.T, b bus) {
	evs := testEvents(t, 12)
	bad := map[string]bool{evs[3].ID: true, evs[8].ID: true}
	got := newSeen()
	m := events.NewMetrics(nil)
	consume(t, b.sub(t, "contract"), b.topic, func(_ context.Context, batch []*convertor.UsageEvent) error {
		for _, ev := range batch {
			if bad[ev.ID] {
				return convertor.Errorf(convertor.EInvalid, "event %s names no key", ev.ID)
			}
		}
		got.add(batch)
		return nil
	}, events.ConsumeOptions{
		BatchSize: 12, BatchWait: 50 * time.Millisecond,
		DeadLetter: events.NewDeadLetter(b.pub, b.deadTopc),
		Metrics:    m, Log: testLog(t),
	})
	publish(t, b.pub, b.topic, evs)
	var good []*convertor.UsageEvent
	for _, ev := range evs {
		if !bad[ev.ID] {
			good = append(good, ev)
		}
	}
	waitFor(t, deliveryTimeout, "every accepted event", func() bool { return got.missing(good) == 0 })
	waitFor(t, deliveryTimeout, "both refused events dead-lettered", func() bool { return testutil.ToFloat64(m.DeadLettered) == 2 })
	dl, err := b.sub(t, "deadletter").Subscribe(t.Context(), b.deadTopc)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case msg := <-dl:
			msg.Ack()
			ev, err := events.Unmarshal(msg.Payload)
			if err != nil || !bad[ev.ID] || !strings.Contains(msg.Metadata.Get(events.MetadataReason), "names no key") {
				t.Errorf("dead letter = %s (%v), reason %q", msg.Payload, err, msg.Metadata.Get(events.MetadataReason))
			}
		case <-time.After(deliveryTimeout):
			t.Fatal("no dead letter")
		}
	}
	if n := got.distinct(); n != len(good) {
		t.Errorf("consumer acked %d distinct ids, want %d", n, len(good))
	}
}
