package gateway

import "github.com/openai-api-convertor/convertor"

// AnonymousKeyID is the key id of usage when REQUIRE_API_KEY=false.
const AnonymousKeyID = "anonymous"

// UsageSink receives one usage event per request that reached Bedrock or
// was refused by a rate limit or budget. It is called after the response,
// so it must not block: an implementation queues and returns
// (events.Emitter does).
type UsageSink interface {
	Emit(ev *convertor.UsageEvent)
}

// nopUsageSink drops events, for a gateway without an events bus.
type nopUsageSink struct{}

// Emit implements UsageSink.
func (nopUsageSink) Emit(*convertor.UsageEvent) {}
