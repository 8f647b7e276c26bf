package accountant

import (
	"context"
	"fmt"
	"time"

	"github.com/openai-api-convertor/convertor"
)

// defaultPriceSource is cited on every default price.
const defaultPriceSource = "https://aws.amazon.com/bedrock/pricing/ (on-demand, Anthropic, as of 2025-11)"

// defaultEffectiveFrom is when the default prices apply from: before any
// usage this product records, so every event finds one.
var defaultEffectiveFrom = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// DefaultPrices are AWS's published on-demand Bedrock prices for the
// default models (https://aws.amazon.com/bedrock/pricing/, as of
// 2025-11), in micro-dollars per million tokens. SeedPrices stores them
// when missing; admins edit or supersede them in the pricing table.
//
// For the Claude 4.5 family AWS prices the global cross-region profile
// ("global.") lowest; geographic profiles ("us.", "eu.", …) and in-region
// use cost 10% more, hence a "global" price and a route-free one for every
// other route. Cache writes (5-minute TTL) are 1.25× input and cache reads
// 0.1× input. Claude 3.5 Haiku is offered through the "us." profile at one
// price. The 10% figure is AWS's stated regional premium (Bedrock user
// guide, "Global cross-Region inference"); the per-geography tables on the
// pricing page are authoritative where they differ, and admins correct a
// row by adding a newer one.
var DefaultPrices = []convertor.Price{
	// Claude Opus 4.5 and 4.6: $5 / $25 global.
	defaultPrice("anthropic.claude-opus-4-5-20251101-v1:0", "global", 5_000_000, 25_000_000, 500_000, 6_250_000),
	defaultPrice("anthropic.claude-opus-4-5-20251101-v1:0", "", 5_500_000, 27_500_000, 550_000, 6_875_000),
	defaultPrice("anthropic.claude-opus-4-6-v1", "global", 5_000_000, 25_000_000, 500_000, 6_250_000),
	defaultPrice("anthropic.claude-opus-4-6-v1", "", 5_500_000, 27_500_000, 550_000, 6_875_000),
	// Claude Sonnet 4.5: $3 / $15 global.
	defaultPrice("anthropic.claude-sonnet-4-5-20250929-v1:0", "global", 3_000_000, 15_000_000, 300_000, 3_750_000),
	defaultPrice("anthropic.claude-sonnet-4-5-20250929-v1:0", "", 3_300_000, 16_500_000, 330_000, 4_125_000),
	// Claude Haiku 4.5: $1 / $5 global.
	defaultPrice("anthropic.claude-haiku-4-5-20251001-v1:0", "global", 1_000_000, 5_000_000, 100_000, 1_250_000),
	defaultPrice("anthropic.claude-haiku-4-5-20251001-v1:0", "", 1_100_000, 5_500_000, 110_000, 1_375_000),
	// Claude 3.5 Haiku: $0.80 / $4, cache write $1.00, cache read $0.08.
	defaultPrice("anthropic.claude-3-5-haiku-20241022-v1:0", "", 800_000, 4_000_000, 80_000, 1_000_000),

	// From 2025-12-01 the same rates with what AWS also bills: 1-hour
	// cache writes at 2× input, and Claude Sonnet 4.5's long-context rates
	// for requests above 200,000 prompt tokens ($6 / $22.50, cache read
	// $0.60, writes $7.50 and $12 global; regional +10%). New rows rather
	// than changed ones, because prices are never rewritten: a store
	// seeded earlier gains them at its next start.
	checkedPrice("anthropic.claude-opus-4-5-20251101-v1:0", "global", 5_000_000, 25_000_000, 500_000, 6_250_000, 10_000_000),
	checkedPrice("anthropic.claude-opus-4-5-20251101-v1:0", "", 5_500_000, 27_500_000, 550_000, 6_875_000, 11_000_000),
	checkedPrice("anthropic.claude-opus-4-6-v1", "global", 5_000_000, 25_000_000, 500_000, 6_250_000, 10_000_000),
	checkedPrice("anthropic.claude-opus-4-6-v1", "", 5_500_000, 27_500_000, 550_000, 6_875_000, 11_000_000),
	withTier(checkedPrice("anthropic.claude-sonnet-4-5-20250929-v1:0", "global", 3_000_000, 15_000_000, 300_000, 3_750_000, 6_000_000),
		convertor.PriceTier{AboveTokens: LongContextTokens, InputMicros: 6_000_000, OutputMicros: 22_500_000, CacheReadMicros: 600_000, CacheWriteMicros: 7_500_000, CacheWrite1hMicros: 12_000_000}),
	withTier(checkedPrice("anthropic.claude-sonnet-4-5-20250929-v1:0", "", 3_300_000, 16_500_000, 330_000, 4_125_000, 6_600_000),
		convertor.PriceTier{AboveTokens: LongContextTokens, InputMicros: 6_600_000, OutputMicros: 24_750_000, CacheReadMicros: 660_000, CacheWriteMicros: 8_250_000, CacheWrite1hMicros: 13_200_000}),
	checkedPrice("anthropic.claude-haiku-4-5-20251001-v1:0", "global", 1_000_000, 5_000_000, 100_000, 1_250_000, 2_000_000),
	checkedPrice("anthropic.claude-haiku-4-5-20251001-v1:0", "", 1_100_000, 5_500_000, 110_000, 1_375_000, 2_200_000),
	// Claude 3.5 Haiku has no 1-hour cache: no 1-hour rate.
	checkedPrice("anthropic.claude-3-5-haiku-20241022-v1:0", "", 800_000, 4_000_000, 80_000, 1_000_000, 0),
}

// LongContextTokens is where AWS's long-context rates start: a request
// whose prompt (input + cache read + cache write tokens) exceeds it.
const LongContextTokens = 200_000

// checkedSource is cited on the default prices from checkedEffectiveFrom.
// AWS's on-demand rates for the global profiles equal Anthropic's list
// prices, which these were checked against (base input and output,
// 5-minute and 1-hour cache writes, cache reads); the regional profiles
// carry the 10% premium AWS's Bedrock guide states; Sonnet 4.5's
// long-context rates are those AWS bills above 200,000 prompt tokens.
// The per-geography tables of AWS's pricing page are authoritative where
// they differ: an admin adds a newer row.
const checkedSource = "Anthropic list prices (https://platform.claude.com/docs/en/about-claude/pricing, checked 2026-12-02), equal to AWS's on-demand global rates (https://aws.amazon.com/bedrock/pricing/); regional profiles +10%; Sonnet 4.5 long context above 200,000 prompt tokens"

// checkedEffectiveFrom is when the default prices with 1-hour cache
// writes and long-context tiers apply from.
var checkedEffectiveFrom = time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)

func checkedPrice(model, route string, in, out, cacheRead, cacheWrite, cacheWrite1h int64) convertor.Price {
	p := defaultPrice(model, route, in, out, cacheRead, cacheWrite)
	p.EffectiveFrom, p.Source, p.CacheWrite1hMicros = checkedEffectiveFrom, checkedSource, cacheWrite1h
	return p
}

func withTier(p convertor.Price, t convertor.PriceTier) convertor.Price {
	p.Tiers = []convertor.PriceTier{t}
	return p
}

func defaultPrice(model, route string, in, out, cacheRead, cacheWrite int64) convertor.Price {
	return convertor.Price{
		Model:            model,
		Route:            route,
		EffectiveFrom:    defaultEffectiveFrom,
		InputMicros:      in,
		OutputMicros:     out,
		CacheReadMicros:  cacheRead,
		CacheWriteMicros: cacheWrite,
		Source:           defaultPriceSource,
	}
}

// SeedPrices creates each of DefaultPrices that the store does not hold
// yet (same model, route and effective date) and reports how many it
// added. Prices are never rewritten, so a price an admin created under the
// same key stays, and newer admin prices take precedence anyway: seeding
// at every start is harmless. Another process seeding at the same moment
// makes some creates fail with EConflict; the price exists then, which is
// all seeding wants, so those are skipped, not failed.
func SeedPrices(ctx context.Context, store convertor.PriceStore) (added int, err error) {
	have, err := store.Prices(ctx)
	if err != nil {
		return 0, fmt.Errorf("seed prices: %w", err)
	}
	type key struct {
		model, route string
		from         int64
	}
	exists := make(map[key]bool, len(have))
	for _, p := range have {
		exists[key{p.Model, p.Route, p.EffectiveFrom.UnixNano()}] = true
	}
	for _, p := range DefaultPrices {
		if exists[key{p.Model, p.Route, p.EffectiveFrom.UnixNano()}] {
			continue
		}
		err := store.CreatePrice(ctx, p)
		if convertor.ErrorCode(err) == convertor.EConflict {
			continue
		}
		if err != nil {
			return added, fmt.Errorf("seed price %s %s: %w", p.Model, p.Route, err)
		}
		added++
	}
	return added, nil
}
