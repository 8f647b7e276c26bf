package bedrock

import (
	"testing"

	"github.com/openai-api-convertor/convertor"
)

func TestCanonicalExceptionType(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/": "ThrottlingException",
		"aws.protocoltests#ValidationException":                                    "ValidationException",
		"modelStreamErrorException":                                                "ModelStreamErrorException",
		"AccessDeniedException":                                                    "AccessDeniedException",
	} {
		if got := canonicalExceptionType(in); got != want {
			t.Errorf("canonicalExceptionType(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAPIError_Domain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ, msg     string
		code, reason string
		retry        bool
	}{
		{ExceptionValidation, "prompt is too long: 210000 tokens > 200000 maximum", convertor.EInvalid, "context_length_exceeded", false},
		{ExceptionValidation, "messages: bad", convertor.EInvalid, "", false},
		{ExceptionThrottling, "slow down", convertor.ERateLimited, "rate_limit_exceeded", true},
		{ExceptionModelNotReady, "warming", convertor.EUnavailable, "", true},
		{ExceptionServiceUnavailable, "down", convertor.EUnavailable, "", true},
		{ExceptionModelTimeout, "slow", convertor.ETimeout, "", false},
		{ExceptionInternalServer, "oops", convertor.EUpstream, "", true},
		{ExceptionUnrecognizedClient, "The security token included in the request is invalid.", convertor.EUpstream, "", false},
	}
	for _, tt := range tests {
		e := &APIError{Type: tt.typ, Message: tt.msg, StatusCode: ExceptionStatus(tt.typ)}
		d := e.Domain()
		if d.Code != tt.code || d.Reason != tt.reason || e.Retryable() != tt.retry {
			t.Errorf("%s %q: domain %+v retryable %v, want %s/%q retryable %v", tt.typ, tt.msg, d, e.Retryable(), tt.code, tt.reason, tt.retry)
		}
	}
	if d := (&APIError{Type: ExceptionUnrecognizedClient, Message: "key AKIA... is invalid"}).Domain(); d.Message == "key AKIA... is invalid" {
		t.Errorf("credential errors must not pass Bedrock's message through: %q", d.Message)
	}
}

// TestAttempts_NoError: a call that succeeded reports no failed attempts
// and costs no allocation; the gateway asks after every call.
func TestAttempts_NoError(t *testing.T) {
	if got := Attempts(nil); got != 0 {
		t.Errorf("Attempts(nil) = %d, want 0", got)
	}
	if n := testing.AllocsPerRun(100, func() { _ = Attempts(nil) }); n != 0 {
		t.Errorf("Attempts(nil) allocates %v times, want 0", n)
	}
}
