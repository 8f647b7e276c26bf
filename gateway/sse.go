package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"sync"
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
	h.SetCanonical(hdrCacheControl, valNoCache)
	if !ctx.Request.Header.ConnectionClose() {
		// As OpenAI's API says; a connection about to close says only that.
		h.SetCanonical(hdrConnection, valKeepAlive)
	}
	// Tell nginx-style proxies not to buffer, or events arrive in bursts.
	h.SetCanonical(hdrAccelBuffering, valNo)
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
	// fasthttp writes the body from the connection's own goroutine once
	// the handler returns, through p.WriteTo, and then closes p. The pump
	// holds nothing of ctx, whose buffers fasthttp reuses.
	ctx.Response.SetBodyStream(p, -1)
}

// The headers of an event stream, with names in the form fasthttp writes
// them.
var (
	hdrCacheControl   = []byte(fasthttp.HeaderCacheControl)
	hdrConnection     = []byte(fasthttp.HeaderConnection)
	hdrAccelBuffering = []byte("X-Accel-Buffering")
	valNoCache        = []byte("no-cache")
	valKeepAlive      = []byte("keep-alive")
	valNo             = []byte("no")
)

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

// streamPump copies one Bedrock stream to the client as OpenAI SSE. It is
// the response's body stream: fasthttp calls WriteTo on the connection's
// goroutine, each Write becoming one flushed chunk, so a stream costs no
// goroutine or pipe of its own; Read serves any writer that reads instead.
// Close ends the stream however the body ended.
type streamPump struct {
	s        *Server
	x        *exchange
	st       *bedrock.Stream
	cancel   context.CancelFunc
	conv     streamFormat
	first    bedrock.StreamEvent
	next     bedrock.StreamEvent
	upStart  time.Time
	upCtx    context.Context
	attempts int

	buf     *[]byte // events encoded and not yet written; pooled
	off     int     // how much of *buf Read has handed out
	started bool    // first has been encoded
	last    bool    // the stream's last event is in buf
	ended   bool    // end has run
	closed  bool
}

// streamBufs holds the buffers events are encoded into. A burst of events
// is written at once, so a buffer's size is that of the largest burst;
// ones grown past maxPooledStreamBuf are left to the GC.
var streamBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

const maxPooledStreamBuf = 64 << 10

// SupportsBodyWriteTo tells fasthttp that WriteTo may stand in for Read.
func (p *streamPump) SupportsBodyWriteTo() bool { return true }

// WriteTo writes the events as they come, one Write per burst. A failed
// Write means the client is gone: the upstream call is canceled at once so
// Bedrock stops generating (and billing).
func (p *streamPump) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for !p.last {
		p.fill()
		b := *p.buf
		if len(b) == 0 {
			continue
		}
		m, err := w.Write(b)
		n += int64(m)
		if err != nil {
			p.gone()
			return n, err
		}
		p.delivered()
	}
	return n, nil
}

// Read implements io.Reader for writers that read the body instead.
func (p *streamPump) Read(b []byte) (int, error) {
	if p.buf != nil && p.off < len(*p.buf) {
		n := copy(b, (*p.buf)[p.off:])
		p.off += n
		return n, nil
	}
	if p.last || p.closed {
		return 0, io.EOF
	}
	p.fill()
	p.off = copy(b, *p.buf)
	if p.off > 0 {
		p.delivered()
	}
	return p.off, nil
}

// Close ends the stream: a body that stopped before its last event was
// written lost its client (or was never sent), so the call is canceled
// and the usage of what was generated recorded.
func (p *streamPump) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	if !p.ended {
		p.gone()
		p.end(nil)
	}
	p.st.Close()
	p.cancel()
	if p.buf != nil {
		if cap(*p.buf) <= maxPooledStreamBuf {
			*p.buf = (*p.buf)[:0]
			streamBufs.Put(p.buf)
		}
		p.buf = nil
	}
	p.s.metrics.inflightStreams.Dec()
	p.s.streams.Done()
	return nil
}

// fill encodes events into the buffer until one is encoded and the next
// is not yet buffered upstream: a burst then leaves in one write instead
// of one per event, and nothing is held back while the gateway waits on
// Bedrock. Once the last event is read, only the end of the body is left,
// which Bedrock sends with it: the stream's closing events then wait for
// it and leave with [DONE] in one write. After the stream's end it sets
// p.last.
func (p *streamPump) fill() {
	if p.buf == nil {
		p.buf = streamBufs.Get().(*[]byte)
	}
	b := (*p.buf)[:0]
	p.off = 0
	defer func() {
		if r := recover(); r != nil {
			p.s.log.Error("stream panic", "request_id", p.x.id, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err := fmt.Errorf("stream panic: %v", r)
			b = p.conv.appendError(b, err, p.x.id)
			if !p.ended {
				p.end(err)
			}
			p.last = true
		}
		*p.buf = b
	}()
	for {
		ev := &p.first
		if p.started {
			if err := p.st.Next(&p.next); err != nil {
				b = p.finish(b, err)
				return
			}
			ev = &p.next
		}
		p.started = true
		b = p.conv.appendEvent(b, ev)
		if len(b) > 0 && !p.st.EventReady() && !p.st.AtEnd() {
			return
		}
	}
}

// finish appends the stream's last event after Next failed with err
// (io.EOF at a normal end).
func (p *streamPump) finish(b []byte, err error) []byte {
	var upErr error
	if !errors.Is(err, io.EOF) {
		upErr = err
	} else if p.conv.FinishReason() == "" {
		upErr = convertor.Errorf(convertor.EUpstream, "Bedrock ended the stream before the answer was complete.")
	}
	if upErr != nil && p.s.baseCtx.Err() != nil {
		upErr = errShuttingDown
	}
	if upErr != nil {
		b = p.conv.appendError(b, upErr, p.x.id)
	} else {
		b = p.conv.appendDone(b)
	}
	// The usage is handed to the emitter before the last event leaves,
	// as a non-streamed reply's is before its body: a client holding its
	// whole answer then implies the event is already queued, and what a
	// crash of this process can lose is only what the emitter holds.
	p.end(upErr)
	p.last = true
	return b
}

// delivered notes that events reached the connection.
func (p *streamPump) delivered() {
	if p.x.ttft == 0 {
		p.x.ttft = time.Since(p.x.start)
	}
}

// gone marks the client as gone and stops the upstream call, unless the
// stream had already ended.
func (p *streamPump) gone() {
	if p.ended || p.x.disconnected {
		return
	}
	p.x.disconnected = true
	p.cancel()
	p.st.Close()
}

// end records how the stream went: metrics, reasoning for the next turn,
// the access line and the usage record.
func (p *streamPump) end(upErr error) {
	p.ended = true
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
