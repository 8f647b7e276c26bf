package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/openai"
	"github.com/openai-api-convertor/convertor/gateway/ratelimit"
)

// exchange is the state of one request that the access log, metrics and
// usage record need. A streamed response hands it to its stream pump,
// which finishes it; otherwise serveHTTP does.
type exchange struct {
	id       string
	clientID string
	method   string
	path     string
	start    time.Time
	keyID    string
	key      *convertor.APIKey // the key's record; nil for the master key
	// reservation is what the rate limiter counted, corrected by settle.
	reservation ratelimit.Reservation
	reserved    bool
	// promptEstimate is the admission estimate of the prompt's tokens;
	// usageEstimated says usage was estimated because Bedrock's count
	// never arrived.
	promptEstimate int64
	usageEstimated bool
	// refused is set when a rate limit or budget refused the request.
	refused bool
	// model is the requested model name once the route resolved; the
	// metrics label, so unknown names cannot grow label sets.
	model        string
	bedrockModel string
	status       int
	errCode      string
	stream       bool
	streaming    bool // a stream pump owns the exchange now
	disconnected bool
	upstream     bool // a Bedrock call was made, so usage is recorded
	usage        bedrock.TokenUsage
	ttft         time.Duration
	quiet        bool // probe endpoints log at debug level
	// adjusted lists the request fields changed to values Claude takes,
	// as the x-convertor-adjusted header says; empty when none were.
	adjusted string
}

// Paths the gateway serves. OpenAI's base URL includes /v1, so the API is
// only served under it.
const (
	pathChat        = "/v1/chat/completions"
	pathModels      = "/v1/models"
	pathModelPrefix = "/v1/models/"
	pathHealth      = "/health"
	pathReady       = "/ready"
	pathMetrics     = "/metrics"
)

// The Responses API; a stored response is read and deleted by its id
// under the prefix.
const (
	pathResponses      = "/v1/responses"
	pathResponsePrefix = "/v1/responses/"
)

var (
	methodHead    = []byte(http.MethodHead)
	methodOptions = []byte(http.MethodOptions)
)

// serveHTTP is the fasthttp handler: request id, CORS, routing, and the
// access log of every request not handed to a stream pump.
func (s *Server) serveHTTP(ctx *fasthttp.RequestCtx) {
	x := &exchange{id: newRequestID(), start: time.Now()}
	x.method = string(ctx.Method())
	x.path = string(ctx.Path())
	ctx.Response.Header.Set(headerRequestID, x.id)
	if cid := ctx.Request.Header.Peek(headerClientRequestID); saneClientRequestID(cid) {
		x.clientID = string(cid)
		ctx.Response.Header.SetBytesV(headerClientRequestID, cid)
	}
	setCORSHeaders(ctx)
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("handler panic", "request_id", x.id, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			if !x.streaming {
				ctx.Response.ResetBody()
				s.writeError(ctx, x, fmt.Errorf("panic: %v", r))
			}
		}
		if !x.streaming {
			s.finish(x)
		}
	}()
	s.route(ctx, x)
}

// route dispatches on the exact path; only the model lookup takes a
// suffix, because model ids (ARNs) hold '/'.
func (s *Server) route(ctx *fasthttp.RequestCtx, x *exchange) {
	path := ctx.Path()
	method := ctx.Method()
	if bytes.Equal(method, methodOptions) {
		s.preflight(ctx, x)
		return
	}
	switch {
	case string(path) == pathChat:
		if s.allow(ctx, x, method, http.MethodPost) {
			s.handleChat(ctx, x)
		}
	case string(path) == pathResponses:
		if s.allow(ctx, x, method, http.MethodPost) {
			s.handleResponses(ctx, x)
		}
	case bytes.HasPrefix(path, []byte(pathResponsePrefix)) && len(path) > len(pathResponsePrefix):
		s.handleResponseByID(ctx, x, string(path[len(pathResponsePrefix):]))
	case string(path) == pathModels:
		if s.allow(ctx, x, method, http.MethodGet) {
			s.handleModels(ctx, x)
		}
	case bytes.HasPrefix(path, []byte(pathModelPrefix)):
		if s.allow(ctx, x, method, http.MethodGet) {
			s.handleModel(ctx, x, string(path[len(pathModelPrefix):]))
		}
	case string(path) == pathHealth:
		x.quiet = true
		if s.allow(ctx, x, method, http.MethodGet) {
			s.handleHealth(ctx, x)
		}
	case string(path) == pathReady:
		x.quiet = true
		if s.allow(ctx, x, method, http.MethodGet) {
			s.handleReady(ctx, x)
		}
	case string(path) == pathMetrics:
		x.quiet = true
		if s.allow(ctx, x, method, http.MethodGet) {
			s.metrics.handler(ctx)
			x.status = ctx.Response.StatusCode()
		}
	default:
		s.writeWireError(ctx, x, http.StatusNotFound, "invalid_request_error", "unknown_url",
			fmt.Sprintf("Invalid URL (%s %s)", quoteForMessage(x.method), quoteForMessage(x.path)))
	}
}

// allow answers 405 with an Allow header unless method is want (GET also
// admits HEAD, which fasthttp answers without a body).
func (s *Server) allow(ctx *fasthttp.RequestCtx, x *exchange, method []byte, want string) bool {
	if string(method) == want || (want == http.MethodGet && bytes.Equal(method, methodHead)) {
		return true
	}
	allowed := want + ", OPTIONS"
	if want == http.MethodGet {
		allowed = "GET, HEAD, OPTIONS"
	}
	ctx.Response.Header.Set("Allow", allowed)
	s.writeWireError(ctx, x, http.StatusMethodNotAllowed, "invalid_request_error", "method_not_allowed",
		fmt.Sprintf("Method %s is not allowed for %s; use %s.", quoteForMessage(x.method), quoteForMessage(x.path), want))
	return false
}

// CORS: the API is called with a bearer key, never cookies, so any origin
// may call it; browser-based OpenAI clients need the preflight answered.
const (
	corsAllowMethods  = "GET, POST, DELETE, OPTIONS"
	corsAllowHeaders  = "Authorization, Content-Type, X-Api-Key, X-Client-Request-Id, OpenAI-Organization, OpenAI-Project, OpenAI-Beta"
	corsExposeHeaders = "X-Request-Id, X-Client-Request-Id, X-Convertor-Adjusted, Retry-After, X-Ratelimit-Limit-Requests, X-Ratelimit-Remaining-Requests, X-Ratelimit-Reset-Requests, X-Ratelimit-Limit-Tokens, X-Ratelimit-Remaining-Tokens, X-Ratelimit-Reset-Tokens"
	corsMaxAge        = "86400"
)

// The headers every response carries, with names in the form fasthttp
// writes them: set as given, they are not normalised and scanned for line
// breaks on each request.
var (
	hdrAllowOrigin    = []byte(fasthttp.HeaderAccessControlAllowOrigin)
	hdrExposeHeaders  = []byte(fasthttp.HeaderAccessControlExposeHeaders)
	valAnyOrigin      = []byte("*")
	valExposedHeaders = []byte(corsExposeHeaders)
)

func setCORSHeaders(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.SetCanonical(hdrAllowOrigin, valAnyOrigin)
	ctx.Response.Header.SetCanonical(hdrExposeHeaders, valExposedHeaders)
}

// preflight answers an OPTIONS request. The requested headers are echoed
// because SDKs add their own (x-stainless-*), and an unlisted one fails
// the whole call in the browser.
func (s *Server) preflight(ctx *fasthttp.RequestCtx, x *exchange) {
	x.quiet = true
	h := &ctx.Response.Header
	h.Set("Access-Control-Allow-Methods", corsAllowMethods)
	if req := ctx.Request.Header.Peek("Access-Control-Request-Headers"); len(req) > 0 && len(req) <= 4096 {
		h.SetBytesV("Access-Control-Allow-Headers", req)
	} else {
		h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
	}
	h.Set("Access-Control-Max-Age", corsMaxAge)
	h.Set("Allow", corsAllowMethods)
	ctx.SetStatusCode(http.StatusNoContent)
	x.status = http.StatusNoContent
}

// authenticate checks the request's API key when keys are required. The
// key is read from the header in place and never copied or logged.
func (s *Server) authenticate(ctx *fasthttp.RequestCtx, x *exchange) error {
	if s.deps.Auth == nil {
		return nil
	}
	key, err := apiKeyFromHeaders(ctx.Request.Header.Peek("Authorization"), ctx.Request.Header.Peek("X-Api-Key"))
	if err != nil {
		return err
	}
	p, err := s.deps.Auth.Authenticate(s.baseCtx, key)
	if err != nil {
		return err
	}
	x.keyID, x.key = p.KeyID, p.Key
	return nil
}

// writeError answers err in the OpenAI shape with the status of its code.
// An internal error's cause is logged here and shown to nobody.
func (s *Server) writeError(ctx *fasthttp.RequestCtx, x *exchange, err error) {
	if convertor.ErrorCode(err) == convertor.ECanceled && s.baseCtx.Err() != nil {
		// Canceled by Shutdown, not by the client, which is still there.
		err = errShuttingDown
	}
	oe := openai.NewError(err, x.id)
	x.status = oe.Status
	x.errCode = convertor.ErrorCode(err)
	if oe.Status >= 500 {
		s.log.Error("request failed", "request_id", x.id, "code", x.errCode, "err", err)
	}
	if x.errCode == convertor.ECanceled {
		// The client is gone: nothing it could read. The status only
		// reaches the log and metrics.
		ctx.SetStatusCode(oe.Status)
		ctx.SetConnectionClose()
		return
	}
	writeOpenAIError(ctx, oe)
}

// errShuttingDown ends requests that Shutdown cut short; clients retry a 503.
var errShuttingDown = convertor.Errorf(convertor.EUnavailable, "The server is shutting down; retry the request.")

// writeWireError answers an error that has no domain code (404 of a path,
// 405), in the OpenAI shape.
func (s *Server) writeWireError(ctx *fasthttp.RequestCtx, x *exchange, status int, typ, code, msg string) {
	x.status = status
	x.errCode = code
	oe := &openai.Error{Status: status, Body: openai.ErrorResponse{Error: openai.ErrorObject{Message: msg, Type: typ, Code: &code}}}
	writeOpenAIError(ctx, oe)
}

func writeOpenAIError(ctx *fasthttp.RequestCtx, oe *openai.Error) {
	ctx.SetStatusCode(oe.Status)
	ctx.SetContentType(contentTypeJSON)
	if n := oe.RetryAfterSeconds(); n > 0 {
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(n))
	}
	ctx.Response.SetBodyRaw(oe.AppendJSON(nil))
}

const contentTypeJSON = "application/json"

// serveHTTPError answers what fasthttp could not parse into a request (an
// oversize body, headers past the buffer, malformed HTTP) in the OpenAI
// shape, with a request id like every other response.
func (s *Server) serveHTTPError(ctx *fasthttp.RequestCtx, err error) {
	x := &exchange{id: newRequestID(), start: time.Now(), method: "-", path: "-"}
	ctx.Response.Header.Set(headerRequestID, x.id)
	setCORSHeaders(ctx)
	var small *fasthttp.ErrSmallBuffer
	var ne interface{ Timeout() bool }
	// The parser's error quotes the bytes it choked on, which can be an
	// Authorization line with its key (a missing colon, a folded line):
	// only its kind is logged, never its text.
	kind := "malformed"
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		kind = "body_too_large"
		s.writeError(ctx, x, &convertor.Error{Code: convertor.ETooLarge, Reason: "request_too_large",
			Message: fmt.Sprintf("The request body is larger than the %d bytes this server accepts.", s.cfg.MaxRequestBodyBytes)})
	case errors.As(err, &small):
		kind = "headers_too_large"
		s.writeWireError(ctx, x, http.StatusRequestHeaderFieldsTooLarge, "invalid_request_error", "request_header_too_large",
			fmt.Sprintf("The request line and headers are larger than the %d bytes this server accepts.", readBufferSize))
	case errors.As(err, &ne) && ne.Timeout():
		kind = "timeout"
		s.writeWireError(ctx, x, http.StatusRequestTimeout, "invalid_request_error", "request_timeout",
			"The request was not received in time.")
	default:
		s.writeWireError(ctx, x, http.StatusBadRequest, "invalid_request_error", "malformed_request",
			"The HTTP request could not be parsed.")
	}
	s.log.Info("unreadable request", "request_id", x.id, "status", x.status, "kind", kind)
	s.metrics.observeRequest(x.status, "", false)
}

// finish writes the access line, counts the request and, when it reached
// Bedrock, hands its usage record on. Runs once per request.
func (s *Server) finish(x *exchange) {
	d := time.Since(x.start)
	if x.status == 0 {
		x.status = http.StatusOK
	}
	if !x.quiet {
		s.metrics.observeRequest(x.status, x.model, x.stream)
	}
	if x.upstream || x.refused {
		s.recordUsage(x)
	}
	s.settle(x)
	level := slog.LevelInfo
	switch {
	case x.status >= 500 && x.status != openai.StatusClientClosedRequest:
		level = slog.LevelError
	case x.quiet && x.status < 400:
		level = slog.LevelDebug
	}
	if !s.log.Enabled(context.Background(), level) {
		return
	}
	// The record is built here rather than through Logger.LogAttrs, which
	// would look up a caller no handler of ours prints: one line of every
	// request, the cost counts.
	var buf [16]slog.Attr
	attrs := append(buf[:0],
		slog.String("request_id", x.id),
		slog.String("method", x.method),
		slog.String("path", x.path),
		slog.Int("status", x.status),
		slog.Duration("duration", d),
	)
	if x.clientID != "" {
		attrs = append(attrs, slog.String("client_request_id", x.clientID))
	}
	if x.keyID != "" {
		attrs = append(attrs, slog.String("key_id", x.keyID))
	}
	if x.model != "" {
		attrs = append(attrs, slog.String("model", x.model), slog.Bool("stream", x.stream),
			slog.Int("input_tokens", x.usage.InputTokens+x.usage.CacheReadInputTokens+x.usage.CacheWriteInputTokens),
			slog.Int("output_tokens", x.usage.OutputTokens))
	}
	if x.stream {
		attrs = append(attrs, slog.Duration("ttft", x.ttft))
	}
	if x.stream || x.disconnected {
		attrs = append(attrs, slog.Bool("disconnected", x.disconnected))
	}
	if x.adjusted != "" {
		attrs = append(attrs, slog.String("adjusted", x.adjusted))
	}
	if x.errCode != "" {
		attrs = append(attrs, slog.String("error", x.errCode))
	}
	r := slog.NewRecord(time.Now(), level, "request", 0)
	r.AddAttrs(attrs...)
	// A handler's error has nowhere better to go than the log it failed.
	_ = s.log.Handler().Handle(context.Background(), r)
}

// recordUsage emits the usage event of a request that reached Bedrock or
// was refused by a limit.
func (s *Server) recordUsage(x *exchange) {
	if x.upstream {
		s.metrics.observeTokens(x.model, x.usage)
	}
	ev := &convertor.UsageEvent{
		Version:          convertor.UsageEventVersion,
		ID:               strings.TrimPrefix(x.id, "req_"),
		RequestID:        x.id,
		Time:             x.start.UTC(),
		KeyID:            x.keyID,
		Model:            x.model,
		BedrockModelID:   x.bedrockModel,
		Region:           s.cfg.Region,
		InputTokens:      int64(x.usage.InputTokens),
		OutputTokens:     int64(x.usage.OutputTokens),
		CacheReadTokens:  int64(x.usage.CacheReadInputTokens),
		CacheWriteTokens: int64(x.usage.CacheWriteInputTokens),
		// Bedrock's breakdown can only be trusted as far as its total.
		CacheWrite1hTokens: int64(min(x.usage.CacheWrite1h(), x.usage.CacheWriteInputTokens)),
		Estimated:          x.usageEstimated,
		LatencyMs:          time.Since(x.start).Milliseconds(),
		TTFTMs:             x.ttft.Milliseconds(),
		Status:             convertor.UsageOK,
		ErrorType:          x.errCode,
		HTTPStatus:         x.status,
		Streamed:           x.stream,
		Disconnected:       x.disconnected,
	}
	switch {
	case x.refused:
		ev.Status = convertor.UsageRefused
	case x.disconnected:
		ev.Status = convertor.UsageCanceled
	case x.errCode != "":
		ev.Status = convertor.UsageError
	}
	if ev.KeyID == "" {
		ev.KeyID = AnonymousKeyID
	}
	if ev.Model == "" {
		ev.Model = unreadModel
	}
	s.deps.Usage.Emit(ev)
}

// unreadModel is the model of the usage record of a request refused
// before its body was parsed (a key past its budget or refused for its
// request count) whose body names no routed model.
const unreadModel = "-"

// maxQuotedPath bounds how much of a path or method an error quotes.
const maxQuotedPath = 200

func quoteForMessage(s string) string {
	if len(s) > maxQuotedPath {
		s = s[:maxQuotedPath] + "…"
	}
	return s
}
