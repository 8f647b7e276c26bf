package pipeline

import (
	"context"
	"sync"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/accountant"
	"github.com/openai-api-convertor/convertor/aggregator"
	"github.com/openai-api-convertor/convertor/events"
	"github.com/openai-api-convertor/convertor/internal/dynamo"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// doublePublisher publishes every message twice: the original and a copy
// with the same payload (so the same event or record id) under another
// message id. The other message id gets the copy past JetStream's
// duplicate window, which would otherwise drop it on publish, so the
// consumers themselves see every id twice. It keeps what it published for
// a later replay.
type doublePublisher struct {
	message.Publisher

	mu   sync.Mutex
	sent map[string][]*message.Message // topic → originals
}

func (d *doublePublisher) Publish(topic string, msgs ...*message.Message) error {
	all := make([]*message.Message, 0, 2*len(msgs))
	all = append(all, msgs...)
	for _, m := range msgs {
		all = append(all, copyMessage(m, "-again"))
	}
	err := d.Publisher.Publish(topic, all...)
	if err == nil {
		d.mu.Lock()
		if d.sent == nil {
			d.sent = map[string][]*message.Message{}
		}
		d.sent[topic] = append(d.sent[topic], msgs...)
		d.mu.Unlock()
	}
	return err
}

// replay publishes everything sent on topic once more, with fresh message
// ids: a late redelivery of the whole history. It returns how many.
func (d *doublePublisher) replay(topic string) (int, error) {
	d.mu.Lock()
	msgs := make([]*message.Message, len(d.sent[topic]))
	for i, m := range d.sent[topic] {
		msgs[i] = copyMessage(m, "-late")
	}
	d.mu.Unlock()
	return len(msgs), d.Publisher.Publish(topic, msgs...)
}

// count returns how many originals were published on topic.
func (d *doublePublisher) count(topic string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.sent[topic])
}

func copyMessage(m *message.Message, suffix string) *message.Message {
	c := message.NewMessage(m.UUID+suffix, m.Payload)
	for k, v := range m.Metadata {
		c.Metadata.Set(k, v)
	}
	return c
}

// TestPipeline_EveryEventTwice delivers every usage event twice to the
// accountant and every priced record twice to the aggregator, in the same
// or neighbouring batches, and after convergence replays the whole event
// history once more: the totals stay exact.
func TestPipeline_EveryEventTwice(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, natsVars(t, testenv.NATS(t)), false)
	pricedDup := p.runDoubledConsumers()
	var eventsDup *doublePublisher
	client := p.startGateway(gatewayOptions{wrap: func(pub message.Publisher) message.Publisher {
		eventsDup = &doublePublisher{Publisher: pub}
		return eventsDup
	}})
	secret, key := p.newKey(nil)
	w := newWindow()
	reqs := makeLoad(loadSize)
	d := &driver{client: client, secret: secret, workers: 8}
	d.send(t, reqs)
	w.close()
	tr := truthOf(t, reqs...)
	quiet := p.natsQuiet()
	p.converge(key.ID, w, tr, quiet)

	pricedTopic := events.PricedConfig(p.bus).Topic
	sentBefore := pricedDup.count(pricedTopic)
	n, err := eventsDup.replay(p.bus.Topic)
	if err != nil {
		t.Fatalf("replay events: %v", err)
	}
	require(t, n == loadSize, "replayed %d events, want %d", n, loadSize)
	// The accountant publishes the record of each replayed event again;
	// JetStream drops those re-publishes (same message ids, inside its
	// duplicate window), as it does for an accountant that crashed
	// between publish and ack.
	waitUntil(t, "the accountant to handle the replayed events", func() bool {
		return pricedDup.count(pricedTopic) >= sentBefore+loadSize
	})
	p.converge(key.ID, w, tr, quiet)
	p.checkNoDrops()
	// The duplicates reached the consumers' own idempotency, not only the
	// bus's: the accountant found every replayed event's record stored,
	// and the aggregator was handed every record at least twice.
	if got := counterValue(p.accountantMetrics.Duplicates); got < loadSize {
		t.Errorf("accountant duplicates = %v, want at least %d", got, loadSize)
	}
	if got := counterValue(p.aggregatorMetrics.Duplicates); got < loadSize {
		t.Errorf("aggregator duplicates = %v, want at least %d", got, loadSize)
	}
}

// runDoubledConsumers runs the accountant and the aggregator in process,
// wired as their Run functions wire them but with the accountant's
// publisher of priced records doubling every record. It returns that
// publisher.
func (p *pipeline) runDoubledConsumers() *doublePublisher {
	t := p.t
	t.Helper()
	ctx := context.Background()
	acfg, err := accountant.LoadConfig(p.getenv)
	if err != nil {
		t.Fatal(err)
	}
	prices := dynamo.NewPriceStore(p.db, p.tables.ModelPricing)
	if _, err := accountant.SeedPrices(ctx, prices); err != nil {
		t.Fatal(err)
	}
	priced := events.PricedConfig(p.bus)
	pricedPub, err := events.NewPublisher(ctx, priced, p.log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pricedPub.Close() })
	dup := &doublePublisher{Publisher: pricedPub}
	p.accountantMetrics = accountant.NewMetrics(nil)
	a := accountant.New(p.usage, prices, dup, priced.Topic, accountant.Options{Log: p.log, Metrics: p.accountantMetrics})
	asub, err := events.NewSubscriber(ctx, p.bus, acfg.ConsumerName, p.log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { asub.Close() })
	p.run("accountant", func(ctx context.Context) error {
		return events.Consume(ctx, asub, p.bus.Topic, func(_ context.Context, evs []*convertor.UsageEvent) error {
			return a.Handle(context.Background(), evs)
		}, events.ConsumeOptions{Log: p.log})
	})

	p.aggregatorMetrics = aggregator.NewMetrics(nil)
	g := aggregator.New(p.stats, aggregator.Options{Log: p.log, Metrics: p.aggregatorMetrics})
	gsub, err := events.NewSubscriber(ctx, priced, aggregator.DefaultConsumerName, p.log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gsub.Close() })
	p.run("aggregator", func(ctx context.Context) error { return g.Consume(ctx, gsub, priced.Topic) })
	return dup
}
