package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/accountant"
	"github.com/openai-api-convertor/convertor/gateway"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// weatherFunction is weatherTool as a Responses function tool.
var weatherFunction = responses.ToolParamOfFunction("get_weather", map[string]any{
	"type":       "object",
	"properties": map[string]any{"city": map[string]any{"type": "string"}},
	"required":   []string{"city"},
}, false)

func inputText(text string) responses.ResponseNewParams {
	return responses.ResponseNewParams{
		Model: model,
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String(text)},
	}
}

// collectResponse runs a streamed request and returns the response of its
// terminal event, every event, and the text the deltas add up to.
func collectResponse(t *testing.T, s *stack, p responses.ResponseNewParams, opts ...option.RequestOption) (responses.Response, []responses.ResponseStreamEventUnion, string) {
	t.Helper()
	stream := s.client.Responses.NewStreaming(context.Background(), p, opts...)
	var (
		events []responses.ResponseStreamEventUnion
		text   strings.Builder
		final  responses.Response
	)
	for stream.Next() {
		ev := stream.Current()
		events = append(events, ev)
		switch ev.Type {
		case "response.output_text.delta":
			text.WriteString(ev.Delta)
		case "response.completed", "response.incomplete":
			final = ev.Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	return final, events, text.String()
}

func TestResponses_Plain(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	p := inputText("Say hello.\n@emulator text Hello there!\n@emulator usage in 11 out 7\n@emulator cache read 5 write 3")
	p.Instructions = openai.String("You are terse.")
	resp, err := s.client.Responses.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.OutputText(); got != "Hello there!" {
		t.Errorf("output text = %q", got)
	}
	if resp.Status != responses.ResponseStatusCompleted || resp.Object != "response" || !strings.HasPrefix(resp.ID, "resp_") {
		t.Errorf("status %q object %q id %q", resp.Status, resp.Object, resp.ID)
	}
	if resp.Model != model || resp.Instructions.OfString != "You are terse." {
		t.Errorf("model %q instructions %+v", resp.Model, resp.Instructions)
	}
	u := resp.Usage
	if u.InputTokens != 11+5+3 || u.InputTokensDetails.CachedTokens != 5 || u.OutputTokens != 7 || u.TotalTokens != 26 {
		t.Errorf("usage = %s", u.RawJSON())
	}
	if len(resp.Output) != 1 || resp.Output[0].Type != "message" || resp.Output[0].Role != "assistant" || resp.Output[0].ID == "" {
		t.Errorf("output = %s", resp.RawJSON())
	}
}

func TestResponses_StreamMatchesNonStream(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	p := inputText("Tell me a story.\n@emulator text Once upon a time, a gateway spoke two APIs.")
	want, err := s.client.Responses.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	got, events, text := collectResponse(t, s, p)
	if text != want.OutputText() || got.OutputText() != want.OutputText() {
		t.Errorf("streamed deltas %q, final %q, want %q", text, got.OutputText(), want.OutputText())
	}
	if got.Usage.OutputTokens != want.Usage.OutputTokens || got.Usage.InputTokens != want.Usage.InputTokens {
		t.Errorf("streamed usage %s, want %s", got.Usage.RawJSON(), want.Usage.RawJSON())
	}
	var types []string
	for i, ev := range events {
		if ev.SequenceNumber != int64(i) {
			t.Errorf("event %d sequence_number = %d", i, ev.SequenceNumber)
		}
		if len(types) == 0 || types[len(types)-1] != ev.Type {
			types = append(types, ev.Type)
		}
	}
	wantTypes := []string{"response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
		"response.output_text.delta", "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"}
	if strings.Join(types, " ") != strings.Join(wantTypes, " ") {
		t.Errorf("event types = %v\nwant %v", types, wantTypes)
	}
}

// TestResponses_ToolsTwoTurns calls a function, sends its output back as a
// function_call_output item with the call echoed, and gets the answer;
// streamed and not.
func TestResponses_ToolsTwoTurns(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			input := responses.ResponseInputParam{
				responses.ResponseInputItemParamOfMessage("What is the weather in Tokyo?\n@emulator text Let me check.\n@emulator tool get_weather {\"city\":\"Tokyo\"}", responses.EasyInputMessageRoleUser),
			}
			call := func() responses.Response {
				t.Helper()
				p := responses.ResponseNewParams{Model: model, Input: responses.ResponseNewParamsInputUnion{OfInputItemList: input},
					Tools: []responses.ToolUnionParam{weatherFunction}}
				if stream {
					r, _, _ := collectResponse(t, s, p)
					return r
				}
				r, err := s.client.Responses.New(context.Background(), p)
				if err != nil {
					t.Fatal(err)
				}
				return *r
			}
			r1 := call()
			var fc *responses.ResponseFunctionToolCall
			for _, it := range r1.Output {
				if it.Type == "function_call" {
					c := it.AsFunctionCall()
					fc = &c
				}
			}
			if fc == nil || fc.Name != "get_weather" || fc.CallID == "" {
				t.Fatalf("no function call in %s", r1.RawJSON())
			}
			var args map[string]string
			if err := json.Unmarshal([]byte(fc.Arguments), &args); err != nil || args["city"] != "Tokyo" {
				t.Errorf("arguments = %q", fc.Arguments)
			}
			if r1.OutputText() != "Let me check." {
				t.Errorf("text alongside the call = %q", r1.OutputText())
			}
			input = append(input,
				responses.ResponseInputItemParamOfFunctionCall(fc.Arguments, fc.CallID, fc.Name),
				responses.ResponseInputItemUnionParam{OfFunctionCallOutput: &responses.ResponseInputItemFunctionCallOutputParam{
					CallID: openai.String(fc.CallID), Output: responses.ResponseInputItemFunctionCallOutputOutputUnionParam{OfString: openai.String(`{"temp_c":21}`)},
				}})
			r2 := call()
			if c := r2.OutputText(); !strings.Contains(c, "get_weather returned") || !strings.Contains(c, "21") {
				t.Errorf("follow-up text = %q", c)
			}
		})
	}
}

// TestResponses_ReasoningWithToolsByPreviousResponse runs thinking with
// tools over three turns continued by previous_response_id: the emulator
// refuses a tool result whose assistant turn lacks its signed thinking
// block, as Bedrock does, so the gateway must have kept it.
func TestResponses_ReasoningWithToolsByPreviousResponse(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	thinking := option.WithJSONSet("thinking", map[string]any{"type": "enabled", "budget_tokens": 2048})
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			call := func(p responses.ResponseNewParams) responses.Response {
				t.Helper()
				p.Model = model
				p.Tools = []responses.ToolUnionParam{weatherFunction}
				if stream {
					r, _, _ := collectResponse(t, s, p, thinking)
					return r
				}
				r, err := s.client.Responses.New(context.Background(), p, thinking)
				if err != nil {
					t.Fatal(err)
				}
				return *r
			}
			callOf := func(r responses.Response) responses.ResponseFunctionToolCall {
				t.Helper()
				var reasoning bool
				for _, it := range r.Output {
					switch it.Type {
					case "reasoning":
						reasoning = len(it.Summary) > 0 && it.Summary[0].Text != ""
					case "function_call":
						if !reasoning {
							t.Errorf("function call without reasoning before it: %s", r.RawJSON())
						}
						return it.AsFunctionCall()
					}
				}
				t.Fatalf("no function call in %s", r.RawJSON())
				return responses.ResponseFunctionToolCall{}
			}
			output := func(c responses.ResponseFunctionToolCall, out string) responses.ResponseInputItemUnionParam {
				return responses.ResponseInputItemUnionParam{OfFunctionCallOutput: &responses.ResponseInputItemFunctionCallOutputParam{
					CallID: openai.String(c.CallID), Output: responses.ResponseInputItemFunctionCallOutputOutputUnionParam{OfString: openai.String(out)},
				}}
			}
			r1 := call(inputText("Plan a trip.\n@emulator thinking Rome first.\n@emulator tool get_weather {\"city\":\"Rome\"}"))
			c1 := callOf(r1)
			if r1.Usage.OutputTokensDetails.ReasoningTokens == 0 {
				t.Errorf("reasoning_tokens = 0 with thinking: %s", r1.Usage.RawJSON())
			}
			r2 := call(responses.ResponseNewParams{
				PreviousResponseID: openai.String(r1.ID),
				Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
					output(c1, "sunny"),
					responses.ResponseInputItemParamOfMessage("@emulator thinking Now Milan.\n@emulator tool get_weather {\"city\":\"Milan\"}", responses.EasyInputMessageRoleUser),
				}},
			})
			c2 := callOf(r2)
			if r2.PreviousResponseID != r1.ID {
				t.Errorf("previous_response_id = %q", r2.PreviousResponseID)
			}
			r3 := call(responses.ResponseNewParams{
				PreviousResponseID: openai.String(r2.ID),
				Input:              responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{output(c2, "rainy")}},
			})
			if !strings.Contains(r3.OutputText(), "rainy") {
				t.Errorf("turn 3 text = %q", r3.OutputText())
			}
		})
	}
}

func TestResponses_ReasoningEffortAndSummary(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	p := inputText("Think first.\n@emulator thinking Let me reason step by step.\n@emulator text 42")
	p.Reasoning = shared.ReasoningParam{Effort: shared.ReasoningEffortLow}
	resp, err := s.client.Responses.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if resp.OutputText() != "42" {
		t.Errorf("text = %q", resp.OutputText())
	}
	if len(resp.Output) != 2 || resp.Output[0].Type != "reasoning" || !strings.Contains(resp.Output[0].Summary[0].Text, "step by step") {
		t.Errorf("output = %s", resp.RawJSON())
	}
	_, events, _ := collectResponse(t, s, p)
	var summary strings.Builder
	for _, ev := range events {
		if ev.Type == "response.reasoning_summary_text.delta" {
			summary.WriteString(ev.Delta)
		}
	}
	if !strings.Contains(summary.String(), "step by step") {
		t.Errorf("streamed summary = %q", summary.String())
	}
}

func TestResponses_JSONSchema(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	p := inputText("Give me a city.")
	p.Text = responses.ResponseTextConfigParam{Format: responses.ResponseFormatTextConfigParamOfJSONSchema("city", map[string]any{
		"type": "object",
		"properties": map[string]any{
			"name":       map[string]any{"type": "string"},
			"population": map[string]any{"type": "integer", "minimum": 1},
		},
		"required":             []string{"name", "population"},
		"additionalProperties": false,
	})}
	resp, err := s.client.Responses.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	var city struct {
		Name       string `json:"name"`
		Population int    `json:"population"`
	}
	if err := json.Unmarshal([]byte(resp.OutputText()), &city); err != nil || city.Name == "" || city.Population < 1 {
		t.Errorf("json_schema output %q does not fit the schema (%v)", resp.OutputText(), err)
	}
	if resp.Text.Format.Type != "json_schema" {
		t.Errorf("text.format echoed = %s", resp.Text.RawJSON())
	}
}

// twoKeys authenticates a fixed set of keys, each its own key id.
type twoKeys map[string]string

func (k twoKeys) Authenticate(_ context.Context, key []byte) (gateway.Principal, error) {
	id, ok := k[string(key)]
	if !ok {
		return gateway.Principal{}, &convertor.Error{Code: convertor.EUnauthorized, Reason: "invalid_api_key", Message: "Incorrect API key provided."}
	}
	return gateway.Principal{KeyID: id}, nil
}

// keyRecords authenticates keys by their record, with its limits and models.
type keyRecords map[string]*convertor.APIKey

func (k keyRecords) Authenticate(_ context.Context, key []byte) (gateway.Principal, error) {
	rec, ok := k[string(key)]
	if !ok {
		return gateway.Principal{}, &convertor.Error{Code: convertor.EUnauthorized, Reason: "invalid_api_key", Message: "Incorrect API key provided."}
	}
	return gateway.Principal{KeyID: rec.ID, Key: rec}, nil
}

// TestResponses_SharesKeyLimits shows a key's request limit counts chat
// completions and Responses requests together, its model list applies,
// and the refusal is recorded as chat's are.
func TestResponses_SharesKeyLimits(t *testing.T) {
	t.Parallel()
	const limited, haikuOnly = "sk-limited-0123456789", "sk-haiku-0123456789"
	sink := &captureSink{}
	s := startGateway(t, startEmulator(t), nil, gateway.Deps{Usage: sink, Auth: keyRecords{
		limited:   {ID: "key-limited", Enabled: true, RPM: 2},
		haikuOnly: {ID: "key-haiku", Enabled: true, AllowedModels: []string{"claude-haiku-4-5"}},
	}})
	ctx := context.Background()
	asLimited := option.WithAPIKey(limited)
	if _, err := s.client.Chat.Completions.New(ctx, userParams("@emulator text one"), asLimited); err != nil {
		t.Fatal(err)
	}
	if _, err := s.client.Responses.New(ctx, inputText("@emulator text two"), asLimited); err != nil {
		t.Fatal(err)
	}
	_, err := s.client.Responses.New(ctx, inputText("three is one too many"), asLimited)
	apiErr := wantAPIError(t, err, http.StatusTooManyRequests, "rate_limit_exceeded")
	if apiErr.Response.Header.Get("Retry-After") == "" || apiErr.Response.Header.Get("x-ratelimit-limit-requests") != "2" {
		t.Errorf("429 headers = %v", apiErr.Response.Header)
	}
	evs := sink.waitFor(t, 3)
	if ev := evs[2]; ev.Status != convertor.UsageRefused || ev.KeyID != "key-limited" || ev.ErrorType != convertor.ERateLimited {
		t.Errorf("refusal event = %+v", ev)
	}

	_, err = s.client.Responses.New(ctx, inputText("hi"), option.WithAPIKey(haikuOnly))
	wantAPIError(t, err, http.StatusForbidden, "model_not_allowed")
}

// TestResponses_StoredByKey reads and deletes a stored response, and shows
// that one key cannot read, continue or delete another's.
func TestResponses_StoredByKey(t *testing.T) {
	t.Parallel()
	const alice, bob = "sk-alice-0123456789", "sk-bob-0123456789"
	s := startGateway(t, startEmulator(t), nil, gateway.Deps{Auth: twoKeys{alice: "key-alice", bob: "key-bob"}})
	ctx := context.Background()
	asAlice, asBob := option.WithAPIKey(alice), option.WithAPIKey(bob)

	r, err := s.client.Responses.New(ctx, inputText("@emulator text remembered"), asAlice)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.client.Responses.Get(ctx, r.ID, responses.ResponseGetParams{}, asAlice)
	if err != nil || got.OutputText() != "remembered" || got.ID != r.ID {
		t.Fatalf("GET by its key = %v, %v", got, err)
	}
	_, err = s.client.Responses.Get(ctx, r.ID, responses.ResponseGetParams{}, asBob)
	wantAPIError(t, err, http.StatusNotFound, "")
	_, err = s.client.Responses.New(ctx, responses.ResponseNewParams{Model: model, PreviousResponseID: openai.String(r.ID),
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("and then?")}}, asBob)
	wantAPIError(t, err, http.StatusNotFound, "previous_response_not_found")
	wantAPIError(t, s.client.Responses.Delete(ctx, r.ID, asBob), http.StatusNotFound, "")

	if err := s.client.Responses.Delete(ctx, r.ID, asAlice); err != nil {
		t.Fatalf("DELETE by its key: %v", err)
	}
	_, err = s.client.Responses.Get(ctx, r.ID, responses.ResponseGetParams{}, asAlice)
	wantAPIError(t, err, http.StatusNotFound, "")

	// store false keeps nothing.
	p := inputText("@emulator text forgotten")
	p.Store = openai.Bool(false)
	r, err = s.client.Responses.New(ctx, p, asAlice)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.RawJSON(), `"store":false`) {
		t.Errorf("store not echoed false for store false: %s", r.RawJSON())
	}
	_, err = s.client.Responses.Get(ctx, r.ID, responses.ResponseGetParams{}, asAlice)
	wantAPIError(t, err, http.StatusNotFound, "")
}

func TestResponses_StoringOff(t *testing.T) {
	t.Parallel()
	s := startStack(t, map[string]string{"RESPONSES_STORE_ENTRIES": "0"})
	ctx := context.Background()
	r, err := s.client.Responses.New(ctx, inputText("@emulator text hi"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.RawJSON(), `"store":false`) {
		t.Errorf("store not echoed false while storing is off: %s", r.RawJSON())
	}
	_, err = s.client.Responses.New(ctx, responses.ResponseNewParams{Model: model, PreviousResponseID: openai.String(r.ID),
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("and then?")}})
	apiErr := wantAPIError(t, err, http.StatusBadRequest, "")
	if apiErr.Param != "previous_response_id" || !strings.Contains(apiErr.Message, "does not store") {
		t.Errorf("error = %s", apiErr.RawJSON())
	}
}

func TestResponses_ErrorStatuses(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	ctx := context.Background()
	withTool := func(tool responses.ToolUnionParam) responses.ResponseNewParams {
		p := inputText("hi")
		p.Tools = []responses.ToolUnionParam{tool}
		return p
	}
	tests := []struct {
		name   string
		params responses.ResponseNewParams
		opts   []option.RequestOption
		status int
		code   string
		param  string
		says   string
	}{
		{"bad key", inputText("hi"), []option.RequestOption{option.WithAPIKey("sk-wrong")}, 401, "invalid_api_key", "", ""},
		{"unknown model", responses.ResponseNewParams{Model: "gpt-nonexistent", Input: inputText("hi").Input}, nil, 404, "model_not_found", "", ""},
		{"web search", withTool(responses.ToolUnionParam{OfWebSearch: &responses.WebSearchToolParam{Type: responses.WebSearchToolTypeWebSearch}}), nil, 400, "", "tools[0].type", "web_search"},
		{"file search", withTool(responses.ToolParamOfFileSearch([]string{"vs_1"})), nil, 400, "", "tools[0].type", "file_search"},
		{"code interpreter", withTool(responses.ToolParamOfCodeInterpreter("auto")), nil, 400, "", "tools[0].type", "code_interpreter"},
		{"background", func() responses.ResponseNewParams { p := inputText("hi"); p.Background = openai.Bool(true); return p }(), nil, 400, "", "background", "background"},
		{"max_output_tokens renamed", func() responses.ResponseNewParams { p := inputText("hi"); p.MaxOutputTokens = openai.Int(-1); return p }(), nil, 400, "", "max_output_tokens", ""},
		{"throttled upstream", inputText("@emulator error ThrottlingException"), nil, 429, "", "", ""},
		{"validation", inputText("@emulator error ValidationException bad input"), nil, 400, "", "", ""},
		{"unavailable", inputText("@emulator error ServiceUnavailableException"), nil, 503, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.client.Responses.New(ctx, tt.params, tt.opts...)
			apiErr := wantAPIError(t, err, tt.status, tt.code)
			if tt.param != "" && apiErr.Param != tt.param {
				t.Errorf("param = %q, want %q (%s)", apiErr.Param, tt.param, apiErr.Message)
			}
			if tt.says != "" && !strings.Contains(apiErr.Message, tt.says) {
				t.Errorf("message %q does not name %q", apiErr.Message, tt.says)
			}
		})
	}
}

// TestResponses_MidStreamError fails a stream after its first events: the
// stream carries response.failed, and the SDK raises the error event.
func TestResponses_MidStreamError(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	stream := s.client.Responses.NewStreaming(context.Background(), inputText("a long answer please\n@emulator stream-error ModelStreamErrorException after 2"))
	var types []string
	for stream.Next() {
		types = append(types, stream.Current().Type)
	}
	if len(types) == 0 || types[len(types)-1] != "response.failed" {
		t.Errorf("events = %v, want response.failed last before the error", types)
	}
	var se interface{ Error() string }
	if err := stream.Err(); err == nil || !errors.As(err, &se) {
		t.Fatal("stream ended without the SDK raising the upstream error")
	}

	stream = s.client.Responses.NewStreaming(context.Background(), inputText("@emulator error ThrottlingException"))
	for stream.Next() {
	}
	wantAPIError(t, stream.Err(), 429, "")
}

func TestResponses_Incomplete(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	p := inputText("@emulator text " + strings.Repeat("word ", 200))
	p.MaxOutputTokens = openai.Int(10)
	resp, err := s.client.Responses.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != responses.ResponseStatusIncomplete || resp.IncompleteDetails.Reason != "max_output_tokens" {
		t.Errorf("status %q incomplete_details %s", resp.Status, resp.IncompleteDetails.RawJSON())
	}
	got, events, _ := collectResponse(t, s, p)
	if got.Status != responses.ResponseStatusIncomplete || events[len(events)-1].Type != "response.incomplete" {
		t.Errorf("streamed status %q, last event %q", got.Status, events[len(events)-1].Type)
	}
}

// TestResponses_UsageAccountedLikeChat sends the same prompt through chat
// completions and the Responses API, streamed and not: the usage events
// differ only in what identifies the request, and price to the same cost.
func TestResponses_UsageAccountedLikeChat(t *testing.T) {
	t.Parallel()
	sink := &captureSink{}
	s := startGateway(t, startEmulator(t), nil, gateway.Deps{Usage: sink})
	ctx := context.Background()
	const prompt = "Think.\n@emulator thinking Some reasoning.\n@emulator text Answer.\n@emulator usage in 11 out 7\n@emulator cache read 5 write 3"

	if _, err := s.client.Chat.Completions.New(ctx, userParams(prompt)); err != nil {
		t.Fatal(err)
	}
	chatEv := sink.waitFor(t, 1)[0]
	if _, err := s.client.Responses.New(ctx, inputText(prompt)); err != nil {
		t.Fatal(err)
	}
	respEv := sink.waitFor(t, 2)[1]
	p := userParams(prompt)
	p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	collect(t, s, p)
	chatStreamEv := sink.waitFor(t, 3)[2]
	collectResponse(t, s, inputText(prompt))
	respStreamEv := sink.waitFor(t, 4)[3]

	prices := convertor.NewPriceTable(accountant.DefaultPrices)
	for _, pair := range []struct {
		name       string
		chat, resp *convertor.UsageEvent
	}{{"non-streamed", chatEv, respEv}, {"streamed", chatStreamEv, respStreamEv}} {
		t.Run(pair.name, func(t *testing.T) {
			c, r := *pair.chat, *pair.resp
			if c.InputTokens != 11 || c.OutputTokens != 7 || c.CacheReadTokens != 5 || c.CacheWriteTokens != 3 {
				t.Errorf("chat event tokens = %+v", c)
			}
			if c.ID == r.ID || c.RequestID == r.RequestID {
				t.Error("the two requests share an event or request id")
			}
			for _, ev := range []*convertor.UsageEvent{&c, &r} {
				if err := ev.Validate(); err != nil {
					t.Errorf("invalid event: %v", err)
				}
				ev.ID, ev.RequestID, ev.Time, ev.LatencyMs, ev.TTFTMs = "", "", time.Time{}, 0, 0
			}
			if diff := cmp.Diff(c, r); diff != "" {
				t.Errorf("usage event differs (-chat +responses):\n%s", diff)
			}
			cr, rr := prices.Record(pair.chat), prices.Record(pair.resp)
			if cr == nil || rr == nil || cr.CostMicros != rr.CostMicros || cr.CostMicros == 0 {
				t.Errorf("priced: chat %+v, responses %+v", cr, rr)
			}
		})
	}
}

// TestResponses_SharedAcrossReplicas continues a thinking + tools
// conversation by previous_response_id on another replica, and reads and
// deletes it there: with Redis the stored responses and the signed
// thinking are shared, so no replica needs to be sticky.
func TestResponses_SharedAcrossReplicas(t *testing.T) {
	t.Parallel()
	endpoint := startEmulator(t)
	rc := testenv.Redis(t)
	log := slog.New(slog.DiscardHandler)
	replica := func() *stack {
		return startGateway(t, endpoint, nil, gateway.Deps{
			Reasoning: gateway.NewRedisReasoningStore(rc, time.Hour, nil, log),
			Responses: gateway.NewRedisResponseStore(rc, 100, 1<<20, time.Hour, nil),
		})
	}
	a, b := replica(), replica()
	ctx := context.Background()
	thinking := option.WithJSONSet("thinking", map[string]any{"type": "enabled", "budget_tokens": 2048})
	p := inputText("Plan a trip.\n@emulator tool get_weather {\"city\":\"Rome\"}")
	p.Tools = []responses.ToolUnionParam{weatherFunction}
	r1, err := a.client.Responses.New(ctx, p, thinking)
	if err != nil {
		t.Fatal(err)
	}
	var callID string
	for _, it := range r1.Output {
		if it.Type == "function_call" {
			callID = it.CallID
		}
	}
	if callID == "" {
		t.Fatalf("no function call in %s", r1.RawJSON())
	}
	r2, err := b.client.Responses.New(ctx, responses.ResponseNewParams{
		Model: model, Tools: p.Tools, PreviousResponseID: openai.String(r1.ID),
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
			{OfFunctionCallOutput: &responses.ResponseInputItemFunctionCallOutputParam{
				CallID: openai.String(callID), Output: responses.ResponseInputItemFunctionCallOutputOutputUnionParam{OfString: openai.String("sunny")},
			}},
		}},
	}, thinking)
	if err != nil {
		t.Fatalf("second turn on the other replica: %v", err)
	}
	if !strings.Contains(r2.OutputText(), "sunny") {
		t.Errorf("text = %q", r2.OutputText())
	}
	if got, err := b.client.Responses.Get(ctx, r1.ID, responses.ResponseGetParams{}); err != nil || got.ID != r1.ID {
		t.Errorf("GET on the other replica = %v, %v", got, err)
	}
	if err := b.client.Responses.Delete(ctx, r1.ID); err != nil {
		t.Errorf("DELETE on the other replica: %v", err)
	}
	_, err = a.client.Responses.Get(ctx, r1.ID, responses.ResponseGetParams{})
	wantAPIError(t, err, http.StatusNotFound, "")
}
