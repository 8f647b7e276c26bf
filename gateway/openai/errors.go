package openai

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/openai-api-convertor/convertor"
)

// ErrorResponse is the envelope of every error the gateway returns, and of
// the one error event that ends a failed stream. OpenAI SDKs read it to
// build their typed errors.
// https://platform.openai.com/docs/guides/error-codes
type ErrorResponse struct {
	Error ErrorObject `json:"error"`
}

// ErrorObject is the body of an ErrorResponse. Param and Code are null, not
// absent, when empty, as OpenAI sends them.
type ErrorObject struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// StatusClientClosedRequest is the status logged for a request whose client
// went away (nginx's 499); nothing is written to a gone client.
const StatusClientClosedRequest = 499

// ErrorClass is how one domain error code appears on the wire.
type ErrorClass struct {
	// Status is the HTTP status.
	Status int
	// Type is the OpenAI error type.
	Type string
	// Code is the OpenAI error code sent when the error has no Reason;
	// empty sends null.
	Code string
	// RetryAfter is the Retry-After hint sent with the error; zero sends
	// none. The OpenAI SDKs honour it when they retry.
	RetryAfter time.Duration
}

// Default Retry-After hints. Bedrock's throttling and unavailable responses
// carry no hint of their own; the SDKs retry with their own backoff when the
// header is absent, but a short explicit pause spreads retries from many
// clients instead of letting them return in lockstep.
const (
	rateLimitedRetryAfter = 2 * time.Second
	unavailableRetryAfter = 5 * time.Second
)

// errorClasses is the one table from domain codes to OpenAI errors. The
// types are the ones OpenAI sends: SDKs pick their exception class from the
// status, and applications that branch further read type and code
// ("insufficient_quota" versus "rate_limit_exceeded" under one 429).
var errorClasses = map[string]ErrorClass{
	convertor.EInvalid:      {Status: http.StatusBadRequest, Type: "invalid_request_error"},
	convertor.EUnauthorized: {Status: http.StatusUnauthorized, Type: "invalid_request_error", Code: "invalid_api_key"},
	// OpenAI answers a key that may not use a model with 403 and an
	// invalid_request_error; there is no separate permission type.
	convertor.EForbidden: {Status: http.StatusForbidden, Type: "invalid_request_error", Code: "permission_denied"},
	convertor.ENotFound:  {Status: http.StatusNotFound, Type: "invalid_request_error", Code: "model_not_found"},
	// OpenAI's rate-limit type names the exhausted limit ("requests" or
	// "tokens"); requests is the one a throttled call hits first.
	convertor.ERateLimited: {Status: http.StatusTooManyRequests, Type: "requests", Code: "rate_limit_exceeded", RetryAfter: rateLimitedRetryAfter},
	convertor.EQuota:       {Status: http.StatusTooManyRequests, Type: "insufficient_quota", Code: "insufficient_quota"},
	// A body over the limit is a client mistake the client must fix, so it
	// is a 400 that SDKs raise as BadRequestError rather than a bare 413.
	convertor.ETooLarge:    {Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "request_too_large"},
	convertor.EUnavailable: {Status: http.StatusServiceUnavailable, Type: "server_error", Code: "service_unavailable", RetryAfter: unavailableRetryAfter},
	convertor.ETimeout:     {Status: http.StatusGatewayTimeout, Type: "server_error", Code: "timeout"},
	convertor.EUpstream:    {Status: http.StatusBadGateway, Type: "server_error", Code: "upstream_error"},
	convertor.EInternal:    {Status: http.StatusInternalServerError, Type: "server_error"},
	convertor.ECanceled:    {Status: StatusClientClosedRequest, Type: "invalid_request_error", Code: "client_closed_request"},
	convertor.EConflict:    {Status: http.StatusConflict, Type: "invalid_request_error", Code: "conflict"},
}

// ErrorClassFor returns the wire form of a domain error code; unknown codes
// are internal errors, since only a bug produces them.
func ErrorClassFor(code string) ErrorClass {
	if c, ok := errorClasses[code]; ok {
		return c
	}
	return errorClasses[convertor.EInternal]
}

// RetryAfterer is implemented by errors that know when the caller may try
// again (a rate limiter that knows when its window frees up).
type RetryAfterer interface {
	RetryAfter() time.Duration
}

// ErrorTyper is implemented by errors that name their OpenAI error type
// themselves, as a rate limit does ("requests" or "tokens", after the
// limit that was exhausted).
type ErrorTyper interface {
	ErrorType() string
}

// Error is an error made ready for the wire.
type Error struct {
	// Status is the HTTP status.
	Status int
	// RetryAfter is the Retry-After hint; zero sends none.
	RetryAfter time.Duration
	// Body is the envelope to write.
	Body ErrorResponse
}

// NewError maps err onto the OpenAI error a client sees. The message of an
// internal error never carries the cause (it may hold internal detail);
// it names requestID instead, so an operator can find the logged cause.
func NewError(err error, requestID string) *Error {
	code := convertor.ErrorCode(err)
	class, known := errorClasses[code]
	if !known {
		// Only a bug produces an unknown code; treat it as one.
		code, class = convertor.EInternal, errorClasses[convertor.EInternal]
	}
	e := &Error{
		Status:     class.Status,
		RetryAfter: class.RetryAfter,
		Body:       ErrorResponse{Error: ErrorObject{Type: class.Type}},
	}
	var de *convertor.Error
	if code == convertor.EInternal || !errors.As(err, &de) {
		e.Body.Error.Message = internalMessage(requestID)
		e.Body.Error.Code = nullable(class.Code)
		return e
	}
	e.Body.Error.Message = de.Message
	e.Body.Error.Param = nullable(de.Param)
	if de.Reason != "" {
		e.Body.Error.Code = nullable(de.Reason)
	} else {
		e.Body.Error.Code = nullable(class.Code)
	}
	var ra RetryAfterer
	if errors.As(err, &ra) && ra.RetryAfter() > 0 {
		e.RetryAfter = ra.RetryAfter()
	}
	var et ErrorTyper
	if errors.As(err, &et) && et.ErrorType() != "" {
		e.Body.Error.Type = et.ErrorType()
	}
	return e
}

// RetryAfterSeconds returns the Retry-After header value, rounded up to
// whole seconds as the header requires, or 0 when none is sent.
func (e *Error) RetryAfterSeconds() int {
	if e.RetryAfter <= 0 {
		return 0
	}
	return int((e.RetryAfter + time.Second - 1) / time.Second)
}

// AppendJSON appends the envelope as JSON to dst.
func (e *Error) AppendJSON(dst []byte) []byte {
	// Marshal cannot fail: the envelope holds only strings.
	b, _ := json.Marshal(&e.Body)
	return append(dst, b...)
}

func internalMessage(requestID string) string {
	if requestID == "" {
		return "internal error"
	}
	return "internal error (request id " + requestID + ")"
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
