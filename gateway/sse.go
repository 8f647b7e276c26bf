package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/convert"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

// startStream opens the Bedrock stream and reads its first event before any
// header is written: a refusal at the start (throttling, a bad request,
// an exception as the first frame) is then an ordinary JSON error with its
// own status, which clients handle far better than an error event after a
// 200. Only then does the response become an event stream.
func (s *Server) startStream(ctx *fasthttp.RequestCtx, x *exchange, upCtx context.Context, cancel context.CancelFunc,
	creq *bedrock.ConverseRequest, conv streamFormat) {
	t0 := time.Now()
	st, err := s.deps.Converser.ConverseStream(upCtx, x.bedrockModel, creq)
	x.upstream = true
	if err != nil {
		cancel()
		s.metrics.observeUpstream(x.model, true, time.Since(t0), bedrock.Attempts(err), convertor.ErrorCode(err))
		s.writeError(ctx, x, err)
		return
	}
	var first bedrock.StreamEvent
	if err := st.Next(&first); err != nil {
		st.Close()
		cancel()
		if errors.Is(err, io.EOF) {
			err = convertor.Errorf(convertor.EUpstream, "Bedrock ended the stream without an answer.")
		}
		s.metrics.observeUpstream(x.model, true, time.Since(t0), st.Attempts(), convertor.ErrorCode(err))
		s.writeError(ctx, x, err)
		return
	}

	h := &ctx.Response.Header
	h.SetContentType("text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	// Tell nginx-style proxies not to buffer, or events arrive in bursts.
	h.Set("X-Accel-Buffering", "no")
	ctx.SetStatusCode(http.StatusOK)
	x.status = http.StatusOK
	x.streaming = true

	p := &streamPump{
		s:        s,
		x:        x,
		st:       st,
		cancel:   cancel,
		conv:     conv,
		first:    first,
		upStart:  t0,
		upCtx:    upCtx,
		attempts: st.Attempts(),
	}
	s.streams.Add(1)
	s.metrics.inflightStreams.Inc()
	// The writer runs on its own goroutine after the handler returns, so
	// it holds only p: nothing of ctx, whose buffers fasthttp reuses.
	ctx.SetBodyStreamWriter(p.run)
}

// streamFormat writes the events of one API (chat completions chunks,
// Responses events) from Bedrock's stream events, and keeps what the
// gateway needs once the stream ends. One serves one stream.
type streamFormat interface {
	// appendEvent appends what ev yields, possibly nothing.
	appendEvent(dst []byte, ev *bedrock.StreamEvent) []byte
	// appendDone appends the end of a stream that ended well.
	appendDone(dst []byte) []byte
	// appendError appends the end of a stream that failed with err after
	// its first byte, in the form the API's SDKs raise.
	appendError(dst []byte, err error, requestID string) []byte
	Usage() bedrock.TokenUsage
	FinishReason() string
	GeneratedBytes() int
	ReasoningByToolCall() map[string][]bedrock.ContentBlock
}

// chatStream writes chat completion chunks.
type chatStream struct{ *convert.Stream }

func (c chatStream) appendEvent(dst []byte, ev *bedrock.StreamEvent) []byte {
	if chunk, ok := c.Event(ev); ok {
		dst = c.AppendSSE(dst, &chunk)
	}
	return dst
}

func (chatStream) appendDone(dst []byte) []byte { return convert.AppendDone(dst) }

func (chatStream) appendError(dst []byte, err error, requestID string) []byte {
	return appendErrorEvent(dst, err, requestID)
}

// streamPump copies one Bedrock stream to the client as OpenAI SSE.
type streamPump struct {
	s        *Server
	x        *exchange
	st       *bedrock.Stream
	cancel   context.CancelFunc
	conv     streamFormat
	first    bedrock.StreamEvent
	upStart  time.Time
	upCtx    context.Context
	attempts int
}

// run is the body stream writer: for each event, convert, write and flush.
// A write or flush error means the client is gone: the upstream call is
// canceled at once so Bedrock stops generating (and billing).
func (p *streamPump) run(w *bufio.Writer) {
	x := p.x
	defer p.s.streams.Done()
	defer p.s.metrics.inflightStreams.Dec()
	var (
		upErr error
		ended bool
	)
	defer func() {
		if r := recover(); r != nil {
			p.s.log.Error("stream panic", "request_id", x.id, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			upErr = fmt.Errorf("stream panic: %v", r)
			_, _ = w.Write(p.conv.appendError(w.AvailableBuffer(), upErr, x.id))
			_ = w.Flush()
		}
		p.st.Close()
		p.cancel()
		if !ended {
			p.end(upErr)
		}
	}()

	ev := &p.first
	var next bedrock.StreamEvent
	for {
		// Events are encoded into the writer's free space, so most are
		// never copied before they reach the connection.
		if b := p.conv.appendEvent(w.AvailableBuffer(), ev); len(b) > 0 {
			if !p.write(w, b) {
				return
			}
		}
		if err := p.st.Next(&next); err != nil {
			if !errors.Is(err, io.EOF) {
				upErr = err
			} else if p.conv.FinishReason() == "" {
				upErr = convertor.Errorf(convertor.EUpstream, "Bedrock ended the stream before the answer was complete.")
			}
			break
		}
		ev = &next
	}
	var last []byte
	if upErr != nil {
		if p.s.baseCtx.Err() != nil {
			upErr = errShuttingDown
		}
		last = p.conv.appendError(w.AvailableBuffer(), upErr, x.id)
	} else {
		last = p.conv.appendDone(w.AvailableBuffer())
	}
	// The usage is handed to the emitter before the last event leaves,
	// as a non-streamed reply's is before its body: a client holding its
	// whole answer then implies the event is already queued, and what a
	// crash of this process can lose is only what the emitter holds.
	p.end(upErr)
	ended = true
	p.write(w, last)
}

// write sends one event and flushes it, so every token reaches the client
// as it is generated. When the next upstream event is already buffered the
// flush waits for it: a burst then leaves in one write instead of one per
// event, and nothing is ever held back while the gateway waits on Bedrock.
// It reports false when the client is gone.
func (p *streamPump) write(w *bufio.Writer, b []byte) bool {
	_, err := w.Write(b)
	if err == nil && !p.st.EventReady() {
		err = w.Flush()
	}
	if err != nil {
		if !p.x.disconnected {
			p.x.disconnected = true
			p.cancel()
			p.st.Close()
		}
		return false
	}
	if p.x.ttft == 0 {
		p.x.ttft = time.Since(p.x.start)
	}
	return true
}

// end records how the stream went: metrics, reasoning for the next turn,
// the access line and the usage record.
func (p *streamPump) end(upErr error) {
	x := p.x
	s := p.s
	x.usage = p.conv.Usage()
	if x.usage.IsZero() && (x.disconnected || upErr != nil) {
		// Bedrock's count never came: the stream was cut before its
		// metadata event. Bedrock still bills what it generated, so the
		// usage is estimated rather than recorded as nothing.
		x.usage = bedrock.TokenUsage{
			InputTokens:  int(x.promptEstimate),
			OutputTokens: convert.EstimateTokens(p.conv.GeneratedBytes()),
		}
		x.usageEstimated = true
	}
	code := convertor.ErrorCode(upErr)
	switch {
	case x.disconnected:
		x.errCode = convertor.ECanceled
		x.status = openai.StatusClientClosedRequest
		s.metrics.disconnects.Inc()
	case upErr != nil:
		x.errCode = code
		if convertor.ErrorCode(upErr) == convertor.EInternal || openai.ErrorClassFor(code).Status >= 500 {
			s.log.Error("stream failed", "request_id", x.id, "code", code, "err", upErr)
		}
	default:
		// Only a stream the client read to the end hands its reasoning
		// on: the client has the tool calls it will answer.
		if m := p.conv.ReasoningByToolCall(); len(m) > 0 {
			s.deps.Reasoning.Put(s.baseCtx, m)
		}
	}
	if x.ttft > 0 {
		s.metrics.ttft.WithLabelValues(x.model).Observe(x.ttft.Seconds())
	}
	upCode := code
	if x.disconnected {
		upCode = ""
	}
	s.metrics.observeUpstream(x.model, true, time.Since(p.upStart), p.attempts, upCode)
	s.finish(x)
}

// appendErrorEvent appends the event that ends a stream failing after its
// first byte: the OpenAI error envelope as data, which the OpenAI SDKs
// raise as an APIError. No [DONE] follows.
func appendErrorEvent(dst []byte, err error, requestID string) []byte {
	dst = append(dst, "data: "...)
	dst = openai.NewError(err, requestID).AppendJSON(dst)
	return append(dst, "\n\n"...)
}
