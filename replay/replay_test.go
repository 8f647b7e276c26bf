package replay

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/memstore"
)

const (
	sonnet45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
	haiku35  = "anthropic.claude-3-5-haiku-20241022-v1:0"
)

var (
	jan2025 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	dec2025 = time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	from    = time.Date(2025, 11, 10, 0, 0, 0, 0, time.UTC)
	to      = time.Date(2025, 11, 12, 0, 0, 0, 0, time.UTC)
)

// oldPrices are in effect for the events; newPrice is a later price change
// of Sonnet 4.5 on the global profile, effective after the events.
var (
	oldPrices = []convertor.Price{
		{Model: sonnet45, Route: "global", EffectiveFrom: jan2025, InputMicros: 3_000_000, OutputMicros: 15_000_000, CacheReadMicros: 300_000, CacheWriteMicros: 3_750_000},
		{Model: sonnet45, EffectiveFrom: jan2025, InputMicros: 3_300_000, OutputMicros: 16_500_000, CacheReadMicros: 330_000, CacheWriteMicros: 4_125_000},
		{Model: haiku35, EffectiveFrom: jan2025, InputMicros: 800_000, OutputMicros: 4_000_000, CacheReadMicros: 80_000, CacheWriteMicros: 1_000_000},
	}
	newPrice = convertor.Price{Model: sonnet45, Route: "global", EffectiveFrom: dec2025, InputMicros: 2_000_000, OutputMicros: 10_000_000, CacheReadMicros: 200_000, CacheWriteMicros: 2_500_000}
)

func event(id, key, bedrockID, model string, at time.Time, in, out, cacheRead, cacheWrite int64, status string) *convertor.UsageEvent {
	return &convertor.UsageEvent{
		Version: convertor.UsageEventVersion, ID: id, RequestID: "req-" + id, Time: at, KeyID: key,
		Model: model, BedrockModelID: bedrockID,
		InputTokens: in, OutputTokens: out, CacheReadTokens: cacheRead, CacheWriteTokens: cacheWrite,
		Status: status, HTTPStatus: 200,
	}
}

// testEvents are the period's usage; the comments give each cost at the old
// and at the new price in micro-dollars (tokens × $/MTok).
func testEvents() []*convertor.UsageEvent {
	day1, day2 := from, from.Add(24*time.Hour)
	return []*convertor.UsageEvent{
		// old 1000×3 + 500×15 = 10,500; new 1000×2 + 500×10 = 7,000.
		event("01E1", "key_a", "global."+sonnet45, "claude-sonnet-4-5", day1.Add(10*time.Hour), 1000, 500, 0, 0, convertor.UsageOK),
		// old 200×3 + 10,000×0.3 + 2,000×3.75 = 600 + 3,000 + 7,500 = 11,100;
		// new 200×2 + 10,000×0.2 + 2,000×2.5 = 400 + 2,000 + 5,000 = 7,400.
		event("01E2", "key_a", "global."+sonnet45, "claude-sonnet-4-5", day1.Add(11*time.Hour+30*time.Minute), 200, 0, 10_000, 2_000, convertor.UsageOK),
		// The us. profile has only the route-free price, unchanged:
		// 1000×3.3 = 3,300 either way.
		event("01E3", "key_a", "us."+sonnet45, "claude-sonnet-4-5", day2.Add(8*time.Hour), 1000, 0, 0, 0, convertor.UsageOK),
		// 1×0.8 + 1×4 = 4.8 → 5 either way (rounded half up).
		event("01E4", "key_b", "us."+haiku35, "claude-3-5-haiku", day2.Add(9*time.Hour), 1, 1, 0, 0, convertor.UsageOK),
		// A failed request: old 100×3 = 300; new 100×2 = 200.
		event("01E5", "key_b", "global."+sonnet45, "claude-sonnet-4-5", day2.Add(24*time.Hour-time.Second), 100, 0, 0, 0, convertor.UsageError),
		// At `to`, outside the period: never repriced nor reported.
		event("01E6", "key_a", "global."+sonnet45, "claude-sonnet-4-5", to, 1_000_000, 0, 0, 0, convertor.UsageOK),
	}
}

// stores holds what the accountant and aggregator built from testEvents at
// the old prices, with the price change added afterwards.
type stores struct {
	usage  *memstore.UsageStore
	prices *memstore.PriceStore
	stats  *memstore.StatsStore
}

func newStores(t *testing.T) stores {
	t.Helper()
	ctx := context.Background()
	s := stores{memstore.NewUsageStore(), memstore.NewPriceStore(), memstore.NewStatsStore()}
	pt := convertor.NewPriceTable(oldPrices)
	var recs []*convertor.UsageRecord
	for _, ev := range testEvents() {
		r := pt.Record(ev)
		if _, err := s.usage.PutUsage(ctx, r); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if _, err := s.stats.ApplyUsage(ctx, recs); err != nil {
		t.Fatal(err)
	}
	for _, p := range append(oldPrices, newPrice) {
		if err := s.prices.CreatePrice(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func (s stores) options(reprice bool) Options {
	return Options{From: from, To: to, Reprice: reprice, Usage: s.usage, Prices: s.prices, Stats: s.stats}
}

func runCSV(t *testing.T, ctx context.Context, o Options) string {
	t.Helper()
	rep, err := Run(ctx, o)
	if err != nil {
		t.Fatalf("Run() error = %v", err)
	}
	var b bytes.Buffer
	if err := rep.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

const header = "key_id,model,requests,errors,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,cost_micros,cost_usd,cache_write_1h_tokens,unpriced_requests,estimated_requests,rates\n"

func TestRun_Reprice(t *testing.T) {
	s := newStores(t)
	// key_a sonnet: 01E1 + 01E2 + 01E3 = 7,000 + 7,400 + 3,300 = 17,700;
	// tokens in 1000+200+1000, out 500, cache read 10,000, write 2,000.
	// key_b haiku: 5. key_b sonnet: 200, one error.
	want := header +
		"key_a,claude-sonnet-4-5,3,0,2200,500,10000,2000,17700,0.017700,0,0,0,2025-01-01 * base; 2025-12-01 global base\n" +
		"key_b,claude-3-5-haiku,1,0,1,1,0,0,5,0.000005,0,0,0,2025-01-01 * base\n" +
		"key_b,claude-sonnet-4-5,1,1,100,0,0,0,200,0.000200,0,0,0,2025-12-01 global base\n"
	got := runCSV(t, context.Background(), s.options(true))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("report mismatch (-want +got):\n%s", diff)
	}
	checkConsistent(t, s)

	// Twice: the same report, the same stats.
	before := allRollups(t, s.stats)
	if again := runCSV(t, context.Background(), s.options(true)); again != got {
		t.Errorf("second run report:\n%s\nwant the first:\n%s", again, got)
	}
	if diff := cmp.Diff(before, allRollups(t, s.stats)); diff != "" {
		t.Errorf("stats changed on the second run (-first +second):\n%s", diff)
	}
}

func TestRun_PricesInEffect(t *testing.T) {
	s := newStores(t)
	// The change is effective after the events, so the old prices hold:
	// key_a sonnet 10,500 + 11,100 + 3,300 = 24,900; key_b sonnet 300.
	want := header +
		"key_a,claude-sonnet-4-5,3,0,2200,500,10000,2000,24900,0.024900,0,0,0,2025-01-01 * base; 2025-01-01 global base\n" +
		"key_b,claude-3-5-haiku,1,0,1,1,0,0,5,0.000005,0,0,0,2025-01-01 * base\n" +
		"key_b,claude-sonnet-4-5,1,1,100,0,0,0,300,0.000300,0,0,0,2025-01-01 global base\n"
	rep, err := Run(context.Background(), s.options(false))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	_ = rep.WriteCSV(&b)
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("report mismatch (-want +got):\n%s", diff)
	}
	if rep.Records != 5 || rep.Repriced != 0 {
		t.Errorf("Run() read %d, repriced %d; want 5, 0", rep.Records, rep.Repriced)
	}
	// After a --reprice, a plain run keeps the new prices: it must not
	// silently undo the re-pricing.
	repriced := runCSV(t, context.Background(), s.options(true))
	if got := runCSV(t, context.Background(), s.options(false)); got != repriced {
		t.Errorf("plain report after reprice:\n%s\nwant the repriced one:\n%s", got, repriced)
	}
	checkConsistent(t, s)
	// Asked explicitly, a run restores the prices of the time.
	o := s.options(false)
	o.AtEventTime = true
	if got := runCSV(t, context.Background(), o); got != want {
		t.Errorf("report at event time after reprice:\n%s\nwant:\n%s", got, want)
	}
	checkConsistent(t, s)
}

func TestRun_Key(t *testing.T) {
	s := newStores(t)
	o := s.options(true)
	o.KeyID = "key_b"
	want := header +
		"key_b,claude-3-5-haiku,1,0,1,1,0,0,5,0.000005,0,0,0,2025-01-01 * base\n" +
		"key_b,claude-sonnet-4-5,1,1,100,0,0,0,200,0.000200,0,0,0,2025-12-01 global base\n"
	if diff := cmp.Diff(want, runCSV(t, context.Background(), o)); diff != "" {
		t.Errorf("report mismatch (-want +got):\n%s", diff)
	}
	// key_a's records keep their old cost, and the stats still add up.
	checkConsistent(t, s)
}

// interruptingUsage cancels the run once the first day has been read.
type interruptingUsage struct {
	*memstore.UsageStore
	cancel func()
	calls  int
}

func (u *interruptingUsage) Usage(ctx context.Context, from, to time.Time, keyID string, fn func([]*convertor.UsageRecord) error) error {
	u.calls++
	if u.calls == 2 {
		u.cancel()
	}
	return u.UsageStore.Usage(ctx, from, to, keyID, fn)
}

func TestRun_Interrupted(t *testing.T) {
	s := newStores(t)
	ctx, cancel := context.WithCancel(context.Background())
	o := s.options(true)
	o.Usage = &interruptingUsage{UsageStore: s.usage, cancel: cancel}
	if _, err := Run(ctx, o); err == nil {
		t.Fatal("Run(interrupted) error = nil, want one")
	}
	// Running again completes it: the same report as an uninterrupted run.
	clean := newStores(t)
	want := runCSV(t, context.Background(), clean.options(true))
	if got := runCSV(t, context.Background(), s.options(true)); got != want {
		t.Errorf("report after interruption:\n%s\nwant:\n%s", got, want)
	}
	if diff := cmp.Diff(allRollups(t, clean.stats), allRollups(t, s.stats)); diff != "" {
		t.Errorf("stats after interruption mismatch (-want +got):\n%s", diff)
	}
}

func TestRun_Progress(t *testing.T) {
	s := newStores(t)
	var b bytes.Buffer
	o := s.options(false)
	o.Progress, o.ProgressEvery = &b, time.Nanosecond
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) < 2 || lines[len(lines)-1] != "replay: 5 records read, 0 repriced, 100.0% of the period" {
		t.Errorf("progress = %q, want several lines ending at 100%%", lines)
	}
}

func TestRun_ErrInvalid(t *testing.T) {
	s := newStores(t)
	o := s.options(false)
	o.From, o.To = to, from
	if _, err := Run(context.Background(), o); convertor.ErrorCode(err) != convertor.EInvalid {
		t.Errorf("Run(from >= to) error = %v, want invalid", err)
	}
}

func TestUSD(t *testing.T) {
	for micros, want := range map[int64]string{
		0: "0.000000", 5: "0.000005", 17_700: "0.017700", 1_234_567: "1.234567", 36_750_000: "36.750000",
		-5: "-0.000005", math.MaxInt64: "9223372036854.775807", math.MinInt64: "-9223372036854.775808",
	} {
		if got := USD(micros); got != want {
			t.Errorf("USD(%d) = %q, want %q", micros, got, want)
		}
	}
}

// checkConsistent checks that the hour and the day roll-ups of each key
// equal the sum of its stored records, and the all-keys rows the sum over
// keys.
func checkConsistent(t *testing.T, s stores) {
	t.Helper()
	ctx := context.Background()
	want := make(map[[2]string]int64) // key, model → cost
	err := s.usage.Usage(ctx, from, to, "", func(page []*convertor.UsageRecord) error {
		for _, r := range page {
			want[[2]string{r.KeyID, r.Model}] += r.CostMicros
			want[[2]string{convertor.AllKeys, r.Model}] += r.CostMicros
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{convertor.PeriodHour, convertor.PeriodDay} {
		got := make(map[[2]string]int64)
		for _, key := range []string{"key_a", "key_b", convertor.AllKeys} {
			rows, err := s.stats.Rollups(ctx, convertor.RollupFilter{Period: p, From: from, To: to, KeyID: key})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				got[[2]string{r.KeyID, r.Model}] += r.CostMicros
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s roll-ups != Σ usage records (-records +stats):\n%s", p, diff)
		}
	}
}

func allRollups(t *testing.T, st convertor.StatsStore) []convertor.Rollup {
	t.Helper()
	var out []convertor.Rollup
	for _, p := range []string{convertor.PeriodHour, convertor.PeriodDay} {
		rows, err := st.Rollups(context.Background(), convertor.RollupFilter{Period: p, From: from.Add(-48 * time.Hour), To: to.Add(48 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rows...)
	}
	return out
}
