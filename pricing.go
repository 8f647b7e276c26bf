package convertor

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"
)

// tokensPerRate is the unit of the rates: micro-dollars per million tokens.
const tokensPerRate = 1_000_000

// Latest is a time after every effective date: pricing at Latest uses the
// newest price of each model and route, which is what a re-pricing replay
// wants.
var Latest = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// Rates are the per-million-token rates a request is priced at, in
// micro-dollars: those of a Price or of one of its tiers.
type Rates struct {
	InputMicros, OutputMicros, CacheReadMicros, CacheWriteMicros, CacheWrite1hMicros int64
	// Tier is 0 for the price's base rates, else 1 + the index of the
	// tier in Price.Tiers.
	Tier int
}

// PromptTokens is what tiers compare with: every prompt token, however
// Bedrock counted it (input, cache read, cache write).
func (e *UsageEvent) PromptTokens() int64 {
	return e.InputTokens + e.CacheReadTokens + e.CacheWriteTokens
}

// RatesFor returns the rates ev is priced at under p: the tier with the
// highest threshold ev's prompt exceeds, else the base rates; a 1-hour
// write rate not given is 2× input (see Price.CacheWrite1hMicros).
func (p *Price) RatesFor(ev *UsageEvent) Rates {
	r := Rates{p.InputMicros, p.OutputMicros, p.CacheReadMicros, p.CacheWriteMicros, p.CacheWrite1hMicros, 0}
	prompt := ev.PromptTokens()
	for i, t := range p.Tiers {
		if prompt > t.AboveTokens {
			r = Rates{t.InputMicros, t.OutputMicros, t.CacheReadMicros, t.CacheWriteMicros, t.CacheWrite1hMicros, i + 1}
		}
	}
	if r.CacheWrite1hMicros == 0 {
		r.CacheWrite1hMicros = 2 * r.InputMicros
	}
	return r
}

// TierName names the rates of ev under p for reports: "base", or
// "above <N> tokens" for a tier.
func (p *Price) TierName(ev *UsageEvent) string {
	r := p.RatesFor(ev)
	if r.Tier == 0 {
		return "base"
	}
	return "above " + strconv.FormatInt(p.Tiers[r.Tier-1].AboveTokens, 10) + " tokens"
}

// Cost is the price of ev's tokens at p in micro-dollars: the exact sum of
// tokens × rate over the five token kinds (input, output, cache read,
// 5-minute and 1-hour cache writes) at the rates of ev's tier
// (Price.RatesFor), divided by a million and rounded half up once per
// request. Input tokens exclude cache reads and writes (that is how
// Bedrock counts them), so nothing is billed twice; thinking tokens are
// inside OutputTokens. The arithmetic is 128-bit, so no count overflows; a
// cost beyond int64 saturates.
func Cost(ev *UsageEvent, p Price) int64 {
	rt := p.RatesFor(ev)
	var hi, lo uint64
	add := func(tokens, rate int64) {
		if tokens <= 0 || rate <= 0 {
			return
		}
		h, l := bits.Mul64(uint64(tokens), uint64(rate))
		var c uint64
		lo, c = bits.Add64(lo, l, 0)
		hi, _ = bits.Add64(hi, h, c)
	}
	w1h := min(ev.CacheWrite1hTokens, ev.CacheWriteTokens)
	add(ev.InputTokens, rt.InputMicros)
	add(ev.OutputTokens, rt.OutputMicros)
	add(ev.CacheReadTokens, rt.CacheReadMicros)
	add(ev.CacheWriteTokens-w1h, rt.CacheWriteMicros)
	add(w1h, rt.CacheWrite1hMicros)
	add(1, tokensPerRate/2) // round half up
	if hi >= tokensPerRate {
		return math.MaxInt64
	}
	q, _ := bits.Div64(hi, lo, tokensPerRate)
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(q)
}

// ModelRoute splits a Bedrock model id, inference-profile id or ARN into
// the model id that prices are keyed on and the route (geography prefix,
// "" for an in-region model). An ARN contributes its last path segment. It
// reports false for an application inference profile, whose ARN does not
// say which model it serves, and for an empty id.
func ModelRoute(bedrockModelID string) (model, route string, ok bool) {
	id := bedrockModelID
	if strings.HasPrefix(id, "arn:") {
		if strings.Contains(id, ":application-inference-profile/") {
			return "", "", false
		}
		id = id[strings.LastIndex(id, "/")+1:]
	}
	// The geography names the route, whose price may differ ("global" is
	// cheaper than the geographic profiles for the Claude 4.5 family).
	route, id = SplitInferenceProfile(id)
	if id == "" {
		return "", "", false
	}
	return id, route, true
}

// PriceTable finds the price of a model on a route at a time. It is
// immutable once built and safe for concurrent use.
type PriceTable struct {
	// byModel holds each model's prices, newest EffectiveFrom first.
	byModel map[string][]Price
}

// NewPriceTable indexes prices. Of two prices with the same model, route
// and EffectiveFrom the later in prices wins.
func NewPriceTable(prices []Price) *PriceTable {
	pt := &PriceTable{byModel: make(map[string][]Price)}
	for _, p := range prices {
		pt.byModel[p.Model] = append(pt.byModel[p.Model], p)
	}
	for m, ps := range pt.byModel {
		// Newest first with equal keys adjacent, the later in prices first
		// (reverse, then a stable sort), so compaction keeps it.
		slices.Reverse(ps)
		slices.SortStableFunc(ps, func(a, b Price) int {
			return cmp.Or(b.EffectiveFrom.Compare(a.EffectiveFrom), cmp.Compare(a.Route, b.Route))
		})
		pt.byModel[m] = slices.CompactFunc(ps, func(a, b Price) bool {
			return a.Route == b.Route && a.EffectiveFrom.Equal(b.EffectiveFrom)
		})
	}
	return pt
}

// Lookup returns the price of bedrockModelID in effect at t: among the
// prices of its model with EffectiveFrom <= t, the newest one for its route
// if there is one, else the newest that applies to every route (Route "").
// A route-specific price wins because AWS publishes one exactly where a
// route costs differently.
func (pt *PriceTable) Lookup(bedrockModelID string, t time.Time) (Price, bool) {
	model, route, ok := ModelRoute(bedrockModelID)
	if !ok {
		return Price{}, false
	}
	var generic *Price
	for i, p := range pt.byModel[model] {
		if p.EffectiveFrom.After(t) {
			continue
		}
		if p.Route == route && route != "" {
			return p, true
		}
		if p.Route == "" && generic == nil {
			generic = &pt.byModel[model][i]
		}
	}
	if generic == nil {
		return Price{}, false
	}
	return *generic, true
}

// Record prices ev with the prices in effect at its time.
func (pt *PriceTable) Record(ev *UsageEvent) *UsageRecord {
	return pt.RecordAt(ev, ev.Time)
}

// RecordAt prices ev with the prices in effect at t (Latest for the
// current prices). A request without tokens costs nothing and needs no
// price; one whose model has no price is marked Unpriced with cost 0.
func (pt *PriceTable) RecordAt(ev *UsageEvent, t time.Time) *UsageRecord {
	r := &UsageRecord{UsageEvent: *ev}
	if ev.InputTokens == 0 && ev.OutputTokens == 0 && ev.CacheReadTokens == 0 && ev.CacheWriteTokens == 0 {
		return r
	}
	p, ok := pt.PriceFor(ev, t)
	if !ok {
		r.Unpriced = true
		return r
	}
	r.CostMicros = Cost(ev, p)
	r.PriceFrom = p.EffectiveFrom
	return r
}

// PriceFor returns the price RecordAt prices ev with at t: that of its
// Bedrock model id, or of its model when that is a Bedrock model id.
func (pt *PriceTable) PriceFor(ev *UsageEvent, t time.Time) (Price, bool) {
	id := ev.BedrockModelID
	if id == "" && IsBedrockModelID(ev.Model) {
		id = ev.Model
	}
	return pt.Lookup(id, t)
}

// Prices returns every price in the table, ordered by model, route and
// EffectiveFrom; for tests and reports.
func (pt *PriceTable) Prices() []Price {
	var out []Price
	for _, ps := range pt.byModel {
		out = append(out, ps...)
	}
	slices.SortFunc(out, func(a, b Price) int {
		return cmp.Or(cmp.Compare(a.Model, b.Model), cmp.Compare(a.Route, b.Route), a.EffectiveFrom.Compare(b.EffectiveFrom))
	})
	return out
}

// FormatUSD writes micro-dollars as dollars exactly, with every significant
// digit and at least the cents: 12500000 is "$12.50", 200 is "$0.0002",
// -1500000 is "-$1.50". Money shown to people (a budget in an error, a
// cost in a table) is never rounded to cents: $0.0002 is not $0.00.
func FormatUSD(micros int64) string {
	sign := ""
	u := uint64(micros)
	if micros < 0 {
		sign, u = "-", -u
	}
	frac := strings.TrimRight(fmt.Sprintf("%06d", u%1_000_000), "0")
	if len(frac) < 2 {
		frac += strings.Repeat("0", 2-len(frac))
	}
	return sign + "$" + strconv.FormatUint(u/1_000_000, 10) + "." + frac
}
