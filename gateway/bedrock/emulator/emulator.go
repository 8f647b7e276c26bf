// Package emulator is a Bedrock Runtime emulator: an http.Handler that
// speaks Converse and ConverseStream on the real wire protocol (REST-JSON,
// application/vnd.amazon.eventstream frames, x-amzn-ErrorType errors), so
// the official AWS SDK and the gateway's own client both work against it.
//
// Answers are synthetic and deterministic. A test scripts them through
// directives, one per line, in the last user message:
//
//	@emulator text <literal>                   reply exactly this text
//	@emulator tool <name> <json-object-args>   call a tool (repeatable)
//	@emulator thinking <text>                  reasoning text, when thinking is on
//	@emulator error <Exception> [message]      fail with that exception and its status
//	@emulator error-once <Exception> [message] fail the first identical request only
//	@emulator error-times <N> <Exception> [message]
//	@emulator stream-error <Exception> after <n> [message]
//	@emulator latency <ms>                     wait before the response starts
//	@emulator delay <ms>                       wait before every stream delta
//	@emulator max-tokens                       cut the answer: stop reason max_tokens
//	@emulator guardrail                        stop reason guardrail_intervened
//	@emulator cache read <N> write <M> [1h <K>] report these cache tokens (K of the writes 1-hour)
//
// Unscripted, it caches prompts as Bedrock does: the prefix up to each
// cache point is written when it reaches the model's minimum, and read
// back by a later request with the same prefix within its TTL.
//
//	@emulator usage in <N> out <M>             report these token counts
//
// It enforces the rules of Bedrock that the gateway must respect (role
// alternation, tool pairing, thinking signatures, limits) with Bedrock's
// messages as closely as they are known.
package emulator

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/openai-api-convertor/convertor/gateway/bedrock"
)

// Options tunes an Emulator. The zero value answers instantly and accepts
// unsigned requests.
type Options struct {
	// Latency is waited before every response starts, as model time to
	// first token.
	Latency time.Duration
	// TokenDelay is waited before every content delta of a stream.
	TokenDelay time.Duration
	// RequireSigV4 refuses requests without a SigV4 Authorization header
	// for service "bedrock", as AWS does. Only the form is checked: the
	// emulator knows no secret keys.
	RequireSigV4 bool
	// Secret keys the HMAC that signs reasoning blocks; nil means a random
	// secret, so signatures from another emulator instance do not verify.
	Secret []byte
	// ExtraModels are model ids accepted besides the known Claude models.
	ExtraModels []string
	// MaxBodyBytes caps a request body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Log receives one line per request at Debug; nil discards.
	Log *slog.Logger
	// Now is the clock of the prompt cache's TTLs; nil means time.Now.
	Now func() time.Time
}

// DefaultMaxBodyBytes allows a few images of Bedrock's 3.75 MB limit, in
// base64.
const DefaultMaxBodyBytes = 32 << 20

// maxScriptedFailures bounds the memory of error-once/error-times counters;
// when full it starts over, which only matters to a test reusing a prompt
// after ten thousand others.
const maxScriptedFailures = 10000

// errorTypeNamespace is the suffix AWS appends to x-amzn-ErrorType.
const errorTypeNamespace = ":http://internal.amazon.com/coral/com.amazon.bedrock/"

// Emulator is the Bedrock Runtime emulator. It is safe for concurrent use.
type Emulator struct {
	opts   Options
	secret []byte
	extra  map[string]bool
	log    *slog.Logger

	mu       sync.Mutex
	failures map[string]int // request key → scripted failures served
	// cache is the emulated prompt cache: prefix hash → entry. e.mu
	// must be held.
	cache map[[32]byte]cacheEntry
}

// New returns an Emulator with opts.
func New(opts Options) *Emulator {
	e := &Emulator{opts: opts, secret: opts.Secret, extra: map[string]bool{}, failures: map[string]int{}, cache: map[[32]byte]cacheEntry{}, log: opts.Log}
	if len(e.secret) == 0 {
		e.secret = make([]byte, 32)
		rand.Read(e.secret)
	}
	for _, m := range opts.ExtraModels {
		e.extra[m] = true
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.opts.MaxBodyBytes <= 0 {
		e.opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	return e
}

// ServeHTTP serves POST /model/{modelId}/converse and
// /model/{modelId}/converse-stream.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	w.Header().Set("X-Amzn-Requestid", newRequestID())
	modelID, op, ok := parsePath(r)
	if !ok || r.Method != http.MethodPost {
		writeError(w, bedrock.ExceptionUnknownOperation, "Unknown operation: "+r.Method+" "+r.URL.EscapedPath())
		return
	}
	if e.opts.RequireSigV4 {
		if typ, msg := checkSigV4(r); typ != "" {
			writeError(w, typ, msg)
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, e.opts.MaxBodyBytes))
	if err != nil {
		writeError(w, bedrock.ExceptionValidation, "Input is too long for requested model.")
		return
	}
	var req bedrock.ConverseRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, bedrock.ExceptionValidation, "Malformed input request, please reformat your input and try again.")
		return
	}
	if !knownModel(modelID, e.extra) {
		writeError(w, bedrock.ExceptionValidation, "The provided model identifier is invalid.")
		return
	}
	var fields requestFields
	if len(req.AdditionalModelRequestFields) > 0 {
		if err := json.Unmarshal(req.AdditionalModelRequestFields, &fields); err != nil {
			writeError(w, bedrock.ExceptionValidation, "The format of the value at additionalModelRequestFields is invalid. Provide a json object for the field and try again.")
			return
		}
	}
	if msg := e.validate(modelID, &req, fields); msg != "" {
		writeError(w, bedrock.ExceptionValidation, msg)
		return
	}
	sc, err := parseScript(req.Messages)
	if err != nil {
		writeError(w, bedrock.ExceptionValidation, err.Error())
		return
	}
	key := requestKey(op, modelID, body)
	if sc.errType != "" && e.shouldFail(key, sc.errTimes) {
		writeError(w, sc.errType, sc.errMsg)
		return
	}
	if !sleep(r.Context(), e.opts.Latency+sc.latency) {
		return
	}
	// Tool ids derive from the content alone, so Converse and
	// ConverseStream of one request name their calls alike.
	rep := e.buildReply(modelID, &req, fields, sc, requestKey("", modelID, body))
	e.log.Debug("bedrock emulator request", "model", modelID, "operation", op, "stop_reason", rep.stopReason,
		"input_tokens", rep.usage.InputTokens, "output_tokens", rep.usage.OutputTokens)
	if op == "converse" {
		writeJSON(w, http.StatusOK, rep.converseResponse(time.Since(start).Milliseconds()))
		return
	}
	e.stream(w, r, rep, sc, start)
}

// stream writes the reply as event-stream frames, flushing each so a client
// sees deltas as they come, and stops when the client goes away.
func (e *Emulator) stream(w http.ResponseWriter, r *http.Request, rep *reply, sc *script, start time.Time) {
	w.Header().Set("Content-Type", bedrock.EventStreamContentType)
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	ew := bedrock.NewEventWriter(w)
	delay := e.opts.TokenDelay + sc.delay
	deltas := 0
	failNow := func() bool {
		if sc.streamErr == "" || deltas < sc.streamAt {
			return false
		}
		msg := sc.streamMsg
		if msg == "" {
			msg = defaultMessage(sc.streamErr)
		}
		_ = ew.WriteException(streamExceptionMember(sc.streamErr), msg)
		_ = rc.Flush()
		return true
	}
	for _, se := range rep.streamEvents() {
		if se.delta {
			if failNow() || !sleep(r.Context(), delay) {
				return
			}
			deltas++
		}
		if ew.WriteEvent(&se.ev) != nil || rc.Flush() != nil {
			return
		}
	}
	if failNow() {
		return
	}
	_ = ew.WriteEvent(&bedrock.StreamEvent{MessageStop: &bedrock.MessageStopEvent{StopReason: rep.stopReason}})
	_ = ew.WriteEvent(&bedrock.StreamEvent{Metadata: &bedrock.MetadataEvent{Usage: rep.usage,
		Metrics: &bedrock.Metrics{LatencyMs: time.Since(start).Milliseconds()}}})
	_ = rc.Flush()
}

// shouldFail counts a scripted failure for key: always when times is 0,
// else for the first times requests with that key.
func (e *Emulator) shouldFail(key string, times int) bool {
	if times == 0 {
		return true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.failures) >= maxScriptedFailures {
		clear(e.failures)
	}
	if e.failures[key] >= times {
		return false
	}
	e.failures[key]++
	return true
}

// requestKey identifies a request by its content, so concurrent tests with
// different prompts keep separate error-once counters.
func requestKey(op, modelID string, body []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", op, modelID)
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// parsePath splits /model/{modelId}/{op}. The escaped path is used because
// ARNs arrive with '/' escaped as %2F inside the one segment.
func parsePath(r *http.Request) (modelID, op string, ok bool) {
	p, found := strings.CutPrefix(r.URL.EscapedPath(), "/model/")
	if !found {
		return "", "", false
	}
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "", "", false
	}
	op = p[i+1:]
	if op != "converse" && op != "converse-stream" {
		return "", "", false
	}
	modelID, err := url.PathUnescape(p[:i])
	if err != nil || modelID == "" {
		return "", "", false
	}
	return modelID, op, true
}

// checkSigV4 checks that the request carries a SigV4 signature for
// Bedrock, with the exception AWS answers when it does not.
func checkSigV4(r *http.Request) (exceptionType, message string) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return bedrock.ExceptionMissingAuthenticationToken, "Missing Authentication Token"
	}
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=") || !strings.Contains(auth, "SignedHeaders=") ||
		!strings.Contains(auth, "Signature=") || r.Header.Get("X-Amz-Date") == "" {
		return bedrock.ExceptionIncompleteSignature, "Authorization header requires 'Credential', 'Signature', 'SignedHeaders' and 'X-Amz-Date'."
	}
	if !strings.Contains(auth, "/bedrock/aws4_request") {
		return bedrock.ExceptionInvalidSignature, "Credential should be scoped to correct service: 'bedrock'."
	}
	return "", ""
}

// writeError writes an exception as Bedrock does: its documented status,
// the name in x-amzn-ErrorType and {"message":…} as the body.
func writeError(w http.ResponseWriter, exceptionType, message string) {
	exceptionType = canonicalName(exceptionType)
	if message == "" {
		message = defaultMessage(exceptionType)
	}
	w.Header().Set("X-Amzn-Errortype", exceptionType+errorTypeNamespace)
	writeJSON(w, bedrock.ExceptionStatus(exceptionType), struct {
		Message string `json:"message"`
	}{message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"message":"The emulator could not encode its response."}`)
		w.Header().Set("X-Amzn-Errortype", bedrock.ExceptionInternalServer+errorTypeNamespace)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// canonicalName accepts an exception name in either case of its first
// letter, so scripts may say "throttlingException" or "ThrottlingException".
func canonicalName(s string) string {
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		return string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// streamExceptionMember is the :exception-type of an in-stream exception:
// the member name of the ConverseStreamOutput union, in lower camel case.
func streamExceptionMember(s string) string {
	if s != "" && s[0] >= 'A' && s[0] <= 'Z' {
		return string(s[0]-'A'+'a') + s[1:]
	}
	return s
}

// defaultMessage is the message Bedrock sends with each exception when
// nothing more specific applies.
func defaultMessage(exceptionType string) string {
	switch canonicalName(exceptionType) {
	case bedrock.ExceptionThrottling:
		return "Too many requests, please wait before trying again."
	case bedrock.ExceptionServiceQuotaExceeded:
		return "Your request exceeds the service quota for your account. You can view your quotas at Viewing service quotas. You can resubmit your request later."
	case bedrock.ExceptionValidation:
		return "Malformed input request, please reformat your input and try again."
	case bedrock.ExceptionAccessDenied:
		return "You don't have access to the model with the specified model ID."
	case bedrock.ExceptionResourceNotFound:
		return "Model not found. Check the model ID and try again."
	case bedrock.ExceptionServiceUnavailable:
		return "Bedrock is unable to process your request."
	case bedrock.ExceptionModelTimeout:
		return "Model has timed out in processing the request. Try your request again."
	case bedrock.ExceptionModelNotReady:
		return "Model is not ready for inference. Wait and try your request again."
	case bedrock.ExceptionModelError:
		return "The model encountered an error while processing your request."
	case bedrock.ExceptionModelStreamError:
		return "The model encountered an error while streaming the response. Try your request again."
	case bedrock.ExceptionInternalServer:
		return "The system encountered an unexpected error during processing. Try your request again."
	}
	return "An error occurred (" + exceptionType + ")."
}

// sleep waits d or until ctx ends; it reports whether the wait completed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// newRequestID makes an id in the UUID form of x-amzn-RequestId.
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// now is the emulator's clock.
func (e *Emulator) now() time.Time {
	if e.opts.Now != nil {
		return e.opts.Now()
	}
	return time.Now()
}
