package convertor

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to exactly one HTTP status and OpenAI error type at
// the edge (gateway/openai/errors.go); nothing inside the product speaks HTTP.
const (
	EInvalid      = "invalid"      // the request is malformed or asks for what cannot be done
	EUnauthorized = "unauthorized" // no credentials, or credentials that are not valid
	EForbidden    = "forbidden"    // valid credentials that may not do this
	ENotFound     = "not_found"    // the model or resource does not exist
	ERateLimited  = "rate_limited" // a rate limit (ours or Bedrock's) refused the request
	EQuota        = "quota"        // a budget or quota is exhausted
	ETooLarge     = "too_large"    // the request body is larger than allowed
	EUnavailable  = "unavailable"  // a dependency (Bedrock, a store) cannot serve now
	ETimeout      = "timeout"      // the upstream did not answer in time
	EUpstream     = "upstream"     // the upstream failed in a way that is not the caller's fault
	EInternal     = "internal"     // a bug or an unexpected failure of our own
	ECanceled     = "canceled"     // the caller went away
	EConflict     = "conflict"     // the resource exists already or changed meanwhile
	EPrecondition = "precondition" // the resource changed since the caller read it (If-Match)
)

// Error is a domain error: a code the edge maps to a status, a message safe
// to show the caller, and optionally the request field at fault.
type Error struct {
	// Code is one of the E* constants.
	Code string
	// Message is shown to the caller as is, so it never contains secrets.
	Message string
	// Param names the request field at fault in OpenAI's dotted form
	// ("messages[2].content"); empty when no single field is to blame.
	Param string
	// Reason is a finer machine-readable cause sent as the OpenAI error
	// "code" (for example "invalid_api_key" or "context_length_exceeded");
	// empty means the default for Code.
	Reason string
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Param != "" {
		return fmt.Sprintf("%s: %s (param %s)", e.Code, e.Message, e.Param)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ParamErrorf returns an EInvalid *Error that blames the request field param.
func ParamErrorf(param, format string, args ...any) *Error {
	return &Error{Code: EInvalid, Param: param, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal
// for any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the caller-safe message of the first *Error in err's
// chain. Any other error's text may carry internal detail, so callers get a
// generic message instead; the cause belongs in the log.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
