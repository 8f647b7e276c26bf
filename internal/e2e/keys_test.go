package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway"
	"github.com/openai-api-convertor/convertor/gateway/ratelimit"
	"github.com/openai-api-convertor/convertor/internal/dynamo"
	"github.com/openai-api-convertor/convertor/internal/keygen"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// keyStore connects a DynamoDB key store on its own table of the test server.
func keyStore(t testing.TB) convertor.APIKeyStore {
	t.Helper()
	endpoint := testenv.DynamoDB(t)
	p := fmt.Sprintf("e2e-%d-", time.Now().UnixNano())
	vars := map[string]string{
		"DYNAMODB_ENDPOINT_URL":        endpoint,
		"DYNAMODB_API_KEYS_TABLE":      p + "keys",
		"DYNAMODB_USAGE_TABLE":         p + "usage",
		"DYNAMODB_USAGE_STATS_TABLE":   p + "stats",
		"DYNAMODB_MODEL_PRICING_TABLE": p + "pricing",
		"DYNAMODB_MODEL_MAPPING_TABLE": p + "mapping",
		"DYNAMODB_AUDIT_TABLE":         p + "audit",
	}
	cfg, err := dynamo.LoadConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	db, err := dynamo.NewClient(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dynamo.CreateTables(context.Background(), db, cfg.Tables, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	return dynamo.NewAPIKeyStore(db, cfg.Tables.APIKeys)
}

// newKey stores a fresh enabled key changed by mod and returns its secret.
func newKey(t testing.TB, store convertor.APIKeyStore, mod func(*convertor.APIKey)) (string, *convertor.APIKey) {
	t.Helper()
	secret, k := keygen.New()
	k.Name, k.Enabled, k.CreatedAt = t.Name(), true, time.Now().UTC()
	if mod != nil {
		mod(k)
	}
	if err := store.CreateAPIKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	return secret, k
}

// redisLimiter returns a limiter on the test Redis with its own prefix.
// Its Redis timeout is generous: these tests are about exact counting, and
// on a loaded machine (-race, parallel tests) a call past the production
// timeout would take the fail-open path and admit uncounted, which
// TestKeys_RedisOutage covers on its own.
func redisLimiter(t testing.TB, prefix string, failClosed bool) ratelimit.Limiter {
	t.Helper()
	return ratelimit.NewLeasing(ratelimit.NewRedis(testenv.Redis(t), ratelimit.RedisOptions{Prefix: prefix, FailClosed: failClosed, Timeout: 10 * time.Second}))
}

// replicas starts n gateways sharing one emulator, key store and Redis.
func replicas(t *testing.T, n int, store convertor.APIKeyStore, env map[string]string) []*stack {
	t.Helper()
	endpoint := startEmulator(t)
	prefix := testenv.Prefix(t)
	out := make([]*stack, n)
	for i := range out {
		out[i] = startGateway(t, endpoint, env, gateway.Deps{Keys: store, Limiter: redisLimiter(t, prefix, false)})
	}
	return out
}

func TestKeys_AuthAndAllowedModels(t *testing.T) {
	t.Parallel()
	store := keyStore(t)
	s := replicas(t, 1, store, nil)[0]
	ctx := context.Background()
	secret, _ := newKey(t, store, func(k *convertor.APIKey) { k.AllowedModels = []string{"claude-haiku-4-5"} })

	p := userParams("hello")
	p.Model = "claude-haiku-4-5"
	var raw *http.Response
	if _, err := s.client.Chat.Completions.New(ctx, p, option.WithAPIKey(secret), option.WithResponseInto(&raw)); err != nil {
		t.Fatalf("stored key: %v", err)
	}
	// x-api-key works as well as Bearer.
	if _, err := s.client.Chat.Completions.New(ctx, p, option.WithAPIKey(""), option.WithHeader("x-api-key", secret), option.WithHeaderDel("Authorization")); err != nil {
		t.Errorf("x-api-key: %v", err)
	}
	p.Model = "claude-sonnet-4-5"
	_, err := s.client.Chat.Completions.New(ctx, p, option.WithAPIKey(secret))
	wantAPIError(t, err, 403, "model_not_allowed")

	for _, bad := range []string{"sk-" + strings.Repeat("x", 40), "not-a-key", strings.Repeat("k", 8000), "sk-ünïcødé", secret[:len(secret)-1]} {
		_, err := s.client.Chat.Completions.New(ctx, userParams("hi"), option.WithAPIKey(bad))
		apiErr := wantAPIError(t, err, 401, "invalid_api_key")
		if strings.Contains(apiErr.RawJSON(), bad[:min(len(bad), 12)]) && len(bad) > 12 {
			t.Errorf("error body echoes the key: %s", apiErr.RawJSON())
		}
	}
	// The master key still works next to the store.
	if _, err := s.client.Chat.Completions.New(ctx, userParams("hi")); err != nil {
		t.Errorf("master key: %v", err)
	}
}

// TestKeys_RevocationReachesEveryReplica revokes a key and polls every
// replica until it refuses the key, within the promised time.
func TestKeys_RevocationReachesEveryReplica(t *testing.T) {
	t.Parallel()
	store := keyStore(t)
	rs := replicas(t, 3, store, nil)
	ctx := context.Background()
	secret, k := newKey(t, store, nil)
	for i, s := range rs {
		if _, err := s.client.Chat.Completions.New(ctx, userParams("hi"), option.WithAPIKey(secret)); err != nil {
			t.Fatalf("replica %d before revocation: %v", i, err)
		}
	}
	if err := store.RevokeAPIKey(ctx, k.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	// Promise: within the key cache TTL (5 s); allow generous slack for a
	// loaded machine, the point is "seconds, not minutes".
	deadline := revoked.Add(gateway.DefaultKeyCacheTTL + 10*time.Second)
	for i, s := range rs {
		for {
			_, err := s.client.Chat.Completions.New(ctx, userParams("hi"), option.WithAPIKey(secret))
			if err != nil {
				wantAPIError(t, err, 401, "invalid_api_key")
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica %d still accepts the key %s after revocation", i, time.Since(revoked))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	t.Logf("every replica refused the revoked key %s after revocation", time.Since(revoked).Round(time.Millisecond))
}

// hammer sends total requests from 64 goroutines spread over the replicas
// and counts the 200s and 429s.
func hammer(t *testing.T, rs []*stack, secret string, total int, params openai.ChatCompletionNewParams) (ok, limited int64) {
	t.Helper()
	var sent, okN, limitedN atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := rs[g%len(rs)]
			for sent.Add(1) <= int64(total) {
				_, err := s.client.Chat.Completions.New(context.Background(), params, option.WithAPIKey(secret))
				if err == nil {
					okN.Add(1)
					continue
				}
				var apiErr *openai.Error
				if e, isAPI := err.(*openai.Error); isAPI {
					apiErr = e
				}
				if apiErr != nil && apiErr.StatusCode == 429 && apiErr.Code == "rate_limit_exceeded" {
					limitedN.Add(1)
					continue
				}
				select {
				case errs <- err:
				default:
				}
				return
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("unexpected error: %v", err)
	}
	return okN.Load(), limitedN.Load()
}

func TestKeys_ExactRequestLimitAcrossReplicas(t *testing.T) {
	t.Parallel()
	store := keyStore(t)
	rs := replicas(t, 3, store, nil)
	secret, _ := newKey(t, store, func(k *convertor.APIKey) { k.RPM = 1000 })
	ok, limited := hammer(t, rs, secret, 1300, userParams("@emulator text ok"))
	if ok != 1000 || limited != 300 {
		t.Errorf("admitted %d and refused %d of 1300, want exactly 1000 and 300", ok, limited)
	}
}

func TestKeys_ExactTokenLimitAcrossReplicas(t *testing.T) {
	t.Parallel()
	store := keyStore(t)
	rs := replicas(t, 3, store, nil)
	// The admission estimate is ceil(prompt bytes / 4) + max_tokens. The
	// emulator reports exactly that usage, so reservations are never
	// corrected and each request costs the same 150 tokens.
	directive := "@emulator usage in 100 out 50\n"
	prompt := directive + strings.Repeat("x", 400-len(directive))
	p := userParams(prompt)
	p.MaxTokens = openai.Int(50)
	secret, _ := newKey(t, store, func(k *convertor.APIKey) { k.TPM = 150 * 1000 })
	ok, limited := hammer(t, rs, secret, 1300, p)
	if ok != 1000 || limited != 300 {
		t.Errorf("admitted %d and refused %d of 1300, want exactly 1000 and 300", ok, limited)
	}
}

func TestKeys_RateLimitHeadersAnd429(t *testing.T) {
	t.Parallel()
	store := keyStore(t)
	s := replicas(t, 1, store, nil)[0]
	secret, _ := newKey(t, store, func(k *convertor.APIKey) { k.RPM = 2; k.TPM = 100000 })
	ctx := context.Background()
	var raw *http.Response
	if _, err := s.client.Chat.Completions.New(ctx, userParams("hi"), option.WithAPIKey(secret), option.WithResponseInto(&raw)); err != nil {
		t.Fatal(err)
	}
	for h, want := range map[string]string{"x-ratelimit-limit-requests": "2", "x-ratelimit-remaining-requests": "1", "x-ratelimit-limit-tokens": "100000"} {
		if got := raw.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	for _, h := range []string{"x-ratelimit-reset-requests", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens"} {
		if raw.Header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
	// Streams carry the headers too.
	stream := s.client.Chat.Completions.NewStreaming(ctx, userParams("hi"), option.WithAPIKey(secret), option.WithResponseInto(&raw))
	for stream.Next() {
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if raw.Header.Get("x-ratelimit-remaining-requests") != "0" {
		t.Errorf("stream remaining-requests = %q", raw.Header.Get("x-ratelimit-remaining-requests"))
	}
	_, err := s.client.Chat.Completions.New(ctx, userParams("hi"), option.WithAPIKey(secret))
	apiErr := wantAPIError(t, err, 429, "rate_limit_exceeded")
	if apiErr.Type != "requests" {
		t.Errorf("type = %q, want requests", apiErr.Type)
	}
	if apiErr.Response.Header.Get("Retry-After") == "" || apiErr.Response.Header.Get("x-ratelimit-remaining-requests") != "0" {
		t.Errorf("429 headers: %v", apiErr.Response.Header)
	}
}

// TestKeys_RedisOutage stops Redis mid-run: a fail-open gateway keeps
// serving, a fail-closed one answers 503, and both count again once Redis
// is back, without a restart.
func TestKeys_RedisOutage(t *testing.T) {
	t.Parallel()
	srv := testenv.StartRedis(t)
	store := keyStore(t)
	endpoint := startEmulator(t)
	secret, _ := newKey(t, store, func(k *convertor.APIKey) { k.RPM = 1000 })
	mk := func(failClosed bool) *stack {
		client, err := ratelimit.ParseRedisURL("redis://" + srv.Addr)
		if err != nil {
			t.Fatal(err)
		}
		lim := ratelimit.NewLeasing(ratelimit.NewRedis(client, ratelimit.RedisOptions{FailClosed: failClosed, Prefix: testenv.Prefix(t)}))
		return startGateway(t, endpoint, nil, gateway.Deps{Keys: store, Limiter: lim})
	}
	open, closed := mk(false), mk(true)
	ctx := context.Background()
	call := func(s *stack) (*http.Response, error) {
		var raw *http.Response
		_, err := s.client.Chat.Completions.New(ctx, userParams("hi"), option.WithAPIKey(secret), option.WithResponseInto(&raw))
		return raw, err
	}
	// counted waits until s serves a request counted in Redis. The
	// limiter's Redis calls have a 100 ms budget, which a busy machine can
	// exceed now and then; the fail-closed gateway answers 503 then.
	counted := func(s *stack, what string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			raw, err := call(s)
			if err == nil && raw.Header.Get("x-ratelimit-remaining-requests") != "" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %v", what, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	counted(open, "fail-open gateway before the outage")
	counted(closed, "fail-closed gateway before the outage")
	srv.Stop()
	if _, err := call(open); err != nil {
		t.Errorf("fail-open gateway refused during the outage: %v", err)
	}
	// Requests already counted in Redis as part of a lease are still
	// served; the first uncounted one is refused.
	var err error
	for leased := 0; ; leased++ {
		if _, err = call(closed); err != nil {
			break
		}
		if leased >= 64 {
			t.Fatal("fail-closed gateway keeps admitting during the outage past any lease")
		}
	}
	wantAPIError(t, err, 503, "")
	srv.Start()
	counted(closed, "fail-closed gateway did not recover after Redis returned")
	counted(open, "fail-open gateway not counting again after Redis returned")
}

// TestReasoning_SharedAcrossReplicas runs thinking with tools where the
// turn with the tool result reaches another replica than the tool call:
// the signed thinking block must come back from Redis, or Bedrock (here the
// emulator) refuses the turn.
func TestReasoning_SharedAcrossReplicas(t *testing.T) {
	t.Parallel()
	endpoint := startEmulator(t)
	rc := testenv.Redis(t)
	log := slog.New(slog.DiscardHandler)
	a := startGateway(t, endpoint, nil, gateway.Deps{Reasoning: gateway.NewRedisReasoningStore(rc, time.Hour, nil, log)})
	b := startGateway(t, endpoint, nil, gateway.Deps{Reasoning: gateway.NewRedisReasoningStore(rc, time.Hour, nil, log)})
	ctx := context.Background()
	thinking := option.WithJSONSet("thinking", map[string]any{"type": "enabled", "budget_tokens": 2048})
	p := userParams("Plan a trip.\n@emulator tool get_weather {\"city\":\"Rome\"}")
	p.Tools = []openai.ChatCompletionToolUnionParam{weatherTool}
	resp, err := a.client.Chat.Completions.New(ctx, p, thinking)
	if err != nil {
		t.Fatal(err)
	}
	m := resp.Choices[0].Message
	if len(m.ToolCalls) != 1 {
		t.Fatalf("tool calls = %d", len(m.ToolCalls))
	}
	p.Messages = append(p.Messages, m.ToParam(), openai.ToolMessage("sunny", m.ToolCalls[0].ID))
	resp, err = b.client.Chat.Completions.New(ctx, p, thinking)
	if err != nil {
		t.Fatalf("second turn on the other replica: %v", err)
	}
	if !strings.Contains(resp.Choices[0].Message.Content, "sunny") {
		t.Errorf("content = %q", resp.Choices[0].Message.Content)
	}
}
