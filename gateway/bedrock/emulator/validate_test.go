package emulator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/openai-api-convertor/convertor/gateway/bedrock/emulator"
)

// post sends a raw Converse body and returns status, exception type and message.
func post(t *testing.T, base, modelID, body string) (int, string, string) {
	t.Helper()
	resp, err := http.Post(base+"/model/"+url.PathEscape(modelID)+"/converse", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var e struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(raw, &e)
	typ, _, _ := strings.Cut(resp.Header.Get("X-Amzn-Errortype"), ":")
	return resp.StatusCode, typ, e.Message
}

// TestEmulator_Validate checks the rules Bedrock enforces, each refused
// with a ValidationException whose message names the problem.
func TestEmulator_Validate(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(emulator.New(emulator.Options{}))
	t.Cleanup(srv.Close)
	const user = `{"role":"user","content":[{"text":"hi"}]}`
	const assistant = `{"role":"assistant","content":[{"text":"hello"}]}`
	const tools = `"toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{"type":"object"}}}}]}`
	const toolUse = `{"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"f","input":{}}}]}`
	const toolResult = `{"role":"user","content":[{"toolResult":{"toolUseId":"t1","content":[{"text":"ok"}]}}]}`
	tests := []struct {
		name, model, body, want string
	}{
		{"UnknownModel", "anthropic.claude-nonexistent-v1:0", `{"messages":[` + user + `]}`, "The provided model identifier is invalid."},
		{"Empty", sonnet, `{"messages":[]}`, "must start with a user message"},
		{"FirstAssistant", sonnet, `{"messages":[` + assistant + `]}`, "must start with a user message"},
		{"NoAlternation", sonnet, `{"messages":[` + user + `,` + user + `]}`, "must alternate between user and assistant"},
		{"BlankText", sonnet, `{"messages":[{"role":"user","content":[{"text":"  "}]}]}`, "messages.0.content.0 is blank"},
		{"NoToolConfig", sonnet, `{"messages":[` + user + `,` + toolUse + `,` + toolResult + `]}`, "toolConfig field must be defined"},
		{"UnansweredToolUse", sonnet, `{"messages":[` + user + `,` + toolUse + `,` + user + `],` + tools + `}`, "Expected toolResult blocks at messages.2.content for the following Ids: t1"},
		{"StrayToolResult", sonnet, `{"messages":[` + user + `,` + assistant + `,` + toolResult + `],` + tools + `}`, "unexpected `tool_use_id`"},
		{"BudgetTooSmall", sonnet, `{"messages":[` + user + `],"inferenceConfig":{"maxTokens":4000},"additionalModelRequestFields":{"thinking":{"type":"enabled","budget_tokens":500}}}`, "greater than or equal to 1024"},
		{"BudgetNotBelowMax", sonnet, `{"messages":[` + user + `],"inferenceConfig":{"maxTokens":2000},"additionalModelRequestFields":{"thinking":{"type":"enabled","budget_tokens":2000}}}`, "`max_tokens` must be greater than `thinking.budget_tokens`"},
		{"ThinkingWithoutReasoningBlock", sonnet, `{"messages":[` + user + `,` + toolUse + `,` + toolResult + `],` + tools + `,"inferenceConfig":{"maxTokens":4000},"additionalModelRequestFields":{"thinking":{"type":"enabled","budget_tokens":1024}}}`, "must start with a thinking block"},
		{"TemperatureAndTopP", sonnet, `{"messages":[` + user + `],"inferenceConfig":{"temperature":0.5,"topP":0.9}}`, "cannot both be specified"},
		{"ThinkingTemperature", sonnet, `{"messages":[` + user + `],"inferenceConfig":{"maxTokens":4000,"temperature":0.5},"additionalModelRequestFields":{"thinking":{"type":"enabled","budget_tokens":1024}}}`, "`temperature` may only be set to 1 when thinking is enabled"},
		{"ThinkingTopPLow", sonnet, `{"messages":[` + user + `],"inferenceConfig":{"maxTokens":4000,"topP":0.9},"additionalModelRequestFields":{"thinking":{"type":"enabled","budget_tokens":1024}}}`, "`top_p` must be greater than or equal to 0.95"},
		{"TemperatureAboveOne", sonnet, `{"messages":[` + user + `],"inferenceConfig":{"temperature":1.5}}`, "Member must have value between 0 and 1"},
		{"ToolChoiceTypeConflict", sonnet, `{"messages":[` + user + `],"toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{"type":"object"}}}}],"toolChoice":{"tool":{"name":"f"}}},"additionalModelRequestFields":{"tool_choice":{"type":"tool","name":"f","disable_parallel_tool_use":true}}}`, "The additional field tool_choice/type conflicts with the existing field toolConfig.toolChoice.tool. Remove tool_choice/type and try again."},
		{"ToolChoiceTypeMissing", sonnet, `{"messages":[` + user + `],` + tools + `,"additionalModelRequestFields":{"tool_choice":{"disable_parallel_tool_use":true}}}`, "tool_choice.type: Field required"},
		{"ToolChoiceWithoutTools", sonnet, `{"messages":[` + user + `],"additionalModelRequestFields":{"tool_choice":{"type":"auto","disable_parallel_tool_use":true}}}`, "may only be specified while providing tools"},
		{"ToolChoiceExtraKey", sonnet, `{"messages":[` + user + `],` + tools + `,"additionalModelRequestFields":{"tool_choice":{"type":"auto","parallel":false}}}`, "tool_choice.parallel: Extra inputs are not permitted"},
		{"ToolChoiceBadType", sonnet, `{"messages":[` + user + `],` + tools + `,"additionalModelRequestFields":{"tool_choice":{"type":"some"}}}`, "does not match any of the expected tags"},
		{"ToolChoiceUnknownTool", sonnet, `{"messages":[` + user + `],` + tools + `,"additionalModelRequestFields":{"tool_choice":{"type":"tool","name":"g"}}}`, "Tool 'g' not found in 'tools'"},
		{"DisableParallelOnOldModel", "us.anthropic.claude-sonnet-4-20250514-v1:0", `{"messages":[` + user + `],` + tools + `,"additionalModelRequestFields":{"tool_choice":{"type":"auto","disable_parallel_tool_use":true}}}`, "extraneous key [disable_parallel_tool_use] is not permitted"},
		{"ThinkingForcedTool", sonnet, `{"messages":[` + user + `],"toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{"type":"object"}}}}],"toolChoice":{"any":{}}},"inferenceConfig":{"maxTokens":4000},"additionalModelRequestFields":{"thinking":{"type":"enabled","budget_tokens":1024}}}`, "Thinking may not be enabled when tool_choice forces tool use."},
		{"MaxTokensOverModel", sonnet, `{"messages":[` + user + `],"inferenceConfig":{"maxTokens":64001}}`, "exceeds the model limit of 64000"},
		{"AdaptiveOnBudgetModel", sonnet, `{"messages":[` + user + `],"additionalModelRequestFields":{"thinking":{"type":"adaptive"}}}`, "does not match any of the expected tags"},
		{"ThinkingOnOldModel", "us.anthropic.claude-3-5-haiku-20241022-v1:0", `{"messages":[` + user + `],"additionalModelRequestFields":{"thinking":{"type":"enabled","budget_tokens":1024}}}`, "Extra inputs are not permitted"},
		{"BadImageFormat", sonnet, `{"messages":[{"role":"user","content":[{"image":{"format":"bmp","source":{"bytes":"Qk0="}}}]}]}`, "enum value set: [png, jpeg, gif, webp]"},
		{"ImageNotPNG", sonnet, `{"messages":[{"role":"user","content":[{"image":{"format":"png","source":{"bytes":"aGVsbG8="}}}]}]}`, "Could not process image"},
		{"BadDirective", sonnet, `{"messages":[{"role":"user","content":[{"text":"@emulator frobnicate"}]}]}`, "unknown directive"},
		{"TooLong", sonnet, `{"messages":[{"role":"user","content":[{"text":"` + strings.Repeat("x", 4*200001) + `"}]}]}`, "Input is too long for requested model."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, typ, msg := post(t, srv.URL, tt.model, tt.body)
			if status != http.StatusBadRequest || typ != "ValidationException" || !strings.Contains(msg, tt.want) {
				t.Errorf("got %d %s %q, want 400 ValidationException containing %q", status, typ, msg, tt.want)
			}
		})
	}
}

// TestEmulator_ModelIDs checks which model ids are accepted.
func TestEmulator_ModelIDs(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(emulator.New(emulator.Options{ExtraModels: []string{"my-custom-model"}}))
	defer srv.Close()
	body := `{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`
	for _, id := range []string{
		"global.anthropic.claude-opus-4-6-v1",
		"anthropic.claude-opus-4-6-v1",
		"eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
		"arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.anthropic.claude-haiku-4-5-20251001-v1:0",
		"my-custom-model",
	} {
		if status, typ, msg := post(t, srv.URL, id, body); status != http.StatusOK {
			t.Errorf("%s: got %d %s %q, want 200", id, status, typ, msg)
		}
	}
}

// TestEmulator_DisableParallelToolUse checks the accepted forms of
// disable_parallel_tool_use and that the reply holds one tool call where
// the script asks for two.
func TestEmulator_DisableParallelToolUse(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(emulator.New(emulator.Options{}))
	t.Cleanup(srv.Close)
	const twoCalls = `{"role":"user","content":[{"text":"@emulator tool f {\"n\":1}\n@emulator tool g {\"n\":2}"}]}`
	const specs = `"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{"type":"object"}}}},{"toolSpec":{"name":"g","inputSchema":{"json":{"type":"object"}}}}]`
	tests := []struct {
		name, toolConfig, fields string
		calls                    int
	}{
		{"Parallel", `{` + specs + `}`, `{}`, 2},
		{"Auto", `{` + specs + `}`, `{"tool_choice":{"type":"auto","disable_parallel_tool_use":true}}`, 1},
		{"AutoFalse", `{` + specs + `}`, `{"tool_choice":{"type":"auto","disable_parallel_tool_use":false}}`, 2},
		{"Any", `{` + specs + `,"toolChoice":{"any":{}}}`, `{"tool_choice":{"disable_parallel_tool_use":true}}`, 1},
		{"Tool", `{` + specs + `,"toolChoice":{"tool":{"name":"f"}}}`, `{"tool_choice":{"disable_parallel_tool_use":true}}`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := `{"messages":[` + twoCalls + `],"toolConfig":` + tt.toolConfig + `,"additionalModelRequestFields":` + tt.fields + `}`
			resp, err := http.Post(srv.URL+"/model/"+url.PathEscape(sonnet)+"/converse", "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out struct {
				Output struct {
					Message struct {
						Content []struct {
							ToolUse *struct{ Name string } `json:"toolUse"`
						} `json:"content"`
					} `json:"message"`
				} `json:"output"`
				StopReason string `json:"stopReason"`
				Message    string `json:"message"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d (%s), want 200", resp.StatusCode, out.Message)
			}
			calls := 0
			for _, b := range out.Output.Message.Content {
				if b.ToolUse != nil {
					calls++
				}
			}
			if calls != tt.calls || out.StopReason != "tool_use" {
				t.Errorf("tool calls = %d, stop reason %q; want %d and tool_use", calls, out.StopReason, tt.calls)
			}
		})
	}
}
