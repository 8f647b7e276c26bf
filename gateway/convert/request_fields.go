package convert

import (
	"encoding/json"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
)

// modelRequestFields is what the converter sends in Converse's
// additionalModelRequestFields: fields of Anthropic's own request body
// that Converse has no field for, which Bedrock merges into the body it
// builds from the Converse request.
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#bedrock-runtime_Converse-request-additionalModelRequestFields
type modelRequestFields struct {
	Thinking   *thinkingField       `json:"thinking,omitempty"`
	ToolChoice *anthropicToolChoice `json:"tool_choice,omitempty"`
	// AnthropicBeta turns on Anthropic beta features Bedrock passes
	// through: the 1M-token context window (convertor.Context1MBeta).
	AnthropicBeta []string `json:"anthropic_beta,omitempty"`
}

// anthropicToolChoice carries Anthropic's tool_choice.disable_parallel_tool_use,
// which limits Claude to at most one tool call a turn (exactly one when a
// tool is forced).
// https://platform.claude.com/docs/en/agents-and-tools/tool-use/parallel-tool-use
//
// Bedrock merges it with the tool_choice it makes of toolConfig.toolChoice,
// field by field. With a toolConfig.toolChoice, the type comes from there
// and must not be repeated here: Bedrock refuses the pair ("The additional
// field tool_choice/type conflicts with the existing field
// toolConfig.toolChoice.tool"). Without one, Anthropic's tool_choice
// requires its type ("tool_choice.type: Field required"), so "auto" is
// sent here and no toolConfig.toolChoice at all.
type anthropicToolChoice struct {
	Type                   string `json:"type,omitempty"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use"`
}

// additionalFields returns the additionalModelRequestFields of the
// request, or nil when it needs none. tc is the request's toolConfig.
func (c *requestConverter) additionalFields(tc *bedrock.ToolConfig) (json.RawMessage, error) {
	f := modelRequestFields{Thinking: c.thinking.field()}
	if c.oneToolCall && tc != nil {
		f.ToolChoice = &anthropicToolChoice{DisableParallelToolUse: true}
		if tc.ToolChoice == nil {
			f.ToolChoice.Type = "auto"
		}
	}
	if c.req.Context1M {
		f.AnthropicBeta = []string{convertor.Context1MBeta}
	}
	if f.Thinking == nil && f.ToolChoice == nil && f.AnthropicBeta == nil {
		return nil, nil
	}
	return json.Marshal(f)
}
