package convert

import (
	"bytes"
	"encoding/json"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

// emptyParameters is the schema of a function declared without parameters;
// Claude requires an object schema for every tool.
var emptyParameters = json.RawMessage(`{"type":"object","properties":{}}`)

// toolConfig converts tools and tool_choice. It returns nil when no tools
// are to be offered: with no tools, or with tool_choice "none".
//
// Converse has no "none" choice, and sending the tools with "auto" would
// let Claude call them against the client's wish, so "none" sends no
// toolConfig at all. Bedrock then refuses toolUse and toolResult blocks in
// the history, which the caller therefore writes as text (see flatten).
func (c *requestConverter) toolConfig() (*bedrock.ToolConfig, error) {
	req := c.req
	if len(req.Tools) > 0 && !c.opts.Features.ToolUse {
		return nil, convertor.ParamErrorf("tools", "tool use is disabled on this gateway")
	}
	tools := make([]bedrock.Tool, 0, len(req.Tools))
	names := make(map[string]bool, len(req.Tools))
	for i := range req.Tools {
		spec, err := c.toolSpec(i, &req.Tools[i])
		if err != nil {
			return nil, err
		}
		if names[spec.Name] {
			return nil, convertor.ParamErrorf(indexParam("tools", i)+".function.name", "tool name %q is declared twice", spec.Name)
		}
		names[spec.Name] = true
		tools = append(tools, bedrock.Tool{ToolSpec: spec})
	}
	choice, err := c.toolChoice(names)
	if err != nil {
		return nil, err
	}
	if len(tools) == 0 || (req.ToolChoice != nil && req.ToolChoice.Mode == "none") {
		return nil, nil
	}
	if p := req.ParallelToolCalls; p != nil && !*p {
		switch {
		case c.caps.DisableParallelToolUse:
			// Sent as Anthropic's disable_parallel_tool_use (see
			// anthropicToolChoice), whose "auto" type then stands for
			// the toolConfig.toolChoice auto would be.
			c.oneToolCall = true
			if choice.Auto != nil {
				choice = bedrock.ToolChoice{}
			}
		case choice.Tool == nil:
			// The model cannot take the field: refused rather than
			// ignored, since Claude may call several tools at once. A
			// forced function is let through: Claude answers a forced
			// tool_choice with a call of that one tool.
			return nil, convertor.ParamErrorf("parallel_tool_calls", "parallel_tool_calls=false cannot be honoured on Bedrock for this model (%s): it may call several tools in one turn; omit the field, force one function with tool_choice, or use a Claude 4.5 model or later", c.caps.Family)
		}
	}
	tc := &bedrock.ToolConfig{Tools: tools}
	if choice != (bedrock.ToolChoice{}) {
		tc.ToolChoice = &choice
	}
	return tc, nil
}

// toolSpec converts tools[i].
func (c *requestConverter) toolSpec(i int, t *openai.Tool) (*bedrock.ToolSpec, error) {
	param := indexParam("tools", i)
	if t.Type != "function" {
		return nil, convertor.ParamErrorf(param+".type", "tool type must be \"function\", not %q", t.Type)
	}
	f := &t.Function
	switch {
	case f.Name == "":
		return nil, convertor.ParamErrorf(param+".function.name", "function name is required")
	case !validName(f.Name):
		return nil, convertor.ParamErrorf(param+".function.name", "function name %q must be 1 to 64 letters, digits, underscores or hyphens", f.Name)
	}
	schema, err := parametersSchema(param+".function.parameters", f.Parameters)
	if err != nil {
		return nil, err
	}
	spec := &bedrock.ToolSpec{Name: f.Name, Description: f.Description, InputSchema: bedrock.InputSchema{JSON: schema}}
	// strict is passed on where Bedrock can enforce the schema. Elsewhere
	// it is dropped: Claude still receives the schema and follows it, and
	// refusing would break clients (agent SDKs) that set strict by default.
	if f.Strict != nil && c.caps.StructuredOutput {
		spec.Strict = f.Strict
	}
	return spec, nil
}

// parametersSchema checks a function's parameters: a JSON Schema object
// describing an object, as Claude requires of tool input. A schema without
// a type gets "type":"object", which is what every tool input is.
func parametersSchema(param string, raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return emptyParameters, nil
	}
	var probe struct {
		Type json.RawMessage `json:"type"`
	}
	if raw[0] != '{' || json.Unmarshal(raw, &probe) != nil {
		return nil, convertor.ParamErrorf(param, "parameters must be a JSON Schema object")
	}
	if probe.Type == nil {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil {
			return nil, convertor.ParamErrorf(param, "parameters must be a JSON Schema object")
		}
		fields["type"] = json.RawMessage(`"object"`)
		return json.Marshal(fields)
	}
	if !bytes.Equal(probe.Type, []byte(`"object"`)) {
		return nil, convertor.ParamErrorf(param, "parameters must describe an object (\"type\": \"object\"): tool arguments are always a JSON object")
	}
	// Valid JSON as read; encoding/json compacts it when the request is
	// marshalled.
	return raw, nil
}

// toolChoice converts tool_choice against the declared tool names. The
// zero ToolChoice means none was given, and Bedrock's default, auto, is
// also OpenAI's.
func (c *requestConverter) toolChoice(names map[string]bool) (bedrock.ToolChoice, error) {
	tc := c.req.ToolChoice
	if tc == nil {
		return bedrock.ToolChoice{}, nil
	}
	switch tc.Mode {
	case "none":
		return bedrock.ToolChoice{}, nil
	case "auto":
		return bedrock.ToolChoice{Auto: &struct{}{}}, nil
	case "required":
		if len(names) == 0 {
			return bedrock.ToolChoice{}, convertor.ParamErrorf("tool_choice", "tool_choice \"required\" needs tools")
		}
		if c.thinking.on {
			return bedrock.ToolChoice{}, convertor.ParamErrorf("tool_choice", "tool_choice \"required\" cannot be combined with extended thinking: Claude only takes \"auto\" or \"none\" while thinking")
		}
		return bedrock.ToolChoice{Any: &struct{}{}}, nil
	case "function":
		switch {
		case tc.Name == "":
			return bedrock.ToolChoice{}, convertor.ParamErrorf("tool_choice.function.name", "tool_choice function name is required")
		case !names[tc.Name]:
			return bedrock.ToolChoice{}, convertor.ParamErrorf("tool_choice.function.name", "tool_choice names %q, which is not one of the tools", tc.Name)
		case c.thinking.on:
			return bedrock.ToolChoice{}, convertor.ParamErrorf("tool_choice", "forcing a function with tool_choice cannot be combined with extended thinking: Claude only takes \"auto\" or \"none\" while thinking")
		}
		return bedrock.ToolChoice{Tool: &bedrock.SpecificTool{Name: tc.Name}}, nil
	default:
		return bedrock.ToolChoice{}, convertor.ParamErrorf("tool_choice", "tool_choice must be \"none\", \"auto\", \"required\" or {\"type\":\"function\",\"function\":{\"name\":...}}, not %q", tc.Mode)
	}
}
