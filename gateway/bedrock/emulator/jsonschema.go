package emulator

import (
	"encoding/json"
	"strings"

	"github.com/openai-api-convertor/convertor/gateway/bedrock"
)

// maxSchemaDepth bounds the instance built for a schema, so a recursive or
// absurdly deep schema still yields an answer.
const maxSchemaDepth = 16

// structuredReply returns the JSON a model constrained by req's output
// format would answer: an instance of the schema with every property
// present, as Bedrock's structured output guarantees a conforming document.
// ok is false when the request has no JSON schema output format.
func structuredReply(req *bedrock.ConverseRequest) (string, bool) {
	oc := req.OutputConfig
	if oc == nil || oc.TextFormat == nil || oc.TextFormat.Structure.JSONSchema == nil {
		return "", false
	}
	var schema map[string]any
	if err := json.Unmarshal([]byte(oc.TextFormat.Structure.JSONSchema.Schema), &schema); err != nil {
		return "", false
	}
	b, err := json.Marshal(schemaInstance(schema, 0))
	if err != nil {
		return "", false
	}
	return string(b), true
}

// asksForJSON reports whether the system prompt asks for a JSON object, as
// the gateway's json_object response format does.
func asksForJSON(req *bedrock.ConverseRequest) bool {
	for _, s := range req.System {
		if s.Text != nil && strings.Contains(strings.ToLower(*s.Text), "json object") {
			return true
		}
	}
	return false
}

// schemaInstance builds a value that satisfies the common JSON Schema
// keywords: const, enum, anyOf/oneOf/allOf (the first), type, properties,
// items with minItems, minimum, minLength.
func schemaInstance(s map[string]any, depth int) any {
	if depth > maxSchemaDepth {
		return nil
	}
	if v, ok := s["const"]; ok {
		return v
	}
	if e, ok := s["enum"].([]any); ok && len(e) > 0 {
		return e[0]
	}
	for _, k := range []string{"anyOf", "oneOf", "allOf"} {
		if alts, ok := s[k].([]any); ok && len(alts) > 0 {
			if m, ok := alts[0].(map[string]any); ok {
				return schemaInstance(m, depth+1)
			}
		}
	}
	typ := s["type"]
	if list, ok := typ.([]any); ok && len(list) > 0 {
		typ = list[0]
	}
	switch typ {
	case "object":
		out := map[string]any{}
		props, _ := s["properties"].(map[string]any)
		for name, p := range props {
			if m, ok := p.(map[string]any); ok {
				out[name] = schemaInstance(m, depth+1)
			}
		}
		return out
	case "array":
		n := 1
		if v, ok := s["minItems"].(float64); ok {
			n = int(v)
		}
		items, _ := s["items"].(map[string]any)
		out := make([]any, 0, n)
		for range min(n, 100) {
			out = append(out, schemaInstance(items, depth+1))
		}
		return out
	case "string":
		str := "synthetic"
		if v, ok := s["minLength"].(float64); ok && int(v) > len(str) {
			str += strings.Repeat("x", int(v)-len(str))
		}
		return str
	case "integer", "number":
		if v, ok := s["minimum"].(float64); ok {
			return v
		}
		return 0
	case "boolean":
		return false
	case "null":
		return nil
	}
	if _, ok := s["properties"]; ok {
		return schemaInstance(map[string]any{"type": "object", "properties": s["properties"]}, depth)
	}
	return nil
}

// chosenTool picks the tool a model would call when the script names none:
// the forced one (toolChoice tool), else the first whose name or
// description shares a word with the prompt, else — when any tool must be
// called (toolChoice any) — the first. ok is false when the model would
// answer in text: no tools, a turn of tool results, or auto with no match.
func chosenTool(req *bedrock.ConverseRequest, prompt string) (bedrock.ToolSpec, bool) {
	tc := req.ToolConfig
	if tc == nil || len(tc.Tools) == 0 || len(req.Messages) == 0 || hasToolResult(req.Messages[len(req.Messages)-1]) {
		return bedrock.ToolSpec{}, false
	}
	var specs []bedrock.ToolSpec
	for _, t := range tc.Tools {
		if t.ToolSpec != nil {
			specs = append(specs, *t.ToolSpec)
		}
	}
	if len(specs) == 0 {
		return bedrock.ToolSpec{}, false
	}
	if tc.ToolChoice != nil && tc.ToolChoice.Tool != nil {
		for _, s := range specs {
			if s.Name == tc.ToolChoice.Tool.Name {
				return s, true
			}
		}
	}
	words := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(prompt), notWordRune) {
		if len(w) > 3 {
			words[w] = true
		}
	}
	for _, s := range specs {
		for _, w := range strings.FieldsFunc(strings.ToLower(s.Name+" "+s.Description), notWordRune) {
			if words[w] {
				return s, true
			}
		}
	}
	if tc.ToolChoice != nil && tc.ToolChoice.Any != nil {
		return specs[0], true
	}
	return bedrock.ToolSpec{}, false
}

func notWordRune(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
}

// toolArguments builds a call's input from the tool's schema.
func toolArguments(spec bedrock.ToolSpec) json.RawMessage {
	var schema map[string]any
	if err := json.Unmarshal(spec.InputSchema.JSON, &schema); err != nil {
		return json.RawMessage("{}")
	}
	v, ok := schemaInstance(schema, 0).(map[string]any)
	if !ok {
		return json.RawMessage("{}")
	}
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage("{}")
	}
	return b
}
