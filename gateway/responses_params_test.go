package gateway

import (
	"reflect"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3/responses"
)

// The README's "Responses API parameters" table says what becomes of every
// request field of POST /v1/responses, with the outcomes of the chat
// table; TestREADME_ResponsesParameters keeps it true the same way.

// responsesParams is the Responses API table.
var responsesParams = paramAPI{
	section: "## Responses API parameters",
	path:    "/v1/responses",
	base:    `{"model":"claude-sonnet-4-5","input":"Hi"}`,
}

// responsesTools declares one function tool.
const responsesTools = `{"tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}]}`

// responsesCall is a conversation with a function call and its output.
const responsesCall = `{"input":[{"role":"user","content":"Weather?"},` +
	`{"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{}"},` +
	`{"type":"function_call_output","call_id":"call_1","output":"sunny"}]}`

// storedTurn is a response the server holds as resp_stored.
var storedTurn = &StoredResponse{ID: "resp_stored", Body: []byte(`{}`),
	Items: []byte(`[{"role":"user","content":"Earlier"},{"type":"message","role":"assistant","id":"msg_1","status":"completed","content":[{"type":"output_text","text":"Noted."}]}]`)}

var responsesSamples = map[string]map[string]paramSample{
	"model":        {"mapped": {with: `{"model":"claude-haiku-4-5"}`}},
	"input":        {"mapped": {with: `{"input":"Hello there"}`}},
	"instructions": {"mapped": {with: `{"instructions":"Be brief."}`}},
	"input message": {"mapped": {
		with: `{"input":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"},{"role":"user","content":"Again"}]}`}},
	"input[].content input_text": {"mapped": {with: `{"input":[{"role":"user","content":[{"type":"input_text","text":"Hi"},{"type":"input_text","text":"there"}]}]}`}},
	"input[].content input_image": {
		"mapped":  {with: `{"input":[{"role":"user","content":[{"type":"input_text","text":"Hi"},{"type":"input_image","image_url":"` + pngDataURL + `"}]}]}`},
		"refused": {with: `{"input":[{"role":"user","content":[{"type":"input_image","file_id":"file-1"}]}]}`},
	},
	"input[].content input_file": {"refused": {with: `{"input":[{"role":"user","content":[{"type":"input_file","file_id":"file-1"}]}]}`}},
	"input function_call":        {"mapped": {base: responsesTools + `|{"input":[{"role":"user","content":"Weather?"}]}`, with: responsesCall}},
	"input function_call_output": {"mapped": {base: responsesTools + `|{"input":[{"role":"user","content":"Weather?"}]}`, with: responsesCall}},
	"input reasoning":            {"ignored": {base: `{"input":[{"role":"user","content":"Q"},{"role":"assistant","content":"A"},{"role":"user","content":"Hi"}]}`, with: `{"input":[{"role":"user","content":"Q"},{"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"I thought."}]},{"role":"assistant","content":"A"},{"role":"user","content":"Hi"}]}`}},
	"input item_reference":       {"refused": {with: `{"input":[{"type":"item_reference","id":"msg_1"}]}`}},
	"previous_response_id":       {"mapped": {with: `{"previous_response_id":"resp_stored"}`, stored: storedTurn}},
	"store":                      {"mapped": {with: `{"store":false}`}},
	"max_output_tokens":          {"mapped": {with: `{"max_output_tokens":100}`}},
	"temperature":                {"mapped": {with: `{"temperature":0.3}`}, "adjusted": {with: `{"temperature":1.7}`}},
	"top_p":                      {"mapped": {with: `{"top_p":0.5}`}, "adjusted": {base: `{"temperature":0.3}`, with: `{"top_p":0.5}`}},
	"stream":                     {"mapped": {with: `{"stream":true}`}},
	"stream_options":             {"ignored": {base: `{"stream":true}`, with: `{"stream_options":{"include_obfuscation":false}}`}},
	"tools":                      {"mapped": {with: responsesTools}, "refused": {with: `{"tools":[{"type":"web_search"}]}`}},
	"tool_choice":                {"mapped": {base: responsesTools, with: `{"tool_choice":"required"}`}, "refused": {base: responsesTools, with: `{"tool_choice":{"type":"file_search"}}`}},
	"parallel_tool_calls":        {"mapped": {base: responsesTools, with: `{"parallel_tool_calls":false}`}, "refused": {base: responsesTools, with: `{"model":"claude-3-5-haiku","parallel_tool_calls":false}`}},
	"reasoning":                  {"mapped": {with: `{"reasoning":{"effort":"low","summary":"auto"}}`}},
	"text":                       {"mapped": {with: `{"text":{"format":{"type":"json_schema","name":"r","schema":{"type":"object","properties":{"a":{"type":"string"}}}}}}`}},
	"text.verbosity":             {"ignored": {with: `{"text":{"verbosity":"medium"}}`}, "adjusted": {with: `{"text":{"verbosity":"low"}}`}},
	"thinking":                   {"mapped": {with: `{"thinking":{"type":"enabled","budget_tokens":2048}}`}},
	"user":                       {"mapped": {with: `{"user":"alice"}`}},
	"safety_identifier":          {"mapped": {with: `{"safety_identifier":"u-42"}`}},
	"metadata":                   {"mapped": {with: `{"metadata":{"team":"a"}}`}},
	"include":                    {"ignored": {with: `{"include":["reasoning.encrypted_content"]}`}},
	"truncation":                 {"ignored": {with: `{"truncation":"disabled"}`}, "refused": {with: `{"truncation":"auto"}`}},
	"top_logprobs":               {"ignored": {with: `{"top_logprobs":0}`}, "refused": {with: `{"top_logprobs":3}`}},
	"service_tier":               {"ignored": {with: `{"service_tier":"auto"}`}},
	"prompt_cache_key":           {"ignored": {with: `{"prompt_cache_key":"tenant-7"}`}},
	"prompt_cache_retention":     {"ignored": {with: `{"prompt_cache_retention":"24h"}`}},
	"prompt_cache_options":       {"ignored": {with: `{"prompt_cache_options":{"mode":"explicit","ttl":"1h"}}`}},
	"access_programs":            {"ignored": {with: `{"access_programs":{"cyber":"standard"}}`}},
	"image":                      {"ignored": {with: `{"image":{"context_compression":"auto"}}`}},
	"background":                 {"ignored": {with: `{"background":false}`}, "refused": {with: `{"background":true}`}},
	"conversation":               {"refused": {with: `{"conversation":"conv_1"}`}},
	"prompt":                     {"refused": {with: `{"prompt":{"id":"pmpt_1"}}`}},
	"max_tool_calls":             {"refused": {with: `{"max_tool_calls":3}`}},
	"context_management":         {"refused": {with: `{"context_management":[{"type":"compaction","compact_threshold":1000}]}`}},
	"moderation":                 {"refused": {with: `{"moderation":{"input":true}}`}},
}

func TestREADME_ResponsesParameters(t *testing.T) {
	t.Parallel()
	checkParamTable(t, responsesParams, responsesSamples, responsesRequestFields())
}

// responsesRequestFields are the fields the Responses table must list:
// every request field of the official SDK's ResponseNewParams, stream and
// the extra-body thinking, each input item type the gateway reads or
// refuses by name, and each input content part type.
func responsesRequestFields() []string {
	fields := []string{"stream", "thinking"}
	typ := reflect.TypeFor[responses.ResponseNewParams]()
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			fields = append(fields, name)
		}
	}
	for _, item := range []string{"message", "function_call", "function_call_output", "reasoning", "item_reference"} {
		fields = append(fields, "input "+item)
	}
	for _, part := range []string{"input_text", "input_image", "input_file"} {
		fields = append(fields, "input[].content "+part)
	}
	return fields
}
