package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/ratelimit"
	"github.com/openai-api-convertor/convertor/internal/memstore"
)

// limitedServer serves keys from a store, limited by an in-process limiter
// on clock, which the gateway's own refusal memory shares.
type limitedServer struct {
	*testServer
	keys  convertor.APIKeyStore
	clock *fakeClock
	usage *usageRecorder
}

func newLimitedServer(t *testing.T, edit func(*Config, *Deps)) *limitedServer {
	t.Helper()
	ls := &limitedServer{
		keys:  memstore.NewAPIKeyStore(),
		clock: &fakeClock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)},
		usage: &usageRecorder{},
	}
	ls.testServer = newTestServer(t, nil, func(c *Config, d *Deps) {
		d.Keys = ls.keys
		d.Limiter = ratelimit.NewMemory(ratelimit.MemoryOptions{Now: ls.clock.Now})
		d.Now = ls.clock.Now
		d.Usage = ls.usage
		if edit != nil {
			edit(c, d)
		}
	})
	return ls
}

func (ls *limitedServer) post(t *testing.T, secret, body string) *response {
	t.Helper()
	return ls.do(t, http.MethodPost, "/v1/chat/completions", body, map[string]string{"Authorization": "Bearer " + secret})
}

// wantRefused checks a 429 with the OpenAI code and type of the refusal,
// and a Retry-After when waiting helps.
func wantRefused(t *testing.T, what string, r *response, code, typ string) {
	t.Helper()
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("%s: status = %d, want 429; body %s", what, r.status, r.body)
	}
	if e := openAIError(t, r); deref(e.Code) != code || e.Type != typ {
		t.Errorf("%s: code, type = %q, %q; want %q, %q", what, deref(e.Code), e.Type, code, typ)
	}
	if code == "rate_limit_exceeded" && r.header.Get("Retry-After") == "" {
		t.Errorf("%s: no Retry-After", what)
	}
}

// hasMetric reports whether GET /metrics has the line want.
func (ts *testServer) hasMetric(t *testing.T, want string) bool {
	t.Helper()
	m := ts.do(t, http.MethodGet, "/metrics", "", nil)
	return strings.Contains(string(m.body), want+"\n")
}

// TestServer_RequestLimitRefusedBeforeParsing: once the limiter refuses a
// key for its request count, the key's requests are refused before their
// body is read, with the limiter's answer, until the refusal runs out.
func TestServer_RequestLimitRefusedBeforeParsing(t *testing.T) {
	t.Parallel()
	ls := newLimitedServer(t, nil)
	secret, k := createKey(t, ls.keys, func(k *convertor.APIKey) { k.RPM = 1 })

	if r := ls.post(t, secret, helloRequest); r.status != http.StatusOK {
		t.Fatalf("first request: status = %d; body %s", r.status, r.body)
	}
	ls.clock.Add(10 * time.Second)
	wantRefused(t, "second request", ls.post(t, secret, helloRequest), "rate_limit_exceeded", ratelimit.ReasonRequests)

	// Not JSON, and a large body of it: parsing would answer 400.
	for _, body := range []string{`{"model": not json`, strings.Repeat("[", 4<<20)} {
		r := ls.post(t, secret, body)
		wantRefused(t, "unparseable body", r, "rate_limit_exceeded", ratelimit.ReasonRequests)
		for h, want := range map[string]string{
			"x-ratelimit-limit-requests":     "1",
			"x-ratelimit-remaining-requests": "0",
			// Counted whole until its bucket leaves the window: 61s after
			// the first request, 51s after the refusal.
			"x-ratelimit-reset-requests": "51s",
			"Retry-After":                "51",
		} {
			if got := r.header.Get(h); got != want {
				t.Errorf("unparseable body: %s = %q, want %q", h, got, want)
			}
		}
	}
	if !ls.hasMetric(t, `convertor_gateway_rate_limited_total{limit="requests"} 3`) {
		t.Error(`/metrics lacks convertor_gateway_rate_limited_total{limit="requests"} 3`)
	}
	if n := len(ls.fake.requestsSeen()); n != 1 {
		t.Errorf("Bedrock saw %d requests, want 1", n)
	}

	// The refusal runs out with the window; the key is served and its
	// bodies parsed again.
	ls.clock.Add(51 * time.Second)
	if r := ls.post(t, secret, helloRequest); r.status != http.StatusOK {
		t.Fatalf("after the window: status = %d; body %s", r.status, r.body)
	}
	if r := ls.post(t, secret, `{"model": not json`); r.status != http.StatusBadRequest {
		t.Errorf("bad JSON from a key within its limit: status = %d, want 400; body %s", r.status, r.body)
	}

	// Every refusal is recorded for the key; those made before the body
	// was read cannot name the model.
	waitFor(t, "usage events", func() bool { return len(ls.usage.all()) == 5 })
	var models []string
	for _, ev := range ls.usage.all() {
		if ev.KeyID != k.ID || ev.Validate() != nil {
			t.Errorf("usage event %+v", ev)
		}
		if ev.Status == convertor.UsageRefused {
			models = append(models, ev.Model)
		}
	}
	if got := strings.Join(models, ","); got != "claude-sonnet-4-5,-,-" {
		t.Errorf("models of the refusals = %s, want claude-sonnet-4-5,-,-", got)
	}
}

// TestServer_TokenLimitNotRemembered: a refusal for tokens may not hold
// until its RetryAfter (reservations are corrected down), so the next
// request is read and judged on its own.
func TestServer_TokenLimitNotRemembered(t *testing.T) {
	t.Parallel()
	ls := newLimitedServer(t, nil)
	secret, _ := createKey(t, ls.keys, func(k *convertor.APIKey) { k.RPM, k.TPM = 100, 10 })
	wantRefused(t, "over the token limit", ls.post(t, secret, helloRequest), "rate_limit_exceeded", ratelimit.ReasonTokens)
	if r := ls.post(t, secret, `{"model": not json`); r.status != http.StatusBadRequest {
		t.Errorf("bad JSON after a token refusal: status = %d, want 400; body %s", r.status, r.body)
	}
}

// TestServer_RaisedLimitEndsRefusal: a remembered refusal holds only under
// the limits it was made under; a key whose limit an admin raised is asked
// about again.
func TestServer_RaisedLimitEndsRefusal(t *testing.T) {
	t.Parallel()
	keyClock := &fakeClock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	ls := newLimitedServer(t, func(_ *Config, d *Deps) {
		d.Auth = NewKeyAuthenticator(d.Keys, KeyAuthConfig{Now: keyClock.Now}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	})
	secret, k := createKey(t, ls.keys, func(k *convertor.APIKey) { k.RPM = 1 })
	ls.post(t, secret, helloRequest)
	wantRefused(t, "second request", ls.post(t, secret, helloRequest), "rate_limit_exceeded", ratelimit.ReasonRequests)

	rpm := int64(5)
	if _, err := ls.keys.UpdateAPIKey(context.Background(), k.ID, convertor.APIKeyUpdate{RPM: &rpm}); err != nil {
		t.Fatal(err)
	}
	keyClock.Add(10 * time.Minute) // the cached key record is read again
	if r := ls.post(t, secret, helloRequest); r.status != http.StatusOK {
		t.Errorf("after the limit was raised: status = %d, want 200; body %s", r.status, r.body)
	}
}

// fixedSpend reports the same month-to-date spend for every key.
type fixedSpend int64

func (f fixedSpend) MonthSpend(context.Context, string, time.Time) (int64, error) {
	return int64(f), nil
}

// TestServer_BudgetRefusedBeforeParsing: a key past its monthly budget is
// refused before its body is parsed (a body that is not JSON gets the
// same 429); its record still names the model when a scan of the body
// finds one that is routed.
func TestServer_BudgetRefusedBeforeParsing(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, body, model string
	}{
		{"ModelNamed", `{"model":"claude-sonnet-4-5","messages": not json`, "claude-sonnet-4-5"},
		{"ModelAfterTheRest", `{"messages":[{"role":"user","content":"{\"model\":\"x\"}"}],"stream":true,"model":"claude-sonnet-4-5"}`, "claude-sonnet-4-5"},
		{"NotJSON", `{"model": not json`, unreadModel},
		{"UnknownModel", `{"model":"no-such-model","messages":[]}`, unreadModel},
		{"NotAString", `{"model":{"name":"claude-sonnet-4-5"}}`, unreadModel},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ls := newLimitedServer(t, func(_ *Config, d *Deps) { d.Spend = fixedSpend(2_000_000) })
			secret, _ := createKey(t, ls.keys, func(k *convertor.APIKey) { k.MonthlyBudgetMicros = 1_000_000 })
			r := ls.post(t, secret, c.body)
			if r.status != http.StatusTooManyRequests {
				t.Fatalf("status = %d, want 429; body %s", r.status, r.body)
			}
			if e := openAIError(t, r); deref(e.Code) != "insufficient_quota" || !strings.Contains(e.Message, "monthly budget of $1.00") {
				t.Errorf("error = %+v, want insufficient_quota naming the budget", e)
			}
			waitFor(t, "the usage event", func() bool { return len(ls.usage.all()) == 1 })
			ev := ls.usage.all()[0]
			if ev.Status != convertor.UsageRefused || ev.ErrorType != convertor.EQuota || ev.Model != c.model {
				t.Errorf("usage event = %+v, want refused for quota with model %q", ev, c.model)
			}
			if c.model != unreadModel && ev.BedrockModelID == "" {
				t.Errorf("usage event names no Bedrock model: %+v", ev)
			}
		})
	}
}

func TestRefusalMemory(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	rpm := ratelimit.Limits{Requests: 10, Window: time.Minute}
	both := ratelimit.Limits{Requests: 10, Tokens: 1000, Window: time.Minute}
	refused := ratelimit.Decision{Reason: ratelimit.ReasonRequests, LimitRequests: 10,
		ResetRequests: 40 * time.Second, RetryAfter: 30 * time.Second}
	withTokens := refused
	withTokens.LimitTokens, withTokens.RemainingTokens = 1000, 500
	tests := []struct {
		name     string
		lim      ratelimit.Limits
		d        ratelimit.Decision
		tokens   int64
		remember bool
	}{
		{"Requests", rpm, refused, 100, true},
		{"RequestsTokensWouldFit", both, withTokens, 500, true},
		{"RequestsAndTokensShort", both, withTokens, 501, false},
		{"Tokens", both, ratelimit.Decision{Reason: ratelimit.ReasonTokens, RetryAfter: time.Second}, 2000, false},
		{"Allowed", rpm, ratelimit.Decision{Allowed: true}, 1, false},
	}
	for _, tt := range tests {
		m := newRefusalMemory()
		m.remember("k", at, tt.lim, tt.d, tt.tokens)
		_, got := m.check("k", tt.lim, at.Add(time.Second))
		if got != tt.remember {
			t.Errorf("%s: remembered = %v, want %v", tt.name, got, tt.remember)
		}
	}

	m := newRefusalMemory()
	m.remember("k", at, rpm, refused, 0)
	d, ok := m.check("k", rpm, at.Add(10*time.Second))
	if !ok || d.RetryAfter != 20*time.Second || d.ResetRequests != 30*time.Second {
		t.Errorf("check() 10s later = %+v, %v; want the waits 10s shorter", d, ok)
	}
	if _, ok := m.check("k", both, at.Add(10*time.Second)); ok {
		t.Error("check() under other limits = remembered")
	}
	m.remember("k", at, rpm, refused, 0)
	if _, ok := m.check("k", rpm, at.Add(30*time.Second)); ok {
		t.Error("check() at RetryAfter = remembered")
	}
	if m.n.Load() != 0 {
		t.Errorf("%d refusals kept after they ran out", m.n.Load())
	}
}

func TestRefusalMemory_Bounded(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	lim := ratelimit.Limits{Requests: 1, Window: time.Minute}
	d := ratelimit.Decision{Reason: ratelimit.ReasonRequests, RetryAfter: time.Minute}
	m := newRefusalMemory()
	for i := range DefaultKeyCacheEntries + 10 {
		m.remember("key_"+strconv.Itoa(i), at, lim, d, 0)
	}
	if n := m.n.Load(); n > DefaultKeyCacheEntries {
		t.Errorf("%d refusals kept, want at most %d", n, DefaultKeyCacheEntries)
	}
}

// requestsSeen returns the Converse requests the fake received.
func (f *fakeConverser) requestsSeen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.models...)
}

// all returns the events so far.
func (r *usageRecorder) all() []*convertor.UsageEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*convertor.UsageEvent(nil), r.events...)
}
