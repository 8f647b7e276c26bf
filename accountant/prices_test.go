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
	if p, _ := pt.Lookup("global."+opus45, convertor.Latest); p.InputMicros != 4_000_000 {
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
