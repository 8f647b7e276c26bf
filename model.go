package convertor

import "strings"

// ThinkingStyle says how a model takes extended thinking.
type ThinkingStyle int

// Thinking styles.
const (
	// ThinkingNone: the model has no extended thinking; requests for it are refused.
	ThinkingNone ThinkingStyle = iota
	// ThinkingBudget: thinking is enabled with an explicit budget_tokens
	// that must be below maxTokens (Claude 3.7 and the 4.x family).
	ThinkingBudget
	// ThinkingAdaptive: the model decides how much to think ("type":
	// "adaptive") and an effort level steers it; an explicit budget is
	// still accepted (Claude Opus 4.6).
	ThinkingAdaptive
)

// Capabilities is what a model can do and the limits it enforces. The
// converter uses it to fill defaults and to refuse what Bedrock would refuse
// with a less helpful message.
type Capabilities struct {
	// Family is the model family this entry matched, for messages and logs.
	Family string
	// MaxOutputTokens is the largest maxTokens the model accepts.
	MaxOutputTokens int
	// DefaultMaxTokens is sent when the client gives no limit, since
	// Converse otherwise applies a model default that is often small.
	DefaultMaxTokens int
	// Thinking is how the model takes extended thinking.
	Thinking ThinkingStyle
	// Effort reports whether the model accepts outputConfig.effort.
	Effort bool
	// TemperatureXorTopP is set for models that refuse temperature and
	// top_p in one request.
	TemperatureXorTopP bool
	// Vision reports whether the model takes image input.
	Vision bool
	// StructuredOutput reports whether the model takes
	// outputConfig.textFormat (JSON schema constrained output).
	StructuredOutput bool
	// DisableParallelToolUse reports whether the model takes Anthropic's
	// tool_choice.disable_parallel_tool_use through Converse's
	// additionalModelRequestFields, which limits it to one tool call a
	// turn (OpenAI's parallel_tool_calls false). Bedrock refused the
	// field for earlier Claude models.
	DisableParallelToolUse bool
	// CacheMinTokens is the smallest prompt prefix, in tokens, that a
	// cache point caches for the model (Bedrock's "minimum tokens per
	// cache checkpoint"; a smaller prefix is silently not cached, so an
	// automatic cache point there would be useless). 0 means the model
	// has no prompt caching on Bedrock: no cache points are sent, since
	// Bedrock refuses them.
	CacheMinTokens int
	// CacheTTL1h reports whether the model takes 1-hour cache points
	// (cachePoint.ttl "1h"); others cache for 5 minutes only.
	CacheTTL1h bool
	// Context1M reports whether the model takes the 1M-token context
	// window, asked for with the anthropic_beta flag Context1MBeta.
	Context1M bool
}

// Context1MBeta is the anthropic_beta flag, sent in Converse's
// additionalModelRequestFields, that opens the 1M-token context window of
// the models that have one (Capabilities.Context1M).
const Context1MBeta = "context-1m-2025-08-07"

// MaxCachePoints is the most cache points Bedrock takes in one request,
// counting system, tools and messages together.
const MaxCachePoints = 4

// Cache TTLs, as Converse's cachePoint.ttl and Bedrock's usage breakdown
// (cacheDetails[].ttl) spell them.
const (
	CacheTTL5m = "5m"
	CacheTTL1h = "1h"
	// CacheOff is the setting (per request or key) that turns prompt
	// caching off; it is never sent to Bedrock.
	CacheOff = "none"
)

// ValidCacheSetting reports whether s is a prompt-cache setting a request
// or key may carry: "" (no preference), "5m", "1h" or "none".
func ValidCacheSetting(s string) bool {
	switch s {
	case "", CacheTTL5m, CacheTTL1h, CacheOff:
		return true
	}
	return false
}

// capabilityTable is matched by substring against the Bedrock model id, in
// order, so more specific names come first. Figures are from Anthropic's
// model overview and Bedrock's model cards; the prompt-caching figures
// (minimum tokens per cache checkpoint, 1-hour TTL) from Bedrock's user
// guide, "Prompt caching for faster model inference", and Anthropic's
// prompt-caching page, as of 2025-12. Claude 3.5 Sonnet v2 cached only
// in a closed preview and Claude 3 Haiku not at all, so neither gets cache
// points; the 1M context window is Bedrock's for Claude Sonnet 4 and 4.5.
var capabilityTable = []struct {
	match string
	caps  Capabilities
}{
	{"claude-opus-4-6", Capabilities{Family: "claude-opus-4-6", MaxOutputTokens: 128000, DefaultMaxTokens: 16384, Thinking: ThinkingAdaptive, Effort: true, TemperatureXorTopP: true, Vision: true, StructuredOutput: true, DisableParallelToolUse: true, CacheMinTokens: 4096, CacheTTL1h: true}},
	{"claude-opus-4-5", Capabilities{Family: "claude-opus-4-5", MaxOutputTokens: 64000, DefaultMaxTokens: 16384, Thinking: ThinkingBudget, Effort: true, TemperatureXorTopP: true, Vision: true, StructuredOutput: true, DisableParallelToolUse: true, CacheMinTokens: 4096, CacheTTL1h: true}},
	{"claude-sonnet-4-5", Capabilities{Family: "claude-sonnet-4-5", MaxOutputTokens: 64000, DefaultMaxTokens: 16384, Thinking: ThinkingBudget, TemperatureXorTopP: true, Vision: true, StructuredOutput: true, DisableParallelToolUse: true, CacheMinTokens: 1024, CacheTTL1h: true, Context1M: true}},
	{"claude-haiku-4-5", Capabilities{Family: "claude-haiku-4-5", MaxOutputTokens: 64000, DefaultMaxTokens: 16384, Thinking: ThinkingBudget, TemperatureXorTopP: true, Vision: true, StructuredOutput: true, DisableParallelToolUse: true, CacheMinTokens: 4096, CacheTTL1h: true}},
	{"claude-opus-4-1", Capabilities{Family: "claude-opus-4-1", MaxOutputTokens: 32000, DefaultMaxTokens: 16384, Thinking: ThinkingBudget, TemperatureXorTopP: true, Vision: true, CacheMinTokens: 1024}},
	{"claude-opus-4", Capabilities{Family: "claude-opus-4", MaxOutputTokens: 32000, DefaultMaxTokens: 16384, Thinking: ThinkingBudget, Vision: true, CacheMinTokens: 1024}},
	{"claude-sonnet-4", Capabilities{Family: "claude-sonnet-4", MaxOutputTokens: 64000, DefaultMaxTokens: 16384, Thinking: ThinkingBudget, Vision: true, CacheMinTokens: 1024, Context1M: true}},
	{"claude-3-7-sonnet", Capabilities{Family: "claude-3-7-sonnet", MaxOutputTokens: 64000, DefaultMaxTokens: 8192, Thinking: ThinkingBudget, Vision: true, CacheMinTokens: 1024}},
	{"claude-3-5-haiku", Capabilities{Family: "claude-3-5-haiku", MaxOutputTokens: 8192, DefaultMaxTokens: 4096, Thinking: ThinkingNone, Vision: false, CacheMinTokens: 2048}},
	{"claude-3-5-sonnet", Capabilities{Family: "claude-3-5-sonnet", MaxOutputTokens: 8192, DefaultMaxTokens: 4096, Thinking: ThinkingNone, Vision: true}},
	{"claude-3-haiku", Capabilities{Family: "claude-3-haiku", MaxOutputTokens: 4096, DefaultMaxTokens: 4096, Thinking: ThinkingNone, Vision: true}},
}

// unknownCapabilities is used for ids the table does not know (a new model
// passed through, or an ARN): permissive, so Bedrock stays the judge. An
// application inference profile ARN hides a current model, which takes
// structured output.
var unknownCapabilities = Capabilities{Family: "unknown", MaxOutputTokens: 0, DefaultMaxTokens: 4096, Thinking: ThinkingBudget, Vision: true, StructuredOutput: true, DisableParallelToolUse: true}

// CapabilitiesFor returns the capabilities of a Bedrock model id,
// inference-profile id or ARN. MaxOutputTokens is 0 for unknown models,
// meaning no limit is checked before Bedrock.
func CapabilitiesFor(bedrockModelID string) Capabilities {
	id := strings.ToLower(bedrockModelID)
	for _, e := range capabilityTable {
		if strings.Contains(id, e.match) {
			return e.caps
		}
	}
	return unknownCapabilities
}
