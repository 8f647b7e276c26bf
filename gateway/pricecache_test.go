package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/memstore"
)

// flakyPrices is a price store that fails while err is set.
type flakyPrices struct {
	convertor.PriceStore
	mu  sync.Mutex
	err error
}

func (f *flakyPrices) Prices(ctx context.Context) ([]convertor.Price, error) {
	f.mu.Lock()
	err := f.err
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return f.PriceStore.Prices(ctx)
}

const pricedSonnet = "anthropic.claude-sonnet-4-5-20250929-v1:0"

func addPrice(t testing.TB, s convertor.PriceStore, model string, from time.Time) {
	t.Helper()
	p := convertor.Price{Model: model, EffectiveFrom: from, InputMicros: 3_000_000, OutputMicros: 15_000_000}
	if err := s.CreatePrice(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

func TestPriceCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := &flakyPrices{PriceStore: memstore.NewPriceStore()}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	addPrice(t, store, pricedSonnet, now.Add(-time.Hour))
	addPrice(t, store, "anthropic.claude-later-v1:0", now.Add(time.Hour))
	c := NewPriceCache(store, time.Hour, discardLog())

	if _, known := c.Priced("global."+pricedSonnet, now); known {
		t.Error("Priced() before any load: known = true")
	}
	store.err = errors.New("store down")
	if err := c.Refresh(ctx); err == nil {
		t.Error("Refresh() with the store down = nil")
	}
	store.err = nil
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	store.err = errors.New("store down")
	if err := c.Refresh(ctx); err == nil {
		t.Error("Refresh() with the store down = nil")
	}
	for _, tc := range []struct {
		id     string
		at     time.Time
		priced bool
	}{
		{"global." + pricedSonnet, now, true},
		{"eu." + pricedSonnet, now, true},
		{pricedSonnet, now, true},
		{"us.meta.llama3-2-90b-instruct-v1:0", now, false},
		{"anthropic.claude-later-v1:0", now, false}, // not yet in effect
		{"anthropic.claude-later-v1:0", now.Add(2 * time.Hour), true},
		// An application inference profile does not say what it serves.
		{"arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc", now, false},
	} {
		priced, known := c.Priced(tc.id, tc.at)
		if priced != tc.priced || !known {
			t.Errorf("Priced(%s, %s) = %t, %t; want %t, true (the last table kept through the outage)", tc.id, tc.at, priced, known, tc.priced)
		}
	}
}

// TestServer_BudgetNeedsPrice: a key with a budget may not use a model
// without a price, whose requests would be recorded at $0; a key without
// a budget may, and a priced model is served to both.
func TestServer_BudgetNeedsPrice(t *testing.T) {
	t.Parallel()
	keys := memstore.NewAPIKeyStore()
	budgeted, _ := createKey(t, keys, func(k *convertor.APIKey) { k.MonthlyBudgetMicros = 10_000 })
	free, _ := createKey(t, keys, nil)
	prices := memstore.NewPriceStore()
	addPrice(t, prices, pricedSonnet, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))
	cache := NewPriceCache(prices, time.Hour, discardLog())
	if err := cache.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	usage := &usageRecorder{}
	ts := newTestServer(t, nil, func(cfg *Config, d *Deps) {
		d.Keys = keys
		d.Auth = NewKeyAuthenticator(keys, KeyAuthConfig{}, slog.New(slog.DiscardHandler))
		d.Prices = cache
		d.Usage = usage
	})
	post := func(secret, model string) *response {
		body := `{"model":"` + model + `","messages":[{"role":"user","content":"Hi"}]}`
		return ts.do(t, http.MethodPost, "/v1/chat/completions", body, map[string]string{"Authorization": "Bearer " + secret})
	}
	const unpriced = "us.meta.llama3-2-90b-instruct-v1:0"

	r := post(budgeted, unpriced)
	if r.status != http.StatusForbidden {
		t.Fatalf("budgeted key, unpriced model: status %d, want 403; body %s", r.status, r.body)
	}
	e := openAIError(t, r)
	if e.Code == nil || *e.Code != "model_not_priced" || e.Param == nil || *e.Param != "model" || e.Type != "invalid_request_error" {
		t.Errorf("error = %+v, want invalid_request_error model_not_priced on param model", e)
	}
	for _, c := range []struct{ secret, model string }{{budgeted, "claude-sonnet-4-5"}, {free, unpriced}, {free, "claude-sonnet-4-5"}} {
		if r := post(c.secret, c.model); r.status != http.StatusOK {
			t.Errorf("%s: status %d, want 200; body %s", c.model, r.status, r.body)
		}
	}
	// The refusal is recorded like any other limit's, so it shows in usage.
	usage.mu.Lock()
	defer usage.mu.Unlock()
	if len(usage.events) != 4 || usage.events[0].Status != convertor.UsageRefused || usage.events[0].BedrockModelID != unpriced {
		t.Errorf("usage events = %+v, want 4, the first refused for %s", usage.events, unpriced)
	}
}
