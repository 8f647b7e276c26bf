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
	t.Run("PutAndList", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		s := newStore(t)
		jan := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		mar := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
		sonnet := "anthropic.claude-sonnet-4-5-20250929-v1:0"
		prices := []convertor.Price{
			{Model: sonnet, Route: "global", EffectiveFrom: jan, InputMicros: 3_000_000, OutputMicros: 15_000_000, CacheReadMicros: 300_000, CacheWriteMicros: 3_750_000, Source: "aws"},
			{Model: sonnet, EffectiveFrom: jan, InputMicros: 3_300_000, OutputMicros: 16_500_000},
			{Model: sonnet, EffectiveFrom: mar, InputMicros: 1, OutputMicros: 2},
		}
		for _, p := range prices {
			if err := s.PutPrice(ctx, p); err != nil {
				t.Fatalf("PutPrice() error = %v", err)
			}
		}
		// Same model, route and date: replaced, not added.
		prices[1].InputMicros = 3_333_333
		if err := s.PutPrice(ctx, prices[1]); err != nil {
			t.Fatalf("PutPrice(replace) error = %v", err)
		}
		got, err := s.Prices(ctx)
		if err != nil {
			t.Fatalf("Prices() error = %v", err)
		}
		sortPrices := cmp.Transformer("sort", func(ps []convertor.Price) []string {
			out := make([]string, len(ps))
			for i, p := range ps {
				out[i] = fmt.Sprintf("%+v", p)
			}
			slices.Sort(out)
			return out
		})
		if diff := cmp.Diff(prices, got, sortPrices); diff != "" {
			t.Errorf("Prices() mismatch (-want +got):\n%s", diff)
		}
		bad := prices[0]
		bad.InputMicros = -1
		if err := s.PutPrice(ctx, bad); convertor.ErrorCode(err) != convertor.EInvalid {
			t.Errorf("PutPrice(negative) error = %v, want invalid", err)
		}
	})
}
