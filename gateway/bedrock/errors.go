package bedrock

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/openai-api-convertor/convertor"
)

// Exception types that AWS's front end (authentication, routing, parsing)
// sends before a request reaches Bedrock itself.
const (
	ExceptionSerialization              = "SerializationException"
	ExceptionMissingAuthenticationToken = "MissingAuthenticationTokenException"
	ExceptionUnrecognizedClient         = "UnrecognizedClientException"
	ExceptionInvalidSignature           = "InvalidSignatureException"
	ExceptionIncompleteSignature        = "IncompleteSignatureException"
	ExceptionExpiredToken               = "ExpiredTokenException"
	ExceptionInvalidClientTokenID       = "InvalidClientTokenId"
	ExceptionUnknownOperation           = "UnknownOperationException"
)

// Reasons set on domain errors, sent to OpenAI clients as the error "code".
const (
	reasonContextLengthExceeded = "context_length_exceeded"
	reasonModelNotFound         = "model_not_found"
	reasonRateLimitExceeded     = "rate_limit_exceeded"
)

// APIError is an exception Bedrock returned, either as an HTTP error
// response or as an exception frame inside an open stream. Unwrap yields the
// domain error, so convertor.ErrorCode and convertor.ErrorMessage work on it.
type APIError struct {
	// Type is the exception name in its canonical form
	// ("ThrottlingException"), whichever spelling the wire used.
	Type string
	// Message is Bedrock's own message. It names no credentials, so it is
	// safe to show callers.
	Message string
	// StatusCode is the HTTP status of the response, or for an in-stream
	// exception the status Bedrock documents for that exception.
	StatusCode int
	// RequestID is Bedrock's x-amzn-RequestId, for support cases.
	RequestID string
	// Attempts is how many HTTP requests the call made, retries included.
	Attempts int
	// InStream reports that the exception arrived after the stream opened.
	InStream bool
}

// Error implements the error interface.
func (e *APIError) Error() string {
	s := fmt.Sprintf("bedrock %s (status %d", e.Type, e.StatusCode)
	if e.Attempts > 1 {
		s += fmt.Sprintf(", %d attempts", e.Attempts)
	}
	return s + "): " + e.Message
}

// Unwrap returns the domain error the exception maps to.
func (e *APIError) Unwrap() error { return e.Domain() }

// Domain maps the exception onto a domain error. Bedrock's message is kept
// because it tells the caller what to fix (a bad field, a model id).
func (e *APIError) Domain() *convertor.Error {
	msg := e.Message
	if msg == "" {
		msg = "Bedrock returned " + e.Type + " without a message"
	}
	d := &convertor.Error{Code: convertor.EUpstream, Message: msg}
	switch e.Type {
	case ExceptionValidation, ExceptionSerialization:
		d.Code = convertor.EInvalid
		if isContextLengthMessage(msg) {
			d.Reason = reasonContextLengthExceeded
		}
	case ExceptionAccessDenied:
		d.Code = convertor.EForbidden
	case ExceptionResourceNotFound:
		d.Code, d.Reason = convertor.ENotFound, reasonModelNotFound
	case ExceptionThrottling, ExceptionServiceQuotaExceeded:
		d.Code, d.Reason = convertor.ERateLimited, reasonRateLimitExceeded
	case ExceptionServiceUnavailable, ExceptionModelNotReady:
		d.Code = convertor.EUnavailable
	case ExceptionModelTimeout:
		d.Code = convertor.ETimeout
	case ExceptionMissingAuthenticationToken, ExceptionUnrecognizedClient, ExceptionInvalidSignature,
		ExceptionIncompleteSignature, ExceptionExpiredToken, ExceptionInvalidClientTokenID:
		// The gateway's own AWS credentials were refused: not the caller's
		// fault, and the detail belongs in the log, not in the response.
		d.Code, d.Message = convertor.EUpstream, "Bedrock refused the gateway's credentials"
	}
	return d
}

// Retryable reports whether retrying the same request may succeed: Bedrock
// asked to slow down, was briefly unavailable, or failed on its side.
func (e *APIError) Retryable() bool {
	if e.InStream {
		return false
	}
	switch e.Type {
	case ExceptionThrottling, ExceptionServiceUnavailable, ExceptionModelNotReady:
		return true
	case ExceptionModelTimeout:
		// The model already spent its time budget; a retry doubles the wait.
		return false
	}
	return e.StatusCode >= 500
}

// isContextLengthMessage recognises the ways Bedrock and the Anthropic
// models behind it say that the prompt does not fit the context window.
func isContextLengthMessage(msg string) bool {
	m := strings.ToLower(msg)
	for _, s := range []string{"input is too long", "prompt is too long", "too many input tokens",
		"context window", "context length", "maximum context"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// canonicalExceptionType turns any wire spelling of an exception name into
// its canonical form: header values may carry a ":http://..." namespace
// suffix or a "prefix#" (as the SDK's SanitizeErrorCode strips), and stream
// exception frames use the union member name ("throttlingException").
func canonicalExceptionType(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, ":"); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(s, "#"); i >= 0 {
		s = s[i+1:]
	}
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// ExceptionStatus returns the HTTP status Bedrock documents for an
// exception type, and 500 for types it does not document.
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_Errors
func ExceptionStatus(exceptionType string) int {
	switch canonicalExceptionType(exceptionType) {
	case ExceptionValidation, ExceptionServiceQuotaExceeded, ExceptionSerialization, ExceptionIncompleteSignature:
		return http.StatusBadRequest
	case ExceptionAccessDenied, ExceptionMissingAuthenticationToken, ExceptionUnrecognizedClient,
		ExceptionInvalidSignature, ExceptionExpiredToken, ExceptionInvalidClientTokenID:
		return http.StatusForbidden
	case ExceptionResourceNotFound, ExceptionUnknownOperation:
		return http.StatusNotFound
	case ExceptionModelTimeout:
		return http.StatusRequestTimeout
	case ExceptionModelError, ExceptionModelStreamError:
		return http.StatusFailedDependency
	case ExceptionThrottling, ExceptionModelNotReady:
		return http.StatusTooManyRequests
	case ExceptionServiceUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// callError is a failure that is not a Bedrock exception: the network, the
// caller's context, or a response we could not read. It unwraps to both the
// domain error and the cause, so errors.Is(err, context.Canceled) holds too.
type callError struct {
	domain   *convertor.Error
	cause    error
	attempts int
}

func (e *callError) Error() string {
	return fmt.Sprintf("bedrock: %s: %v", e.domain.Message, e.cause)
}

func (e *callError) Unwrap() []error { return []error{e.domain, e.cause} }

// Attempts returns how many HTTP requests the failed call behind err made,
// and 0 when err did not come from a Client call.
func Attempts(err error) int {
	if err == nil {
		// errors.As would move ae and ce to the heap on every call.
		return 0
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Attempts
	}
	var ce *callError
	if errors.As(err, &ce) {
		return ce.attempts
	}
	return 0
}

// transportError classifies a failure to get or read a response. The
// caller's context decides first: a deadline is a timeout and a
// cancellation means the client went away, whatever the socket said.
//
// When ctx ends mid-read, net/http closes the connection under the reader,
// which then fails with "use of closed network connection"; the context's
// error is joined in so the cause stays visible to errors.Is. (A caller that
// opens a stream with a context it cancels on return, such as a helper with
// `defer cancel()`, sees exactly that error on an otherwise healthy stream.)
func transportError(ctx context.Context, err error, attempts int) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		err = fmt.Errorf("%w: %w", cerr, err)
	}
	ce := &callError{cause: err, attempts: attempts}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		ce.domain = convertor.Errorf(convertor.ETimeout, "Bedrock did not answer in time")
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		ce.domain = convertor.Errorf(convertor.ECanceled, "the request was canceled")
	default:
		ce.domain = convertor.Errorf(convertor.EUnavailable, "Bedrock could not be reached")
	}
	return ce
}

// protocolError is a response we could read but not understand.
func protocolError(err error, attempts int) error {
	return &callError{
		domain:   convertor.Errorf(convertor.EUpstream, "Bedrock sent a response the gateway could not read"),
		cause:    err,
		attempts: attempts,
	}
}
