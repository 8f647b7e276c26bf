package adminapi

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/openai-api-convertor/convertor"
)

// Every usage view is computed from the roll-ups, never from a scan of the
// raw usage records: see plan for which rows a window reads.

// Totals are usage figures over some set of requests.
type Totals struct {
	Requests         int64 `json:"requests"`
	Errors           int64 `json:"errors"`
	InputTokens      int64 `json:"input_tokens"`
	OutputTokens     int64 `json:"output_tokens"`
	CacheReadTokens  int64 `json:"cache_read_tokens"`
	CacheWriteTokens int64 `json:"cache_write_tokens"`
	// TotalTokens is the sum of the four kinds.
	TotalTokens int64 `json:"total_tokens"`
	CostMicros  int64 `json:"cost_micros"`
}

func (t *Totals) add(r convertor.Rollup) { t.addSigned(r, 1) }

// sub takes r out of t: a month row's figures less the days outside a
// window.
func (t *Totals) sub(r convertor.Rollup) { t.addSigned(r, -1) }

func (t *Totals) addSigned(r convertor.Rollup, sign int64) {
	t.Requests += sign * r.Requests
	t.Errors += sign * r.Errors
	t.InputTokens += sign * r.InputTokens
	t.OutputTokens += sign * r.OutputTokens
	t.CacheReadTokens += sign * r.CacheReadTokens
	t.CacheWriteTokens += sign * r.CacheWriteTokens
	t.TotalTokens += sign * (r.InputTokens + r.OutputTokens + r.CacheReadTokens + r.CacheWriteTokens)
	t.CostMicros += sign * r.CostMicros
}

func (t *Totals) addTotals(o Totals) {
	t.Requests += o.Requests
	t.Errors += o.Errors
	t.InputTokens += o.InputTokens
	t.OutputTokens += o.OutputTokens
	t.CacheReadTokens += o.CacheReadTokens
	t.CacheWriteTokens += o.CacheWriteTokens
	t.TotalTokens += o.TotalTokens
	t.CostMicros += o.CostMicros
}

// UsageFilter narrows usage views to one key and/or one model.
type UsageFilter struct {
	KeyID string
	Model string
}

func (f UsageFilter) validate() error {
	if f.KeyID != "" {
		if err := checkText("query.key_id", f.KeyID, 200); err != nil {
			return err
		}
		if f.KeyID == convertor.AllKeys {
			return convertor.ParamErrorf("query.key_id", "key_id %q is not a key id", f.KeyID)
		}
	}
	if f.Model != "" {
		return convertor.ValidateModelName("query.model", f.Model)
	}
	return nil
}

// Grouping of series and top lists.
const (
	GroupNone  = "none"
	GroupModel = "model"
	GroupKey   = "key"
)

// read sums the roll-ups of w by group and bucket. group is GroupNone,
// GroupModel or GroupKey.
func (s *Service) read(ctx context.Context, w *Window, f UsageFilter, group string) (map[string][]Totals, error) {
	sel := convertor.AllKeys
	switch {
	case f.KeyID != "":
		sel = f.KeyID
	case group == GroupKey:
		sel = "" // every key's own rows
	}
	out := make(map[string][]Totals)
	// A key's month row holds every model: it serves views of keys.
	months := sel != convertor.AllKeys && f.Model == "" && group != GroupModel
	for _, sp := range plan(w, months) {
		rows, err := s.d.Stats.Rollups(ctx, convertor.RollupFilter{Period: sp.period, KeyID: sel, Model: f.Model, From: sp.from, To: sp.to})
		if err != nil {
			return nil, fmt.Errorf("read roll-ups %s: %w", sp, err)
		}
		for _, r := range rows {
			b := sp.bucket
			if b < 0 {
				b = w.bucket(r.Start)
			}
			if b < 0 {
				continue
			}
			g := "total"
			switch group {
			case GroupModel:
				g = r.Model
			case GroupKey:
				g = r.KeyID
			}
			ts := out[g]
			if ts == nil {
				ts = make([]Totals, w.Buckets())
				out[g] = ts
			}
			if sp.sign < 0 {
				ts[b].sub(r)
			} else {
				ts[b].add(r)
			}
		}
	}
	return out, nil
}

func sum(groups map[string][]Totals) Totals {
	var t Totals
	for _, ts := range groups {
		for _, b := range ts {
			t.addTotals(b)
		}
	}
	return t
}

// Period is a window's bounds and totals.
type Period struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Totals Totals    `json:"totals"`
	// KeysWithUsage counts the keys with at least one request; absent
	// when the view is of one key.
	KeysWithUsage *int `json:"keys_with_usage,omitempty"`
}

// Summary is the totals of a window and of the window just before it.
type Summary struct {
	TZ       string `json:"tz"`
	KeyID    string `json:"key_id,omitempty"`
	Model    string `json:"model,omitempty"`
	Current  Period `json:"current"`
	Previous Period `json:"previous" doc:"The window of the same length just before, for comparison"`
}

// Summary returns the totals of w and of the window before it.
func (s *Service) Summary(ctx context.Context, w *Window, f UsageFilter) (*Summary, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	out := &Summary{TZ: w.TZ(), KeyID: f.KeyID, Model: f.Model}
	for i, win := range []*Window{w, w.Previous()} {
		p := Period{From: win.From.In(w.Loc), To: win.To.In(w.Loc)}
		group := GroupNone
		if f.KeyID == "" {
			// Per-key rows sum to the same totals and also say which
			// keys were used.
			group = GroupKey
		}
		groups, err := s.read(ctx, win, f, group)
		if err != nil {
			return nil, err
		}
		p.Totals = sum(groups)
		if f.KeyID == "" {
			n := 0
			for _, ts := range groups {
				if ts[0].Requests > 0 {
					n++
				}
			}
			p.KeysWithUsage = &n
		}
		if i == 0 {
			out.Current = p
		} else {
			out.Previous = p
		}
	}
	return out, nil
}

// Series is usage over time: one line per group, one point per bucket.
type Series struct {
	TZ          string    `json:"tz"`
	Granularity string    `json:"granularity" enum:"hour,day"`
	GroupBy     string    `json:"group_by" enum:"none,model,key"`
	KeyID       string    `json:"key_id,omitempty"`
	Model       string    `json:"model,omitempty"`
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	// Buckets are the bucket starts, in the time zone.
	Buckets []time.Time `json:"buckets" doc:"Bucket starts in the requested time zone; the last bucket ends at to"`
	Lines   []Line      `json:"series" doc:"One line per group with a point per bucket (zeros included)"`
	Totals  Totals      `json:"totals"`
}

// Line is one group's points.
type Line struct {
	Group string `json:"group" doc:"The model, the key id, or total"`
	// Name is the key's name when grouping by key.
	Name   string   `json:"name,omitempty"`
	Totals Totals   `json:"totals"`
	Points []Totals `json:"points"`
}

// Series returns w's buckets grouped by model, by key or not at all,
// heaviest line first.
func (s *Service) Series(ctx context.Context, w *Window, f UsageFilter, group string) (*Series, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	if w.Granularity == "" {
		return nil, convertor.ParamErrorf("query.granularity", "granularity is required: hour or day")
	}
	switch group {
	case "":
		group = GroupNone
	case GroupNone, GroupModel, GroupKey:
	default:
		return nil, convertor.ParamErrorf("query.group_by", "group_by %q: want none, model or key", group)
	}
	groups, err := s.read(ctx, w, f, group)
	if err != nil {
		return nil, err
	}
	out := &Series{
		TZ: w.TZ(), Granularity: w.Granularity, GroupBy: group, KeyID: f.KeyID, Model: f.Model,
		From: w.From.In(w.Loc), To: w.To.In(w.Loc), Lines: []Line{},
	}
	for _, b := range w.Bounds[:w.Buckets()] {
		out.Buckets = append(out.Buckets, b.In(w.Loc))
	}
	if group == GroupNone && len(groups) == 0 {
		groups["total"] = make([]Totals, w.Buckets())
	}
	names, err := s.keyNames(ctx, group)
	if err != nil {
		return nil, err
	}
	for g, pts := range groups {
		l := Line{Group: g, Name: names[g], Points: pts}
		for _, p := range pts {
			l.Totals.addTotals(p)
		}
		out.Totals.addTotals(l.Totals)
		out.Lines = append(out.Lines, l)
	}
	slices.SortFunc(out.Lines, func(a, b Line) int {
		return cmp.Or(cmp.Compare(b.Totals.CostMicros, a.Totals.CostMicros), cmp.Compare(b.Totals.Requests, a.Totals.Requests), cmp.Compare(a.Group, b.Group))
	})
	return out, nil
}

// keyNames maps key ids to names when a view is grouped by key.
func (s *Service) keyNames(ctx context.Context, group string) (map[string]string, error) {
	names := map[string]string{}
	if group != GroupKey {
		return names, nil
	}
	keys, err := s.d.Keys.ListAPIKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	for _, k := range keys {
		names[k.ID] = k.Name
	}
	return names, nil
}

// Top ranking metrics.
const (
	MetricCost     = "cost"
	MetricTokens   = "tokens"
	MetricRequests = "requests"
)

// maxTop bounds a top list.
const maxTop = 100

// Top is the heaviest keys or models of a window.
type Top struct {
	TZ     string     `json:"tz"`
	By     string     `json:"by" enum:"key,model"`
	Metric string     `json:"metric" enum:"cost,tokens,requests"`
	From   time.Time  `json:"from"`
	To     time.Time  `json:"to"`
	Items  []TopEntry `json:"items"`
	// Others sums every group below the list; Totals every group.
	Others Totals `json:"others"`
	Totals Totals `json:"totals"`
}

// TopEntry is one key or model of a top list.
type TopEntry struct {
	Rank int    `json:"rank"`
	ID   string `json:"id" doc:"The key id or the model"`
	// Name is the key's name when ranking keys.
	Name   string  `json:"name,omitempty"`
	Share  float64 `json:"share" doc:"Fraction of the window's total of the metric"`
	Totals Totals  `json:"totals"`
}

// Top ranks keys or models of w by a metric, at most limit of them
// (default 10).
func (s *Service) Top(ctx context.Context, w *Window, f UsageFilter, by, metric string, limit int) (*Top, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	switch by {
	case GroupKey, GroupModel:
	default:
		return nil, convertor.ParamErrorf("query.by", "by %q: want key or model", by)
	}
	if metric == "" {
		metric = MetricCost
	}
	value := map[string]func(Totals) int64{
		MetricCost:     func(t Totals) int64 { return t.CostMicros },
		MetricTokens:   func(t Totals) int64 { return t.TotalTokens },
		MetricRequests: func(t Totals) int64 { return t.Requests },
	}[metric]
	if value == nil {
		return nil, convertor.ParamErrorf("query.metric", "metric %q: want cost, tokens or requests", metric)
	}
	if limit == 0 {
		limit = 10
	}
	if limit < 1 || limit > maxTop {
		return nil, convertor.ParamErrorf("query.limit", "limit must be between 1 and %d", maxTop)
	}
	groups, err := s.read(ctx, w, f, by)
	if err != nil {
		return nil, err
	}
	names, err := s.keyNames(ctx, by)
	if err != nil {
		return nil, err
	}
	out := &Top{TZ: w.TZ(), By: by, Metric: metric, From: w.From.In(w.Loc), To: w.To.In(w.Loc), Items: []TopEntry{}}
	for g, ts := range groups {
		e := TopEntry{ID: g, Name: names[g], Totals: ts[0]}
		out.Totals.addTotals(e.Totals)
		if e.Totals.Requests > 0 {
			out.Items = append(out.Items, e)
		}
	}
	slices.SortFunc(out.Items, func(a, b TopEntry) int {
		return cmp.Or(cmp.Compare(value(b.Totals), value(a.Totals)), cmp.Compare(b.Totals.Requests, a.Totals.Requests), cmp.Compare(a.ID, b.ID))
	})
	for _, e := range out.Items[min(limit, len(out.Items)):] {
		out.Others.addTotals(e.Totals)
	}
	out.Items = out.Items[:min(limit, len(out.Items))]
	total := value(out.Totals)
	for i := range out.Items {
		out.Items[i].Rank = i + 1
		if total > 0 {
			out.Items[i].Share = float64(value(out.Items[i].Totals)) / float64(total)
		}
	}
	return out, nil
}

// RequestView is one request of a key's log.
type RequestView struct {
	ID             string    `json:"id" doc:"The usage event id"`
	RequestID      string    `json:"request_id"`
	Time           time.Time `json:"time"`
	Model          string    `json:"model"`
	BedrockModelID string    `json:"bedrock_model_id,omitempty"`
	Status         string    `json:"status" enum:"ok,error,refused,canceled"`
	HTTPStatus     int       `json:"http_status"`
	ErrorType      string    `json:"error_type,omitempty"`
	Streamed       bool      `json:"streamed"`
	Disconnected   bool      `json:"disconnected"`
	Estimated      bool      `json:"estimated" doc:"Tokens estimated: the client left before Bedrock's count"`
	LatencyMs      int64     `json:"latency_ms"`
	TTFTMs         int64     `json:"ttft_ms,omitempty"`
	Totals
	Unpriced bool `json:"unpriced"`
}

// RequestLog is a page of one key's requests.
type RequestLog struct {
	KeyID      string        `json:"key_id"`
	From       time.Time     `json:"from"`
	To         time.Time     `json:"to"`
	Requests   []RequestView `json:"requests" doc:"Newest first"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// Requests returns a page of one key's requests in w, newest first.
// Returns EInvalid without a key, and ENotFound for a key that does not
// exist.
func (s *Service) Requests(ctx context.Context, w *Window, keyID string, limit int, cursor string) (*RequestLog, error) {
	if keyID == "" {
		return nil, convertor.ParamErrorf("query.key_id", "key_id is required: the request log is per key")
	}
	if err := (UsageFilter{KeyID: keyID}).validate(); err != nil {
		return nil, err
	}
	n, err := pageLimit("limit", limit)
	if err != nil {
		return nil, err
	}
	if _, err := s.d.Keys.APIKey(ctx, keyID); err != nil {
		return nil, err
	}
	recs, next, err := s.d.Usage.RequestLog(ctx, convertor.RequestLogQuery{KeyID: keyID, From: w.From, To: w.To, Limit: n, Cursor: cursor})
	if err != nil {
		return nil, asQuery(err)
	}
	out := &RequestLog{KeyID: keyID, From: w.From.In(w.Loc), To: w.To.In(w.Loc), Requests: make([]RequestView, 0, len(recs)), NextCursor: next}
	for _, r := range recs {
		v := RequestView{
			ID: r.ID, RequestID: r.RequestID, Time: r.Time.In(w.Loc), Model: r.Model, BedrockModelID: r.BedrockModelID,
			Status: r.Status, HTTPStatus: r.HTTPStatus, ErrorType: r.ErrorType, Streamed: r.Streamed,
			Disconnected: r.Disconnected, Estimated: r.Estimated, LatencyMs: r.LatencyMs, TTFTMs: r.TTFTMs, Unpriced: r.Unpriced,
		}
		v.Totals.add(r.Delta())
		out.Requests = append(out.Requests, v)
	}
	return out, nil
}
