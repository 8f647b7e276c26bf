package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/valyala/fasthttp"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/convert"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

const helloStreamRequest = `{"model":"claude-sonnet-4-5","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Hi"}]}`

func TestServer_Stream(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil, nil)
	r := ts.post(t, helloStreamRequest)
	if r.status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", r.status, r.body)
	}
	for k, want := range map[string]string{
		"Content-Type":      "text/event-stream",
		"Cache-Control":     "no-cache",
		"X-Accel-Buffering": "no",
		"Connection":        "keep-alive",
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	events := sseEvents(t, r.body)
	if len(events) < 3 || events[len(events)-1] != "[DONE]" {
		t.Fatalf("events = %q, want chunks then [DONE]", events)
	}
	var text strings.Builder
	var finish string
	var usage *openai.Usage
	id := ""
	for i, data := range events[:len(events)-1] {
		var c openai.ChatChunk
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			t.Fatalf("event %d %q: %v", i, data, err)
		}
		if id == "" {
			id = c.ID
		}
		if c.ID != id || !strings.HasPrefix(id, "chatcmpl-") || c.Model != "claude-sonnet-4-5" || c.Object != "chat.completion.chunk" {
			t.Errorf("event %d: id, model, object = %q, %q, %q", i, c.ID, c.Model, c.Object)
		}
		if i == 0 && (len(c.Choices) != 1 || c.Choices[0].Delta.Role != "assistant") {
			t.Errorf("first chunk %s lacks delta.role", data)
		}
		for _, ch := range c.Choices {
			text.WriteString(deref(ch.Delta.Content))
			if ch.FinishReason != nil {
				finish = *ch.FinishReason
			}
		}
		if c.Usage != nil {
			usage = c.Usage
		}
	}
	if text.String() != "Hello" || finish != "stop" {
		t.Errorf("text, finish = %q, %q; want Hello, stop", text.String(), finish)
	}
	if usage == nil || usage.PromptTokens != 10 || usage.CompletionTokens != 2 {
		t.Errorf("usage = %+v, want 10 prompt and 2 completion tokens", usage)
	}
	waitFor(t, "the access line", func() bool { return strings.Contains(ts.logs.String(), `"stream":true`) })
	if got := metricValue(t, ts.Metrics().requests.WithLabelValues("200", "claude-sonnet-4-5", "true")); got != 1 {
		t.Errorf("requests_total{200,stream} = %v, want 1", got)
	}
}

// TestServer_Stream_StartErrors: a refusal before the first event, or as
// the first event, is a plain JSON error with its own status.
func TestServer_Stream_StartErrors(t *testing.T) {
	t.Parallel()
	throttled := &bedrock.APIError{Type: bedrock.ExceptionThrottling, Message: "Too many tokens, please wait before trying again.", StatusCode: 429}
	tests := []struct {
		name   string
		stream func(context.Context, string, *bedrock.ConverseRequest) (*bedrock.Stream, error)
		status int
	}{
		{"Refused", func(context.Context, string, *bedrock.ConverseRequest) (*bedrock.Stream, error) {
			return nil, throttled
		}, http.StatusTooManyRequests},
		{"FirstFrameException", func(context.Context, string, *bedrock.ConverseRequest) (*bedrock.Stream, error) {
			return streamOf(throttled), nil
		}, http.StatusTooManyRequests},
		{"EmptyStream", func(context.Context, string, *bedrock.ConverseRequest) (*bedrock.Stream, error) {
			return streamOf(nil), nil
		}, http.StatusBadGateway},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, &fakeConverser{stream: tt.stream}, nil)
			r := ts.post(t, helloStreamRequest)
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d; body %s", r.status, tt.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			openAIError(t, r)
		})
	}
}

// TestServer_Stream_MidStreamError: after the first byte a failure is one
// error event in OpenAI's shape, and no [DONE] follows.
func TestServer_Stream_MidStreamError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		exc  *bedrock.APIError
		evs  []bedrock.StreamEvent
		code string
	}{
		{"Exception", &bedrock.APIError{Type: bedrock.ExceptionModelStreamError, Message: "The model stream failed."},
			textEvents("Hel")[:2], "upstream_error"},
		{"ThrottledInStream", &bedrock.APIError{Type: bedrock.ExceptionThrottling, Message: "Too many tokens."},
			textEvents("Hel")[:2], "rate_limit_exceeded"},
		{"Truncated", nil, textEvents("Hel")[:2], "upstream_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := &fakeConverser{stream: func(context.Context, string, *bedrock.ConverseRequest) (*bedrock.Stream, error) {
				return streamOf(tt.exc, tt.evs...), nil
			}}
			ts := newTestServer(t, fake, nil)
			r := ts.post(t, helloStreamRequest)
			if r.status != http.StatusOK {
				t.Fatalf("status = %d, want 200 (headers were out); body %s", r.status, r.body)
			}
			events := sseEvents(t, r.body)
			last := events[len(events)-1]
			var e openai.ErrorResponse
			if err := json.Unmarshal([]byte(last), &e); err != nil || e.Error.Message == "" {
				t.Fatalf("last event %q is not an OpenAI error (%v)", last, err)
			}
			if deref(e.Error.Code) != tt.code {
				t.Errorf("error code = %q, want %q", deref(e.Error.Code), tt.code)
			}
			for _, ev := range events {
				if ev == "[DONE]" {
					t.Error("a failed stream ended with [DONE]")
				}
			}
		})
	}
}

// endlessStream is a Bedrock stream that generates text until it is
// aborted; it reports when its call's context ends.
func endlessStream(canceled chan<- struct{}) func(context.Context, string, *bedrock.ConverseRequest) (*bedrock.Stream, error) {
	return func(ctx context.Context, _ string, _ *bedrock.ConverseRequest) (*bedrock.Stream, error) {
		pr, pw := io.Pipe()
		go func() {
			w := bedrock.NewEventWriter(pw)
			if err := w.WriteEvent(&bedrock.StreamEvent{MessageStart: &bedrock.MessageStartEvent{Role: "assistant"}}); err != nil {
				return
			}
			tok := "token "
			for {
				if err := w.WriteEvent(&bedrock.StreamEvent{ContentBlockDelta: &bedrock.ContentBlockDeltaEvent{Delta: bedrock.ContentBlockDelta{Text: &tok}}}); err != nil {
					return
				}
			}
		}()
		go func() {
			<-ctx.Done()
			pw.CloseWithError(ctx.Err())
			close(canceled)
		}()
		return bedrock.NewStream(pr), nil
	}
}

// TestServer_Stream_Disconnect: a client that goes away cancels the
// upstream call at once.
func TestServer_Stream_Disconnect(t *testing.T) {
	t.Parallel()
	canceled := make(chan struct{})
	ts := newTestServer(t, &fakeConverser{stream: endlessStream(canceled)}, nil)
	req, err := http.NewRequest(http.MethodPost, ts.URL+"/v1/chat/completions", strings.NewReader(helloStreamRequest))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "data: ") {
		t.Fatalf("first line %q, %v", line, err)
	}
	resp.Body.Close() // before the end: the connection is torn down

	select {
	case <-canceled:
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream call was not canceled after the client left")
	}
	waitFor(t, "the disconnect to be counted", func() bool {
		return metricValue(t, ts.Metrics().disconnects) == 1
	})
	waitFor(t, "the access line", func() bool { return strings.Contains(ts.logs.String(), `"disconnected":true`) })
	if got := metricValue(t, ts.Metrics().inflightStreams); got != 0 {
		t.Errorf("inflight_streams = %v, want 0", got)
	}
}

// TestServer_Shutdown: streams still running when the grace period ends
// are aborted with an error event, and Shutdown reports the cut.
func TestServer_Shutdown(t *testing.T) {
	t.Parallel()
	canceled := make(chan struct{})
	ts := newTestServer(t, &fakeConverser{stream: endlessStream(canceled)}, nil)
	req, err := http.NewRequest(http.MethodPost, ts.URL+"/v1/chat/completions", strings.NewReader(helloStreamRequest))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tail atomic.Value
	done := make(chan struct{})
	go func() {
		defer close(done)
		b, _ := io.ReadAll(resp.Body)
		if i := strings.LastIndex(strings.TrimSpace(string(b)), "data: "); i >= 0 {
			tail.Store(strings.TrimSpace(string(b))[i:])
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no grace at all: the stream must be cut
	if err := ts.Shutdown(ctx); err == nil {
		t.Error("Shutdown() = nil with a stream still running, want the context's error")
	}
	<-canceled
	<-done
	if s, _ := tail.Load().(string); !strings.Contains(s, `"error"`) {
		t.Errorf("stream ended with %q, want an error event", s)
	}
}

// metricValue reads a counter or gauge.
func metricValue(t testing.TB, m prometheus.Metric) float64 {
	t.Helper()
	var pb dto.Metric
	if err := m.Write(&pb); err != nil {
		t.Fatal(err)
	}
	switch {
	case pb.Counter != nil:
		return pb.Counter.GetValue()
	case pb.Gauge != nil:
		return pb.Gauge.GetValue()
	}
	t.Fatalf("metric %v is neither a counter nor a gauge", m.Desc())
	return 0
}

// doneWatcher is a usage sink that notes whether the client had read the
// stream's [DONE] when the usage was emitted.
type doneWatcher struct {
	sawDone     atomic.Bool
	doneAtEmit  atomic.Bool
	emitted     chan struct{}
	emittedOnce sync.Once
}

func (w *doneWatcher) Emit(*convertor.UsageEvent) {
	// Give a [DONE] sent before the usage every chance to arrive.
	deadline := time.Now().Add(500 * time.Millisecond)
	for !w.sawDone.Load() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	w.doneAtEmit.Store(w.sawDone.Load())
	w.emittedOnce.Do(func() { close(w.emitted) })
}

// TestServer_StreamUsageBeforeDone: a stream's usage is recorded before
// its last event goes out, so a client holding its whole answer is never
// unaccounted for, even if the process dies right then.
func TestServer_StreamUsageBeforeDone(t *testing.T) {
	t.Parallel()
	w := &doneWatcher{emitted: make(chan struct{})}
	ts := newTestServer(t, nil, func(_ *Config, d *Deps) { d.Usage = w })
	req, err := http.NewRequest(http.MethodPost, ts.URL+"/v1/chat/completions", strings.NewReader(helloStreamRequest))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if sc.Text() == "data: [DONE]" {
			w.sawDone.Store(true)
		}
	}
	<-w.emitted
	if !w.sawDone.Load() {
		t.Fatal("the stream ended without [DONE]")
	}
	if w.doneAtEmit.Load() {
		t.Error("the client had [DONE] before the usage was emitted")
	}
}

// startTestStream starts a stream on a bare request context, as the chat
// handler does, with conv as its format.
func startTestStream(t *testing.T, ts *testServer, conv streamFormat) (*fasthttp.RequestCtx, *exchange) {
	t.Helper()
	ctx := &fasthttp.RequestCtx{}
	upCtx, cancel := context.WithCancel(context.Background())
	x := &exchange{id: "req_pumptest", start: time.Now(), model: "claude-sonnet-4-5", bedrockModel: "anthropic.test", stream: true}
	ts.startStream(ctx, x, upCtx, cancel, &bedrock.ConverseRequest{}, conv)
	if !x.streaming {
		t.Fatalf("the stream did not start: status %d, body %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	return ctx, x
}

// writeStreamResponse writes ctx's response as fasthttp's server does and
// returns its body, de-chunked.
func writeStreamResponse(t *testing.T, ctx *fasthttp.RequestCtx) []byte {
	t.Helper()
	var written bytes.Buffer
	w := bufio.NewWriter(&written)
	if err := ctx.Response.Write(w); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	var resp fasthttp.Response
	if err := resp.Read(bufio.NewReader(&written)); err != nil {
		t.Fatalf("the written response does not parse: %v\n%s", err, written.String())
	}
	return append([]byte(nil), resp.Body()...)
}

var pumpTestMeta = convert.Meta{ID: "chatcmpl-pumptest", Model: "claude-sonnet-4-5", Created: 1700000000, IncludeUsage: true}

// TestStreamPump_ReadMatchesWriteTo: a writer that reads the body (a byte
// at a time here) gets the bytes fasthttp's WriteTo path writes, and either
// way the stream ends once, recorded and no longer in flight.
func TestStreamPump_ReadMatchesWriteTo(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil, nil)

	ctx, x := startTestStream(t, ts, chatStream{convert.NewStream(pumpTestMeta)})
	viaWriteTo := writeStreamResponse(t, ctx)
	if x.disconnected || x.status != http.StatusOK {
		t.Errorf("WriteTo: disconnected %v, status %d; want a whole stream", x.disconnected, x.status)
	}

	ctx, x = startTestStream(t, ts, chatStream{convert.NewStream(pumpTestMeta)})
	body := ctx.Response.BodyStream()
	viaRead, err := io.ReadAll(iotest.OneByteReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := body.(io.Closer).Close(); err != nil {
		t.Fatal(err)
	}
	if x.disconnected {
		t.Error("Read: a stream read to its end counted as a disconnect")
	}
	if !bytes.Equal(viaRead, viaWriteTo) {
		t.Errorf("Read gave\n%s\nWriteTo gave\n%s", viaRead, viaWriteTo)
	}
	events := sseEvents(t, viaRead)
	if len(events) < 3 || events[len(events)-1] != "[DONE]" {
		t.Errorf("events %q, want chunks then [DONE]", events)
	}
	if got := metricValue(t, ts.Metrics().inflightStreams); got != 0 {
		t.Errorf("inflight_streams = %v, want 0", got)
	}
}

// burstRecorder keeps each Write of a stream's body apart, and says when
// one was made.
type burstRecorder struct {
	bursts  [][]byte
	written chan struct{}
}

func (r *burstRecorder) Write(b []byte) (int, error) {
	r.bursts = append(r.bursts, bytes.Clone(b))
	r.written <- struct{}{}
	return len(b), nil
}

// TestStreamPump_LastEventsLeaveWithDone: the chunks of Bedrock's closing
// events (the finish reason, the usage) and [DONE] leave in one write once
// the stream's metadata is read, instead of [DONE] in a write of its own;
// the events before them still leave as soon as the next is not buffered,
// before Bedrock sends the rest.
func TestStreamPump_LastEventsLeaveWithDone(t *testing.T) {
	t.Parallel()
	evs := textEvents("Hel", "lo")
	opening, closing := encodeFrames(nil, evs[:3]...), encodeFrames(nil, evs[3:]...)
	rec := &burstRecorder{written: make(chan struct{}, len(evs)+1)}
	body, upstream := io.Pipe()
	go func() {
		upstream.Write(opening)
		// Bedrock sends its closing events only once the opening ones
		// reached the client: a pump that held them back would never end.
		<-rec.written
		upstream.Write(closing)
		upstream.Close()
	}()
	ts := newTestServer(t, &fakeConverser{stream: func(context.Context, string, *bedrock.ConverseRequest) (*bedrock.Stream, error) {
		return bedrock.NewStream(body), nil
	}}, nil)
	ctx, x := startTestStream(t, ts, chatStream{convert.NewStream(pumpTestMeta)})
	pump := ctx.Response.BodyStream().(*streamPump)
	if _, err := pump.WriteTo(rec); err != nil {
		t.Fatal(err)
	}
	if err := pump.Close(); err != nil {
		t.Fatal(err)
	}
	if x.disconnected || x.errCode != "" {
		t.Fatalf("disconnected %v, error %q; want a whole stream", x.disconnected, x.errCode)
	}
	if len(rec.bursts) != 2 {
		t.Fatalf("the stream left in %d writes, want 2 (the opening events, then the closing ones with [DONE]):\n%q", len(rec.bursts), rec.bursts)
	}
	opened, closed := sseEvents(t, rec.bursts[0]), sseEvents(t, rec.bursts[1])
	if len(opened) != 3 || !strings.Contains(opened[2], `"content":"lo"`) {
		t.Errorf("first write %q, want the role chunk and both deltas", opened)
	}
	if len(closed) != 3 || !strings.Contains(closed[0], `"finish_reason":"stop"`) ||
		!strings.Contains(closed[1], `"total_tokens":12`) || closed[2] != "[DONE]" {
		t.Errorf("last write %q, want the finish chunk, the usage chunk and [DONE]", closed)
	}
}

// panicAfter is a chat stream whose conversion panics at its nth event.
type panicAfter struct {
	chatStream
	n int
}

func (p *panicAfter) appendEvent(dst []byte, ev *bedrock.StreamEvent) []byte {
	if p.n--; p.n == 0 {
		panic("converter bug")
	}
	return p.chatStream.appendEvent(dst, ev)
}

// TestStreamPump_Panic: a conversion that panics mid-stream ends that
// stream with an error event and cancels its upstream call; the process
// and its other streams carry on.
func TestStreamPump_Panic(t *testing.T) {
	t.Parallel()
	canceled := make(chan struct{})
	endless := endlessStream(canceled)
	var calls atomic.Int32
	ts := newTestServer(t, &fakeConverser{stream: func(ctx context.Context, model string, req *bedrock.ConverseRequest) (*bedrock.Stream, error) {
		if calls.Add(1) == 1 {
			return endless(ctx, model, req)
		}
		return streamOf(nil, textEvents("Hel", "lo")...), nil
	}}, nil)
	ctx, x := startTestStream(t, ts, &panicAfter{chatStream{convert.NewStream(pumpTestMeta)}, 3})
	events := sseEvents(t, writeStreamResponse(t, ctx))
	var e openai.ErrorResponse
	if err := json.Unmarshal([]byte(events[len(events)-1]), &e); err != nil || e.Error.Message == "" {
		t.Fatalf("last event %q is not an OpenAI error (%v)", events[len(events)-1], err)
	}
	if strings.Contains(e.Error.Message, "converter bug") {
		t.Errorf("message %q leaks the panic", e.Error.Message)
	}
	<-canceled
	if !strings.Contains(ts.logs.String(), "stream panic") {
		t.Error("the panic was not logged")
	}
	if x.errCode == "" {
		t.Error("the exchange records no error")
	}
	if got := metricValue(t, ts.Metrics().inflightStreams); got != 0 {
		t.Errorf("inflight_streams = %v, want 0", got)
	}
	// The server still streams.
	if r := ts.post(t, helloStreamRequest); r.status != http.StatusOK || !bytes.Contains(r.body, []byte("[DONE]")) {
		t.Errorf("after the panic: status %d, body %s", r.status, r.body)
	}
}

// TestServer_Stream_ConnectionHeader: a stream says keep-alive only on a
// connection that stays open; one the client asked to close says close,
// and only that.
func TestServer_Stream_ConnectionHeader(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil, nil)
	for _, tc := range []struct {
		name, reqHeader, want string
	}{
		{"kept", "", "keep-alive"},
		{"closed", "Connection: close\r\n", "close"},
	} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n%s",
			testKey, tc.reqHeader, len(helloStreamRequest), helloStreamRequest)
		// The header as sent: net/http would fold a repeated Connection
		// header into one decision.
		tp := textproto.NewReader(bufio.NewReader(conn))
		status, err := tp.ReadLine()
		if err != nil {
			t.Fatal(err)
		}
		h, err := tp.ReadMIMEHeader()
		conn.Close()
		if err != nil || !strings.Contains(status, " 200 ") {
			t.Fatalf("%s: %q, %v", tc.name, status, err)
		}
		if got := h.Values("Connection"); !slices.Equal(got, []string{tc.want}) {
			t.Errorf("%s: Connection headers %q, want %q alone", tc.name, got, tc.want)
		}
	}
}

// usageCounter counts usage records by status.
type usageCounter struct {
	mu       sync.Mutex
	byStatus map[string]int
}

func (c *usageCounter) Emit(ev *convertor.UsageEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byStatus == nil {
		c.byStatus = map[string]int{}
	}
	c.byStatus[ev.Status]++
}

func (c *usageCounter) count(status string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byStatus[status]
}

// TestServer_Stream_ManyDisconnects: clients that leave many streams at
// once, some after the first event and some later, each cancel their
// upstream call, are counted once as disconnects with one usage record
// each, and leave no stream in flight.
func TestServer_Stream_ManyDisconnects(t *testing.T) {
	t.Parallel()
	const n = 32
	var canceled atomic.Int32
	usage := &usageCounter{}
	fake := &fakeConverser{stream: func(ctx context.Context, model string, req *bedrock.ConverseRequest) (*bedrock.Stream, error) {
		done := make(chan struct{})
		go func() {
			<-done
			canceled.Add(1)
		}()
		return endlessStream(done)(ctx, model, req)
	}}
	ts := newTestServer(t, fake, func(_ *Config, d *Deps) { d.Usage = usage })
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := http.NewRequest(http.MethodPost, ts.URL+"/v1/chat/completions", strings.NewReader(helloStreamRequest))
			if err != nil {
				t.Error(err)
				return
			}
			req.Header.Set("Authorization", "Bearer "+testKey)
			// Its own connection, so that closing the body tears it down.
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			resp, err := client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			br := bufio.NewReader(resp.Body)
			for range 1 + i%2*20 { // half leave after the first event
				if line, err := br.ReadString('\n'); err != nil {
					t.Errorf("stream %d: %q, %v", i, line, err)
					break
				}
			}
			resp.Body.Close()
		}()
	}
	wg.Wait()
	waitFor(t, "every upstream call to be canceled", func() bool { return canceled.Load() == n })
	waitFor(t, "every disconnect to be counted", func() bool {
		return metricValue(t, ts.Metrics().disconnects) == n && usage.count(convertor.UsageCanceled) == n
	})
	if got := metricValue(t, ts.Metrics().inflightStreams); got != 0 {
		t.Errorf("inflight_streams = %v, want 0", got)
	}
	if got := usage.count(convertor.UsageOK); got != 0 {
		t.Errorf("%d streams recorded as whole, want none", got)
	}
}
