package gateway

import (
	"context"
	"time"

	"github.com/openai-api-convertor/convertor/gateway/bedrock"
)

// UsageRecord is what one request that reached Bedrock cost and how it
// ended, handed to a UsageSink once the response is complete.
type UsageRecord struct {
	// RequestID is the x-request-id of the response.
	RequestID string
	// KeyID identifies the API key; "" when keys are not required.
	KeyID string
	// Model is the name the client asked for; BedrockModelID what served it.
	Model          string
	BedrockModelID string
	// Time is when the request arrived.
	Time time.Time
	// Usage is Bedrock's count. A stream the client left before Bedrock's
	// metadata event reports what arrived (often nothing).
	Usage bedrock.TokenUsage
	// Status is the HTTP status sent; a stream that failed after its
	// headers keeps 200, and ErrorCode says what went wrong.
	Status int
	// ErrorCode is the domain error code, "" on success.
	ErrorCode string
	// Streamed reports a streamed response; Disconnected, a client that
	// left before its end.
	Streamed     bool
	Disconnected bool
	// TTFT is the time to the first streamed chunk; zero when not streamed.
	TTFT time.Duration
	// Latency is the time from receiving the request to the last byte.
	Latency time.Duration
}

// UsageSink receives one UsageRecord per request that reached Bedrock.
// It is called on the request's path, after the response, so it must not
// block: an implementation queues and returns.
type UsageSink interface {
	RecordUsage(ctx context.Context, r *UsageRecord)
}

// nopUsageSink drops records; usage events are emitted by a later sink.
type nopUsageSink struct{}

// RecordUsage implements UsageSink.
func (nopUsageSink) RecordUsage(context.Context, *UsageRecord) {}
