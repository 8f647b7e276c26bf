package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/openai"
	"github.com/openai-api-convertor/convertor/internal/memstore"
)

func TestServer_Auth(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil, nil)
	tests := []struct {
		name   string
		header map[string]string
		status int
		code   string
	}{
		{"Bearer", map[string]string{}, 200, ""},
		{"BearerLowercase", map[string]string{"Authorization": "bearer " + testKey}, 200, ""},
		{"XAPIKey", map[string]string{"Authorization": "", "X-Api-Key": testKey}, 200, ""},
		{"Missing", map[string]string{"Authorization": ""}, 401, "missing_api_key"},
		{"EmptyBearer", map[string]string{"Authorization": "Bearer "}, 401, "missing_api_key"},
		{"Wrong", map[string]string{"Authorization": "Bearer sk-wrong-key-0123456789"}, 401, "invalid_api_key"},
		{"WrongXAPIKey", map[string]string{"Authorization": "", "X-Api-Key": "sk-wrong-key-0123456789"}, 401, "invalid_api_key"},
		{"Prefix", map[string]string{"Authorization": "Bearer " + testKey[:len(testKey)-1]}, 401, "invalid_api_key"},
		{"Longer", map[string]string{"Authorization": "Bearer " + testKey + "x"}, 401, "invalid_api_key"},
		{"Basic", map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}, 401, "invalid_api_key"},
		{"SchemeOnly", map[string]string{"Authorization": "Bearer"}, 401, "missing_api_key"},
		{"Token", map[string]string{"Authorization": "Token " + testKey}, 401, "invalid_api_key"},
		{"Huge", map[string]string{"Authorization": "Bearer sk-" + strings.Repeat("k", 10000)}, 401, "invalid_api_key"},
		{"Unicode", map[string]string{"Authorization": "Bearer sk-ключ-🔑-密钥"}, 401, "invalid_api_key"},
		{"Latin1Bytes", map[string]string{"Authorization": "Bearer sk-\xff\xfe\x80"}, 401, "invalid_api_key"},
		{"BearerTwice", map[string]string{"Authorization": "Bearer Bearer " + testKey}, 401, "invalid_api_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(t, http.MethodPost, "/v1/chat/completions", helloRequest, tt.header)
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d; body %s", r.status, tt.status, r.body)
			}
			if tt.status == 200 {
				return
			}
			e := openAIError(t, r)
			if deref(e.Code) != tt.code || e.Type != "invalid_request_error" {
				t.Errorf("type, code = %q, %q; want invalid_request_error, %q", e.Type, deref(e.Code), tt.code)
			}
			for _, v := range tt.header {
				if key := strings.TrimPrefix(v, "Bearer "); len(key) > 8 && strings.Contains(string(r.body), key) {
					t.Errorf("body %s echoes the key", r.body)
				}
			}
		})
	}
}

// TestServer_Auth_HeaderTooLarge: a key past the header buffer is refused
// in the OpenAI shape, never a 500. The server closes with part of the
// request unread, so the kernel may reset the connection before the client
// reads the answer; the test retries until one answer arrives.
func TestServer_Auth_HeaderTooLarge(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil, nil)
	addr := strings.TrimPrefix(ts.URL, "http://")
	raw := "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-" + strings.Repeat("k", 64<<10) +
		"\r\nContent-Length: 2\r\n\r\n{}"
	for attempt := 0; attempt < 20; attempt++ {
		resp, body, err := rawRoundTrip(addr, raw)
		if err != nil {
			continue // reset before the answer was read
		}
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("status = %d, want 431; body %s", resp.StatusCode, body)
		}
		checkRequestID(t, resp.Header)
		openAIError(t, &response{status: resp.StatusCode, header: resp.Header, body: body})
		return
	}
	t.Fatal("every attempt was reset before an answer arrived")
}

// rawRoundTrip writes raw to a new connection and reads one response.
func rawRoundTrip(addr, raw string) (*http.Response, []byte, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return nil, nil, err
	}
	if _, err := io.WriteString(conn, raw); err != nil {
		return nil, nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func TestServer_Models(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil, nil)
	r := ts.do(t, http.MethodGet, "/v1/models", "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("status = %d; body %s", r.status, r.body)
	}
	var list openai.ModelList
	if err := json.Unmarshal(r.body, &list); err != nil {
		t.Fatal(err)
	}
	if list.Object != "list" || len(list.Data) != 5 || list.Data[2].ID != "claude-sonnet-4-5" || list.Data[2].OwnedBy != "anthropic" {
		t.Errorf("list = %+v, want the five default routes", list)
	}
	if list.Data[2].Created != time.Date(2025, 9, 29, 0, 0, 0, 0, time.UTC).Unix() {
		t.Errorf("created = %d, want the release date in the model id", list.Data[2].Created)
	}

	arn := "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0"
	for _, id := range []string{"claude-haiku-4-5", "us.anthropic.claude-3-5-haiku-20241022-v1:0", arn} {
		r := ts.do(t, http.MethodGet, "/v1/models/"+id, "", nil)
		if r.status != http.StatusOK {
			t.Fatalf("GET /v1/models/%s status = %d; body %s", id, r.status, r.body)
		}
		var m openai.Model
		if err := json.Unmarshal(r.body, &m); err != nil {
			t.Fatal(err)
		}
		if m.ID != id || m.Object != "model" {
			t.Errorf("model = %+v, want id %q", m, id)
		}
	}

	r = ts.do(t, http.MethodGet, "/v1/models/gpt-4o", "", nil)
	if r.status != http.StatusNotFound {
		t.Fatalf("unknown model status = %d, want 404", r.status)
	}
	if e := openAIError(t, r); deref(e.Code) != "model_not_found" {
		t.Errorf("code = %q, want model_not_found", deref(e.Code))
	}
	if r := ts.do(t, http.MethodGet, "/v1/models", "", map[string]string{"Authorization": ""}); r.status != http.StatusUnauthorized {
		t.Errorf("models without a key: status = %d, want 401", r.status)
	}
}

// TestServer_Models_LimitedKey lists, and describes, only the models a key
// limited to some may use; others are 404 model_not_found, as OpenAI
// answers for models a key cannot access.
func TestServer_Models_LimitedKey(t *testing.T) {
	t.Parallel()
	keys := memstore.NewAPIKeyStore()
	raw := "us.anthropic.claude-3-5-haiku-20241022-v1:0"
	secret, _ := createKey(t, keys, func(k *convertor.APIKey) {
		k.AllowedModels = []string{"claude-haiku-4-5", raw, "no-such-model"}
	})
	ts := newTestServer(t, nil, func(_ *Config, d *Deps) {
		d.Keys = keys
		d.Auth = NewKeyAuthenticator(keys, KeyAuthConfig{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	})
	auth := map[string]string{"Authorization": "Bearer " + secret}
	r := ts.do(t, http.MethodGet, "/v1/models", "", auth)
	if r.status != http.StatusOK {
		t.Fatalf("status = %d; body %s", r.status, r.body)
	}
	var list openai.ModelList
	if err := json.Unmarshal(r.body, &list); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range list.Data {
		ids = append(ids, m.ID)
	}
	if want := []string{"claude-haiku-4-5", raw}; !slices.Equal(ids, want) {
		t.Errorf("listed %v, want %v", ids, want)
	}
	for id, want := range map[string]int{"claude-haiku-4-5": 200, raw: 200, "claude-sonnet-4-5": 404, "gpt-4o": 404} {
		r := ts.do(t, http.MethodGet, "/v1/models/"+id, "", auth)
		if r.status != want {
			t.Errorf("GET /v1/models/%s status = %d, want %d; body %s", id, r.status, want, r.body)
			continue
		}
		if want == 404 {
			if e := openAIError(t, r); deref(e.Code) != "model_not_found" || e.Message != "The model `"+id+"` does not exist or you do not have access to it." {
				t.Errorf("GET /v1/models/%s error = %+v", id, e)
			}
		}
	}
}

func TestServer_Health(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil, func(_ *Config, d *Deps) { d.UpstreamNote = "Bedrock emulator: answers are synthetic" })
	r := ts.do(t, http.MethodGet, "/health", "", map[string]string{"Authorization": ""})
	if r.status != http.StatusOK {
		t.Fatalf("status = %d; body %s", r.status, r.body)
	}
	var h health
	if err := json.Unmarshal(r.body, &h); err != nil {
		t.Fatal(err)
	}
	if h.Status != "ok" || h.Version != Version || !strings.Contains(h.Upstream, "synthetic") {
		t.Errorf("health = %+v", h)
	}
}

func TestServer_Ready(t *testing.T) {
	t.Parallel()
	ok := ReadinessCheck{Name: "bedrock_endpoint", Check: func(context.Context) error { return nil }}
	down := ReadinessCheck{Name: "bedrock_credentials", Check: func(context.Context) error { return errors.New("no AWS credentials") }}
	spooling := ReadinessCheck{Name: "usage_events", Check: func(context.Context) error {
		return fmt.Errorf("usage events: %w", Degraded("events bus unavailable; 3 usage events spooled, sent when it is back"))
	}}
	for _, tt := range []struct {
		name   string
		checks []ReadinessCheck
		status int
	}{
		{"Ready", []ReadinessCheck{ok}, http.StatusOK},
		{"Down", []ReadinessCheck{ok, down}, http.StatusServiceUnavailable},
		// Degraded is named and keeps the gateway ready; with a
		// dependency down it is still unready.
		{"Degraded", []ReadinessCheck{ok, spooling}, http.StatusOK},
		{"DegradedAndDown", []ReadinessCheck{ok, spooling, down}, http.StatusServiceUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, nil, func(_ *Config, d *Deps) { d.Ready = tt.checks })
			r := ts.do(t, http.MethodGet, "/ready", "", nil)
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d; body %s", r.status, tt.status, r.body)
			}
			var got readiness
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatal(err)
			}
			if got.Checks["bedrock_endpoint"] != "ok" {
				t.Errorf("checks = %v", got.Checks)
			}
			if tt.status != http.StatusOK && got.Checks["bedrock_credentials"] != "no AWS credentials" {
				t.Errorf("checks = %v, want the failing dependency named", got.Checks)
			}
			wantStatus := map[int]string{http.StatusOK: "ready", http.StatusServiceUnavailable: "unavailable"}[tt.status]
			if got.Status != wantStatus {
				t.Errorf("status field = %q, want %q", got.Status, wantStatus)
			}
			if strings.HasPrefix(tt.name, "Degraded") {
				if want := "degraded: events bus unavailable; 3 usage events spooled, sent when it is back"; got.Checks["usage_events"] != want {
					t.Errorf("usage_events = %q, want %q", got.Checks["usage_events"], want)
				}
			}
		})
	}
}

func TestServer_Metrics(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil, nil)
	if r := ts.post(t, helloRequest); r.status != http.StatusOK {
		t.Fatalf("chat status = %d", r.status)
	}
	r := ts.do(t, http.MethodGet, "/metrics", "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("status = %d", r.status)
	}
	for _, want := range []string{
		`convertor_gateway_requests_total{model="claude-sonnet-4-5",status="200",stream="false"} 1`,
		`convertor_gateway_tokens_total{kind="output",model="claude-sonnet-4-5"} 3`,
		`convertor_gateway_upstream_duration_seconds_count{model="claude-sonnet-4-5",stream="false"} 1`,
		"convertor_gateway_inflight_streams 0",
		"convertor_gateway_client_disconnects_total 0",
		"convertor_gateway_upstream_retries_total 0",
	} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestServer_Routing(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil, nil)
	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{http.MethodGet, "/v1/unknown", 404, ""},
		{http.MethodPost, "/chat/completions", 404, ""},
		{http.MethodGet, "/", 404, ""},
		{http.MethodGet, "/v1/chat/completions", 405, "POST, OPTIONS"},
		{http.MethodPut, "/v1/chat/completions", 405, "POST, OPTIONS"},
		{http.MethodPost, "/v1/models", 405, "GET, HEAD, OPTIONS"},
		{http.MethodDelete, "/v1/models/claude-sonnet-4-5", 405, "GET, HEAD, OPTIONS"},
		{http.MethodPost, "/health", 405, "GET, HEAD, OPTIONS"},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			r := ts.do(t, tt.method, tt.path, "", nil)
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d; body %s", r.status, tt.status, r.body)
			}
			openAIError(t, r)
			if got := r.header.Get("Allow"); got != tt.allow {
				t.Errorf("Allow = %q, want %q", got, tt.allow)
			}
		})
	}
}

func TestServer_CORS(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil, nil)
	r := ts.do(t, http.MethodOptions, "/v1/chat/completions", "", map[string]string{
		"Authorization":                  "",
		"Origin":                         "https://app.example",
		"Access-Control-Request-Method":  "POST",
		"Access-Control-Request-Headers": "authorization, content-type, x-stainless-os",
	})
	if r.status != http.StatusNoContent {
		t.Fatalf("preflight status = %d, want 204", r.status)
	}
	for k, want := range map[string]string{
		"Access-Control-Allow-Origin":  "*",
		"Access-Control-Allow-Methods": corsAllowMethods,
		"Access-Control-Allow-Headers": "authorization, content-type, x-stainless-os",
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	r = ts.post(t, helloRequest)
	if r.header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(r.header.Get("Access-Control-Expose-Headers"), "X-Request-Id") {
		t.Errorf("response lacks CORS headers: %v", r.header)
	}
}

func TestServer_ClientRequestID(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil, nil)
	r := ts.do(t, http.MethodPost, "/v1/chat/completions", helloRequest, map[string]string{"X-Client-Request-Id": "trace-42"})
	if got := r.header.Get("X-Client-Request-Id"); got != "trace-42" {
		t.Errorf("x-client-request-id = %q, want it echoed", got)
	}
	if r.header.Get("X-Request-Id") == "trace-42" {
		t.Error("the client's id replaced the gateway's own")
	}
	r = ts.do(t, http.MethodPost, "/v1/chat/completions", helloRequest, map[string]string{"X-Client-Request-Id": "bad id\"with quotes"})
	if got := r.header.Get("X-Client-Request-Id"); got != "" {
		t.Errorf("x-client-request-id = %q, want an unsafe id dropped", got)
	}
}

// TestServer_MalformedHTTP: what fasthttp cannot parse is still answered in
// the OpenAI shape with a request id.
func TestServer_MalformedHTTP(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil, nil)
	addr := strings.TrimPrefix(ts.URL, "http://")
	for name, raw := range map[string]string{
		"BadContentLength": "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
		"BrokenChunks":     "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			resp, body, err := rawRoundTrip(addr, raw)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status = %d, want 400; body %s", resp.StatusCode, body)
			}
			checkRequestID(t, resp.Header)
			openAIError(t, &response{status: resp.StatusCode, header: resp.Header, body: body})
		})
	}
}

func TestServer_RequestIDsUnique(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil, nil)
	seen := map[string]bool{}
	for i := range 20 {
		r := ts.do(t, http.MethodGet, fmt.Sprintf("/nope/%d", i), "", nil)
		id := r.header.Get("X-Request-Id")
		if seen[id] {
			t.Fatalf("request id %s repeated", id)
		}
		seen[id] = true
	}
}
