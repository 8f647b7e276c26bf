// Package convert maps OpenAI chat requests onto Bedrock Converse requests
// and Converse responses and stream events back onto OpenAI responses and
// chunks. It is pure: no I/O, no clock, no random ids, no globals; what it
// needs from the world arrives in Options and Meta, so output is byte-stable
// and golden-testable.
package convert

import (
	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
)

// Features are the operator switches (ENABLE_VISION, ENABLE_TOOL_USE,
// ENABLE_EXTENDED_THINKING). A request that needs a switched-off feature is
// refused with EInvalid rather than silently degraded.
type Features struct {
	Vision   bool
	ToolUse  bool
	Thinking bool
}

// AllFeatures has every feature on, the default.
var AllFeatures = Features{Vision: true, ToolUse: true, Thinking: true}

// Options carry what ChatRequestToConverse needs beyond the request itself.
type Options struct {
	// Capabilities of the target model decide defaults and refusals.
	Capabilities convertor.Capabilities
	// Features are the operator switches.
	Features Features
	// Images holds the blocks of https image URLs, keyed by URL. An https
	// URL missing here is refused: fetching is I/O, not conversion, and
	// only done when enabled. The converted request refers to these blocks
	// rather than to copies, so they may be filled in after conversion:
	// the gateway converts with empty blocks, admits the request on its
	// estimate (which needs the number of images, not their bytes), and
	// only then downloads them.
	Images map[string]*bedrock.ImageBlock
	// Reasoning holds the signed reasoning blocks of earlier assistant
	// turns keyed by tool call id. OpenAI clients do not echo them, yet
	// Bedrock requires them with tool results when thinking is on.
	Reasoning map[string][]bedrock.ContentBlock
	// StrictParams refuses sampling values Claude does not take (see
	// Adjustment) with EInvalid instead of adjusting them.
	StrictParams bool
}

// Meta is what the OpenAI response carries that Bedrock does not return.
type Meta struct {
	// ID is the completion id ("chatcmpl-…").
	ID string
	// Model is echoed as the response model: Bedrock returns no model
	// field, and clients expect the name they asked for.
	Model string
	// Created is the Unix time of the request.
	Created int64
	// IncludeUsage mirrors stream_options.include_usage.
	IncludeUsage bool
}
