package accountant

import (
	"context"
	"testing"
	"time"

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

// TestDefaultPrices prices one million tokens of each kind on each default
// model and route, so each expected cost is the sum of the four published
// rates (in micro-dollars).
func TestDefaultPrices(t *testing.T) {
	pt := convertor.NewPriceTable(DefaultPrices)
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

// TestDefaultPrices_Checked prices, from 2025-12-01, one million tokens of
// each kind with the cache writes half 5-minute, half 1-hour, so each
// expected cost is input + output + read + (write 5m + write 1h) / 2 at
// AWS's published rates; and Sonnet 4.5 across its long-context line.
func TestDefaultPrices_Checked(t *testing.T) {
	pt := convertor.NewPriceTable(DefaultPrices)
	at := checkedEffectiveFrom.Add(time.Hour)
	tests := []struct {
		bedrockModelID string
		want           int64
	}{
		// Opus 4.5 global: 5 + 25 + 0.5 + (6.25 + 10) / 2 = $38.625.
		{"global." + opus45, 38_625_000},
		// Regional: 5.5 + 27.5 + 0.55 + (6.875 + 11) / 2 = $42.4875.
		{"us." + opus45, 42_487_500},
		{"global." + opus46, 38_625_000},
		// Sonnet 4.5: the prompt is 3,000,000 tokens, far above 200,000:
		// long-context rates, 6 + 22.5 + 0.6 + (7.5 + 12) / 2 = $38.85.
		{"global." + sonnet45, 38_850_000},
		// Regional long context: 6.6 + 24.75 + 0.66 + (8.25 + 13.2) / 2 = $42.735.
		{"eu." + sonnet45, 42_735_000},
		// Haiku 4.5 global: 1 + 5 + 0.1 + (1.25 + 2) / 2 = $7.725.
		{"global." + haiku45, 7_725_000},
		// Regional: 1.1 + 5.5 + 0.11 + (1.375 + 2.2) / 2 = $8.4975.
		{"us." + haiku45, 8_497_500},
		// 3.5 Haiku has no 1-hour rate given: 2× input, $1.60.
		// 0.8 + 4 + 0.08 + (1 + 1.6) / 2 = $6.18.
		{"us." + haiku35, 6_180_000},
	}
	for _, tt := range tests {
		t.Run(tt.bedrockModelID, func(t *testing.T) {
			ev := tokens(1_000_000, 1_000_000, 1_000_000, 1_000_000)
			ev.CacheWrite1hTokens = 500_000
			ev.Time, ev.BedrockModelID = at, tt.bedrockModelID
			r := pt.Record(ev)
			if r.Unpriced || r.CostMicros != tt.want || !r.PriceFrom.Equal(checkedEffectiveFrom) {
				t.Errorf("Record() = %d from %v (unpriced %t), want %d from %v", r.CostMicros, r.PriceFrom, r.Unpriced, tt.want, checkedEffectiveFrom)
			}
		})
	}
	// Exactly at the line the base rates apply; one token above, the
	// long-context rates apply to every token.
	for _, c := range []struct {
		in, read, write int64
		want            int64
	}{
		// 200,000 prompt tokens: 150,000 × $3 + 30,000 × $0.30 + 20,000 × $3.75 + 1,000 out × $15
		// = 0.45 + 0.009 + 0.075 + 0.015 = $0.549.
		{150_000, 30_000, 20_000, 549_000},
		// 200,001: 150,001 × $6 + 30,000 × $0.60 + 20,000 × $7.50 + 1,000 × $22.50
		// = 0.900006 + 0.018 + 0.15 + 0.0225 = $1.090506.
		{150_001, 30_000, 20_000, 1_090_506},
	} {
		ev := tokens(c.in, 1_000, c.read, c.write)
		ev.Time, ev.BedrockModelID = at, "global."+sonnet45
		if got := pt.Record(ev).CostMicros; got != c.want {
			t.Errorf("sonnet 4.5 with a prompt of %d tokens: cost = %d, want %d", ev.PromptTokens(), got, c.want)
		}
	}
}

func TestSeedPrices(t *testing.T) {
	ctx := context.Background()
	s := memstore.NewPriceStore()
	// An admin's price under a default's key, created before any seeding,
	// survives it.
	admin := DefaultPrices[0]
	admin.InputMicros, admin.Source = 4_000_000, "admin"
	if err := s.CreatePrice(ctx, admin); err != nil {
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
	pt := convertor.NewPriceTable(got)
	if p, _ := pt.Lookup("global."+opus45, checkedEffectiveFrom.Add(-time.Second)); p.InputMicros != 4_000_000 {
		t.Errorf("opus 4.5 global input = %d, want the admin's 4000000", p.InputMicros)
	}
}

// staleListing is a price store whose listing was read before another
// seeder created every default price: it lists none, and every create
// conflicts.
type staleListing struct{ *memstore.PriceStore }

func (staleListing) Prices(context.Context) ([]convertor.Price, error) { return nil, nil }

func TestSeedPrices_ConcurrentSeeder(t *testing.T) {
	ctx := context.Background()
	s := memstore.NewPriceStore()
	if _, err := SeedPrices(ctx, s); err != nil {
		t.Fatal(err)
	}
	added, err := SeedPrices(ctx, staleListing{s})
	if err != nil || added != 0 {
		t.Errorf("SeedPrices(after another seeder) = %d, %v; want 0, nil", added, err)
	}
	failing := &failingCreate{PriceStore: memstore.NewPriceStore(), err: convertor.Errorf(convertor.EUnavailable, "the store is unavailable")}
	if _, err := SeedPrices(ctx, failing); convertor.ErrorCode(err) != convertor.EUnavailable {
		t.Errorf("SeedPrices(store down) error = %v, want unavailable", err)
	}
}

// failingCreate is a price store whose creates fail with err.
type failingCreate struct {
	*memstore.PriceStore
	err error
}

func (f *failingCreate) CreatePrice(context.Context, convertor.Price) error { return f.err }
