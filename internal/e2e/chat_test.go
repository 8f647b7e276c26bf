package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

const model = "claude-sonnet-4-5"

// onePixelPNG is a valid 1×1 PNG.
var onePixelPNG = "data:image/png;base64," + base64.StdEncoding.EncodeToString([]byte{
	0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
	0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
	0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
	0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
	0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
})

var weatherTool = openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
	Name:        "get_weather",
	Description: openai.String("Get the weather for a city"),
	Parameters: shared.FunctionParameters{
		"type":       "object",
		"properties": map[string]any{"city": map[string]any{"type": "string"}},
		"required":   []string{"city"},
	},
})

func userParams(text string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)},
	}
}

// collect runs a streamed request through the SDK's accumulator and
// returns the accumulated completion and every chunk.
func collect(t *testing.T, s *stack, p openai.ChatCompletionNewParams, opts ...option.RequestOption) (openai.ChatCompletion, []openai.ChatCompletionChunk) {
	t.Helper()
	stream := s.client.Chat.Completions.NewStreaming(context.Background(), p, opts...)
	var acc openai.ChatCompletionAccumulator
	var chunks []openai.ChatCompletionChunk
	for stream.Next() {
		c := stream.Current()
		chunks = append(chunks, c)
		if !acc.AddChunk(c) {
			t.Fatalf("accumulator refused chunk %d: %s", len(chunks), c.RawJSON())
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	return acc.ChatCompletion, chunks
}

func TestChat_Plain(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	var raw *http.Response
	resp, err := s.client.Chat.Completions.New(context.Background(), userParams("@emulator text Hello from Claude.\n@emulator usage in 12 out 5"), option.WithResponseInto(&raw))
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != "Hello from Claude." {
		t.Errorf("content = %q", got)
	}
	if resp.Choices[0].FinishReason != "stop" {
		t.Errorf("finish_reason = %q, want stop", resp.Choices[0].FinishReason)
	}
	if resp.Model != model || !strings.HasPrefix(resp.ID, "chatcmpl-") || resp.Object != "chat.completion" {
		t.Errorf("model/id/object = %q %q %q", resp.Model, resp.ID, resp.Object)
	}
	if resp.Usage.PromptTokens != 12 || resp.Usage.CompletionTokens != 5 || resp.Usage.TotalTokens != 17 {
		t.Errorf("usage = %+v", resp.Usage)
	}
	if raw.Header.Get("x-request-id") == "" {
		t.Error("no x-request-id header")
	}
}

func TestChat_SystemAndHistory(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	p := openai.ChatCompletionNewParams{
		Model: model,
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("You are terse."),
			openai.UserMessage("first"),
			openai.UserMessage("second, merged with the first"),
			openai.AssistantMessage("an earlier answer"),
			openai.UserMessage("@emulator text ok"),
		},
	}
	resp, err := s.client.Chat.Completions.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "ok" {
		t.Errorf("content = %q", resp.Choices[0].Message.Content)
	}
}

func TestChat_StreamMatchesNonStream(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	p := userParams("Tell me a story about streams and rivers, with some detail.\n@emulator cache read 100 write 20")
	want, err := s.client.Chat.Completions.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	got, chunks := collect(t, s, p)
	if len(chunks) < 4 {
		t.Fatalf("only %d chunks", len(chunks))
	}
	if chunks[0].Choices[0].Delta.Role != "assistant" {
		t.Errorf("first chunk role = %q", chunks[0].Choices[0].Delta.Role)
	}
	if got.Choices[0].Message.Content != want.Choices[0].Message.Content {
		t.Errorf("streamed content %q != %q", got.Choices[0].Message.Content, want.Choices[0].Message.Content)
	}
	if got.Choices[0].FinishReason != "stop" {
		t.Errorf("finish_reason = %q", got.Choices[0].FinishReason)
	}
	last := chunks[len(chunks)-1]
	if len(last.Choices) != 0 || last.Usage.TotalTokens == 0 {
		t.Errorf("last chunk should carry usage and no choices: %s", last.RawJSON())
	}
	if last.Usage.PromptTokensDetails.CachedTokens != 100 {
		t.Errorf("cached_tokens = %d, want 100", last.Usage.PromptTokensDetails.CachedTokens)
	}
	if last.Usage.PromptTokens != want.Usage.PromptTokens || last.Usage.CompletionTokens != want.Usage.CompletionTokens {
		t.Errorf("stream usage %+v != %+v", last.Usage, want.Usage)
	}
	if want.Usage.PromptTokens < 120 {
		t.Errorf("prompt_tokens = %d must include 100 cache-read and 20 cache-write tokens", want.Usage.PromptTokens)
	}
}

func TestChat_StreamWithoutUsage(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	_, chunks := collect(t, s, userParams("hello"))
	for i, c := range chunks {
		if len(c.Choices) == 0 {
			t.Errorf("chunk %d has no choices without include_usage: %s", i, c.RawJSON())
		}
		if c.JSON.Usage.Valid() {
			t.Errorf("chunk %d carries usage without include_usage", i)
		}
	}
}

func TestChat_Vision(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	p := openai.ChatCompletionNewParams{
		Model: model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
			openai.TextContentPart("What is in this image?\n@emulator text A single pixel."),
			openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: onePixelPNG}),
		})},
	}
	resp, err := s.client.Chat.Completions.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "A single pixel." {
		t.Errorf("content = %q", resp.Choices[0].Message.Content)
	}

	p.Messages = []openai.ChatCompletionMessageParamUnion{openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
		openai.TextContentPart("broken"),
		openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "data:image/png;base64,%%%not-base64"}),
	})}
	_, err = s.client.Chat.Completions.New(context.Background(), p)
	wantAPIError(t, err, 400, "")
}

func TestChat_ToolCallAndResult(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	p := userParams("What is the weather in Tokyo?\n@emulator text Let me check.\n@emulator tool get_weather {\"city\":\"Tokyo\"}")
	p.Tools = []openai.ChatCompletionToolUnionParam{weatherTool}
	resp, err := s.client.Chat.Completions.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	msg := resp.Choices[0].Message
	if resp.Choices[0].FinishReason != "tool_calls" {
		t.Errorf("finish_reason = %q", resp.Choices[0].FinishReason)
	}
	if msg.Content != "Let me check." {
		t.Errorf("text alongside tool calls = %q", msg.Content)
	}
	if len(msg.ToolCalls) != 1 || msg.ToolCalls[0].Function.Name != "get_weather" {
		t.Fatalf("tool calls = %+v", msg.ToolCalls)
	}
	var args map[string]string
	if err := json.Unmarshal([]byte(msg.ToolCalls[0].Function.Arguments), &args); err != nil || args["city"] != "Tokyo" {
		t.Errorf("arguments = %q", msg.ToolCalls[0].Function.Arguments)
	}

	p.Messages = append(p.Messages, msg.ToParam(), openai.ToolMessage(`{"temp_c":21}`, msg.ToolCalls[0].ID))
	resp2, err := s.client.Chat.Completions.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if c := resp2.Choices[0].Message.Content; !strings.Contains(c, "get_weather returned") || !strings.Contains(c, "21") {
		t.Errorf("follow-up content = %q", c)
	}
	if resp2.Choices[0].FinishReason != "stop" {
		t.Errorf("follow-up finish_reason = %q", resp2.Choices[0].FinishReason)
	}
}

func TestChat_ParallelToolCallsStreamed(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	p := userParams("Weather in two cities.\n@emulator text Checking both.\n@emulator tool get_weather {\"city\":\"Paris\"}\n@emulator tool get_weather {\"city\":\"Oslo\"}")
	p.Tools = []openai.ChatCompletionToolUnionParam{weatherTool}
	got, chunks := collect(t, s, p)
	calls := got.Choices[0].Message.ToolCalls
	if len(calls) != 2 {
		t.Fatalf("accumulated %d tool calls, want 2", len(calls))
	}
	for i, city := range []string{"Paris", "Oslo"} {
		var args map[string]string
		if err := json.Unmarshal([]byte(calls[i].Function.Arguments), &args); err != nil || args["city"] != city {
			t.Errorf("call %d arguments = %q", i, calls[i].Function.Arguments)
		}
		if calls[i].ID == "" || calls[i].Function.Name != "get_weather" {
			t.Errorf("call %d = %+v", i, calls[i])
		}
	}
	if got.Choices[0].Message.Content != "Checking both." {
		t.Errorf("content = %q", got.Choices[0].Message.Content)
	}
	if got.Choices[0].FinishReason != "tool_calls" {
		t.Errorf("finish_reason = %q", got.Choices[0].FinishReason)
	}
	// Dense indexes, and id/name only in each call's first delta.
	seen := map[int64]bool{}
	for _, c := range chunks {
		for _, ch := range c.Choices {
			for _, tc := range ch.Delta.ToolCalls {
				if tc.Index != 0 && tc.Index != 1 {
					t.Errorf("tool call index %d is not dense", tc.Index)
				}
				first := !seen[tc.Index]
				seen[tc.Index] = true
				if hasID := tc.ID != "" || tc.Function.Name != ""; hasID != first {
					t.Errorf("index %d: id/name present=%v on first=%v delta: %s", tc.Index, hasID, first, c.RawJSON())
				}
			}
		}
	}
}

func TestChat_Thinking(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	p := userParams("Think first.\n@emulator thinking Let me reason step by step.\n@emulator text 42")
	thinking := option.WithJSONSet("thinking", map[string]any{"type": "enabled", "budget_tokens": 2048})
	resp, err := s.client.Chat.Completions.New(context.Background(), p, thinking)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "42" {
		t.Errorf("content = %q", resp.Choices[0].Message.Content)
	}
	if rc := resp.Choices[0].Message.JSON.ExtraFields["reasoning_content"].Raw(); !strings.Contains(rc, "step by step") {
		t.Errorf("reasoning_content = %s", rc)
	}

	_, chunks := collect(t, s, p, thinking)
	var reasoning strings.Builder
	for _, c := range chunks {
		for _, ch := range c.Choices {
			if f, ok := ch.Delta.JSON.ExtraFields["reasoning_content"]; ok && f.Raw() != "" {
				var s string
				json.Unmarshal([]byte(f.Raw()), &s)
				reasoning.WriteString(s)
			}
		}
	}
	if !strings.Contains(reasoning.String(), "step by step") {
		t.Errorf("streamed reasoning = %q", reasoning.String())
	}

	// reasoning_effort takes the same path.
	p.ReasoningEffort = shared.ReasoningEffortLow
	if _, err := s.client.Chat.Completions.New(context.Background(), p); err != nil {
		t.Errorf("reasoning_effort low: %v", err)
	}
}

// TestChat_ThinkingWithToolsThreeTurns runs a stock SDK loop that never
// echoes thinking blocks; the emulator refuses a tool result whose
// preceding assistant turn lacks the signed thinking block, as Bedrock does.
func TestChat_ThinkingWithToolsThreeTurns(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	thinking := option.WithJSONSet("thinking", map[string]any{"type": "enabled", "budget_tokens": 2048})
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			p := userParams("Plan a trip.\n@emulator tool get_weather {\"city\":\"Rome\"}")
			p.Tools = []openai.ChatCompletionToolUnionParam{weatherTool}
			call := func() openai.ChatCompletionMessage {
				t.Helper()
				if stream {
					got, _ := collect(t, s, p, thinking)
					return got.Choices[0].Message
				}
				resp, err := s.client.Chat.Completions.New(context.Background(), p, thinking)
				if err != nil {
					t.Fatalf("turn %d: %v", len(p.Messages), err)
				}
				return resp.Choices[0].Message
			}
			m1 := call()
			if len(m1.ToolCalls) != 1 {
				t.Fatalf("turn 1 tool calls = %d", len(m1.ToolCalls))
			}
			p.Messages = append(p.Messages, m1.ToParam(),
				openai.ToolMessage("sunny", m1.ToolCalls[0].ID),
				openai.UserMessage("@emulator tool get_weather {\"city\":\"Milan\"}"))
			m2 := call()
			if len(m2.ToolCalls) != 1 {
				t.Fatalf("turn 2 tool calls = %d", len(m2.ToolCalls))
			}
			p.Messages = append(p.Messages, m2.ToParam(), openai.ToolMessage("rainy", m2.ToolCalls[0].ID))
			m3 := call()
			if !strings.Contains(m3.Content, "rainy") {
				t.Errorf("turn 3 content = %q", m3.Content)
			}
		})
	}
}

func TestChat_StopAndLength(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	p := userParams("@emulator text alpha beta END gamma")
	p.Stop = openai.ChatCompletionNewParamsStopUnion{OfStringArray: []string{"END"}}
	resp, err := s.client.Chat.Completions.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if c := resp.Choices[0].Message.Content; strings.Contains(c, "gamma") || !strings.HasPrefix(c, "alpha beta") {
		t.Errorf("content = %q", c)
	}
	if resp.Choices[0].FinishReason != "stop" {
		t.Errorf("finish_reason = %q", resp.Choices[0].FinishReason)
	}

	p = userParams("@emulator text " + strings.Repeat("word ", 200))
	p.MaxCompletionTokens = openai.Int(10)
	resp, err = s.client.Chat.Completions.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].FinishReason != "length" {
		t.Errorf("finish_reason = %q, want length", resp.Choices[0].FinishReason)
	}
	got, _ := collect(t, s, p)
	if got.Choices[0].FinishReason != "length" {
		t.Errorf("streamed finish_reason = %q, want length", got.Choices[0].FinishReason)
	}
}

// wantAPIError checks err is an OpenAI API error with status (and code,
// when not empty).
func wantAPIError(t *testing.T, err error, status int, code string) *openai.Error {
	t.Helper()
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want an API error with status %d", err, status)
	}
	if apiErr.StatusCode != status {
		t.Errorf("status = %d, want %d (%s)", apiErr.StatusCode, status, apiErr.Message)
	}
	if code != "" && apiErr.Code != code {
		t.Errorf("code = %q, want %q", apiErr.Code, code)
	}
	if apiErr.Message == "" || apiErr.Type == "" {
		t.Errorf("error body lacks message or type: %s", apiErr.RawJSON())
	}
	return apiErr
}

func TestChat_ErrorStatuses(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	ctx := context.Background()
	tests := []struct {
		name   string
		params openai.ChatCompletionNewParams
		opts   []option.RequestOption
		status int
		code   string
	}{
		{"bad key", userParams("hi"), []option.RequestOption{option.WithAPIKey("sk-wrong")}, 401, "invalid_api_key"},
		{"unknown model", openai.ChatCompletionNewParams{Model: "gpt-nonexistent", Messages: userParams("hi").Messages}, nil, 404, "model_not_found"},
		{"n > 1", func() openai.ChatCompletionNewParams { p := userParams("hi"); p.N = openai.Int(2); return p }(), nil, 400, ""},
		{"throttled upstream", userParams("@emulator error ThrottlingException"), nil, 429, ""},
		{"validation", userParams("@emulator error ValidationException bad input"), nil, 400, ""},
		{"access denied", userParams("@emulator error AccessDeniedException"), nil, 403, ""},
		{"unavailable", userParams("@emulator error ServiceUnavailableException"), nil, 503, ""},
		{"model timeout", userParams("@emulator error ModelTimeoutException"), nil, 504, ""},
		{"internal", userParams("@emulator error InternalServerException"), nil, 502, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.client.Chat.Completions.New(ctx, tt.params, tt.opts...)
			apiErr := wantAPIError(t, err, tt.status, tt.code)
			if tt.status == 429 && apiErr.Response.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
			if strings.Contains(apiErr.RawJSON(), "sk-wrong") {
				t.Error("error body echoes the key")
			}
		})
	}
}

func TestChat_ThrottleRetriedThenSucceeds(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	resp, err := s.client.Chat.Completions.New(context.Background(), userParams("@emulator error-once ThrottlingException\n@emulator text recovered"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "recovered" {
		t.Errorf("content = %q", resp.Choices[0].Message.Content)
	}
}

func TestChat_MidStreamError(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	stream := s.client.Chat.Completions.NewStreaming(context.Background(), userParams("a long answer please\n@emulator stream-error ModelStreamErrorException after 2"))
	n := 0
	for stream.Next() {
		n++
	}
	if n == 0 {
		t.Error("no chunks before the error")
	}
	if stream.Err() == nil {
		t.Fatal("stream ended without the SDK raising the upstream error")
	}
}

func TestChat_StartOfStreamErrorHasStatus(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	stream := s.client.Chat.Completions.NewStreaming(context.Background(), userParams("@emulator error ThrottlingException"))
	for stream.Next() {
	}
	wantAPIError(t, stream.Err(), 429, "")
}

func TestModels(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	page, err := s.client.Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, m := range page.Data {
		ids[m.ID] = true
	}
	for _, want := range []string{"claude-opus-4-5", "claude-opus-4-6", "claude-sonnet-4-5", "claude-haiku-4-5", "claude-3-5-haiku"} {
		if !ids[want] {
			t.Errorf("model list lacks %s", want)
		}
	}
	m, err := s.client.Models.Get(context.Background(), "claude-haiku-4-5")
	if err != nil || m.ID != "claude-haiku-4-5" {
		t.Errorf("get = %+v, %v", m, err)
	}
	_, err = s.client.Models.Get(context.Background(), "no-such-model")
	wantAPIError(t, err, 404, "model_not_found")
}

// TestChat_ConcurrentStreamsNoCrossTalk runs 50 streams at once, each with
// its own marker, and checks every stream got exactly its own answer.
func TestChat_ConcurrentStreamsNoCrossTalk(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			marker := fmt.Sprintf("marker-%03d", i)
			want := fmt.Sprintf("reply for %s with several words to stream in pieces", marker)
			stream := s.client.Chat.Completions.NewStreaming(context.Background(), userParams("@emulator text "+want+"\n@emulator delay 1"))
			var acc openai.ChatCompletionAccumulator
			for stream.Next() {
				acc.AddChunk(stream.Current())
			}
			if err := stream.Err(); err != nil {
				errs <- fmt.Errorf("%s: %w", marker, err)
				return
			}
			if got := acc.Choices[0].Message.Content; got != want {
				errs <- fmt.Errorf("%s: got %q", marker, got)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestChat_FeatureSwitches turns each feature off and checks that a request
// needing it is refused with a 400 naming the feature, not served without it.
func TestChat_FeatureSwitches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	vision := openai.ChatCompletionNewParams{Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
		openai.TextContentPart("what is this?"),
		openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: onePixelPNG}),
	})}}
	tools := userParams("weather?")
	tools.Tools = []openai.ChatCompletionToolUnionParam{weatherTool}
	thinking := option.WithJSONSet("thinking", map[string]any{"type": "enabled", "budget_tokens": 2048})
	tests := []struct {
		env    string
		params openai.ChatCompletionNewParams
		opts   []option.RequestOption
	}{
		{"ENABLE_VISION", vision, nil},
		{"ENABLE_TOOL_USE", tools, nil},
		{"ENABLE_EXTENDED_THINKING", userParams("think"), []option.RequestOption{thinking}},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			on := startStack(t, nil)
			if _, err := on.client.Chat.Completions.New(ctx, tt.params, tt.opts...); err != nil {
				t.Fatalf("with the feature on: %v", err)
			}
			off := startStack(t, map[string]string{tt.env: "false"})
			_, err := off.client.Chat.Completions.New(ctx, tt.params, tt.opts...)
			wantAPIError(t, err, 400, "")
		})
	}
}

func TestChat_RequireAPIKeyOff(t *testing.T) {
	t.Parallel()
	s := startStack(t, map[string]string{"REQUIRE_API_KEY": "false", "MASTER_API_KEY": ""})
	_, err := s.client.Chat.Completions.New(context.Background(), userParams("hi"), option.WithAPIKey("anything"))
	if err != nil {
		t.Fatalf("REQUIRE_API_KEY=false refused a request: %v", err)
	}
}

// TestChat_RawBadInput sends what no SDK would and checks each answer is an
// OpenAI-shaped 400 naming the field, never a 500.
func TestChat_RawBadInput(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	tests := []struct {
		name, body, param string
	}{
		{"malformed JSON", `{"model":`, ""},
		{"messages missing", `{"model":"claude-haiku-4-5"}`, "messages"},
		{"model missing", `{"messages":[{"role":"user","content":"hi"}]}`, "model"},
		{"wrong type", `{"model":"claude-haiku-4-5","messages":"hi"}`, "messages"},
		{"unknown role", `{"model":"claude-haiku-4-5","messages":[{"role":"wizard","content":"hi"}]}`, "messages[0].role"},
		{"empty content", `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":""}]}`, "messages[0].content"},
		{"bad tool arguments", `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{not json"}}]},{"role":"tool","tool_call_id":"c1","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}]}`, "messages[1].tool_calls[0].function.arguments"},
		{"unsupported image", `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/tiff;base64,AAAA"}}]}]}`, ""},
		{"n > 1", `{"model":"claude-haiku-4-5","n":3,"messages":[{"role":"user","content":"hi"}]}`, "n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, s.baseURL+"/chat/completions", strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer "+testKey)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Error struct {
					Message string  `json:"message"`
					Type    string  `json:"type"`
					Param   *string `json:"param"`
				} `json:"error"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			if resp.StatusCode != 400 || body.Error.Type != "invalid_request_error" || body.Error.Message == "" {
				t.Errorf("status %d, error %+v", resp.StatusCode, body.Error)
			}
			if tt.param != "" && (body.Error.Param == nil || *body.Error.Param != tt.param) {
				t.Errorf("param = %v, want %q (message %q)", body.Error.Param, tt.param, body.Error.Message)
			}
			if resp.Header.Get("x-request-id") == "" {
				t.Error("no x-request-id")
			}
		})
	}
}

// TestChat_ResponseFormat checks that JSON modes answer parseable JSON: a
// schema-shaped document for json_schema, an object for json_object.
func TestChat_ResponseFormat(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	ctx := context.Background()
	p := userParams("Give me a city.")
	p.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
		JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{
			Name:   "city",
			Strict: openai.Bool(true),
			Schema: map[string]any{
				"type": "object",
				"properties": map[string]any{
					"name":       map[string]any{"type": "string"},
					"population": map[string]any{"type": "integer", "minimum": 1},
					"tags":       map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "minItems": 2},
				},
				"required":             []string{"name", "population", "tags"},
				"additionalProperties": false,
			},
		},
	}}
	resp, err := s.client.Chat.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	var city struct {
		Name       string   `json:"name"`
		Population int      `json:"population"`
		Tags       []string `json:"tags"`
	}
	if err := json.Unmarshal([]byte(resp.Choices[0].Message.Content), &city); err != nil || city.Name == "" || city.Population < 1 || len(city.Tags) < 2 {
		t.Errorf("json_schema content %q does not fit the schema (%v)", resp.Choices[0].Message.Content, err)
	}

	p = userParams("Give me anything.")
	p.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONObject: &shared.ResponseFormatJSONObjectParam{}}
	resp, err = s.client.Chat.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(resp.Choices[0].Message.Content), &obj); err != nil {
		t.Errorf("json_object content %q is not a JSON object: %v", resp.Choices[0].Message.Content, err)
	}
}

// TestChat_UnscriptedTools checks the emulator behaves like a model with
// tools when the prompt carries no directive: it calls the tool the prompt
// is about, or any tool when one is required, and answers in text after
// the tool results or when tools are off.
func TestChat_UnscriptedTools(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	ctx := context.Background()
	p := userParams("What's the weather like in Boston today?")
	p.Tools = []openai.ChatCompletionToolUnionParam{weatherTool}
	resp, err := s.client.Chat.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	msg := resp.Choices[0].Message
	if resp.Choices[0].FinishReason != "tool_calls" || len(msg.ToolCalls) != 1 || msg.ToolCalls[0].Function.Name != "get_weather" {
		t.Fatalf("auto: %+v", resp.Choices[0])
	}
	var args map[string]any
	if err := json.Unmarshal([]byte(msg.ToolCalls[0].Function.Arguments), &args); err != nil || args["city"] == nil {
		t.Errorf("arguments %q do not fit the tool's schema", msg.ToolCalls[0].Function.Arguments)
	}
	p.Messages = append(p.Messages, msg.ToParam(), openai.ToolMessage("72F and sunny", msg.ToolCalls[0].ID))
	resp, err = s.client.Chat.Completions.New(ctx, p)
	if err != nil || resp.Choices[0].FinishReason != "stop" || resp.Choices[0].Message.Content == "" {
		t.Errorf("after the tool result: %+v, %v", resp, err)
	}

	p = userParams("Tell me a joke.")
	p.Tools = []openai.ChatCompletionToolUnionParam{weatherTool}
	if resp, err := s.client.Chat.Completions.New(ctx, p); err != nil || len(resp.Choices[0].Message.ToolCalls) != 0 {
		t.Errorf("auto with an unrelated prompt should answer in text: %+v, %v", resp, err)
	}
	p.ToolChoice = openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("required")}
	if resp, err := s.client.Chat.Completions.New(ctx, p); err != nil || len(resp.Choices[0].Message.ToolCalls) != 1 {
		t.Errorf("required must call a tool: %+v, %v", resp, err)
	}
	p.ToolChoice = openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("none")}
	p.Messages = []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What's the weather in Boston?")}
	if resp, err := s.client.Chat.Completions.New(ctx, p); err != nil || len(resp.Choices[0].Message.ToolCalls) != 0 {
		t.Errorf("none must not call a tool: %+v, %v", resp, err)
	}
}
