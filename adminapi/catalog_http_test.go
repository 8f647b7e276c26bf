package adminapi

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/openai-api-convertor/convertor"
)

func TestRoutes(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	var l RouteList
	want(t, a.do("GET", "/api/routes", viewerToken, nil), 200, "list").json(t, &l)
	if len(l.Routes) != len(convertor.DefaultRoutes) || l.Routes[0].Source != "default" {
		t.Fatalf("routes = %+v, want the built-in ones", l.Routes)
	}

	var v RouteView
	want(t, a.do("PUT", "/api/routes/my-claude", adminToken, map[string]any{"bedrock_model_id": "us.anthropic.claude-sonnet-4-5-20250929-v1:0"}), 201, "create").json(t, &v)
	if v.Model != "my-claude" || v.Source != "admin" || v.UpdatedAt.IsZero() {
		t.Errorf("created = %+v", v)
	}
	want(t, a.do("PUT", "/api/routes/my-claude", adminToken, map[string]any{"bedrock_model_id": "global.anthropic.claude-haiku-4-5-20251001-v1:0"}), 200, "replace")
	// An admin route over a built-in one says what it overrides.
	want(t, a.do("PUT", "/api/routes/claude-haiku-4-5", adminToken, map[string]any{"bedrock_model_id": "us.anthropic.claude-haiku-4-5-20251001-v1:0"}), 201, "override").json(t, &v)
	if v.DefaultBedrockModelID != "global.anthropic.claude-haiku-4-5-20251001-v1:0" {
		t.Errorf("override = %+v", v)
	}
	want(t, a.do("GET", "/api/routes", viewerToken, nil), 200, "list").json(t, &l)
	if len(l.Routes) != len(convertor.DefaultRoutes)+1 {
		t.Errorf("routes = %d, want the built-in ones plus one (the override replaces its default)", len(l.Routes))
	}
	haiku := 0
	for _, r := range l.Routes {
		if r.Model == "claude-haiku-4-5" {
			haiku++
			if r.Source != "admin" {
				t.Errorf("claude-haiku-4-5 listed as %s, want the admin route", r.Source)
			}
		}
	}
	if haiku != 1 {
		t.Errorf("claude-haiku-4-5 listed %d times", haiku)
	}
	// Stored where the gateway reads it.
	rs, err := a.st.Routes.Routes(context.Background())
	if err != nil || len(rs) != 2 {
		t.Errorf("stored routes = %+v, %v", rs, err)
	}

	want(t, a.do("DELETE", "/api/routes/claude-haiku-4-5", adminToken, nil), 204, "delete override")
	wantProblem(t, a.do("DELETE", "/api/routes/claude-haiku-4-5", adminToken, nil), 404, "not_found", "")
	e := wantProblem(t, a.do("DELETE", "/api/routes/claude-sonnet-4-5", adminToken, nil), 404, "not_found", "")
	if e.Detail == "" || !strings.Contains(e.Detail, "built-in") {
		t.Errorf("deleting a built-in route: %q, want it to say built-in routes cannot be deleted", e.Detail)
	}
	for name, body := range map[string]any{
		"not a model id": map[string]any{"bedrock_model_id": "gpt-4o"},
		"empty":          map[string]any{"bedrock_model_id": ""},
		"unknown field":  map[string]any{"bedrock_model_id": "anthropic.claude-x", "weight": 2},
	} {
		t.Run(name, func(t *testing.T) {
			r := a.do("PUT", "/api/routes/bad", adminToken, body)
			if r.status != 400 {
				t.Errorf("status %d, want 400: %s", r.status, r.body)
			}
		})
	}
	wantProblem(t, a.do("PUT", "/api/routes/"+url.PathEscape("bad name"), adminToken, map[string]any{"bedrock_model_id": "anthropic.claude-x"}), 400, "invalid", "body.model")
	if n := a.auditCount(); n != 4 {
		t.Errorf("audit entries = %d, want 4 (create, replace, override, delete)", n)
	}
}

func TestPrices(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	a := newAPI(t)
	haiku := "anthropic.claude-haiku-4-5-20251001-v1:0"
	body := map[string]any{
		"model": "global." + haiku, "effective_from": "2025-01-01T00:00:00Z",
		"input_micros_per_mtok": 1_000_000, "output_micros_per_mtok": 5_000_000,
		"cache_read_micros_per_mtok": 100_000, "cache_write_micros_per_mtok": 1_250_000, "source": "test",
	}
	var p convertor.Price
	want(t, a.do("POST", "/api/prices", adminToken, body), 201, "create").json(t, &p)
	if p.Model != haiku || p.Route != "global" || p.InputMicros != 1_000_000 {
		t.Errorf("created = %+v", p)
	}
	wantProblem(t, a.do("POST", "/api/prices", adminToken, body), 409, "conflict", "")
	body["effective_from"] = now.Add(24 * time.Hour).Format(time.RFC3339)
	body["input_micros_per_mtok"] = 2_000_000
	want(t, a.do("POST", "/api/prices", adminToken, body), 201, "scheduled")

	var v PricesView
	want(t, a.do("GET", "/api/prices", viewerToken, nil), 200, "list").json(t, &v)
	if len(v.Prices) != 1 || v.Prices[0].InputMicros != 1_000_000 || len(v.Scheduled) != 1 || v.Scheduled[0].InputMicros != 2_000_000 {
		t.Errorf("prices = %+v", v)
	}
	// Every built-in route but claude-haiku-4-5 (global) lacks a price.
	unpriced := map[string]bool{}
	for _, u := range v.Unpriced {
		unpriced[u.Model] = true
	}
	if unpriced["claude-haiku-4-5"] || !unpriced["claude-sonnet-4-5"] || len(unpriced) != len(convertor.DefaultRoutes)-1 {
		t.Errorf("unpriced = %+v", v.Unpriced)
	}

	var h PriceHistory
	want(t, a.do("GET", "/api/prices/"+url.PathEscape("global."+haiku), viewerToken, nil), 200, "history").json(t, &h)
	if h.Model != haiku || len(h.Prices) != 2 || !h.Prices[0].EffectiveFrom.Before(h.Prices[1].EffectiveFrom) {
		t.Errorf("history = %+v", h)
	}
	wantProblem(t, a.do("GET", "/api/prices/anthropic.claude-nothing-v1:0", viewerToken, nil), 404, "not_found", "")

	for name, tc := range map[string]struct {
		body     map[string]any
		location string
	}{
		"negative":   {map[string]any{"model": haiku, "effective_from": "2026-01-01T00:00:00Z", "input_micros_per_mtok": -1, "output_micros_per_mtok": 1}, "body.input_micros_per_mtok"},
		"fractional": {map[string]any{"model": haiku, "effective_from": "2026-01-01T00:00:00Z", "input_micros_per_mtok": 0.5, "output_micros_per_mtok": 1}, "body.input_micros_per_mtok"},
		"no date":    {map[string]any{"model": haiku, "input_micros_per_mtok": 1, "output_micros_per_mtok": 1}, "body.effective_from"},
		"bad route":  {map[string]any{"model": "us." + haiku, "route": "eu", "effective_from": "2026-01-01T00:00:00Z", "input_micros_per_mtok": 1, "output_micros_per_mtok": 1}, "body.route"},
		"absurd":     {map[string]any{"model": haiku, "effective_from": "2026-01-01T00:00:00Z", "input_micros_per_mtok": 1e15, "output_micros_per_mtok": 1}, "body.input_micros_per_mtok"},
	} {
		t.Run(name, func(t *testing.T) {
			wantProblem(t, a.do("POST", "/api/prices", adminToken, tc.body), 400, "invalid", tc.location)
		})
	}
	if n := a.auditCount(); n != 2 {
		t.Errorf("audit entries = %d, want 2", n)
	}
}

// TestPrices_Preview re-prices stored records in a dry run: the figures
// are those of replay --reprice, and nothing changes.
func TestPrices_Preview(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	ctx := context.Background()
	haiku := "anthropic.claude-haiku-4-5-20251001-v1:0"
	old := convertor.Price{Model: haiku, EffectiveFrom: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), InputMicros: 1_000_000, OutputMicros: 5_000_000}
	if err := a.st.Prices.CreatePrice(ctx, old); err != nil {
		t.Fatal(err)
	}
	pt := convertor.NewPriceTable([]convertor.Price{old})
	at := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	for i := range 10 {
		ev := convertor.UsageEvent{
			Version: convertor.UsageEventVersion, ID: "01JPREVIEW0000000000000" + string(rune('A'+i)), Time: at.Add(time.Duration(i) * time.Minute),
			KeyID: "key_a", Model: "claude-haiku-4-5", BedrockModelID: "global." + haiku, Status: convertor.UsageOK,
			InputTokens: 1000, OutputTokens: 100, HTTPStatus: 200,
		}
		if _, err := a.st.Usage.PutUsage(ctx, pt.Record(&ev)); err != nil {
			t.Fatal(err)
		}
	}
	body := map[string]any{
		"from": "2026-11-01T00:00:00Z", "to": "2026-11-10T00:00:00Z",
		"price": map[string]any{"model": haiku, "effective_from": "2026-01-01T00:00:00Z", "input_micros_per_mtok": 2_000_000, "output_micros_per_mtok": 5_000_000},
	}
	var p RepricePreview
	want(t, a.do("POST", "/api/prices/preview", viewerToken, body), 200, "preview").json(t, &p)
	// Each record: 1000 input at $1 + 100 output at $5 = 1500 µ$ before,
	// 1000 at $2 + 100 at $5 = 2500 µ$ after.
	if p.Records != 10 || p.Changed != 10 || p.CostBeforeMicros != 15_000 || p.CostAfterMicros != 25_000 || p.DeltaMicros != 10_000 ||
		len(p.Models) != 1 || p.Models[0].Model != "claude-haiku-4-5" {
		t.Errorf("preview = %+v", p)
	}
	// Dry: the records keep their cost.
	var total int64
	if err := a.st.Usage.Usage(ctx, at, at.Add(time.Hour), "", func(rs []*convertor.UsageRecord) error {
		for _, r := range rs {
			total += r.CostMicros
		}
		return nil
	}); err != nil || total != 15_000 {
		t.Errorf("stored cost after a preview = %d, %v; want 15000", total, err)
	}
	wantProblem(t, a.do("POST", "/api/prices/preview", viewerToken, map[string]any{"from": "2026-11-10T00:00:00Z", "to": "2026-11-01T00:00:00Z"}), 400, "invalid", "body.from")
	wantProblem(t, a.do("POST", "/api/prices/preview", viewerToken, map[string]any{"from": "2026-01-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}), 400, "invalid", "body.to")
}
