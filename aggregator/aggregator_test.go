package aggregator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/events"
	"github.com/openai-api-convertor/convertor/internal/memstore"
)

// flakyStore fails the first n ApplyUsage calls after applying half of
// the batch, as a crash between two transactions would leave it.
type flakyStore struct {
	convertor.StatsStore
	fails atomic.Int64
}

func (s *flakyStore) ApplyUsage(ctx context.Context, recs []*convertor.UsageRecord) (int, error) {
	if s.fails.Add(-1) >= 0 {
		n, _ := s.StatsStore.ApplyUsage(ctx, recs[:len(recs)/2])
		return n, errors.New("injected store failure")
	}
	return s.StatsStore.ApplyUsage(ctx, recs)
}

func TestAggregator_Consume(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Persistent: messages published before Consume has subscribed are
	// kept for it rather than dropped.
	pubsub := gochannel.NewGoChannel(gochannel.Config{OutputChannelBuffer: 1024, Persistent: true}, watermill.NopLogger{})
	defer pubsub.Close()

	mem := memstore.NewStatsStore()
	store := &flakyStore{StatsStore: mem}
	store.fails.Store(2)
	var dlMu sync.Mutex
	var deadLetters []string
	m := NewMetrics(nil)
	a := New(store, Options{
		BatchSize: 50,
		BatchWait: 10 * time.Millisecond,
		DeadLetter: func(raw []byte, reason error) error {
			dlMu.Lock()
			defer dlMu.Unlock()
			deadLetters = append(deadLetters, string(raw))
			return nil
		},
		Metrics: m,
	})
	done := make(chan error, 1)
	go func() { done <- a.Consume(ctx, pubsub, events.PricedTopic) }()

	// Every record is published twice; one payload is not a record.
	start := time.Date(2026, 2, 27, 23, 0, 0, 0, time.UTC)
	var recs []*convertor.UsageRecord
	var want convertor.Rollup
	for i := range 300 {
		r := &convertor.UsageRecord{
			UsageEvent: convertor.UsageEvent{
				Version: convertor.UsageEventVersion, ID: fmt.Sprintf("01TEST%06d", i), Time: start.Add(time.Duration(i) * time.Second),
				KeyID: "key_a", Model: "claude-haiku-4-5", Status: convertor.UsageOK,
				InputTokens: int64(i), OutputTokens: 2 * int64(i), CacheReadTokens: 1, CacheWriteTokens: 3,
			},
			CostMicros: 1000 + int64(i),
		}
		recs = append(recs, r)
		want.Requests++
		want.InputTokens += r.InputTokens
		want.OutputTokens += r.OutputTokens
		want.CacheReadTokens += r.CacheReadTokens
		want.CacheWriteTokens += r.CacheWriteTokens
		want.CostMicros += r.CostMicros
	}
	publish := func(msg *message.Message) {
		t.Helper()
		if err := pubsub.Publish(events.PricedTopic, msg); err != nil {
			t.Fatalf("Publish() error = %v", err)
		}
	}
	for range 2 {
		for _, r := range recs {
			msg, err := events.NewRecordMessage(r)
			if err != nil {
				t.Fatalf("NewRecordMessage() error = %v", err)
			}
			publish(msg)
		}
	}
	publish(message.NewMessage("bad", []byte(`{"rv":99,"v":1}`)))

	want.KeyID, want.Model, want.Period, want.Start = "key_a", "claude-haiku-4-5", convertor.PeriodDay, start.Truncate(24*time.Hour)
	f := convertor.RollupFilter{Period: convertor.PeriodDay, KeyID: "key_a"}
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := mem.Rollups(ctx, f)
		if err != nil {
			t.Fatalf("Rollups() error = %v", err)
		}
		if len(got) == 1 && got[0].Requests == want.Requests {
			if diff := cmp.Diff([]convertor.Rollup{want}, got); diff != "" {
				t.Fatalf("Rollups() mismatch (-want +got):\n%s", diff)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Rollups() = %+v after 30s, want %d requests", got, want.Requests)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for counterValue(t, m.DeadLettered) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the invalid payload was not dead-lettered after 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	spend, err := mem.MonthSpend(ctx, "key_a", start)
	if err != nil || spend != want.CostMicros {
		t.Errorf("MonthSpend() = %d, %v; want %d", spend, err, want.CostMicros)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Consume() error = %v", err)
	}
	if got := counterValue(t, m.Applied); got != 300 {
		t.Errorf("applied_total = %v, want 300", got)
	}
	if got := counterValue(t, m.BatchErrors); got != 2 {
		t.Errorf("batch_errors_total = %v, want 2", got)
	}
	if got := counterValue(t, m.DeadLettered); got != 1 {
		t.Errorf("deadlettered_total = %v, want 1", got)
	}
	dlMu.Lock()
	defer dlMu.Unlock()
	if len(deadLetters) != 1 {
		t.Errorf("dead letters = %q, want the one bad payload", deadLetters)
	}
}

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cfg, err := LoadConfig(env(map[string]string{"NATS_URL": "nats://127.0.0.1:4222"}))
	if err != nil {
		t.Fatalf("LoadConfig() error = %v", err)
	}
	if cfg.BatchSize != DefaultBatchSize || cfg.BatchWait != DefaultBatchWait || cfg.Concurrency != DefaultConcurrency ||
		cfg.ConsumerName != DefaultConsumerName || cfg.MetricsAddr != "127.0.0.1:8007" {
		t.Errorf("LoadConfig() defaults = %+v; the metrics listener must default to loopback", cfg)
	}
	cfg, err = LoadConfig(env(map[string]string{
		"NATS_URL": "nats://127.0.0.1:4222", "AGGREGATOR_BATCH_SIZE": "500", "AGGREGATOR_CONCURRENCY": "2",
		"AGGREGATOR_CONSUMER": "agg2", "AGGREGATOR_METRICS_ADDR": "off",
		// A bare number is seconds, as everywhere.
		"AGGREGATOR_BATCH_WAIT": "30",
	}))
	if err != nil {
		t.Fatalf("LoadConfig() error = %v", err)
	}
	if cfg.BatchSize != 500 || cfg.BatchWait != 30*time.Second || cfg.Concurrency != 2 || cfg.ConsumerName != "agg2" || cfg.MetricsAddr != "" {
		t.Errorf("LoadConfig() = %+v", cfg)
	}
	_, err = LoadConfig(env(map[string]string{"AGGREGATOR_BATCH_SIZE": "-1", "AGGREGATOR_BATCH_WAIT": "soon", "AGGREGATOR_CONCURRENCY": "0"}))
	for _, want := range []string{
		`AGGREGATOR_BATCH_SIZE: "-1" is below the minimum 1`,
		`AGGREGATOR_BATCH_WAIT: "soon" is not a duration (use 30s, 5m or whole seconds)`,
		`AGGREGATOR_CONCURRENCY: "0" is below the minimum 1`,
		"NATS_URL or SQS_QUEUE_URL",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadConfig(bad) error = %v, want it to contain %s", err, want)
		}
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatalf("read counter: %v", err)
	}
	return m.GetCounter().GetValue()
}
