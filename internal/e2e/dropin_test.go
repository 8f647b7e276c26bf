package e2e

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway"
)

// Requests that work against OpenAI work here too: what Claude would
// refuse as sent is served with the nearest setting Claude takes, and the
// response says what was changed.

// adjustedHeader is the header listing what the gateway changed.
const adjustedHeader = "X-Convertor-Adjusted"

func TestDropIn_SamplingAdjusted(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	thinking := option.WithJSONSet("thinking", map[string]any{"type": "enabled", "budget_tokens": 2048})
	tests := []struct {
		name string
		edit func(*openai.ChatCompletionNewParams)
		opts []option.RequestOption
		want string
	}{
		{"TemperatureAndTopP", func(p *openai.ChatCompletionNewParams) {
			p.Temperature, p.TopP = openai.Float(0.7), openai.Float(0.9)
		}, nil, "top_p dropped (claude-sonnet-4-5 takes temperature or top_p, not both)"},
		{"DefaultTopP", func(p *openai.ChatCompletionNewParams) {
			p.Temperature, p.TopP = openai.Float(0.7), openai.Float(1)
		}, nil, ""},
		{"TemperatureAboveOne", func(p *openai.ChatCompletionNewParams) {
			p.Temperature = openai.Float(1.6)
		}, nil, "temperature clamped to 1 (Claude takes temperatures from 0 to 1)"},
		{"ThinkingTemperatureAndTopP", func(p *openai.ChatCompletionNewParams) {
			p.Temperature, p.TopP = openai.Float(0.2), openai.Float(0.8)
		}, []option.RequestOption{thinking}, "temperature dropped (Claude takes only temperature 1 with extended thinking); " +
			"top_p raised to 0.95 (Claude takes top_p from 0.95 to 1 with extended thinking)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := userParams("@emulator text fine")
			tt.edit(&p)
			var raw *http.Response
			resp, err := s.client.Chat.Completions.New(context.Background(), p, append(tt.opts, option.WithResponseInto(&raw))...)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Choices[0].Message.Content != "fine" {
				t.Errorf("content = %q", resp.Choices[0].Message.Content)
			}
			if got := raw.Header.Get(adjustedHeader); got != tt.want {
				t.Errorf("%s = %q, want %q", adjustedHeader, got, tt.want)
			}

			var streamed *http.Response
			got, _ := collect(t, s, p, append(tt.opts, option.WithResponseInto(&streamed))...)
			if got.Choices[0].Message.Content != "fine" {
				t.Errorf("streamed content = %q", got.Choices[0].Message.Content)
			}
			if h := streamed.Header.Get(adjustedHeader); h != tt.want {
				t.Errorf("streamed %s = %q, want %q", adjustedHeader, h, tt.want)
			}
		})
	}
}

func TestDropIn_StrictParamsRefuses(t *testing.T) {
	t.Parallel()
	s := startStack(t, map[string]string{"STRICT_PARAMS": "true"})
	p := userParams("hi")
	p.Temperature, p.TopP = openai.Float(0.7), openai.Float(0.9)
	_, err := s.client.Chat.Completions.New(context.Background(), p)
	apiErr := wantAPIError(t, err, 400, "")
	if apiErr.Param != "top_p" || apiErr.Type != "invalid_request_error" || !strings.Contains(apiErr.Message, "temperature or top_p") {
		t.Errorf("error = %s, want invalid_request_error naming top_p", apiErr.RawJSON())
	}
	// Values Claude takes are served as ever.
	p.TopP = openai.Float(1)
	if _, err := s.client.Chat.Completions.New(context.Background(), p); err != nil {
		t.Errorf("temperature with the default top_p: %v", err)
	}
}

// TestDropIn_AssistantSpeaksFirst sends conversations that open with the
// assistant, as OpenAI accepts; the emulator refuses what Bedrock refuses,
// a conversation that does not start with the user.
func TestDropIn_AssistantSpeaksFirst(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	ctx := context.Background()
	greeting := openai.ChatCompletionNewParams{
		Model: model,
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("You are the front desk."),
			openai.AssistantMessage("Welcome to the hotel! How can I help?"),
			openai.UserMessage("@emulator text A room for two, then."),
		},
	}
	resp, err := s.client.Chat.Completions.New(ctx, greeting)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != "A room for two, then." {
		t.Errorf("content = %q", got)
	}
	got, _ := collect(t, s, greeting)
	if c := got.Choices[0].Message.Content; c != "A room for two, then." {
		t.Errorf("streamed content = %q", c)
	}

	// An opening tool call keeps working: its result answers it.
	opener := openai.AssistantMessage("Let me check the weather first.")
	opener.OfAssistant.ToolCalls = []openai.ChatCompletionMessageToolCallUnionParam{{
		OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
			ID:       "call_opening",
			Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: "get_weather", Arguments: `{"city":"Rome"}`},
		},
	}}
	withTool := openai.ChatCompletionNewParams{
		Model: model,
		Tools: []openai.ChatCompletionToolUnionParam{weatherTool},
		Messages: []openai.ChatCompletionMessageParamUnion{
			opener,
			openai.ToolMessage("sunny", "call_opening"),
		},
	}
	resp, err = s.client.Chat.Completions.New(ctx, withTool)
	if err != nil {
		t.Fatal(err)
	}
	if c := resp.Choices[0].Message.Content; !strings.Contains(c, "get_weather returned sunny") {
		t.Errorf("content = %q, want the emulator quoting the tool result", c)
	}
}

// TestDropIn_ParallelToolCallsFalse asks for one tool call a turn where the
// model would make two: the gateway sends Anthropic's
// disable_parallel_tool_use, and the emulator honours it as Claude does.
func TestDropIn_ParallelToolCallsFalse(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	ctx := context.Background()
	twoCities := "Weather in two cities.\n@emulator tool get_weather {\"city\":\"Paris\"}\n@emulator tool get_weather {\"city\":\"Oslo\"}"
	forced := openai.ChatCompletionToolChoiceOptionUnionParam{OfFunctionToolChoice: &openai.ChatCompletionNamedToolChoiceParam{Function: openai.ChatCompletionNamedToolChoiceFunctionParam{Name: "get_weather"}}}
	for _, tt := range []struct {
		name   string
		choice openai.ChatCompletionToolChoiceOptionUnionParam
	}{
		{"DefaultChoice", openai.ChatCompletionToolChoiceOptionUnionParam{}},
		{"Auto", openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("auto")}},
		{"Required", openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("required")}},
		{"ForcedFunction", forced},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := userParams(twoCities)
			p.Tools = []openai.ChatCompletionToolUnionParam{weatherTool}
			p.ToolChoice = tt.choice
			p.ParallelToolCalls = openai.Bool(false)
			resp, err := s.client.Chat.Completions.New(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			if calls := resp.Choices[0].Message.ToolCalls; len(calls) != 1 || !strings.Contains(calls[0].Function.Arguments, "Paris") {
				t.Errorf("tool calls = %+v, want the one call for Paris", calls)
			}
			got, _ := collect(t, s, p)
			if calls := got.Choices[0].Message.ToolCalls; len(calls) != 1 || got.Choices[0].FinishReason != "tool_calls" {
				t.Errorf("streamed tool calls = %+v (%s), want one", calls, got.Choices[0].FinishReason)
			}
		})
	}

	// parallel_tool_calls true, or left out, keeps both calls.
	p := userParams(twoCities)
	p.Tools = []openai.ChatCompletionToolUnionParam{weatherTool}
	p.ParallelToolCalls = openai.Bool(true)
	resp, err := s.client.Chat.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(resp.Choices[0].Message.ToolCalls); n != 2 {
		t.Errorf("parallel_tool_calls true: %d tool calls, want 2", n)
	}

	// A model Bedrock does not take the field for is refused, naming it.
	p.Model = "claude-3-5-haiku"
	p.ParallelToolCalls = openai.Bool(false)
	_, err = s.client.Chat.Completions.New(ctx, p)
	apiErr := wantAPIError(t, err, 400, "")
	if apiErr.Param != "parallel_tool_calls" || apiErr.Type != "invalid_request_error" {
		t.Errorf("error = %s, want invalid_request_error naming parallel_tool_calls", apiErr.RawJSON())
	}
}

// TestDropIn_ModelsOfALimitedKey lists what a key limited to some models
// may use, and answers for the others as OpenAI does for models a key
// cannot access.
func TestDropIn_ModelsOfALimitedKey(t *testing.T) {
	t.Parallel()
	store := keyStore(t)
	s := startGateway(t, startEmulator(t), nil, gateway.Deps{Keys: store})
	secret, _ := newKey(t, store, func(k *convertor.APIKey) {
		k.AllowedModels = []string{"claude-haiku-4-5", "claude-sonnet-4-5"}
	})
	ctx := context.Background()
	page, err := s.client.Models.List(ctx, option.WithAPIKey(secret))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	if want := []string{"claude-sonnet-4-5", "claude-haiku-4-5"}; !slices.Equal(ids, want) {
		t.Errorf("listed %v, want %v", ids, want)
	}
	if m, err := s.client.Models.Get(ctx, "claude-haiku-4-5", option.WithAPIKey(secret)); err != nil || m.ID != "claude-haiku-4-5" {
		t.Errorf("get an allowed model = %+v, %v", m, err)
	}
	_, err = s.client.Models.Get(ctx, "claude-opus-4-5", option.WithAPIKey(secret))
	apiErr := wantAPIError(t, err, 404, "model_not_found")
	if apiErr.Message != "The model `claude-opus-4-5` does not exist or you do not have access to it." {
		t.Errorf("message = %q", apiErr.Message)
	}
	// The master key sees every model.
	page, err = s.client.Models.List(ctx)
	if err != nil || len(page.Data) != len(convertor.DefaultRoutes) {
		t.Errorf("master key lists %d models (%v), want %d", len(page.Data), err, len(convertor.DefaultRoutes))
	}
}

// TestDropIn_ReasoningTokens reads usage.completion_tokens_details.reasoning_tokens
// of a thinking answer, streamed and not: the estimate from the thinking
// text, the same both ways.
func TestDropIn_ReasoningTokens(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	const thought = "First the square, then the root; both sides agree, so the answer is 42."
	p := userParams("Think first.\n@emulator thinking " + thought + "\n@emulator text 42")
	thinking := option.WithJSONSet("thinking", map[string]any{"type": "enabled", "budget_tokens": 2048})
	want := int64((len(thought) + 3) / 4)

	resp, err := s.client.Chat.Completions.New(context.Background(), p, thinking)
	if err != nil {
		t.Fatal(err)
	}
	u := resp.Usage
	if u.CompletionTokensDetails.ReasoningTokens != want || u.CompletionTokens < want {
		t.Errorf("reasoning_tokens = %d of %d completion tokens, want %d", u.CompletionTokensDetails.ReasoningTokens, u.CompletionTokens, want)
	}

	p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	_, chunks := collect(t, s, p, thinking)
	last := chunks[len(chunks)-1]
	if got := last.Usage.CompletionTokensDetails.ReasoningTokens; got != want {
		t.Errorf("streamed reasoning_tokens = %d, want %d", got, want)
	}

	// Without thinking there is nothing to count.
	resp, err = s.client.Chat.Completions.New(context.Background(), userParams("@emulator text plain"))
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Usage.CompletionTokensDetails.ReasoningTokens; got != 0 {
		t.Errorf("reasoning_tokens without thinking = %d, want 0", got)
	}
}

// TestDropIn_BudgetMessageExact refuses a key past a budget of a fraction
// of a cent, and names both amounts exactly rather than as "$0.00".
func TestDropIn_BudgetMessageExact(t *testing.T) {
	t.Parallel()
	store := keyStore(t)
	spend := &fakeSpend{}
	spend.set(250)
	s := startGateway(t, startEmulator(t), nil, gateway.Deps{Keys: store, Spend: spend})
	secret, _ := newKey(t, store, func(k *convertor.APIKey) { k.MonthlyBudgetMicros = 200 })
	_, err := s.client.Chat.Completions.New(context.Background(), userParams("hi"), option.WithAPIKey(secret))
	apiErr := wantAPIError(t, err, 429, "insufficient_quota")
	if !strings.Contains(apiErr.Message, "monthly budget of $0.0002 (spent $0.00025 this month)") {
		t.Errorf("message = %q, want the exact budget and spend", apiErr.Message)
	}
}

// TestDropIn_NewerOpenAIFields sends fields the newer OpenAI SDKs set:
// each is served, reported or refused as the README's table says.
func TestDropIn_NewerOpenAIFields(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	ctx := context.Background()
	p := userParams("@emulator text ok")
	p.SafetyIdentifier = openai.String("user-hash-42")
	p.PromptCacheKey = openai.String("tenant-7")
	p.Verbosity = openai.ChatCompletionNewParamsVerbosityLow
	var raw *http.Response
	if _, err := s.client.Chat.Completions.New(ctx, p, option.WithResponseInto(&raw)); err != nil {
		t.Fatal(err)
	}
	if got := raw.Header.Get(adjustedHeader); got != "verbosity ignored (Claude has no verbosity setting)" {
		t.Errorf("%s = %q", adjustedHeader, got)
	}

	p = userParams("hi")
	p.WebSearchOptions = openai.ChatCompletionNewParamsWebSearchOptions{SearchContextSize: "low"}
	_, err := s.client.Chat.Completions.New(ctx, p)
	if apiErr := wantAPIError(t, err, 400, ""); apiErr.Param != "web_search_options" {
		t.Errorf("error = %s, want one naming web_search_options", apiErr.RawJSON())
	}
}
