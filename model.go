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
}

// capabilityTable is matched by substring against the Bedrock model id, in
// order, so more specific names come first. Figures are from Anthropic's
// model overview and Bedrock's model cards.
var capabilityTable = []struct {
	match string
	caps  Capabilities
}{
	{"claude-opus-4-6", Capabilities{Family: "claude-opus-4-6", MaxOutputTokens: 128000, DefaultMaxTokens: 16384, Thinking: ThinkingAdaptive, Effort: true, TemperatureXorTopP: true, Vision: true, StructuredOutput: true, DisableParallelToolUse: true}},
	{"claude-opus-4-5", Capabilities{Family: "claude-opus-4-5", MaxOutputTokens: 64000, DefaultMaxTokens: 16384, Thinking: ThinkingBudget, Effort: true, TemperatureXorTopP: true, Vision: true, StructuredOutput: true, DisableParallelToolUse: true}},
	{"claude-sonnet-4-5", Capabilities{Family: "claude-sonnet-4-5", MaxOutputTokens: 64000, DefaultMaxTokens: 16384, Thinking: ThinkingBudget, TemperatureXorTopP: true, Vision: true, StructuredOutput: true, DisableParallelToolUse: true}},
	{"claude-haiku-4-5", Capabilities{Family: "claude-haiku-4-5", MaxOutputTokens: 64000, DefaultMaxTokens: 16384, Thinking: ThinkingBudget, TemperatureXorTopP: true, Vision: true, StructuredOutput: true, DisableParallelToolUse: true}},
	{"claude-opus-4-1", Capabilities{Family: "claude-opus-4-1", MaxOutputTokens: 32000, DefaultMaxTokens: 16384, Thinking: ThinkingBudget, TemperatureXorTopP: true, Vision: true}},
	{"claude-opus-4", Capabilities{Family: "claude-opus-4", MaxOutputTokens: 32000, DefaultMaxTokens: 16384, Thinking: ThinkingBudget, Vision: true}},
	{"claude-sonnet-4", Capabilities{Family: "claude-sonnet-4", MaxOutputTokens: 64000, DefaultMaxTokens: 16384, Thinking: ThinkingBudget, Vision: true}},
	{"claude-3-7-sonnet", Capabilities{Family: "claude-3-7-sonnet", MaxOutputTokens: 64000, DefaultMaxTokens: 8192, Thinking: ThinkingBudget, Vision: true}},
	{"claude-3-5-haiku", Capabilities{Family: "claude-3-5-haiku", MaxOutputTokens: 8192, DefaultMaxTokens: 4096, Thinking: ThinkingNone, Vision: false}},
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
