package bedrock_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/bedrock/emulator"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

const sonnet = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"

var testAWSConfig = aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}

// countingHandler counts the requests that reach h.
type countingHandler struct {
	h http.Handler
	n atomic.Int64
}

func (c *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.n.Add(1)
	c.h.ServeHTTP(w, r)
}

// newClient starts an emulator that requires SigV4 and returns our client
// aimed at it, with retries fast enough for tests.
func newClient(t testing.TB, cfg bedrock.ClientConfig) (*bedrock.Client, *countingHandler) {
	t.Helper()
	h := &countingHandler{h: emulator.New(emulator.Options{RequireSigV4: true})}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg.Endpoint = srv.URL
	if cfg.RetryBaseDelay == 0 {
		cfg.RetryBaseDelay, cfg.RetryMaxDelay = time.Millisecond, 5*time.Millisecond
	}
	c, err := bedrock.NewClient(testAWSConfig, cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c, h
}

func userRequest(text string) *bedrock.ConverseRequest {
	return &bedrock.ConverseRequest{Messages: []bedrock.Message{{Role: bedrock.RoleUser, Content: []bedrock.ContentBlock{{Text: &text}}}}}
}

// collect drains a stream into the Converse response it is equivalent to.
func collect(t testing.TB, s *bedrock.Stream) (*bedrock.ConverseResponse, error) {
	t.Helper()
	defer s.Close()
	out := &bedrock.ConverseResponse{Output: bedrock.ConverseOutput{Message: &bedrock.Message{}}}
	blocks := map[int]*bedrock.ContentBlock{}
	var order []int
	var failure error
	block := func(i int) *bedrock.ContentBlock {
		if b, ok := blocks[i]; ok {
			return b
		}
		blocks[i] = &bedrock.ContentBlock{}
		order = append(order, i)
		return blocks[i]
	}
	for {
		var ev bedrock.StreamEvent
		err := s.Next(&ev)
		if err != nil {
			if err != io.EOF {
				failure = err
			}
			break
		}
		switch {
		case ev.MessageStart != nil:
			out.Output.Message.Role = ev.MessageStart.Role
		case ev.ContentBlockStart != nil:
			tu := ev.ContentBlockStart.Start.ToolUse
			block(ev.ContentBlockStart.ContentBlockIndex).ToolUse = &bedrock.ToolUseBlock{ToolUseID: tu.ToolUseID, Name: tu.Name}
		case ev.ContentBlockDelta != nil:
			b, d := block(ev.ContentBlockDelta.ContentBlockIndex), ev.ContentBlockDelta.Delta
			switch {
			case d.Text != nil:
				b.Text = new(deref(b.Text) + *d.Text)
			case d.ToolUse != nil:
				b.ToolUse.Input = append(b.ToolUse.Input, d.ToolUse.Input...)
			case d.ReasoningContent != nil:
				if b.ReasoningContent == nil {
					b.ReasoningContent = &bedrock.ReasoningContent{ReasoningText: &bedrock.ReasoningText{}}
				}
				b.ReasoningContent.ReasoningText.Text += deref(d.ReasoningContent.Text)
				b.ReasoningContent.ReasoningText.Signature += deref(d.ReasoningContent.Signature)
			}
		case ev.MessageStop != nil:
			out.StopReason = ev.MessageStop.StopReason
		case ev.Metadata != nil:
			out.Usage = ev.Metadata.Usage
		}
	}
	for _, i := range order {
		out.Output.Message.Content = append(out.Output.Message.Content, *blocks[i])
	}
	return out, failure
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

var ignoreMetrics = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Metrics" }, cmp.Ignore())

func TestClient_Converse(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t, bedrock.ClientConfig{})
	tools := &bedrock.ToolConfig{Tools: []bedrock.Tool{{ToolSpec: &bedrock.ToolSpec{Name: "get_weather", InputSchema: bedrock.InputSchema{JSON: json.RawMessage(`{"type":"object"}`)}}}}}
	tests := []struct {
		name   string
		req    *bedrock.ConverseRequest
		stop   string
		blocks int
	}{
		{"Default", userRequest("What is the capital of France?"), bedrock.StopEndTurn, 1},
		{"Text", userRequest("@emulator text Paris."), bedrock.StopEndTurn, 1},
		{"Tools", func() *bedrock.ConverseRequest {
			r := userRequest("@emulator text Checking.\n@emulator tool get_weather {\"city\":\"Paris\"}\n@emulator tool get_weather {\"city\":\"Lyon\"}")
			r.ToolConfig = tools
			return r
		}(), bedrock.StopToolUse, 3},
		{"Thinking", func() *bedrock.ConverseRequest {
			r := userRequest("Why is the sky blue?")
			r.AdditionalModelRequestFields = json.RawMessage(`{"thinking":{"type":"enabled","budget_tokens":1024}}`)
			r.InferenceConfig = &bedrock.InferenceConfig{MaxTokens: new(2000)}
			return r
		}(), bedrock.StopEndTurn, 2},
		{"Guardrail", userRequest("@emulator guardrail"), bedrock.StopGuardrailIntervened, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := c.Converse(context.Background(), sonnet, tt.req)
			if err != nil {
				t.Fatalf("Converse: %v", err)
			}
			if got.StopReason != tt.stop || len(got.Output.Message.Content) != tt.blocks || got.Usage.TotalTokens == 0 {
				t.Fatalf("Converse = stop %q, %d blocks, usage %+v; want %q, %d blocks", got.StopReason, len(got.Output.Message.Content), got.Usage, tt.stop, tt.blocks)
			}
			s, err := c.ConverseStream(context.Background(), sonnet, tt.req)
			if err != nil {
				t.Fatalf("ConverseStream: %v", err)
			}
			streamed, err := collect(t, s)
			if err != nil {
				t.Fatalf("stream: %v", err)
			}
			if diff := cmp.Diff(got, streamed, ignoreMetrics); diff != "" {
				t.Errorf("Converse and ConverseStream disagree (-converse +stream):\n%s", diff)
			}
		})
	}
}

// TestClient_Errors is the mapping table: each exception the emulator
// sends, before and inside a stream, as APIError and domain code.
func TestClient_Errors(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t, bedrock.ClientConfig{MaxRetries: -1})
	tests := []struct {
		script string
		typ    string
		status int
		code   string
		reason string
	}{
		{"error ValidationException bad field", bedrock.ExceptionValidation, 400, convertor.EInvalid, ""},
		{"error ValidationException Input is too long for requested model.", bedrock.ExceptionValidation, 400, convertor.EInvalid, "context_length_exceeded"},
		{"error AccessDeniedException", bedrock.ExceptionAccessDenied, 403, convertor.EForbidden, ""},
		{"error ResourceNotFoundException", bedrock.ExceptionResourceNotFound, 404, convertor.ENotFound, "model_not_found"},
		{"error ThrottlingException", bedrock.ExceptionThrottling, 429, convertor.ERateLimited, "rate_limit_exceeded"},
		{"error ServiceQuotaExceededException", bedrock.ExceptionServiceQuotaExceeded, 400, convertor.ERateLimited, "rate_limit_exceeded"},
		{"error ServiceUnavailableException", bedrock.ExceptionServiceUnavailable, 503, convertor.EUnavailable, ""},
		{"error ModelNotReadyException", bedrock.ExceptionModelNotReady, 429, convertor.EUnavailable, ""},
		{"error ModelTimeoutException", bedrock.ExceptionModelTimeout, 408, convertor.ETimeout, ""},
		{"error InternalServerException", bedrock.ExceptionInternalServer, 500, convertor.EUpstream, ""},
		{"error ModelErrorException", bedrock.ExceptionModelError, 424, convertor.EUpstream, ""},
		{"error SomethingNewException", "SomethingNewException", 500, convertor.EUpstream, ""},
	}
	for _, tt := range tests {
		t.Run(tt.script, func(t *testing.T) {
			t.Parallel()
			req := userRequest("@emulator " + tt.script)
			_, err := c.Converse(context.Background(), sonnet, req)
			checkAPIError(t, err, tt.typ, tt.status, tt.code, tt.reason)
			_, err = c.ConverseStream(context.Background(), sonnet, req)
			checkAPIError(t, err, tt.typ, tt.status, tt.code, tt.reason)
		})
	}
}

func checkAPIError(t *testing.T, err error, typ string, status int, code, reason string) {
	t.Helper()
	var ae *bedrock.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want *bedrock.APIError", err)
	}
	if ae.Type != typ || ae.StatusCode != status || ae.Message == "" || ae.RequestID == "" {
		t.Errorf("APIError = %+v, want type %s status %d with message and request id", ae, typ, status)
	}
	if got := convertor.ErrorCode(err); got != code {
		t.Errorf("ErrorCode = %q, want %q", got, code)
	}
	var de *convertor.Error
	if errors.As(err, &de); de.Reason != reason || de.Message != ae.Message {
		t.Errorf("domain error = %+v, want reason %q and Bedrock's message", de, reason)
	}
}

func TestClient_StreamException(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t, bedrock.ClientConfig{})
	s, err := c.ConverseStream(context.Background(), sonnet, userRequest("@emulator text a b c d e f g h i\n@emulator stream-error ModelStreamErrorException after 2 overloaded"))
	if err != nil {
		t.Fatalf("ConverseStream: %v", err)
	}
	got, err := collect(t, s)
	var ae *bedrock.APIError
	if !errors.As(err, &ae) || ae.Type != bedrock.ExceptionModelStreamError || !ae.InStream || ae.StatusCode != 424 || ae.Message != "overloaded" {
		t.Fatalf("err = %#v, want in-stream ModelStreamErrorException", err)
	}
	if convertor.ErrorCode(err) != convertor.EUpstream {
		t.Errorf("ErrorCode = %q, want %q", convertor.ErrorCode(err), convertor.EUpstream)
	}
	if text := deref(got.Output.Message.Content[0].Text); text != "a b c d e f " {
		t.Errorf("text before the exception = %q", text)
	}
	var ev bedrock.StreamEvent
	if err2 := s.Next(&ev); err2 != err {
		t.Errorf("Next after failure = %v, want the same error again", err2)
	}
}

func TestClient_Retry(t *testing.T) {
	t.Parallel()
	t.Run("ErrorOnceSucceeds", func(t *testing.T) {
		t.Parallel()
		c, h := newClient(t, bedrock.ClientConfig{MaxRetries: 2})
		if _, err := c.Converse(context.Background(), sonnet, userRequest("@emulator error-once ThrottlingException")); err != nil {
			t.Fatalf("Converse: %v", err)
		}
		if n := h.n.Load(); n != 2 {
			t.Errorf("requests = %d, want 2", n)
		}
		s, err := c.ConverseStream(context.Background(), sonnet, userRequest("@emulator error-once ServiceUnavailableException"))
		if err != nil {
			t.Fatalf("ConverseStream: %v", err)
		}
		defer s.Close()
		if s.Attempts() != 2 {
			t.Errorf("stream attempts = %d, want 2", s.Attempts())
		}
	})
	t.Run("GivesUp", func(t *testing.T) {
		t.Parallel()
		c, h := newClient(t, bedrock.ClientConfig{MaxRetries: 2})
		_, err := c.Converse(context.Background(), sonnet, userRequest("@emulator error-times 5 ThrottlingException"))
		var ae *bedrock.APIError
		if !errors.As(err, &ae) || ae.Attempts != 3 || bedrock.Attempts(err) != 3 || convertor.ErrorCode(err) != convertor.ERateLimited {
			t.Fatalf("err = %v (attempts %d), want ThrottlingException after 3 attempts", err, bedrock.Attempts(err))
		}
		if n := h.n.Load(); n != 3 {
			t.Errorf("requests = %d, want 3", n)
		}
	})
	t.Run("NotRetried", func(t *testing.T) {
		t.Parallel()
		c, h := newClient(t, bedrock.ClientConfig{MaxRetries: 2})
		_, err := c.Converse(context.Background(), sonnet, userRequest("@emulator error-once ValidationException"))
		if bedrock.Attempts(err) != 1 || h.n.Load() != 1 {
			t.Errorf("attempts = %d, requests = %d, want a validation error not retried", bedrock.Attempts(err), h.n.Load())
		}
	})
	t.Run("CanceledDuringBackoff", func(t *testing.T) {
		t.Parallel()
		c, _ := newClient(t, bedrock.ClientConfig{MaxRetries: 3, RetryBaseDelay: time.Hour, RetryMaxDelay: time.Hour})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := c.Converse(ctx, sonnet, userRequest("@emulator error ThrottlingException"))
			done <- err
		}()
		cancel()
		if err := <-done; convertor.ErrorCode(err) != convertor.ERateLimited && convertor.ErrorCode(err) != convertor.ECanceled {
			t.Errorf("err = %v, want the throttling error or ECanceled", err)
		}
	})
}

// TestClient_CancelMidStream checks that canceling the call's context
// unblocks a Next waiting on a slow upstream, with ECanceled.
func TestClient_CancelMidStream(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t, bedrock.ClientConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A minute per delta: Next can only return early through cancellation.
	s, err := c.ConverseStream(ctx, sonnet, userRequest("@emulator delay 60000"))
	if err != nil {
		t.Fatalf("ConverseStream: %v", err)
	}
	defer s.Close()
	var ev bedrock.StreamEvent
	if err := s.Next(&ev); err != nil || ev.MessageStart == nil {
		t.Fatalf("first event = %+v, %v; want messageStart", ev, err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Next(&ev) }()
	cancel()
	err = <-done
	if convertor.ErrorCode(err) != convertor.ECanceled || !errors.Is(err, context.Canceled) {
		t.Errorf("Next after cancel = %v (code %q), want ECanceled", err, convertor.ErrorCode(err))
	}
}

// TestClient_CloseMidStream checks that Close from another goroutine, as
// the gateway does when its client disconnects, unblocks Next.
func TestClient_CloseMidStream(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t, bedrock.ClientConfig{})
	s, err := c.ConverseStream(context.Background(), sonnet, userRequest("@emulator delay 60000"))
	if err != nil {
		t.Fatalf("ConverseStream: %v", err)
	}
	var ev bedrock.StreamEvent
	if err := s.Next(&ev); err != nil {
		t.Fatalf("first event: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Next(&ev) }()
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := <-done; convertor.ErrorCode(err) != convertor.ECanceled {
		t.Errorf("Next after Close = %v, want ECanceled", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestClient_Concurrent runs 200 streams and 200 non-streaming calls at
// once against an emulator that answers instantly: every one must succeed.
// With the SDK client, a fake this fast was seen to lose 2–5% of streams
// to "use of closed network connection"; our client must lose none.
func TestClient_Concurrent(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t, bedrock.ClientConfig{})
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			s, err := c.ConverseStream(context.Background(), sonnet, userRequest(fmt.Sprintf("stream %d: tell me a story about the number %d", i, i)))
			if err != nil {
				errs <- fmt.Errorf("stream %d: %w", i, err)
				return
			}
			got, err := collect(t, s)
			if err != nil || got.StopReason != bedrock.StopEndTurn {
				errs <- fmt.Errorf("stream %d: stop %q: %w", i, got.StopReason, err)
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := c.Converse(context.Background(), sonnet, userRequest(fmt.Sprintf("call %d", i))); err != nil {
				errs <- fmt.Errorf("converse %d: %w", i, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestClient_TruncatedStream(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	ew := bedrock.NewEventWriter(&buf)
	if err := ew.WriteEvent(&bedrock.StreamEvent{MessageStart: &bedrock.MessageStartEvent{Role: bedrock.RoleAssistant}}); err != nil {
		t.Fatal(err)
	}
	s := bedrock.NewStream(io.NopCloser(&buf))
	_, err := collect(t, s)
	if convertor.ErrorCode(err) != convertor.EUpstream || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("err = %v, want EUpstream for a stream without messageStop", err)
	}
}

func TestClient_Unreachable(t *testing.T) {
	t.Parallel()
	url := "http://" + testenv.Refusing(t)
	c, err := bedrock.NewClient(testAWSConfig, bedrock.ClientConfig{Endpoint: url, MaxRetries: 1, RetryBaseDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Converse(context.Background(), sonnet, userRequest("hi"))
	if convertor.ErrorCode(err) != convertor.EUnavailable || bedrock.Attempts(err) != 2 {
		t.Errorf("err = %v (attempts %d), want EUnavailable after a retried dial", err, bedrock.Attempts(err))
	}
	ctx, cancel := context.WithTimeout(context.Background(), -time.Second)
	defer cancel()
	if _, err := c.Converse(ctx, sonnet, userRequest("hi")); convertor.ErrorCode(err) != convertor.ETimeout {
		t.Errorf("expired ctx: err = %v, want ETimeout", err)
	}
}

func TestNewClient(t *testing.T) {
	t.Parallel()
	if _, err := bedrock.NewClient(aws.Config{}, bedrock.ClientConfig{}); err == nil {
		t.Error("NewClient without region: err = nil")
	}
	if _, err := bedrock.NewClient(aws.Config{Region: "us-east-1"}, bedrock.ClientConfig{Endpoint: "ftp://x"}); err == nil {
		t.Error("NewClient with ftp endpoint: err = nil")
	}
	// Unsigned (no credentials) works against an emulator that does not
	// require SigV4, as `convertor dev` uses it.
	srv := httptest.NewServer(emulator.New(emulator.Options{}))
	defer srv.Close()
	c, err := bedrock.NewClient(aws.Config{Region: "us-east-1"}, bedrock.ClientConfig{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Converse(context.Background(), sonnet, userRequest("hi")); err != nil {
		t.Errorf("unsigned Converse: %v", err)
	}
}

type blockingProvider struct{}

func (blockingProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	<-ctx.Done()
	return aws.Credentials{}, ctx.Err()
}

func TestHasCredentials(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if !bedrock.HasCredentials(ctx, testAWSConfig) {
		t.Error("static credentials: HasCredentials = false")
	}
	if bedrock.HasCredentials(ctx, aws.Config{}) {
		t.Error("no provider: HasCredentials = true")
	}
	if bedrock.HasCredentials(ctx, aws.Config{Credentials: blockingProvider{}}) {
		t.Error("hanging provider: HasCredentials = true")
	}
}

// recorder captures what a client sends and answers like the emulator.
type recorder struct {
	mu       sync.Mutex
	rawPaths []string
	bodies   [][]byte
	auth     []string
	next     http.Handler
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	rec.rawPaths = append(rec.rawPaths, r.URL.EscapedPath())
	rec.bodies = append(rec.bodies, body)
	rec.auth = append(rec.auth, r.Header.Get("Authorization"))
	rec.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec.next.ServeHTTP(w, r)
}

func (rec *recorder) last() (path string, body []byte, auth string) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	n := len(rec.rawPaths) - 1
	return rec.rawPaths[n], rec.bodies[n], rec.auth[n]
}

func newRecorder(t testing.TB) (*recorder, *bedrock.Client, string) {
	t.Helper()
	rec := &recorder{next: emulator.New(emulator.Options{})}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	c, err := bedrock.NewClient(testAWSConfig, bedrock.ClientConfig{Endpoint: srv.URL, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return rec, c, srv.URL
}
