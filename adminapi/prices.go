package adminapi

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/replay"
)

// Limits of prices and previews.
const (
	// maxRateMicros is $1,000,000 per million tokens: a thousand times
	// the dearest model, so only a typo goes above it.
	maxRateMicros = 1_000_000 * 1_000_000
	// unpricedLookback is how far back usage is searched for models
	// without a price.
	unpricedLookback = 30 * 24 * time.Hour
	// maxPreviewPeriod bounds a re-pricing preview, which reads every
	// record of its period.
	maxPreviewPeriod = 92 * 24 * time.Hour
)

// PricesView is the pricing table as it stands.
type PricesView struct {
	At time.Time `json:"at" doc:"The time the prices are in effect at"`
	// Prices holds the price in effect of every model and route.
	Prices []convertor.Price `json:"prices" doc:"The price in effect of every model and route"`
	// Scheduled holds prices that take effect after At.
	Scheduled []convertor.Price `json:"scheduled" doc:"Prices that take effect later"`
	// Unpriced lists models that routes name or usage shows, whose
	// requests would be recorded with cost 0.
	Unpriced []UnpricedModel `json:"unpriced_models" doc:"Models routed or used that have no price in effect"`
}

// UnpricedModel is a model with no price in effect.
type UnpricedModel struct {
	Model          string `json:"model" doc:"The model name clients send"`
	BedrockModelID string `json:"bedrock_model_id,omitempty" doc:"What serves it, when a route or the name says"`
	// Route is set when a route names the model; Requests counts its
	// requests in the last 30 days.
	Routed   bool  `json:"routed" doc:"Whether a route names the model"`
	Requests int64 `json:"requests_30d" doc:"Requests in the last 30 days"`
}

func (s *Service) priceTable(ctx context.Context) (*convertor.PriceTable, error) {
	ps, err := s.d.Prices.Prices(ctx)
	if err != nil {
		return nil, fmt.Errorf("read prices: %w", err)
	}
	return convertor.NewPriceTable(ps), nil
}

// Prices returns the prices in effect now, those scheduled, and the models
// routed or used in the last 30 days that have none.
func (s *Service) Prices(ctx context.Context) (*PricesView, error) {
	all, err := s.d.Prices.Prices(ctx)
	if err != nil {
		return nil, fmt.Errorf("read prices: %w", err)
	}
	now := s.now().UTC()
	v := &PricesView{At: now, Prices: []convertor.Price{}, Scheduled: []convertor.Price{}}
	current := make(map[[2]string]convertor.Price)
	for _, p := range all {
		if p.EffectiveFrom.After(now) {
			v.Scheduled = append(v.Scheduled, p)
			continue
		}
		k := [2]string{p.Model, p.Route}
		if have, ok := current[k]; !ok || p.EffectiveFrom.After(have.EffectiveFrom) {
			current[k] = p
		}
	}
	for _, p := range current {
		v.Prices = append(v.Prices, p)
	}
	sortPrices(v.Prices)
	sortPrices(v.Scheduled)
	if v.Unpriced, err = s.unpriced(ctx, convertor.NewPriceTable(all), now); err != nil {
		return nil, err
	}
	return v, nil
}

func sortPrices(ps []convertor.Price) {
	slices.SortFunc(ps, func(a, b convertor.Price) int {
		return cmp.Or(cmp.Compare(a.Model, b.Model), cmp.Compare(a.Route, b.Route), a.EffectiveFrom.Compare(b.EffectiveFrom))
	})
}

// unpriced finds the routed models and the models used in the last 30
// days whose Bedrock model has no price now. Usage is read from the
// per-model daily totals: one query.
func (s *Service) unpriced(ctx context.Context, pt *convertor.PriceTable, now time.Time) ([]UnpricedModel, error) {
	admin, err := s.d.Routes.Routes(ctx)
	if err != nil {
		return nil, fmt.Errorf("read routes: %w", err)
	}
	rows, err := s.d.Stats.Rollups(ctx, convertor.RollupFilter{
		Period: convertor.PeriodDay, KeyID: convertor.AllKeys,
		From: convertor.PeriodStart(now.Add(-unpricedLookback), convertor.PeriodDay), To: now.Add(24 * time.Hour),
	})
	if err != nil {
		return nil, fmt.Errorf("read usage: %w", err)
	}
	byModel := make(map[string]*UnpricedModel)
	check := func(model string, routed bool, requests int64) {
		id, ok := resolve(admin, s.defaults, model)
		if ok {
			if _, priced := pt.Lookup(id, now); priced {
				return
			}
		}
		u := byModel[model]
		if u == nil {
			u = &UnpricedModel{Model: model, BedrockModelID: id}
			byModel[model] = u
		}
		u.Routed = u.Routed || routed
		u.Requests += requests
	}
	for _, rs := range [][]convertor.Route{admin, s.defaults} {
		for _, r := range rs {
			check(r.Model, true, 0)
		}
	}
	for _, r := range rows {
		// Requests without tokens need no price (refusals, errors
		// before the model ran).
		if r.InputTokens+r.OutputTokens+r.CacheReadTokens+r.CacheWriteTokens > 0 {
			check(r.Model, false, r.Requests)
		}
	}
	out := make([]UnpricedModel, 0, len(byModel))
	for _, u := range byModel {
		out = append(out, *u)
	}
	slices.SortFunc(out, func(a, b UnpricedModel) int { return cmp.Compare(a.Model, b.Model) })
	return out, nil
}

// PriceHistory returns every price of a Bedrock model (an inference-profile
// id is taken as its model), all routes and effective dates, oldest first.
// Returns ENotFound when the model has none.
func (s *Service) PriceHistory(ctx context.Context, model string) ([]convertor.Price, error) {
	id, _, ok := convertor.ModelRoute(model)
	if !ok {
		return nil, convertor.ParamErrorf("path.model", "%q is not a Bedrock model id", model)
	}
	all, err := s.d.Prices.Prices(ctx)
	if err != nil {
		return nil, fmt.Errorf("read prices: %w", err)
	}
	var out []convertor.Price
	for _, p := range all {
		if p.Model == id {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, convertor.Errorf(convertor.ENotFound, "no price for model %q", id)
	}
	slices.SortFunc(out, func(a, b convertor.Price) int {
		return cmp.Or(a.EffectiveFrom.Compare(b.EffectiveFrom), cmp.Compare(a.Route, b.Route))
	})
	return out, nil
}

// PriceID names a price in the audit log and in URLs of its history.
func PriceID(p convertor.Price) string {
	route := p.Route
	if route == "" {
		route = "*"
	}
	return p.Model + "#" + route + "#" + p.EffectiveFrom.UTC().Format(time.RFC3339Nano)
}

// CreatePrice adds a price from its effective date on. A model given as an
// inference-profile id ("global.anthropic…") is split into model and
// route. Records priced before keep their cost until a replay. Returns
// EInvalid naming the field and EConflict when the model and route have a
// price from that very instant: prices are never rewritten.
func (s *Service) CreatePrice(ctx context.Context, a Actor, p convertor.Price) (convertor.Price, error) {
	p.Model, p.Route, p.Source = strings.TrimSpace(p.Model), strings.TrimSpace(p.Route), strings.TrimSpace(p.Source)
	if geo, id := convertor.SplitInferenceProfile(p.Model); geo != "" {
		if p.Route != "" && p.Route != geo {
			return convertor.Price{}, convertor.ParamErrorf("route", "route %q contradicts the model's inference-profile prefix %q", p.Route, geo)
		}
		p.Model, p.Route = id, geo
	}
	if strings.HasPrefix(p.Model, "arn:") {
		return convertor.Price{}, convertor.ParamErrorf("model", "price a foundation model id (anthropic.claude-…), not an ARN")
	}
	for _, r := range []struct {
		name string
		v    int64
	}{
		{"input_micros_per_mtok", p.InputMicros}, {"output_micros_per_mtok", p.OutputMicros},
		{"cache_read_micros_per_mtok", p.CacheReadMicros}, {"cache_write_micros_per_mtok", p.CacheWriteMicros},
	} {
		if r.v < 0 || r.v > maxRateMicros {
			return convertor.Price{}, convertor.ParamErrorf(r.name, "%s must be between 0 and %d", r.name, int64(maxRateMicros))
		}
	}
	if err := checkText("source", p.Source, 500); err != nil {
		return convertor.Price{}, err
	}
	p.EffectiveFrom = p.EffectiveFrom.UTC()
	if err := p.Validate(); err != nil {
		return convertor.Price{}, err
	}
	if err := s.d.Prices.CreatePrice(ctx, p); err != nil {
		return convertor.Price{}, err
	}
	s.audit(ctx, a, convertor.AuditPriceCreate, "price", PriceID(p), nil, p)
	return p, nil
}

// PreviewQuery is a re-pricing to preview: the records of [From, To),
// of one key or all, priced with the current prices plus Price when set.
type PreviewQuery struct {
	From, To time.Time
	KeyID    string
	// Price is a price being considered, not stored.
	Price *convertor.Price
}

// RepricePreview says what re-pricing a period with the current prices
// would change, without changing anything.
type RepricePreview struct {
	From             time.Time      `json:"from"`
	To               time.Time      `json:"to"`
	KeyID            string         `json:"key_id,omitempty"`
	Records          int            `json:"records" doc:"Records in the period"`
	Changed          int            `json:"changed" doc:"Records whose cost would change"`
	Unpriced         int            `json:"unpriced_after" doc:"Records that would still have no price"`
	CostBeforeMicros int64          `json:"cost_before_micros"`
	CostAfterMicros  int64          `json:"cost_after_micros"`
	DeltaMicros      int64          `json:"delta_micros"`
	Models           []PreviewModel `json:"models" doc:"The same figures by model"`
}

// PreviewModel is a preview's figures for one model.
type PreviewModel struct {
	Model            string `json:"model"`
	Records          int64  `json:"records"`
	Changed          int64  `json:"changed"`
	CostBeforeMicros int64  `json:"cost_before_micros"`
	CostAfterMicros  int64  `json:"cost_after_micros"`
}

// PreviewReprice runs the replay of a period in dry-run mode: every record
// priced as `convertor replay --reprice` would price it, nothing written.
// Returns EInvalid for a period that is empty or longer than 92 days.
func (s *Service) PreviewReprice(ctx context.Context, q PreviewQuery) (*RepricePreview, error) {
	switch {
	case q.From.IsZero() || q.To.IsZero():
		return nil, convertor.ParamErrorf("from", "from and to are required")
	case !q.From.Before(q.To):
		return nil, convertor.ParamErrorf("from", "from %s is not before to %s", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
	case q.To.Sub(q.From) > maxPreviewPeriod:
		return nil, convertor.ParamErrorf("to", "a preview covers at most 92 days")
	}
	var extra []convertor.Price
	if q.Price != nil {
		p := *q.Price
		if geo, id := convertor.SplitInferenceProfile(p.Model); geo != "" && p.Route == "" {
			p.Model, p.Route = id, geo
		}
		if err := p.Validate(); err != nil {
			return nil, err
		}
		extra = append(extra, p)
	}
	rep, err := replay.Run(ctx, replay.Options{
		From: q.From, To: q.To, KeyID: q.KeyID, Reprice: true, DryRun: true, ExtraPrices: extra,
		Usage: s.d.Usage, Prices: s.d.Prices, Stats: s.d.Stats,
	})
	if err != nil {
		return nil, err
	}
	out := &RepricePreview{From: q.From.UTC(), To: q.To.UTC(), KeyID: q.KeyID, Records: rep.Records, Unpriced: rep.Unpriced, Models: []PreviewModel{}}
	byModel := make(map[string]*PreviewModel)
	for _, l := range rep.Lines {
		m := byModel[l.Model]
		if m == nil {
			m = &PreviewModel{Model: l.Model}
			byModel[l.Model] = m
		}
		m.Records += l.Requests
		m.Changed += l.Repriced
		out.Changed += int(l.Repriced)
		m.CostBeforeMicros += l.CostBeforeMicros
		m.CostAfterMicros += l.CostMicros
		out.CostBeforeMicros += l.CostBeforeMicros
		out.CostAfterMicros += l.CostMicros
	}
	for _, m := range byModel {
		out.Models = append(out.Models, *m)
	}
	slices.SortFunc(out.Models, func(a, b PreviewModel) int { return cmp.Compare(a.Model, b.Model) })
	out.DeltaMicros = out.CostAfterMicros - out.CostBeforeMicros
	return out, nil
}
