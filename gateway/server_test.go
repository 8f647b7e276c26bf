package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/openai"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

const testKey = "sk-test-master-key"

// fakeConverser is a Bedrock stand-in with function fields; it records the
// requests it receives.
type fakeConverser struct {
	converse func(ctx context.Context, modelID string, req *bedrock.ConverseRequest) (*bedrock.ConverseResponse, error)
	stream   func(ctx context.Context, modelID string, req *bedrock.ConverseRequest) (*bedrock.Stream, error)

	mu       sync.Mutex
	requests []*bedrock.ConverseRequest
	models   []string
}

func (f *fakeConverser) record(modelID string, req *bedrock.ConverseRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, req)
	f.models = append(f.models, modelID)
}

// setConverse replaces the Converse behaviour while the server runs.
func (f *fakeConverser) setConverse(fn func(ctx context.Context, modelID string, req *bedrock.ConverseRequest) (*bedrock.ConverseResponse, error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.converse = fn
}

func (f *fakeConverser) Converse(ctx context.Context, modelID string, req *bedrock.ConverseRequest) (*bedrock.ConverseResponse, error) {
	f.record(modelID, req)
	f.mu.Lock()
	fn := f.converse
	f.mu.Unlock()
	if fn == nil {
		return textResponse("Hello!"), nil
	}
	return fn(ctx, modelID, req)
}

func (f *fakeConverser) ConverseStream(ctx context.Context, modelID string, req *bedrock.ConverseRequest) (*bedrock.Stream, error) {
	f.record(modelID, req)
	if f.stream == nil {
		return streamOf(nil, textEvents("Hel", "lo")...), nil
	}
	return f.stream(ctx, modelID, req)
}

func (f *fakeConverser) lastRequest(t testing.TB) (string, *bedrock.ConverseRequest) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		t.Fatal("Bedrock was not called")
	}
	return f.models[len(f.models)-1], f.requests[len(f.requests)-1]
}

func textResponse(text string) *bedrock.ConverseResponse {
	return &bedrock.ConverseResponse{
		Output:     bedrock.ConverseOutput{Message: &bedrock.Message{Role: "assistant", Content: []bedrock.ContentBlock{{Text: &text}}}},
		StopReason: bedrock.StopEndTurn,
		Usage:      bedrock.TokenUsage{InputTokens: 12, OutputTokens: 3, TotalTokens: 15},
	}
}

// textEvents is a whole ConverseStream answer made of the text deltas.
func textEvents(deltas ...string) []bedrock.StreamEvent {
	evs := []bedrock.StreamEvent{{MessageStart: &bedrock.MessageStartEvent{Role: "assistant"}}}
	for _, d := range deltas {
		evs = append(evs, bedrock.StreamEvent{ContentBlockDelta: &bedrock.ContentBlockDeltaEvent{Delta: bedrock.ContentBlockDelta{Text: &d}}})
	}
	return append(evs,
		bedrock.StreamEvent{ContentBlockStop: &bedrock.ContentBlockStopEvent{}},
		bedrock.StreamEvent{MessageStop: &bedrock.MessageStopEvent{StopReason: bedrock.StopEndTurn}},
		bedrock.StreamEvent{Metadata: &bedrock.MetadataEvent{Usage: bedrock.TokenUsage{InputTokens: 10, OutputTokens: 2, TotalTokens: 12}}},
	)
}

// encodeFrames encodes events as Bedrock sends them, then an exception
// frame when exc is set. Encoding fails only for an empty event, a bug in
// the test itself.
func encodeFrames(exc *bedrock.APIError, evs ...bedrock.StreamEvent) []byte {
	var buf bytes.Buffer
	w := bedrock.NewEventWriter(&buf)
	for i := range evs {
		if err := w.WriteEvent(&evs[i]); err != nil {
			panic(err)
		}
	}
	if exc != nil {
		if err := w.WriteException(exc.Type, exc.Message); err != nil {
			panic(err)
		}
	}
	return buf.Bytes()
}

func streamOf(exc *bedrock.APIError, evs ...bedrock.StreamEvent) *bedrock.Stream {
	return bedrock.NewStream(io.NopCloser(bytes.NewReader(encodeFrames(exc, evs...))))
}

// testServer is a gateway serving on 127.0.0.1:0.
type testServer struct {
	*Server
	URL  string
	fake *fakeConverser
	logs *syncBuffer
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testConfig() Config {
	cfg, err := LoadConfig(func(k string) string {
		if k == "MASTER_API_KEY" {
			return testKey
		}
		return ""
	})
	if err != nil {
		panic(err)
	}
	return cfg
}

// newTestServer starts a gateway; edit adjusts the configuration and
// dependencies first.
func newTestServer(t testing.TB, fake *fakeConverser, edit func(*Config, *Deps)) *testServer {
	t.Helper()
	if fake == nil {
		fake = &fakeConverser{}
	}
	cfg := testConfig()
	deps := Deps{Converser: fake}
	if edit != nil {
		edit(&cfg, &deps)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := New(cfg, deps, log)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown() = %v", err)
		}
		if err := <-errc; err != nil {
			t.Errorf("Serve() = %v", err)
		}
	})
	return &testServer{Server: s, URL: "http://" + ln.Addr().String(), fake: fake, logs: logs}
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request with the test key (unless header sets Authorization
// or X-Api-Key) and checks what every response must carry.
func (ts *testServer) do(t testing.TB, method, path, body string, header map[string]string) *response {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	checkRequestID(t, resp.Header)
	return &response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (ts *testServer) post(t testing.TB, body string) *response {
	t.Helper()
	return ts.do(t, http.MethodPost, "/v1/chat/completions", body, nil)
}

func checkRequestID(t testing.TB, h http.Header) {
	t.Helper()
	if id := h.Get("X-Request-Id"); !strings.HasPrefix(id, "req_") || len(id) != len("req_")+26 {
		t.Errorf("x-request-id = %q, want req_<ulid>", id)
	}
}

// openAIError decodes an error body, failing unless it has OpenAI's shape
// (message, type, param and code all present).
func openAIError(t testing.TB, r *response) openai.ErrorObject {
	t.Helper()
	var raw struct {
		Error map[string]json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	for _, k := range []string{"message", "type", "param", "code"} {
		if _, ok := raw.Error[k]; !ok {
			t.Errorf("error body %s lacks %q", r.body, k)
		}
	}
	var e openai.ErrorResponse
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatal(err)
	}
	if e.Error.Message == "" || e.Error.Type == "" {
		t.Errorf("error body %s: empty message or type", r.body)
	}
	return e.Error
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// sseEvents splits an event-stream body into its data payloads.
func sseEvents(t testing.TB, body []byte) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("SSE line %q is not a data line", line)
		}
		out = append(out, data)
	}
	if !bytes.HasSuffix(body, []byte("\n\n")) {
		t.Errorf("SSE body does not end with a blank line: %q", body)
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var errTestBoom = errors.New("boom")

// TestServer_RateLimitMetrics: the limiter the configuration builds reports
// its decisions on GET /metrics, as convertor_gateway_ratelimit_*.
func TestServer_RateLimitMetrics(t *testing.T) {
	t.Parallel()
	fake := &fakeConverser{}
	fake.setConverse(func(ctx context.Context, modelID string, req *bedrock.ConverseRequest) (*bedrock.ConverseResponse, error) {
		return textResponse("ok"), nil
	})
	ts := newTestServer(t, fake, func(c *Config, d *Deps) {
		c.RateLimitEnabled, c.RateLimitRequests = true, 1
	})
	if r := ts.post(t, `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"hi"}]}`); r.status != 200 {
		t.Fatalf("first request = %d %s", r.status, r.body)
	}
	if r := ts.post(t, `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"hi"}]}`); r.status != 429 {
		t.Fatalf("second request at 1 per window = %d", r.status)
	}
	m := ts.do(t, "GET", "/metrics", "", nil)
	for _, want := range []string{`convertor_gateway_ratelimit_decisions_total{result="allowed"} 1`, `convertor_gateway_ratelimit_decisions_total{result="refused_requests"} 1`} {
		if !strings.Contains(string(m.body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestServer_SlowRedisFailsOpen: a Redis that does not answer within
// RATE_LIMIT_REDIS_TIMEOUT admits the request uncounted, and says so on
// /metrics; with RATE_LIMIT_FAIL_OPEN=false it is refused with 503.
func TestServer_SlowRedisFailsOpen(t *testing.T) {
	t.Parallel()
	silent := testenv.Silent(t)
	for _, failOpen := range []bool{true, false} {
		ts := newTestServer(t, nil, func(c *Config, d *Deps) {
			c.RateLimitEnabled, c.RateLimitRequests = true, 10
			c.RedisURL = "redis://" + silent + "?read_timeout=1h&write_timeout=1h"
			c.RateLimitRedisTimeout, c.RateLimitFailOpen = 50*time.Millisecond, failOpen
		})
		r := ts.post(t, helloRequest)
		m := ts.do(t, "GET", "/metrics", "", nil)
		want, metric := http.StatusOK, `convertor_gateway_ratelimit_decisions_total{result="failed_open"} 1`
		if !failOpen {
			want, metric = http.StatusServiceUnavailable, `convertor_gateway_ratelimit_decisions_total{result="failed_closed"} 1`
		}
		if r.status != want {
			t.Errorf("fail open %t: status %d, want %d; body %s", failOpen, r.status, want, r.body)
		}
		if !strings.Contains(string(m.body), metric) {
			t.Errorf("fail open %t: /metrics lacks %s", failOpen, metric)
		}
	}
}
