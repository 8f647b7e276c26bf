package events_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
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

// TestConsume_SQSOutageKeepsReceiveCounts: on SQS a message goes to the
// dead-letter queue after EVENTS_MAX_DELIVER receives. A store outage
// lasting far longer than that many visibility timeouts must move none
// there: the consumer holds what failed and receives nothing else, so
// every event is handled once the store is back and the dead-letter
// queue stays empty.
func TestConsume_SQSOutageKeepsReceiveCounts(t *testing.T) {
	t.Parallel()
	endpoint := testenv.SQS(t)
	name := uniqueName(t)
	cfg := events.Config{
		SQSEndpoint:          endpoint,
		SQSQueueURL:          endpoint + "/123456789012/" + name,
		SQSDeadLetterURL:     endpoint + "/123456789012/" + name + "-dlq",
		SQSVisibilityTimeout: time.Second,
		SQSWorkers:           4,
		MaxDeliver:           2,
	}
	b := openConfig(t, cfg)
	evs := testEvents(t, 6)
	got := newSeen()
	m := events.NewMetrics(nil)
	// The store is down for the first 25 handler calls: with the pauses
	// between tries, several seconds, many visibility timeouts.
	const outage = 25
	var calls atomic.Int64
	consume(t, b.sub(t, "outage"), b.topic, func(_ context.Context, batch []*convertor.UsageEvent) error {
		if calls.Add(1) <= outage {
			return convertor.Errorf(convertor.EUnavailable, "the store is unavailable")
		}
		got.add(batch)
		return nil
	}, events.ConsumeOptions{BatchSize: 4, BatchWait: time.Millisecond, Metrics: m, Log: testLog(t)})
	publish(t, b.pub, b.topic, evs)
	waitFor(t, 2*time.Minute, "every event after the outage", func() bool { return got.missing(evs) == 0 })

	client := sqs.New(sqs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
	out, err := client.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(cfg.SQSDeadLetterURL),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages},
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)]; n != "0" {
		t.Errorf("dead-letter queue holds %s messages after the outage, want 0", n)
	}
	if testutil.ToFloat64(m.HandlerErrors) < outage || testutil.ToFloat64(m.Retrying) != 0 {
		t.Errorf("handler errors %v, retrying %v; want at least %d and 0", testutil.ToFloat64(m.HandlerErrors), testutil.ToFloat64(m.Retrying), outage)
	}
}

// TestSubscriber_StartsWhileBusDown: a consumer started while the NATS
// server is down does not exit; it counts its failed subscriptions, and
// once the server is up it creates the stream and consumes every event.
func TestSubscriber_StartsWhileBusDown(t *testing.T) {
	t.Parallel()
	srv := testenv.StartNATS(t)
	srv.Stop()
	cfg := jetStreamConfig(t, srv.URL())
	sub, err := events.NewSubscriber(t.Context(), cfg, "early", testLog(t))
	if err != nil {
		t.Fatalf("NewSubscriber() with the server down: %v", err)
	}
	t.Cleanup(func() { sub.Close() })
	m := events.NewMetrics(nil)
	got := newSeen()
	consume(t, sub, cfg.Topic, func(_ context.Context, batch []*convertor.UsageEvent) error {
		got.add(batch)
		return nil
	}, events.ConsumeOptions{BatchSize: 8, BatchWait: 10 * time.Millisecond, Metrics: m, Log: testLog(t)})
	waitFor(t, 2*time.Minute, "a failed subscription while the server is down", func() bool {
		return testutil.ToFloat64(m.SubscribeFailures) >= 1
	})
	if m.Ready() == nil {
		t.Error("consumer ready while the server is down")
	}

	srv.Start()
	pub := openPublisher(t, cfg)
	evs := testEvents(t, 20)
	waitFor(t, 2*time.Minute, "the consumer to subscribe", func() bool { return m.Ready() == nil })
	publish(t, pub, cfg.Topic, evs)
	waitFor(t, 2*time.Minute, "every event once the server is up", func() bool { return got.missing(evs) == 0 })
}
