package emulator

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
)

// toolChoiceKeys are the keys of Anthropic's tool_choice.
var toolChoiceKeys = []string{"type", "name", "disable_parallel_tool_use"}

// toolChoiceTypes are the types of Anthropic's tool_choice.
var toolChoiceTypes = []string{"auto", "any", "tool", "none"}

// validateToolChoice checks additionalModelRequestFields.tool_choice, which
// Bedrock merges field by field into the tool_choice it makes of
// toolConfig.toolChoice, and the merged choice against thinking. The rules
// and messages are Bedrock's and Anthropic's: a type in both places
// conflicts, a tool_choice needs a type from one of them and tools to
// choose from, and models before Claude 4.5 refuse
// disable_parallel_tool_use.
func validateToolChoice(req *bedrock.ConverseRequest, caps convertor.Capabilities, fields requestFields) string {
	conv := converseChoice(req)
	raw := fields.ToolChoice
	if raw == nil {
		if fields.thinkingOn() && (conv == "any" || conv == "tool") {
			return modelErrors + "Thinking may not be enabled when tool_choice forces tool use."
		}
		return ""
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return modelErrors + "tool_choice: Input should be a valid dictionary or object to extract fields from"
	}
	for k := range m {
		if !slices.Contains(toolChoiceKeys, k) {
			return modelErrors + "tool_choice." + k + ": Extra inputs are not permitted"
		}
	}
	if _, ok := m["disable_parallel_tool_use"]; ok && !caps.DisableParallelToolUse {
		return "Malformed input request: #/tool_choice: extraneous key [disable_parallel_tool_use] is not permitted, please reformat your input and try again."
	}
	if req.ToolConfig == nil {
		return modelErrors + "tool_choice: `tool_choice` may only be specified while providing tools."
	}
	var disable bool
	if v, ok := m["disable_parallel_tool_use"]; ok && json.Unmarshal(v, &disable) != nil {
		return modelErrors + "tool_choice.disable_parallel_tool_use: Input should be a valid boolean"
	}
	typ := conv
	for _, k := range []string{"type", "name"} {
		if _, ok := m[k]; ok && conv != "" {
			return fmt.Sprintf("The additional field tool_choice/%s conflicts with the existing field toolConfig.toolChoice.%s. Remove tool_choice/%s and try again.", k, conv, k)
		}
	}
	if v, ok := m["type"]; ok {
		if json.Unmarshal(v, &typ) != nil || !slices.Contains(toolChoiceTypes, typ) {
			return modelErrors + fmt.Sprintf("tool_choice: Input tag %s found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'", v)
		}
	}
	switch {
	case typ == "":
		return modelErrors + "tool_choice.type: Field required"
	case conv != "":
		// The type and name are toolConfig.toolChoice's, checked with it.
	case typ == "tool":
		var name string
		if v, ok := m["name"]; !ok || json.Unmarshal(v, &name) != nil {
			return modelErrors + "tool_choice.tool.name: Field required"
		}
		if !hasTool(req.ToolConfig, name) {
			return modelErrors + fmt.Sprintf("tool_choice: Tool '%s' not found in 'tools'", name)
		}
	case m["name"] != nil:
		return modelErrors + "tool_choice." + typ + ".name: Extra inputs are not permitted"
	}
	if fields.thinkingOn() && (typ == "any" || typ == "tool") {
		return modelErrors + "Thinking may not be enabled when tool_choice forces tool use."
	}
	return ""
}

// converseChoice names the member of toolConfig.toolChoice that is set:
// "auto", "any", "tool", or "" for none.
func converseChoice(req *bedrock.ConverseRequest) string {
	if req.ToolConfig == nil || req.ToolConfig.ToolChoice == nil {
		return ""
	}
	switch c := req.ToolConfig.ToolChoice; {
	case c.Tool != nil:
		return "tool"
	case c.Any != nil:
		return "any"
	case c.Auto != nil:
		return "auto"
	}
	return ""
}

func hasTool(tc *bedrock.ToolConfig, name string) bool {
	for _, t := range tc.Tools {
		if t.ToolSpec != nil && t.ToolSpec.Name == name {
			return true
		}
	}
	return false
}

// oneToolCall reports whether the request limits the model to one tool
// call a turn. Only valid requests reach it.
func (f requestFields) oneToolCall() bool {
	var tc struct {
		Disable bool `json:"disable_parallel_tool_use"`
	}
	return f.ToolChoice != nil && json.Unmarshal(f.ToolChoice, &tc) == nil && tc.Disable
}
