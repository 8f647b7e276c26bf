package accountant

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/events"
	"github.com/openai-api-convertor/convertor/internal/dynamo"
	"github.com/openai-api-convertor/convertor/internal/memstore"
	"github.com/openai-api-convertor/convertor/internal/stores"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// deliveryTimeout bounds every wait for the pipeline; generous because
// the machine is shared and -race is slow.
const deliveryTimeout = 60 * time.Second

var eventBase = time.Date(2025, 11, 25, 12, 0, 0, 0, time.UTC)

// sonnetEvent is request i on the global Sonnet 4.5 profile: 1000+i input
// and 100 output tokens, so its cost is (1000+i)×3 + 100×15 = 4500 + 3i µ$.
func sonnetEvent(i int) *convertor.UsageEvent {
	t := eventBase.Add(time.Duration(i) * time.Second)
	return &convertor.UsageEvent{
		Version:        convertor.UsageEventVersion,
		ID:             events.NewID(t),
		RequestID:      fmt.Sprintf("req-%d", i),
		Time:           t,
		KeyID:          fmt.Sprintf("key_%d", i%3),
		Model:          "claude-sonnet-4-5",
		BedrockModelID: "global." + sonnet45,
		InputTokens:    int64(1000 + i),
		OutputTokens:   100,
		Status:         convertor.UsageOK,
		HTTPStatus:     200,
	}
}

func sonnetCost(i int) int64 { return 4500 + 3*int64(i) }

func testLog(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

func uniqueName(t testing.TB) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, t.Name())
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	return name + "_" + hex.EncodeToString(b[:])
}

// testDynamo creates the tables under names unique to t.
func testDynamo(t testing.TB) dynamo.Config {
	t.Helper()
	p := "t-" + strings.ReplaceAll(uniqueName(t), "_", "-") + "-"
	cfg := dynamo.Config{Endpoint: testenv.DynamoDB(t), Region: dynamo.DefaultRegion, Tables: dynamo.Tables{
		APIKeys: p + "keys", Usage: p + "usage", UsageStats: p + "stats", ModelPricing: p + "pricing", ModelMapping: p + "mapping", Audit: p + "audit",
	}}
	db, err := dynamo.NewClient(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dynamo.CreateTables(t.Context(), db, cfg.Tables, testLog(t)); err != nil {
		t.Fatalf("CreateTables() error = %v", err)
	}
	return cfg
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(deliveryTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", deliveryTimeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// collector gathers the messages of one raw subscription.
type collector struct {
	mu   sync.Mutex
	msgs map[string][]byte // UUID → payload
	n    int
}

func collect(t *testing.T, cfg events.Config, group, topic string) *collector {
	t.Helper()
	sub, err := events.NewSubscriber(t.Context(), cfg, group, testLog(t))
	if err != nil {
		t.Fatalf("NewSubscriber(%s) error = %v", topic, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	msgs, err := sub.Subscribe(ctx, topic)
	if err != nil {
		t.Fatalf("Subscribe(%s) error = %v", topic, err)
	}
	c := &collector{msgs: make(map[string][]byte)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m := range msgs {
			c.mu.Lock()
			c.msgs[m.UUID] = m.Payload
			c.n++
			c.mu.Unlock()
			m.Ack()
		}
	}()
	t.Cleanup(func() {
		cancel()
		sub.Close()
		<-done
	})
	return c
}

func (c *collector) snapshot() (map[string][]byte, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string][]byte, len(c.msgs))
	for k, v := range c.msgs {
		out[k] = v
	}
	return out, c.n
}

// TestRun_EndToEnd drives Run over embedded NATS JetStream and dynamolocal:
// N events with duplicates and invalid payloads in; exactly N records with
// the hand-computed costs stored, every record published on the priced
// topic, every invalid payload dead-lettered.
func TestRun_EndToEnd(t *testing.T) {
	t.Parallel()
	name := uniqueName(t)
	ecfg := events.Config{
		NATSURL:         testenv.NATS(t),
		Stream:          name,
		Topic:           "t." + name + ".events",
		DeadLetterTopic: "t." + name + ".deadletter",
		MaxInFlight:     64,
	}
	cfg := Config{
		Events:    ecfg,
		BatchSize: 50, BatchWait: 50 * time.Millisecond, WriteConcurrency: 8,
		PriceRefresh: time.Minute, ConsumerName: "accountant", SeedPrices: true,
	}
	// The default retention: the events are dated in the past, and a short
	// TTL would have the store delete their records before they are read.
	st, err := stores.Open(t.Context(), stores.Config{Dynamo: testDynamo(t), UsageTTL: stores.DefaultUsageTTLDays * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := events.NewPublisher(t.Context(), ecfg, testLog(t))
	if err != nil {
		t.Fatalf("NewPublisher() error = %v", err)
	}
	t.Cleanup(func() { pub.Close() })
	priced := collect(t, events.PricedConfig(ecfg), "check", events.PricedConfig(ecfg).Topic)
	dead := collect(t, ecfg, "check", ecfg.DeadLetterTopic)

	const n = 120
	want := make(map[string]int64, n)
	for i := range n {
		ev := sonnetEvent(i)
		want[ev.ID] = sonnetCost(i)
		payload, err := events.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if err := pub.Publish(ecfg.Topic, message.NewMessage(ev.ID, payload)); err != nil {
			t.Fatalf("Publish() error = %v", err)
		}
		if i%4 == 0 {
			// A duplicate delivery under another message id, which
			// JetStream's own deduplication does not catch.
			if err := pub.Publish(ecfg.Topic, message.NewMessage(ev.ID+"-again", payload)); err != nil {
				t.Fatalf("Publish(duplicate) error = %v", err)
			}
		}
		if i == n/2 {
			for j, bad := range []string{`{not json`, `{"v":99,"id":"x"}`, strings.Replace(string(payload), `"output_tokens":100`, `"output_tokens":-1`, 1)} {
				if err := pub.Publish(ecfg.Topic, message.NewMessage(fmt.Sprintf("bad-%d", j), []byte(bad))); err != nil {
					t.Fatalf("Publish(bad) error = %v", err)
				}
			}
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, Deps{Usage: st.Usage, Prices: st.Prices}, testLog(t)) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run() error = %v", err)
			}
		}
	}
	t.Cleanup(stop)

	store := st.Usage
	readAll := func() map[string]*convertor.UsageRecord {
		got := make(map[string]*convertor.UsageRecord)
		err := store.Usage(t.Context(), eventBase, eventBase.Add(time.Hour), "", func(page []*convertor.UsageRecord) error {
			for _, r := range page {
				got[r.ID] = r
			}
			return nil
		})
		if err != nil {
			t.Fatalf("Usage() error = %v", err)
		}
		return got
	}
	waitFor(t, "every record stored", func() bool { return len(readAll()) >= n })
	waitFor(t, "every record published", func() bool { m, _ := priced.snapshot(); return len(m) >= n })
	waitFor(t, "every invalid payload dead-lettered", func() bool { m, _ := dead.snapshot(); return len(m) >= 3 })
	stop()

	got := readAll()
	gotCost := make(map[string]int64, len(got))
	for id, r := range got {
		gotCost[id] = r.CostMicros
		if r.Unpriced || !r.PriceFrom.Equal(defaultEffectiveFrom) {
			t.Errorf("record %s: unpriced %t, price from %v", id, r.Unpriced, r.PriceFrom)
		}
	}
	if diff := cmp.Diff(want, gotCost); diff != "" {
		t.Errorf("stored costs mismatch (-want +got):\n%s", diff)
	}
	msgs, _ := priced.snapshot()
	pubCost := make(map[string]int64, len(msgs))
	for id, payload := range msgs {
		r, err := events.UnmarshalRecord(payload)
		if err != nil {
			t.Errorf("priced message %s: %v", id, err)
			continue
		}
		if r.ID != id {
			t.Errorf("priced message %s carries record %s", id, r.ID)
		}
		pubCost[r.ID] = r.CostMicros
	}
	if diff := cmp.Diff(want, pubCost); diff != "" {
		t.Errorf("published costs mismatch (-want +got):\n%s", diff)
	}
}

// recordingPublisher keeps what is published and fails while failing is set.
type recordingPublisher struct {
	mu      sync.Mutex
	failing bool
	ids     []string
}

func (p *recordingPublisher) Publish(topic string, msgs ...*message.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failing {
		return errors.New("bus down")
	}
	for _, m := range msgs {
		p.ids = append(p.ids, m.UUID)
	}
	return nil
}

func (p *recordingPublisher) Close() error { return nil }

func TestAccountant_Handle(t *testing.T) {
	ctx := context.Background()
	usage, prices := memstore.NewUsageStore(), memstore.NewPriceStore()
	if _, err := SeedPrices(ctx, prices); err != nil {
		t.Fatal(err)
	}
	pub := &recordingPublisher{failing: true}
	m := NewMetrics(nil)
	a := New(usage, prices, pub, "usage.priced", Options{Metrics: m})

	unknown := sonnetEvent(2)
	unknown.BedrockModelID = "us.anthropic.claude-unknown-v1"
	first := sonnetEvent(0)
	dup := *first // the same event twice in one batch
	batch := []*convertor.UsageEvent{first, sonnetEvent(1), &dup, unknown}

	// The bus is down: records are stored, the batch fails (to be
	// redelivered), nothing counts as published.
	if err := a.Handle(ctx, batch); err == nil {
		t.Fatal("Handle() with the bus down error = nil, want an error")
	}
	// The redelivery: every record published, even those stored already.
	pub.failing = false
	if err := a.Handle(ctx, batch); err != nil {
		t.Fatalf("Handle() error = %v", err)
	}
	wantIDs := []string{batch[0].ID, batch[1].ID, unknown.ID}
	if diff := cmp.Diff(wantIDs, pub.ids); diff != "" {
		t.Errorf("published ids mismatch (-want +got):\n%s", diff)
	}
	var got []*convertor.UsageRecord
	_ = usage.Usage(ctx, eventBase, eventBase.Add(time.Hour), "", func(p []*convertor.UsageRecord) error {
		got = append(got, p...)
		return nil
	})
	if len(got) != 3 || got[0].CostMicros != sonnetCost(0) || got[1].CostMicros != sonnetCost(1) || !got[2].Unpriced {
		t.Errorf("stored records = %+v, want 3 with costs %d, %d and one unpriced", got, sonnetCost(0), sonnetCost(1))
	}
	for name, c := range map[string]struct{ got, want float64 }{
		"stored":     {counterValue(t, m.Stored), 3},
		"duplicates": {counterValue(t, m.Duplicates), 3},
		"unpriced":   {counterValue(t, m.Unpriced), 1},
		"published":  {counterValue(t, m.Published), 3},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", name, c.got, c.want)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	env := map[string]string{
		"NATS_URL":                   "nats://127.0.0.1:4222",
		"ACCOUNTANT_BATCH_SIZE":      "250",
		"ACCOUNTANT_SEED_PRICES":     "FALSE",
		"ACCOUNTANT_TRANSACT_WRITES": " 1 ",
		"ACCOUNTANT_METRICS_ADDR":    "off",
		// A bare number is seconds, as everywhere.
		"ACCOUNTANT_PRICE_REFRESH": "30",
	}
	cfg, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("LoadConfig() error = %v", err)
	}
	if cfg.BatchSize != 250 || cfg.SeedPrices || !cfg.TransactWrites || cfg.MetricsAddr != "" ||
		cfg.PriceRefresh != 30*time.Second || cfg.BatchWait != DefaultBatchWait ||
		cfg.WriteConcurrency != DefaultWriteConcurrency || cfg.ConsumerName != DefaultConsumerName {
		t.Errorf("LoadConfig() = %+v", cfg)
	}

	cfg, err = LoadConfig(func(k string) string { return map[string]string{"NATS_URL": "nats://127.0.0.1:4222"}[k] })
	if err != nil || cfg.MetricsAddr != "127.0.0.1:8006" {
		t.Errorf("LoadConfig() defaults = %+v, %v; the metrics listener must default to loopback", cfg, err)
	}

	bad := map[string]string{
		"ACCOUNTANT_BATCH_SIZE": "0", "ACCOUNTANT_BATCH_WAIT": "-1s",
		"ACCOUNTANT_SEED_PRICES": "yes", "ACCOUNTANT_PRICE_REFRESH": "0",
	}
	_, err = LoadConfig(func(k string) string { return bad[k] })
	for _, want := range []string{
		`ACCOUNTANT_BATCH_SIZE: "0" is below the minimum 1`,
		`ACCOUNTANT_BATCH_WAIT: "-1s" is negative`,
		`ACCOUNTANT_SEED_PRICES: "yes" is not a boolean (use true, false, 1 or 0)`,
		`ACCOUNTANT_PRICE_REFRESH: "0" is not positive`,
		"NATS_URL or SQS_QUEUE_URL",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadConfig(bad) error = %v, want it to contain %s", err, want)
		}
	}
}

// BenchmarkAccountant measures events/s through Handle into dynamolocal (in
// process, over HTTP) with a publisher that only records: the
// store's side of the accountant's throughput, writing each batch of 100
// as one transaction ("transact") or as parallel conditional puts.
func BenchmarkAccountant(b *testing.B) {
	for _, mode := range []struct {
		name     string
		conc     int
		transact bool
	}{
		{"transact", 1, true},
		{"puts-concurrency=1", 1, false},
		{"puts-concurrency=16", 16, false},
	} {
		b.Run(mode.name, func(b *testing.B) {
			cfg := testDynamo(b)
			db, err := dynamo.NewClient(b.Context(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			prices := dynamo.NewPriceStore(db, cfg.Tables.ModelPricing)
			if _, err := SeedPrices(b.Context(), prices); err != nil {
				b.Fatal(err)
			}
			usage := dynamo.NewUsageStore(db, cfg.Tables.Usage, 0)
			m := NewMetrics(nil)
			a := New(usage, prices, &recordingPublisher{}, "usage.priced", Options{WriteConcurrency: mode.conc, TransactWrites: mode.transact, Metrics: m})
			const batch = 100
			n := 0
			for b.Loop() {
				evs := make([]*convertor.UsageEvent, batch)
				for i := range evs {
					evs[i] = sonnetEvent(n)
					n++
				}
				if err := a.Handle(b.Context(), evs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
			b.StopTimer()
			if got := counterValue(b, m.Stored); got != float64(n) {
				b.Fatalf("stored %v records, want %d", got, n)
			}
		})
	}
}

func counterValue(t testing.TB, c interface{ Write(*dto.Metric) error }) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func TestAccountant_PriceAddedSinceLoad(t *testing.T) {
	ctx := context.Background()
	usage, prices := memstore.NewUsageStore(), memstore.NewPriceStore()
	a := New(usage, prices, &recordingPublisher{}, "usage.priced", Options{PriceRefresh: time.Hour})
	ev := func(i int) *convertor.UsageEvent {
		e := sonnetEvent(i)
		e.Model, e.BedrockModelID = "custom", "us.anthropic.claude-custom-v1:0"
		return e
	}
	if err := a.Handle(ctx, []*convertor.UsageEvent{ev(0)}); err != nil {
		t.Fatal(err)
	}
	// The admin adds the missing price; the next event must not wait for
	// the hourly reload to be priced.
	if err := prices.CreatePrice(ctx, convertor.Price{Model: "anthropic.claude-custom-v1:0", EffectiveFrom: eventBase.Add(-time.Hour),
		InputMicros: 1_000_000, OutputMicros: 2_000_000}); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	a.loadedAt = a.loadedAt.Add(-unpricedReload)
	a.mu.Unlock()
	if err := a.Handle(ctx, []*convertor.UsageEvent{ev(1)}); err != nil {
		t.Fatal(err)
	}
	var got []*convertor.UsageRecord
	_ = usage.Usage(ctx, eventBase, eventBase.Add(time.Hour), "", func(p []*convertor.UsageRecord) error {
		got = append(got, p...)
		return nil
	})
	if len(got) != 2 || !got[0].Unpriced || got[1].Unpriced || got[1].CostMicros != 1001+200 {
		t.Errorf("records = %+v, want the first unpriced and the second at 1201 micro-dollars", got)
	}
}
