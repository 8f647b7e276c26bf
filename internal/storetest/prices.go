package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor"
)

// PriceStore runs the PriceStore contract on stores from newStore, which
// gives each parallel subtest an empty store of its own.
func PriceStore(t *testing.T, newStore func(t *testing.T) convertor.PriceStore) {
	ctx := context.Background()
	jan := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	mar := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	sonnet := "anthropic.claude-sonnet-4-5-20250929-v1:0"
	sortPrices := cmp.Transformer("sort", func(ps []convertor.Price) []string {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = fmt.Sprintf("%+v", p)
		}
		slices.Sort(out)
		return out
	})

	t.Run("CreateAndList", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		// A model's history: two routes from January, a newer price from
		// March; all kept.
		prices := []convertor.Price{
			{Model: sonnet, Route: "global", EffectiveFrom: jan, InputMicros: 3_000_000, OutputMicros: 15_000_000, CacheReadMicros: 300_000, CacheWriteMicros: 3_750_000, Source: "aws"},
			{Model: sonnet, EffectiveFrom: jan, InputMicros: 3_300_000, OutputMicros: 16_500_000},
			{Model: sonnet, EffectiveFrom: mar, InputMicros: 1, OutputMicros: 2},
			// 1-hour cache writes and a long-context tier survive the store.
			{Model: sonnet, Route: "global", EffectiveFrom: mar, InputMicros: 3_000_000, OutputMicros: 15_000_000, CacheReadMicros: 300_000,
				CacheWriteMicros: 3_750_000, CacheWrite1hMicros: 6_000_000, Tiers: []convertor.PriceTier{{AboveTokens: 200_000,
					InputMicros: 6_000_000, OutputMicros: 22_500_000, CacheReadMicros: 600_000, CacheWriteMicros: 7_500_000, CacheWrite1hMicros: 12_000_000}}},
		}
		for _, p := range prices {
			if err := s.CreatePrice(ctx, p); err != nil {
				t.Fatalf("CreatePrice() error = %v", err)
			}
		}
		got, err := s.Prices(ctx)
		if err != nil {
			t.Fatalf("Prices() error = %v", err)
		}
		if diff := cmp.Diff(prices, got, sortPrices); diff != "" {
			t.Errorf("Prices() mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("ErrConflict", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		first := convertor.Price{Model: sonnet, EffectiveFrom: jan, InputMicros: 3_300_000, OutputMicros: 16_500_000}
		if err := s.CreatePrice(ctx, first); err != nil {
			t.Fatalf("CreatePrice() error = %v", err)
		}
		// The same model, route and instant, even written in another zone,
		// is the same price: refused, and the first one stays.
		again := first
		again.EffectiveFrom = jan.In(time.FixedZone("UTC+2", 2*60*60))
		again.InputMicros = 1
		WantCode(t, "CreatePrice(same model, route and instant)", s.CreatePrice(ctx, again), convertor.EConflict)
		got, err := s.Prices(ctx)
		if err != nil {
			t.Fatalf("Prices() error = %v", err)
		}
		if diff := cmp.Diff([]convertor.Price{first}, got); diff != "" {
			t.Errorf("Prices() after the refused create mismatch (-want +got):\n%s", diff)
		}
		// Another route or instant is another price.
		other := first
		other.Route = "global"
		if err := s.CreatePrice(ctx, other); err != nil {
			t.Errorf("CreatePrice(other route) error = %v", err)
		}
		other = first
		other.EffectiveFrom = jan.Add(time.Nanosecond)
		if err := s.CreatePrice(ctx, other); err != nil {
			t.Errorf("CreatePrice(other instant) error = %v", err)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		bad := convertor.Price{Model: sonnet, EffectiveFrom: jan, InputMicros: -1}
		WantCode(t, "CreatePrice(negative)", s.CreatePrice(ctx, bad), convertor.EInvalid)
		if got, err := s.Prices(ctx); err != nil || len(got) != 0 {
			t.Errorf("Prices() = %v, %v; want none", got, err)
		}
	})
}
