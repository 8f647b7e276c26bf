package adminapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"

	"github.com/openai-api-convertor/convertor"
)

// Error is the body of every error response of the admin API: RFC 9457
// problem details (title, status, detail) with the product's error code
// and, when single fields are at fault, where they are. Scripts branch on
// Code; people read Detail.
type Error struct {
	Status int    `json:"status" doc:"HTTP status code"`
	Title  string `json:"title" doc:"Short summary of the status"`
	Detail string `json:"detail" doc:"What went wrong, safe to show"`
	// Code is the product's error code: invalid, unauthorized, forbidden,
	// not_found, conflict, precondition, unavailable, internal, ...
	Code string `json:"code" doc:"Machine-readable error code (invalid, unauthorized, forbidden, not_found, conflict, precondition, unavailable, internal, ...)"`
	// Errors locate the fields at fault ("body.rpm", "query.tz").
	Errors    []*huma.ErrorDetail `json:"errors,omitempty" doc:"The request fields at fault"`
	RequestID string              `json:"request_id,omitempty" doc:"The request's id, also in the X-Request-Id header"`
}

// Error implements the error interface.
func (e *Error) Error() string { return e.Detail }

// GetStatus implements huma.StatusError.
func (e *Error) GetStatus() int { return e.Status }

// ContentType implements huma.ContentTypeFilter: errors are problem details.
func (e *Error) ContentType(ct string) string {
	if ct == "application/json" {
		return "application/problem+json"
	}
	return ct
}

// statusOf maps each domain error code to its HTTP status; the admin API
// is the only place that does.
var statusOf = map[string]int{
	convertor.EInvalid:      http.StatusBadRequest,
	convertor.EUnauthorized: http.StatusUnauthorized,
	convertor.EForbidden:    http.StatusForbidden,
	convertor.ENotFound:     http.StatusNotFound,
	convertor.EConflict:     http.StatusConflict,
	convertor.EPrecondition: http.StatusPreconditionFailed,
	convertor.ETooLarge:     http.StatusRequestEntityTooLarge,
	convertor.ERateLimited:  http.StatusTooManyRequests,
	convertor.EQuota:        http.StatusTooManyRequests,
	convertor.EUnavailable:  http.StatusServiceUnavailable,
	convertor.ETimeout:      http.StatusGatewayTimeout,
	convertor.EUpstream:     http.StatusBadGateway,
	convertor.ECanceled:     http.StatusServiceUnavailable,
	convertor.EInternal:     http.StatusInternalServerError,
}

// codeOf is the reverse for errors huma raises itself (validation, body
// parsing, unknown content types) and for statuses written directly.
func codeOf(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return convertor.EInvalid
	case http.StatusUnauthorized:
		return convertor.EUnauthorized
	case http.StatusForbidden:
		return convertor.EForbidden
	case http.StatusNotFound:
		return convertor.ENotFound
	case http.StatusConflict:
		return convertor.EConflict
	case http.StatusPreconditionFailed:
		return convertor.EPrecondition
	case http.StatusRequestEntityTooLarge:
		return convertor.ETooLarge
	case http.StatusServiceUnavailable:
		return convertor.EUnavailable
	case http.StatusGatewayTimeout:
		return convertor.ETimeout
	}
	if status < 500 {
		return "client_error"
	}
	return convertor.EInternal
}

// requiredProperty is huma's message for a missing field, which it
// locates at the enclosing object.
var requiredProperty = regexp.MustCompile(`^expected required property (\S+) to be present$`)

// installErrors makes huma build every error as an *Error. Huma answers
// a request that fails validation with 422; the admin API answers every
// bad request with 400, the status its clients (and the OpenAI side of the
// product) use for it. The hook is package-wide in huma; this package is
// the only user of huma in the process.
var installErrors = sync.OnceFunc(func() {
	huma.NewErrorWithContext = func(hctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
		if status == http.StatusUnprocessableEntity {
			status = http.StatusBadRequest
		}
		e := &Error{Status: status, Title: http.StatusText(status), Detail: msg, Code: codeOf(status)}
		for _, err := range errs {
			if err == nil {
				continue
			}
			var d huma.ErrorDetailer
			if errors.As(err, &d) {
				detail := *d.ErrorDetail()
				// Name the missing field itself, not its object.
				if m := requiredProperty.FindStringSubmatch(detail.Message); m != nil && detail.Location != "" {
					detail.Location += "." + m[1]
					detail.Value = nil
				}
				e.Errors = append(e.Errors, &detail)
			} else {
				e.Errors = append(e.Errors, &huma.ErrorDetail{Message: err.Error()})
			}
		}
		if len(e.Errors) > 0 && (msg == "validation failed" || msg == "") {
			e.Detail = summarize(e.Errors)
		}
		if hctx != nil {
			e.RequestID = requestIDFrom(hctx.Context())
		}
		return e
	}
	huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
		return huma.NewErrorWithContext(nil, status, msg, errs...)
	}
})

// summarize turns validation details into one sentence naming the fields,
// so that a person reading only Detail knows what to fix.
func summarize(ds []*huma.ErrorDetail) string {
	parts := make([]string, 0, len(ds))
	for _, d := range ds {
		if d.Location != "" {
			parts = append(parts, d.Location+": "+d.Message)
		} else {
			parts = append(parts, d.Message)
		}
	}
	return "invalid request: " + strings.Join(parts, "; ")
}

// fault builds the response to a handler's error. Domain errors keep their
// caller-safe message and name their field; any other error is a bug or an
// outage whose cause goes to the log, never to the caller.
func fault(ctx context.Context, log *slog.Logger, err error) *Error {
	code := convertor.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	e := &Error{Status: status, Title: http.StatusText(status), Code: code, Detail: convertor.ErrorMessage(err), RequestID: requestIDFrom(ctx)}
	var de *convertor.Error
	if errors.As(err, &de) && de.Param != "" {
		e.Errors = []*huma.ErrorDetail{{Message: de.Message, Location: location(de.Param)}}
	}
	if status >= 500 {
		log.Error("admin request failed", "request_id", e.RequestID, "code", code, "error", err)
		if code == convertor.EInternal {
			e.Detail = "internal error (request " + e.RequestID + ")"
		}
	}
	return e
}

// location qualifies a field name the way huma names request fields: a
// bare name is a body field.
func location(param string) string {
	for _, p := range []string{"body.", "query.", "path.", "header."} {
		if strings.HasPrefix(param, p) {
			return param
		}
	}
	return "body." + param
}
