package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/convert"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

const helloRequest = `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hi"}]}`

func TestServer_Chat(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil, nil)
	r := ts.post(t, helloRequest)
	if r.status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var got openai.ChatResponse
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got.ID, "chatcmpl-") {
		t.Errorf("id = %q, want chatcmpl-…", got.ID)
	}
	if got.Model != "claude-sonnet-4-5" {
		t.Errorf("model = %q, want the requested name", got.Model)
	}
	if len(got.Choices) != 1 || deref(got.Choices[0].Message.Content) != "Hello!" || got.Choices[0].FinishReason != "stop" {
		t.Errorf("choices = %+v, want one stop choice saying Hello!", got.Choices)
	}
	if got.Usage == nil || got.Usage.PromptTokens != 12 || got.Usage.CompletionTokens != 3 {
		t.Errorf("usage = %+v, want 12 prompt and 3 completion tokens", got.Usage)
	}
	model, req := ts.fake.lastRequest(t)
	if model != "global.anthropic.claude-sonnet-4-5-20250929-v1:0" {
		t.Errorf("Bedrock model = %q, want the default route's id", model)
	}
	if len(req.Messages) != 1 || req.Messages[0].Role != bedrock.RoleUser {
		t.Errorf("Bedrock messages = %+v, want the one user turn", req.Messages)
	}
	logs := ts.logs.String()
	if !strings.Contains(logs, `"msg":"request"`) || !strings.Contains(logs, `"output_tokens":3`) {
		t.Errorf("access log lacks the request line with tokens:\n%s", logs)
	}
	if strings.Contains(logs, "Hello!") || strings.Contains(logs, testKey) {
		t.Errorf("log holds a completion or the key:\n%s", logs)
	}
}

func TestServer_Chat_Passthrough(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil, nil)
	id := "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0"
	r := ts.post(t, `{"model":"`+id+`","messages":[{"role":"user","content":"Hi"}]}`)
	if r.status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", r.status, r.body)
	}
	if model, _ := ts.fake.lastRequest(t); model != id {
		t.Errorf("Bedrock model = %q, want the ARN passed through", model)
	}
}

func TestServer_Chat_UpstreamErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		err        error
		status     int
		typ, code  string
		retryAfter string
	}{
		{"Throttling", &bedrock.APIError{Type: bedrock.ExceptionThrottling, Message: "Too many requests, please wait before trying again.", StatusCode: 429},
			429, "requests", "rate_limit_exceeded", "2"},
		{"Unavailable", &bedrock.APIError{Type: bedrock.ExceptionServiceUnavailable, Message: "Bedrock is unavailable.", StatusCode: 503},
			503, "server_error", "service_unavailable", "5"},
		{"ContextLength", &bedrock.APIError{Type: bedrock.ExceptionValidation, Message: "Input is too long for requested model.", StatusCode: 400},
			400, "invalid_request_error", "context_length_exceeded", ""},
		{"AccessDenied", &bedrock.APIError{Type: bedrock.ExceptionAccessDenied, Message: "You don't have access to the model.", StatusCode: 403},
			403, "invalid_request_error", "permission_denied", ""},
		{"Timeout", convertor.Errorf(convertor.ETimeout, "Bedrock did not answer in time"),
			504, "server_error", "timeout", ""},
		{"Internal", errTestBoom, 500, "server_error", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := &fakeConverser{converse: func(context.Context, string, *bedrock.ConverseRequest) (*bedrock.ConverseResponse, error) {
				return nil, tt.err
			}}
			ts := newTestServer(t, fake, nil)
			r := ts.post(t, helloRequest)
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d; body %s", r.status, tt.status, r.body)
			}
			e := openAIError(t, r)
			if e.Type != tt.typ || deref(e.Code) != tt.code {
				t.Errorf("type, code = %q, %q; want %q, %q", e.Type, deref(e.Code), tt.typ, tt.code)
			}
			if got := r.header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.retryAfter)
			}
			if tt.status == 500 {
				if strings.Contains(e.Message, "boom") || !strings.Contains(e.Message, r.header.Get("X-Request-Id")) {
					t.Errorf("internal message %q: want no cause and the request id", e.Message)
				}
				if !strings.Contains(ts.logs.String(), "boom") {
					t.Error("the cause of an internal error is not logged")
				}
			}
		})
	}
}

// TestServer_Chat_BadInput sends every malformed body the decoder and the
// required-field checks meet: each is a 400 naming the field, never a 500.
func TestServer_Chat_BadInput(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil, nil)
	tests := []struct {
		name, body, param, inMessage string
	}{
		{"Empty", "", "", "empty"},
		{"Blank", " \n ", "", "empty"},
		{"Syntax", `{"model":`, "", "offset"},
		{"Garbage", `not json`, "", "offset"},
		{"TrailingGarbage", helloRequest + `x`, "", "offset"},
		{"Array", `[]`, "", "JSON object"},
		{"String", `"hi"`, "", "JSON object"},
		{"ModelNumber", `{"model":5,"messages":[]}`, "model", "string"},
		{"ModelMissing", `{"messages":[{"role":"user","content":"Hi"}]}`, "model", "model"},
		{"ModelEmpty", `{"model":"","messages":[{"role":"user","content":"Hi"}]}`, "model", "model"},
		{"MessagesMissing", `{"model":"claude-sonnet-4-5"}`, "messages", "Missing required parameter: 'messages'"},
		{"MessagesNull", `{"model":"claude-sonnet-4-5","messages":null}`, "messages", "Missing required parameter: 'messages'"},
		{"MessagesEmpty", `{"model":"claude-sonnet-4-5","messages":[]}`, "messages", "empty array"},
		{"MessagesString", `{"model":"claude-sonnet-4-5","messages":"Hi"}`, "messages", "array"},
		{"ContentNumber", `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":5}]}`, "messages[0].content", "content parts"},
		{"ContentObject", `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":{}}]}`, "messages[0].content", "content parts"},
		{"TemperatureString", `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hi"}],"temperature":"hot"}`, "temperature", "number"},
		{"StreamString", `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hi"}],"stream":"yes"}`, "stream", "boolean"},
		{"MaxTokensFraction", `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hi"}],"max_tokens":1.5}`, "max_tokens", "integer"},
		{"StopNumber", `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hi"}],"stop":5}`, "stop", "strings"},
		{"ToolChoiceNumber", `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hi"}],"tool_choice":5}`, "tool_choice", "object"},
		{"ToolsObject", `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hi"}],"tools":{}}`, "tools", "array"},
		{"ContentPartType", `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":[{"type":5}]}]}`, "messages[0].content.type", "string"},
		{"ImageURLString", `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":[{"type":"image_url","image_url":"https://x"}]}]}`, "messages[0].content.image_url", "object"},
		{"ToolCallsObject", `{"model":"claude-sonnet-4-5","messages":[{"role":"assistant","tool_calls":{}}]}`, "messages[0].tool_calls", "array"},
		{"StreamOptionsArray", `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hi"}],"stream_options":[]}`, "stream_options", "object"},
		{"ThinkingBudgetString", `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hi"}],"thinking":{"type":"enabled","budget_tokens":"lots"}}`, "thinking.budget_tokens", "integer"},
		{"SecondMessageBad", `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Yo"},{"role":"user","content":true}]}`, "messages[2].content", "boolean"},
		{"ToolNameNumber", `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hi"}],"tools":[{"type":"function","function":{"name":"a"}},{"type":"function","function":{"name":7}}]}`, "tools[1].function.name", "string"},
		{"RoleNumber", `{"model":"claude-sonnet-4-5","messages":[{"role":1,"content":"Hi"}]}`, "messages[0].role", "string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.post(t, tt.body)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400; body %s", r.status, r.body)
			}
			e := openAIError(t, r)
			if deref(e.Param) != tt.param {
				t.Errorf("param = %q, want %q", deref(e.Param), tt.param)
			}
			if !strings.Contains(e.Message, tt.inMessage) {
				t.Errorf("message %q does not mention %q", e.Message, tt.inMessage)
			}
			// A type mismatch carries OpenAI's code for it.
			if strings.HasPrefix(e.Message, "Invalid type for '") && deref(e.Code) != "invalid_type" {
				t.Errorf("code %q for %q, want OpenAI's invalid_type", deref(e.Code), e.Message)
			}
		})
	}
}

// TestServer_Chat_ConverterRefusals replays the converter's refusal cases
// (its golden inputs) through the server: each keeps its status and param.
func TestServer_Chat_ConverterRefusals(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil, nil)
	paths, err := filepath.Glob("convert/testdata/chat/*_refused.request.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Skip("no converter refusal cases yet")
	}
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ".request.json")
		base := strings.TrimSuffix(p, ".request.json")
		if _, err := os.Stat(base + ".options.json"); err == nil {
			continue // needs converter options the server does not set
		}
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			wantRaw, err := os.ReadFile(base + ".error.json")
			if err != nil {
				t.Skip("no expected error")
			}
			var want struct{ Code, Param string }
			if err := json.Unmarshal(wantRaw, &want); err != nil {
				t.Fatal(err)
			}
			r := ts.post(t, string(body))
			if r.status >= 500 {
				t.Fatalf("status = %d: a bad request must never be a 5xx; body %s", r.status, r.body)
			}
			if r.status == http.StatusNotFound {
				t.Skip("case uses a model without a route")
			}
			if wantStatus := openai.ErrorClassFor(want.Code).Status; r.status != wantStatus {
				t.Errorf("status = %d, want %d; body %s", r.status, wantStatus, r.body)
			}
			if e := openAIError(t, r); want.Param != "" && deref(e.Param) != want.Param {
				t.Errorf("param = %q, want %q", deref(e.Param), want.Param)
			}
		})
	}
}

func TestServer_Chat_UnknownModel(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil, nil)
	r := ts.post(t, `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}`)
	if r.status != http.StatusNotFound {
		t.Fatalf("status = %d, want 404", r.status)
	}
	e := openAIError(t, r)
	if deref(e.Code) != "model_not_found" || e.Message != "The model `gpt-4o` does not exist or you do not have access to it." {
		t.Errorf("error = %+v", e)
	}
}

// TestServer_Chat_BodyLimits: a body over MAX_REQUEST_BODY_BYTES is a 400
// in the OpenAI shape. The server refuses it unread, so the kernel may reset
// the connection before the answer is read; the test retries until one
// answer arrives.
func TestServer_Chat_BodyLimits(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil, func(c *Config, _ *Deps) { c.MaxRequestBodyBytes = 1024 })
	big := `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"` + strings.Repeat("a", 4096) + `"}]}`
	raw := fmt.Sprintf("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		testKey, len(big), big)
	addr := strings.TrimPrefix(ts.URL, "http://")
	answered := false
	for attempt := 0; attempt < 20 && !answered; attempt++ {
		resp, body, err := rawRoundTrip(addr, raw)
		if err != nil {
			continue
		}
		answered = true
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400; body %s", resp.StatusCode, body)
		}
		checkRequestID(t, resp.Header)
		if e := openAIError(t, &response{status: resp.StatusCode, header: resp.Header, body: body}); deref(e.Code) != "request_too_large" {
			t.Errorf("code = %q, want request_too_large", deref(e.Code))
		}
	}
	if !answered {
		t.Fatal("every attempt was reset before an answer arrived")
	}
	// A body within the limit still works.
	if r := ts.post(t, helloRequest); r.status != http.StatusOK {
		t.Errorf("status = %d, want 200", r.status)
	}
}

// TestServer_Chat_ReasoningAcrossTurns runs two turns of thinking with
// tools: the signed reasoning block of turn one, which the client never
// sees again, must reach Bedrock with the tool result of turn two.
func TestServer_Chat_ReasoningAcrossTurns(t *testing.T) {
	t.Parallel()
	for _, stream := range []bool{false, true} {
		name := "NonStream"
		if stream {
			name = "Stream"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			thinking, sig, callID := "The user wants the weather; call the tool.", "c2lnbmF0dXJl", "tooluse_abc123"
			fake := &fakeConverser{}
			fake.converse = func(context.Context, string, *bedrock.ConverseRequest) (*bedrock.ConverseResponse, error) {
				return &bedrock.ConverseResponse{
					Output: bedrock.ConverseOutput{Message: &bedrock.Message{Role: "assistant", Content: []bedrock.ContentBlock{
						{ReasoningContent: &bedrock.ReasoningContent{ReasoningText: &bedrock.ReasoningText{Text: thinking, Signature: sig}}},
						{ToolUse: &bedrock.ToolUseBlock{ToolUseID: callID, Name: "get_weather", Input: json.RawMessage(`{"city":"Paris"}`)}},
					}}},
					StopReason: bedrock.StopToolUse,
					Usage:      bedrock.TokenUsage{InputTokens: 50, OutputTokens: 20, TotalTokens: 70},
				}, nil
			}
			fake.stream = func(context.Context, string, *bedrock.ConverseRequest) (*bedrock.Stream, error) {
				return streamOf(nil,
					bedrock.StreamEvent{MessageStart: &bedrock.MessageStartEvent{Role: "assistant"}},
					bedrock.StreamEvent{ContentBlockDelta: &bedrock.ContentBlockDeltaEvent{ContentBlockIndex: 0, Delta: bedrock.ContentBlockDelta{ReasoningContent: &bedrock.ReasoningContentDelta{Text: &thinking}}}},
					bedrock.StreamEvent{ContentBlockDelta: &bedrock.ContentBlockDeltaEvent{ContentBlockIndex: 0, Delta: bedrock.ContentBlockDelta{ReasoningContent: &bedrock.ReasoningContentDelta{Signature: &sig}}}},
					bedrock.StreamEvent{ContentBlockStop: &bedrock.ContentBlockStopEvent{ContentBlockIndex: 0}},
					bedrock.StreamEvent{ContentBlockStart: &bedrock.ContentBlockStartEvent{ContentBlockIndex: 1, Start: bedrock.ContentBlockStart{ToolUse: &bedrock.ToolUseBlockStart{ToolUseID: callID, Name: "get_weather"}}}},
					bedrock.StreamEvent{ContentBlockDelta: &bedrock.ContentBlockDeltaEvent{ContentBlockIndex: 1, Delta: bedrock.ContentBlockDelta{ToolUse: &bedrock.ToolUseBlockDelta{Input: `{"city":"Paris"}`}}}},
					bedrock.StreamEvent{ContentBlockStop: &bedrock.ContentBlockStopEvent{ContentBlockIndex: 1}},
					bedrock.StreamEvent{MessageStop: &bedrock.MessageStopEvent{StopReason: bedrock.StopToolUse}},
					bedrock.StreamEvent{Metadata: &bedrock.MetadataEvent{Usage: bedrock.TokenUsage{InputTokens: 50, OutputTokens: 20, TotalTokens: 70}}},
				), nil
			}
			ts := newTestServer(t, fake, nil)
			tools := `"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]`
			first := `{"model":"claude-sonnet-4-5","stream":` + boolJSON(stream) + `,"thinking":{"type":"enabled","budget_tokens":2048},` + tools +
				`,"messages":[{"role":"user","content":"Weather in Paris?"}]}`
			r := ts.post(t, first)
			if r.status != http.StatusOK {
				t.Fatalf("turn 1 status = %d; body %s", r.status, r.body)
			}
			if !strings.Contains(string(r.body), callID) {
				t.Fatalf("turn 1 does not return the tool call: %s", r.body)
			}
			second := `{"model":"claude-sonnet-4-5","thinking":{"type":"enabled","budget_tokens":2048},` + tools + `,"messages":[` +
				`{"role":"user","content":"Weather in Paris?"},` +
				`{"role":"assistant","content":null,"tool_calls":[{"id":"` + callID + `","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},` +
				`{"role":"tool","tool_call_id":"` + callID + `","content":"18°C, sunny"}]}`
			fake.setConverse(func(context.Context, string, *bedrock.ConverseRequest) (*bedrock.ConverseResponse, error) {
				return textResponse("It is 18°C and sunny."), nil
			})
			if r := ts.post(t, second); r.status != http.StatusOK {
				t.Fatalf("turn 2 status = %d; body %s", r.status, r.body)
			}
			_, req := fake.lastRequest(t)
			var restored *bedrock.ReasoningText
			for _, m := range req.Messages {
				for _, b := range m.Content {
					if m.Role == bedrock.RoleAssistant && b.ReasoningContent != nil {
						restored = b.ReasoningContent.ReasoningText
					}
				}
			}
			if restored == nil || restored.Text != thinking || restored.Signature != sig {
				got, _ := json.Marshal(req.Messages)
				t.Errorf("turn 2 reached Bedrock without the signed reasoning block: %s", got)
			}
		})
	}
}

func boolJSON(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func TestServer_Chat_RequireAPIKeyOff(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil, func(c *Config, _ *Deps) { c.RequireAPIKey, c.MasterAPIKey = false, "" })
	r := ts.do(t, http.MethodPost, "/v1/chat/completions", helloRequest, map[string]string{"Authorization": ""})
	if r.status != http.StatusOK {
		t.Fatalf("status = %d, want 200 without a key; body %s", r.status, r.body)
	}
}

func TestServer_Chat_Panic(t *testing.T) {
	t.Parallel()
	fake := &fakeConverser{converse: func(context.Context, string, *bedrock.ConverseRequest) (*bedrock.ConverseResponse, error) {
		panic("converter bug")
	}}
	ts := newTestServer(t, fake, nil)
	r := ts.post(t, helloRequest)
	if r.status != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", r.status)
	}
	if e := openAIError(t, r); strings.Contains(e.Message, "converter bug") {
		t.Errorf("message %q leaks the panic", e.Message)
	}
	// The server survived.
	ts.fake.setConverse(nil)
	if r := ts.post(t, helloRequest); r.status != http.StatusOK {
		t.Errorf("status after a panic = %d, want 200", r.status)
	}
}

func TestServer_Chat_ImageFetch(t *testing.T) {
	t.Parallel()
	f := imageServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/cat.png" {
			w.Write(pngBytes)
			return
		}
		http.NotFound(w, r)
	}, ImageFetchConfig{})
	ts := newTestServer(t, nil, func(c *Config, d *Deps) { c.ImageFetch, d.Images = true, f })
	body := func(url string) string {
		return `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"` + url + `"}}]}]}`
	}
	if r := ts.post(t, body("https://example.com/cat.png")); r.status != http.StatusOK {
		t.Fatalf("status = %d; body %s", r.status, r.body)
	}
	_, req := ts.fake.lastRequest(t)
	var img *bedrock.ImageBlock
	for _, b := range req.Messages[0].Content {
		if b.Image != nil {
			img = b.Image
		}
	}
	if img == nil || img.Format != "png" || len(img.Source.Bytes) != len(pngBytes) {
		t.Errorf("Bedrock request lacks the fetched image: %+v", req.Messages[0].Content)
	}
	r := ts.post(t, body("https://example.com/missing.png"))
	if r.status != http.StatusBadRequest {
		t.Fatalf("status = %d, want 400; body %s", r.status, r.body)
	}
	if e := openAIError(t, r); !strings.Contains(e.Message, "https://example.com/missing.png") {
		t.Errorf("message %q does not name the URL", e.Message)
	}
}

func TestServer_Chat_ImageFetchOff(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil, nil)
	r := ts.post(t, `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}`)
	if r.status != http.StatusBadRequest {
		t.Fatalf("status = %d, want 400 while fetching is off; body %s", r.status, r.body)
	}
	openAIError(t, r)
}

// TestServer_Chat_ConverterAdjustments replays the converter's cases that
// adjust a field (their golden <case>.adjusted.json) through the server:
// the request is served, streamed or not, the x-convertor-adjusted header
// lists the adjustments, the access line carries them, and STRICT_PARAMS
// refuses the same request with a 400 naming the first adjusted field.
func TestServer_Chat_ConverterAdjustments(t *testing.T) {
	t.Parallel()
	paths, err := filepath.Glob("convert/testdata/chat/*.adjusted.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no converter adjustment cases")
	}
	ts := newTestServer(t, nil, nil)
	strict := newTestServer(t, nil, func(c *Config, _ *Deps) { c.StrictParams = true })
	for _, p := range paths {
		base := strings.TrimSuffix(p, ".adjusted.json")
		if _, err := os.Stat(base + ".options.json"); err == nil {
			continue // needs converter options the server does not set
		}
		t.Run(filepath.Base(base), func(t *testing.T) {
			body, err := os.ReadFile(base + ".request.json")
			if err != nil {
				t.Fatal(err)
			}
			var adjusted []convert.Adjustment
			raw, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &adjusted); err != nil || len(adjusted) == 0 {
				t.Fatalf("%s: %v", p, err)
			}
			want := convert.FormatAdjustments(adjusted)
			for _, stream := range []bool{false, true} {
				req := string(body)
				if stream {
					req = strings.Replace(req, "{", `{"stream":true,`, 1)
				}
				r := ts.post(t, req)
				if r.status != http.StatusOK {
					t.Fatalf("stream %v: status = %d, want 200; body %s", stream, r.status, r.body)
				}
				if got := r.header.Get("X-Convertor-Adjusted"); got != want {
					t.Errorf("stream %v: x-convertor-adjusted = %q, want %q", stream, got, want)
				}
			}
			if logs := ts.logs.String(); !strings.Contains(logs, `"adjusted":`+strconvQuote(want)) {
				t.Errorf("access log lacks the adjustments %q:\n%s", want, logs)
			}
			r := strict.post(t, string(body))
			if r.status != http.StatusBadRequest {
				t.Fatalf("STRICT_PARAMS: status = %d, want 400; body %s", r.status, r.body)
			}
			if e := openAIError(t, r); deref(e.Param) != adjusted[0].Param {
				t.Errorf("STRICT_PARAMS: param = %q, want %q", deref(e.Param), adjusted[0].Param)
			}
			if got := r.header.Get("X-Convertor-Adjusted"); got != "" {
				t.Errorf("STRICT_PARAMS: x-convertor-adjusted = %q on a refusal", got)
			}
		})
	}
	if r := ts.post(t, helloRequest); r.header.Get("X-Convertor-Adjusted") != "" {
		t.Errorf("x-convertor-adjusted = %q on a request nothing was changed in", r.header.Get("X-Convertor-Adjusted"))
	}
}

// strconvQuote quotes s as the JSON log handler writes a string.
func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
