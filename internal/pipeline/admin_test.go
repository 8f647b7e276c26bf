package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/adminapi"
	"github.com/openai-api-convertor/convertor/adminapi/auth"
	"github.com/openai-api-convertor/convertor/internal/stores"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// adminToken is the admin API's token in these tests.
const adminToken = "pipeline-admin-token-0123456789abcdefghijklmnop"

// adminClient calls the admin API as a script would.
type adminClient struct {
	t   *testing.T
	url string
}

// startAdmin serves the admin API, in token mode, over the pipeline's
// stores, as `convertor adminapi` does.
func (p *pipeline) startAdmin(t *testing.T) *adminClient {
	t.Helper()
	vars := map[string]string{"ADMIN_AUTH": "token", "ADMIN_TOKEN": adminToken, "ADMIN_ADDR": "127.0.0.1:0"}
	cfg, err := adminapi.LoadConfig(func(k string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		return p.vars[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Auth.Mode != auth.ModeToken {
		t.Fatalf("admin auth = %s", cfg.Auth.Mode)
	}
	scfg, err := stores.LoadConfig(p.getenv)
	if err != nil {
		t.Fatal(err)
	}
	st, err := stores.Open(context.Background(), scfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- adminapi.Serve(ctx, ln, cfg, adminapi.Deps{Keys: st.Keys, Usage: st.Usage, Stats: st.Stats, Prices: st.Prices, Routes: st.Routes, Audit: st.Audit}, p.log)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("admin API: %v", err)
		}
	})
	return &adminClient{t: t, url: "http://" + ln.Addr().String()}
}

// call sends a request with the admin token and decodes a JSON answer
// into out; it fails the test unless the status is want.
func (a *adminClient) call(method, path string, body any, want int, out any, headers ...string) http.Header {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.url+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		a.t.Fatalf("%s %s = %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			a.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return resp.Header
}

// chat sends one request with key for model; prompt scripts the emulator.
func chat(client openai.Client, key, model, prompt string) error {
	_, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
	}, option.WithAPIKey(key))
	return err
}

// status is the HTTP status of an OpenAI error, 200 for none.
func status(err error) int {
	var apiErr *openai.Error
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode
	}
	if err != nil {
		return -1
	}
	return 200
}

// TestPipeline_AdminAPI drives a running gateway through the admin API: a
// key created there works, its changed limits and allowed models apply,
// its revocation takes effect within the key-cache TTL, a route set there
// is used, and a price added there prices the requests that follow.
func TestPipeline_AdminAPI(t *testing.T) {
	t.Parallel()
	vars := natsVars(t, testenv.NATS(t))
	// Prices are read again every 100ms, so a new price applies at once.
	vars["ACCOUNTANT_PRICE_REFRESH"] = "100ms"
	p := newPipeline(t, vars, false)
	p.runConsumers()
	admin := p.startAdmin(t)
	client := p.startGateway(gatewayOptions{routes: true, vars: map[string]string{"KEY_CACHE_TTL": "1s"}})
	const haiku = "claude-haiku-4-5"

	// A key made through the API works at once (nothing is cached yet).
	var created adminapi.KeySecret
	h := admin.call("POST", "/api/keys", map[string]any{"name": "e2e", "rpm": 2}, 201, &created)
	key := created.Secret
	if err := chat(client, key, haiku, "hello"); err != nil {
		t.Fatalf("chat with a new key: %v", err)
	}
	if err := chat(client, key, haiku, "hello"); err != nil {
		t.Fatalf("second chat within rpm 2: %v", err)
	}
	if got := status(chat(client, key, haiku, "hello")); got != 429 {
		t.Fatalf("third chat within a minute at rpm 2 = %d, want 429", got)
	}

	// Raised limits and narrowed models reach the gateway within its
	// key-cache TTL.
	admin.call("PATCH", "/api/keys/"+created.Key.ID, map[string]any{"rpm": 1000, "allowed_models": []string{"claude-sonnet-4-5", "team-model"}}, 200, nil,
		"If-Match", h.Get("ETag"))
	waitUntil(t, "the raised rpm and the narrowed models apply", func() bool {
		return status(chat(client, key, haiku, "hello")) == 403 && chat(client, key, "claude-sonnet-4-5", "hello") == nil
	})

	// A route set through the API is used: its requests are served by
	// the route's Bedrock model.
	admin.call("PUT", "/api/routes/team-model", map[string]any{"bedrock_model_id": "us.anthropic.claude-haiku-4-5-20251001-v1:0"}, 201, nil)
	waitUntil(t, "the admin route serves", func() bool { return chat(client, key, "team-model", "hello") == nil })

	// A price added through the API prices the requests after it:
	// Haiku 4.5 on the us. route at $2 in / $10 out per million tokens,
	// so 1000 input and 100 output tokens cost 2000 + 1000 = 3000 µ$.
	from := time.Now().UTC().Truncate(time.Second)
	admin.call("POST", "/api/prices", map[string]any{
		"model": "us.anthropic.claude-haiku-4-5-20251001-v1:0", "effective_from": from.Format(time.RFC3339),
		"input_micros_per_mtok": 2_000_000, "output_micros_per_mtok": 10_000_000,
	}, 201, nil)
	waitUntil(t, "a second passes the price's start", func() bool { return time.Now().After(from.Add(time.Second)) })
	if err := chat(client, key, "team-model", "@emulator usage in 1000 out 100"); err != nil {
		t.Fatal(err)
	}
	var priced *convertor.UsageRecord
	waitUntil(t, "the request is priced at the new price", func() bool {
		recs, _, err := p.usage.RequestLog(context.Background(), convertor.RequestLogQuery{KeyID: created.Key.ID, Limit: 1})
		if err != nil || len(recs) == 0 || recs[0].InputTokens != 1000 {
			return false
		}
		priced = recs[0]
		return true
	})
	if priced.BedrockModelID != "us.anthropic.claude-haiku-4-5-20251001-v1:0" || priced.Model != "team-model" ||
		priced.CostMicros != 3000 || !priced.PriceFrom.Equal(from) {
		t.Errorf("record = model %s on %s, cost %d from %s; want team-model on the route's model, 3000 µ$ from %s",
			priced.Model, priced.BedrockModelID, priced.CostMicros, priced.PriceFrom, from)
	}

	// Revoked: refused on the gateway once its cached record expires.
	admin.call("POST", "/api/keys/"+created.Key.ID+"/revoke", nil, 200, nil)
	revoked := time.Now()
	waitUntil(t, "the revoked key is refused", func() bool { return status(chat(client, key, "claude-sonnet-4-5", "hello")) == 401 })
	t.Logf("revoked key refused %s after the revocation (KEY_CACHE_TTL 1s)", time.Since(revoked).Round(time.Millisecond))

	// Every change is in the audit log, as made with the admin token.
	var audit adminapi.AuditPage
	admin.call("GET", "/api/audit", nil, 200, &audit)
	var actions []string
	for _, e := range audit.Entries {
		actions = append(actions, e.Action)
		if e.AuthMode != "token" {
			t.Errorf("audit entry %s by %s (%s)", e.Action, e.Actor, e.AuthMode)
		}
	}
	if got := strings.Join(actions, ","); got != "key.revoke,price.create,route.put,key.update,key.create" {
		t.Errorf("audit actions = %s", got)
	}
}
