package convertor

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	sonnet45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
	haiku45  = "anthropic.claude-haiku-4-5-20251001-v1:0"
)

// testPrices are AWS's on-demand rates of Sonnet 4.5 and Haiku 4.5 on the
// global profile, and Sonnet 4.5's regional rate for every other route.
var testPrices = []Price{
	{Model: sonnet45, Route: "global", EffectiveFrom: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), InputMicros: 3_000_000, OutputMicros: 15_000_000, CacheReadMicros: 300_000, CacheWriteMicros: 3_750_000},
	{Model: sonnet45, EffectiveFrom: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), InputMicros: 3_300_000, OutputMicros: 16_500_000, CacheReadMicros: 330_000, CacheWriteMicros: 4_125_000},
	{Model: haiku45, Route: "global", EffectiveFrom: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), InputMicros: 1_000_000, OutputMicros: 5_000_000, CacheReadMicros: 100_000, CacheWriteMicros: 1_250_000},
}

func tokens(in, out, cacheRead, cacheWrite int64) *UsageEvent {
	return &UsageEvent{InputTokens: in, OutputTokens: out, CacheReadTokens: cacheRead, CacheWriteTokens: cacheWrite}
}

func TestCost(t *testing.T) {
	sonnetGlobal := Price{InputMicros: 3_000_000, OutputMicros: 15_000_000, CacheReadMicros: 300_000, CacheWriteMicros: 3_750_000}
	opusGlobal := Price{InputMicros: 5_000_000, OutputMicros: 25_000_000, CacheReadMicros: 500_000, CacheWriteMicros: 6_250_000}
	tests := []struct {
		name string
		ev   *UsageEvent
		p    Price
		want int64
	}{
		// 1000 × $3 + 500 × $15 per MTok = 3,000,000,000 + 7,500,000,000 → 10,500 µ$.
		{"InputOutput", tokens(1000, 500, 0, 0), sonnetGlobal, 10_500},
		// 100 × 3,000,000 + 10,000 × 300,000 + 2,000 × 3,750,000
		// = 300,000,000 + 3,000,000,000 + 7,500,000,000 → 10,800 µ$:
		// cache tokens are billed at their own rates only, never as input too.
		{"CacheReadWrite", tokens(100, 0, 10_000, 2_000), sonnetGlobal, 10_800},
		// Thinking tokens arrive inside output tokens: 4,096 × $15 → 61,440 µ$.
		{"ThinkingOutput", tokens(0, 4096, 0, 0), sonnetGlobal, 61_440},
		{"Zero", tokens(0, 0, 0, 0), sonnetGlobal, 0},
		// Rounding half up, once per request.
		{"HalfRoundsUp", tokens(1, 0, 0, 0), Price{InputMicros: 500_000}, 1},
		{"BelowHalfRoundsDown", tokens(1, 0, 0, 0), Price{InputMicros: 499_999}, 0},
		{"OneAndAHalf", tokens(3, 0, 0, 0), Price{InputMicros: 500_000}, 2},
		// 0.5 + 0.5 → exactly 1: the parts are summed before rounding.
		{"SumBeforeRounding", tokens(1, 0, 1, 0), Price{InputMicros: 500_000, CacheReadMicros: 500_000}, 1},
		// 1 token of 3.5 Haiku input: 0.8 µ$ → 1.
		{"SubMicro", tokens(1, 0, 0, 0), Price{InputMicros: 800_000}, 1},
		// 10^12 × 5,000,000 + 10^12 × 25,000,000 = 3 × 10^19 > MaxInt64
		// before the division: 128-bit arithmetic gives 3 × 10^13 µ$.
		{"LargeNoOverflow", tokens(1e12, 1e12, 0, 0), opusGlobal, 30_000_000_000_000},
		{"Saturates", tokens(math.MaxInt64, math.MaxInt64, 0, 0), opusGlobal, math.MaxInt64},
		{"NegativeIgnored", tokens(-5, 10, 0, 0), sonnetGlobal, 150},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Cost(tt.ev, tt.p); got != tt.want {
				t.Errorf("Cost() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestModelRoute(t *testing.T) {
	tests := []struct {
		name      string
		id        string
		wantModel string
		wantRoute string
		wantOK    bool
	}{
		{"InRegion", sonnet45, sonnet45, "", true},
		{"Global", "global." + sonnet45, sonnet45, "global", true},
		{"US", "us." + sonnet45, sonnet45, "us", true},
		{"USGov", "us-gov." + sonnet45, sonnet45, "us-gov", true},
		{"FoundationModelARN", "arn:aws:bedrock:us-east-1::foundation-model/" + sonnet45, sonnet45, "", true},
		{"InferenceProfileARN", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu." + sonnet45, sonnet45, "eu", true},
		{"ApplicationProfileARN", "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3", "", "", false},
		{"PrefixOnly", "us.", "", "", false},
		{"Empty", "", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			model, route, ok := ModelRoute(tt.id)
			if model != tt.wantModel || route != tt.wantRoute || ok != tt.wantOK {
				t.Errorf("ModelRoute(%q) = %q, %q, %t; want %q, %q, %t", tt.id, model, route, ok, tt.wantModel, tt.wantRoute, tt.wantOK)
			}
		})
	}
}

func TestPriceTable_Lookup(t *testing.T) {
	jan := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	jun := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	pt := NewPriceTable([]Price{
		{Model: sonnet45, EffectiveFrom: jan, InputMicros: 1},
		{Model: sonnet45, Route: "global", EffectiveFrom: jan, InputMicros: 2},
		{Model: sonnet45, EffectiveFrom: jun, InputMicros: 3},
		{Model: sonnet45, Route: "eu", EffectiveFrom: jun, InputMicros: 4},
		// A later duplicate of (model, route, date) replaces the earlier.
		{Model: sonnet45, Route: "eu", EffectiveFrom: jun, InputMicros: 5},
	})
	tests := []struct {
		name string
		id   string
		at   time.Time
		want int64 // InputMicros of the price found; 0 for none
	}{
		{"BeforeAnyPrice", "us." + sonnet45, jan.Add(-time.Nanosecond), 0},
		{"GenericAtStart", "us." + sonnet45, jan, 1},
		{"RouteSpecificWins", "global." + sonnet45, jun.Add(time.Hour), 2},
		{"NewerGeneric", "us." + sonnet45, jun, 3},
		{"DuplicateLaterWins", "eu." + sonnet45, jun, 5},
		{"EUBeforeItsPrice", "eu." + sonnet45, jun.Add(-time.Nanosecond), 1},
		{"Latest", sonnet45, Latest, 3},
		{"UnknownModel", "us.anthropic.claude-unknown-v1", jun, 0},
		{"ApplicationProfile", "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3", jun, 0},
		{"Empty", "", jun, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := pt.Lookup(tt.id, tt.at)
			if ok != (tt.want != 0) || p.InputMicros != tt.want {
				t.Errorf("Lookup() = %d, %t; want %d", p.InputMicros, ok, tt.want)
			}
		})
	}
}

func TestPriceTable_RecordAt(t *testing.T) {
	pt := NewPriceTable(testPrices)
	at := time.Date(2025, 11, 25, 0, 0, 0, 0, time.UTC)
	t.Run("Unpriced", func(t *testing.T) {
		ev := tokens(10, 10, 0, 0)
		ev.Time, ev.BedrockModelID = at, "us.anthropic.claude-9-v1"
		r := pt.Record(ev)
		if !r.Unpriced || r.CostMicros != 0 || !r.PriceFrom.IsZero() {
			t.Errorf("Record(unknown model) = cost %d, unpriced %t, from %v; want 0, true, zero", r.CostMicros, r.Unpriced, r.PriceFrom)
		}
	})
	t.Run("NoTokensNeedsNoPrice", func(t *testing.T) {
		ev := tokens(0, 0, 0, 0)
		ev.Time, ev.Model, ev.Status = at, "claude-sonnet-4-5", UsageRefused
		if r := pt.Record(ev); r.Unpriced || r.CostMicros != 0 {
			t.Errorf("Record(refused) = cost %d, unpriced %t; want 0, false", r.CostMicros, r.Unpriced)
		}
	})
	t.Run("ModelIsBedrockIDWhenNoBedrockModelID", func(t *testing.T) {
		ev := tokens(1_000_000, 0, 0, 0)
		ev.Time, ev.Model = at, "global."+haiku45
		if r := pt.Record(ev); r.CostMicros != 1_000_000 {
			t.Errorf("Record() cost = %d, want 1000000", r.CostMicros)
		}
	})
	t.Run("KeepsEvent", func(t *testing.T) {
		ev := tokens(1, 2, 3, 4)
		ev.ID, ev.Time, ev.KeyID, ev.BedrockModelID = "01J", at, "key_a", "global."+haiku45
		r := pt.Record(ev)
		if diff := cmp.Diff(*ev, r.UsageEvent); diff != "" {
			t.Errorf("Record() event mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("PriceFrom", func(t *testing.T) {
		ev := tokens(1, 0, 0, 0)
		ev.Time, ev.BedrockModelID = at, "us."+sonnet45
		want := testPrices[1].EffectiveFrom
		if r := pt.Record(ev); r.Unpriced || !r.PriceFrom.Equal(want) {
			t.Errorf("Record() PriceFrom = %v (unpriced %t), want %v", r.PriceFrom, r.Unpriced, want)
		}
	})
}

func TestPriceTable_Prices(t *testing.T) {
	later := testPrices[0]
	later.EffectiveFrom, later.InputMicros = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), 1
	replaced := testPrices[2]
	replaced.InputMicros = 2
	pt := NewPriceTable(append([]Price{later, replaced}, testPrices...))
	// By model, route and date; of two prices with one key the later in
	// the input wins.
	want := []Price{testPrices[2], testPrices[1], testPrices[0], later}
	if diff := cmp.Diff(want, pt.Prices()); diff != "" {
		t.Errorf("Prices() mismatch (-want +got):\n%s", diff)
	}
}

func BenchmarkPriceTable_Record(b *testing.B) {
	pt := NewPriceTable(testPrices)
	ev := tokens(1200, 340, 5000, 0)
	ev.Time, ev.BedrockModelID = time.Date(2025, 11, 25, 0, 0, 0, 0, time.UTC), "global."+sonnet45
	// 1200×3 + 340×15 + 5000×0.3 = 3600 + 5100 + 1500 = 10,200 µ$.
	if r := pt.Record(ev); r.CostMicros != 10_200 {
		b.Fatalf("Record() cost = %d, want 10200", r.CostMicros)
	}
	b.ReportAllocs()
	for b.Loop() {
		pt.Record(ev)
	}
}

func TestFormatUSD(t *testing.T) {
	for micros, want := range map[int64]string{
		12_500_000:    "$12.50",
		1:             "$0.000001",
		200:           "$0.0002",
		3_000_000:     "$3.00",
		1_234_500:     "$1.2345",
		0:             "$0.00",
		-1_500_000:    "-$1.50",
		math.MinInt64: "-$9223372036854.775808",
		math.MaxInt64: "$9223372036854.775807",
	} {
		if got := FormatUSD(micros); got != want {
			t.Errorf("FormatUSD(%d) = %q, want %q", micros, got, want)
		}
	}
}
