package adminapi

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/dynamo"
	"github.com/openai-api-convertor/convertor/internal/stores"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// benchMonth is the month of data the dashboard benchmark reads.
var benchMonth = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// BenchmarkDashboard times what the portal's dashboard asks for a month:
// the summary (with the month before), the daily cost series by model in
// a time zone that is not UTC, and the top keys by cost, over a month of
// hourly data for BENCH_DASHBOARD_KEYS keys (default 1,000: every key
// used every hour by one of two models) on the DynamoDB-compatible store,
// through HTTP as in production. "calendar-month" is November; "30-days"
// the 30 days from 2 November, which no month row covers, so that every
// key's figures are read day by day.
func BenchmarkDashboard(b *testing.B) {
	keys := testenv.BenchSize(b, "BENCH_DASHBOARD_KEYS", 1000)
	svc := benchService(b, keys)
	ctx := context.Background()
	at := benchMonth.Add(31 * 24 * time.Hour)
	for _, bc := range []struct {
		name, from, to string
		hours          int // seeded hours inside the window
	}{
		{"calendar-month", "2026-11-01", "2026-12-01", 30 * 24},
		{"30-days", "2026-11-02", "2026-12-02", 29 * 24},
	} {
		b.Run(bc.name, func(b *testing.B) {
			w, err := ParseWindow(WindowQuery{From: bc.from, To: bc.to}, at)
			if err != nil {
				b.Fatal(err)
			}
			daily, err := ParseWindow(WindowQuery{From: bc.from, To: bc.to, TZ: "Asia/Shanghai", Granularity: GranularityDay}, at)
			if err != nil {
				b.Fatal(err)
			}
			dashboard := func() (*Summary, *Series, *Top) {
				sum, err := svc.Summary(ctx, w, UsageFilter{})
				if err != nil {
					b.Fatal(err)
				}
				series, err := svc.Series(ctx, daily, UsageFilter{}, GroupModel)
				if err != nil {
					b.Fatal(err)
				}
				top, err := svc.Top(ctx, w, UsageFilter{}, GroupKey, MetricCost, 10)
				if err != nil {
					b.Fatal(err)
				}
				return sum, series, top
			}
			// Checked once, before timing: every seeded request is counted.
			sum, series, top := dashboard()
			want := int64(keys * bc.hours)
			if sum.Current.Totals.Requests != want || *sum.Current.KeysWithUsage != keys || len(top.Items) != min(10, keys) || top.Totals.Requests != want {
				b.Fatalf("summary %+v, %d keys, top %d of %d; want %d requests from %d keys", sum.Current.Totals, *sum.Current.KeysWithUsage, len(top.Items), top.Totals.Requests, want, keys)
			}
			// The Shanghai window starts and ends 8 hours before the UTC one.
			if n := len(series.Buckets); n != 30 || series.Totals.Requests != countSeeded(keys, daily) {
				b.Fatalf("series of %d buckets, %d requests; want 30 and %d", n, series.Totals.Requests, countSeeded(keys, daily))
			}
			b.ResetTimer()
			for b.Loop() {
				dashboard()
			}
		})
	}
}

// countSeeded is how many seeded requests fall in w: one per key and hour
// of November.
func countSeeded(keys int, w *Window) int64 {
	from, to := maxTime(w.From, benchMonth), minTime(w.To, benchMonth.AddDate(0, 1, 0))
	if !from.Before(to) {
		return 0
	}
	return int64(keys) * int64(to.Sub(from)/time.Hour)
}

// benchService seeds a month of hourly usage for keys keys, once per
// process and size, and returns a service over it.
func benchService(b *testing.B, keys int) *Service {
	b.Helper()
	ctx := context.Background()
	p := fmt.Sprintf("bench-%d-%d-", keys, time.Now().UnixNano())
	cfg := stores.Config{Dynamo: dynamo.Config{
		Endpoint: testenv.DynamoDB(b), Region: dynamo.DefaultRegion,
		Tables: dynamo.Tables{APIKeys: p + "keys", Usage: p + "usage", UsageStats: p + "stats", ModelPricing: p + "pricing", ModelMapping: p + "mapping", Audit: p + "audit"},
	}}
	st, err := stores.Open(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := st.CreateTables(ctx, slog.New(slog.DiscardHandler)); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	models := []string{"claude-haiku-4-5", "claude-sonnet-4-5"}
	// A key's hours in one batch share its day and month rows: the
	// aggregator's batches look like this.
	batch := make([]*convertor.UsageRecord, 0, 24*8)
	flush := func() {
		if _, err := st.Stats.ApplyUsage(ctx, batch); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	for k := range keys {
		key := fmt.Sprintf("key_%06d", k)
		for h := range 30 * 24 {
			batch = append(batch, &convertor.UsageRecord{
				UsageEvent: convertor.UsageEvent{
					Version: convertor.UsageEventVersion, ID: fmt.Sprintf("%s-%04d", key, h), Time: benchMonth.Add(time.Duration(h) * time.Hour),
					KeyID: key, Model: models[(k+h)%2], Status: convertor.UsageOK, InputTokens: int64(100 + h), OutputTokens: 50,
				},
				CostMicros: int64(k + 1),
			})
			if len(batch) == cap(batch) {
				flush()
			}
		}
	}
	flush()
	b.Logf("seeded %d keys × %d hours in %s", keys, 30*24, time.Since(start).Round(time.Millisecond))
	svc, err := NewService(adminDepsOf(st), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	return svc
}
