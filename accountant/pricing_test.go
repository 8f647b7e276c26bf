package accountant

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/memstore"
)

const (
	opus45   = "anthropic.claude-opus-4-5-20251101-v1:0"
	opus46   = "anthropic.claude-opus-4-6-v1"
	sonnet45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
	haiku45  = "anthropic.claude-haiku-4-5-20251001-v1:0"
	haiku35  = "anthropic.claude-3-5-haiku-20241022-v1:0"
)

func tokens(in, out, cacheRead, cacheWrite int64) *convertor.UsageEvent {
	return &convertor.UsageEvent{InputTokens: in, OutputTokens: out, CacheReadTokens: cacheRead, CacheWriteTokens: cacheWrite}
}

func TestCost(t *testing.T) {
	sonnetGlobal := convertor.Price{InputMicros: 3_000_000, OutputMicros: 15_000_000, CacheReadMicros: 300_000, CacheWriteMicros: 3_750_000}
	opusGlobal := convertor.Price{InputMicros: 5_000_000, OutputMicros: 25_000_000, CacheReadMicros: 500_000, CacheWriteMicros: 6_250_000}
	tests := []struct {
		name string
		ev   *convertor.UsageEvent
		p    convertor.Price
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
		{"HalfRoundsUp", tokens(1, 0, 0, 0), convertor.Price{InputMicros: 500_000}, 1},
		{"BelowHalfRoundsDown", tokens(1, 0, 0, 0), convertor.Price{InputMicros: 499_999}, 0},
		{"OneAndAHalf", tokens(3, 0, 0, 0), convertor.Price{InputMicros: 500_000}, 2},
		// 0.5 + 0.5 → exactly 1: the parts are summed before rounding.
		{"SumBeforeRounding", tokens(1, 0, 1, 0), convertor.Price{InputMicros: 500_000, CacheReadMicros: 500_000}, 1},
		// 1 token of 3.5 Haiku input: 0.8 µ$ → 1.
		{"SubMicro", tokens(1, 0, 0, 0), convertor.Price{InputMicros: 800_000}, 1},
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

// TestDefaultPrices prices one million tokens of each kind on each default
// model and route, so each expected cost is the sum of the four published
// rates (in micro-dollars).
func TestDefaultPrices(t *testing.T) {
	pt := NewPriceTable(DefaultPrices)
	at := time.Date(2025, 11, 25, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		bedrockModelID string
		want           int64
	}{
		// Opus 4.5 global: 5 + 25 + 0.5 + 6.25 = $36.75.
		{"global." + opus45, 36_750_000},
		// Regional +10%: 5.5 + 27.5 + 0.55 + 6.875 = $40.425.
		{"us." + opus45, 40_425_000},
		{"global." + opus46, 36_750_000},
		{"eu." + opus46, 40_425_000},
		// Sonnet 4.5 global: 3 + 15 + 0.3 + 3.75 = $22.05.
		{"global." + sonnet45, 22_050_000},
		// Regional: 3.3 + 16.5 + 0.33 + 4.125 = $24.255.
		{"us." + sonnet45, 24_255_000},
		{"apac." + sonnet45, 24_255_000},
		{sonnet45, 24_255_000}, // in-region
		// Haiku 4.5 global: 1 + 5 + 0.1 + 1.25 = $7.35.
		{"global." + haiku45, 7_350_000},
		// Regional: 1.1 + 5.5 + 0.11 + 1.375 = $8.085.
		{"us." + haiku45, 8_085_000},
		// 3.5 Haiku: 0.8 + 4 + 0.08 + 1 = $5.88.
		{"us." + haiku35, 5_880_000},
		// ARNs of a foundation model and of a system inference profile.
		{"arn:aws:bedrock:us-east-1::foundation-model/" + haiku35, 5_880_000},
		{"arn:aws:bedrock:us-east-1:123456789012:inference-profile/global." + sonnet45, 22_050_000},
	}
	for _, tt := range tests {
		t.Run(tt.bedrockModelID, func(t *testing.T) {
			ev := tokens(1_000_000, 1_000_000, 1_000_000, 1_000_000)
			ev.Time, ev.BedrockModelID = at, tt.bedrockModelID
			r := pt.Record(ev)
			if r.Unpriced || r.CostMicros != tt.want {
				t.Errorf("Record() cost = %d (unpriced %t), want %d", r.CostMicros, r.Unpriced, tt.want)
			}
			if !r.PriceFrom.Equal(defaultEffectiveFrom) {
				t.Errorf("Record() PriceFrom = %v, want %v", r.PriceFrom, defaultEffectiveFrom)
			}
		})
	}
	// Every default route of convertor.DefaultRoutes has a price.
	for _, route := range convertor.DefaultRoutes {
		if _, ok := pt.Lookup(route.BedrockModelID, at); !ok {
			t.Errorf("default route %s (%s) has no default price", route.Model, route.BedrockModelID)
		}
	}
	for _, p := range DefaultPrices {
		if err := p.Validate(); err != nil {
			t.Errorf("default price %s %s: %v", p.Model, p.Route, err)
		}
	}
}

func TestPriceTable_Lookup(t *testing.T) {
	jan := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	jun := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	pt := NewPriceTable([]convertor.Price{
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
	pt := NewPriceTable(DefaultPrices)
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
		ev.Time, ev.Model, ev.Status = at, "claude-sonnet-4-5", convertor.UsageRefused
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
}

func TestSeedPrices(t *testing.T) {
	ctx := context.Background()
	s := memstore.NewPriceStore()
	// An admin's edit of a default row survives seeding.
	edited := DefaultPrices[0]
	edited.InputMicros, edited.Source = 4_000_000, "admin"
	if err := s.PutPrice(ctx, edited); err != nil {
		t.Fatal(err)
	}
	added, err := SeedPrices(ctx, s)
	if err != nil {
		t.Fatalf("SeedPrices() error = %v", err)
	}
	if added != len(DefaultPrices)-1 {
		t.Errorf("SeedPrices() added %d, want %d", added, len(DefaultPrices)-1)
	}
	if added, err = SeedPrices(ctx, s); err != nil || added != 0 {
		t.Errorf("SeedPrices() again = %d, %v; want 0, nil", added, err)
	}
	got, _ := s.Prices(ctx)
	if len(got) != len(DefaultPrices) {
		t.Fatalf("Prices() = %d prices, want %d", len(got), len(DefaultPrices))
	}
	pt := NewPriceTable(got)
	if p, _ := pt.Lookup("global."+opus45, Latest); p.InputMicros != 4_000_000 {
		t.Errorf("opus 4.5 global input = %d, want the admin's 4000000", p.InputMicros)
	}
}

func BenchmarkPriceTable_Record(b *testing.B) {
	pt := NewPriceTable(DefaultPrices)
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
