package emulator_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/bedrock/emulator"
)

const sonnet = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"

// newSDK starts an emulator and returns the official SDK client aimed at it.
func newSDK(t testing.TB, opts emulator.Options) *bedrockruntime.Client {
	t.Helper()
	srv := httptest.NewServer(emulator.New(opts))
	t.Cleanup(srv.Close)
	awsCfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}
	// A connection per request: the SDK client, on a reused connection to
	// a server as fast as this one, now and then reads a stream's answer
	// from a connection it has already closed ("use of closed network
	// connection"; see BenchmarkClient's lost-streams), which is the
	// SDK's fault and not what these tests are about.
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	return bedrock.NewSDKClient(awsCfg, bedrock.ClientConfig{Endpoint: srv.URL, MaxRetries: -1, HTTPClient: hc})
}

func userText(s string) types.Message {
	return types.Message{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: s}}}
}

func weatherTools() *types.ToolConfiguration {
	return &types.ToolConfiguration{Tools: []types.Tool{&types.ToolMemberToolSpec{Value: types.ToolSpecification{
		Name:        aws.String("get_weather"),
		InputSchema: &types.ToolInputSchemaMemberJson{Value: document.NewLazyDocument(map[string]any{"type": "object"})},
	}}}}
}

// result is a response reduced to what the tests compare, from either
// Converse or ConverseStream.
type result struct {
	Reasoning string
	Signature string
	Text      string
	Tools     []tool
	Stop      types.StopReason
	Usage     types.TokenUsage
}

type tool struct {
	ID, Name, Input string
}

func converse(t *testing.T, c *bedrockruntime.Client, in *bedrockruntime.ConverseInput) (result, error) {
	t.Helper()
	out, err := c.Converse(context.Background(), in)
	if err != nil {
		return result{}, err
	}
	var r result
	msg := out.Output.(*types.ConverseOutputMemberMessage).Value
	for _, b := range msg.Content {
		switch b := b.(type) {
		case *types.ContentBlockMemberText:
			r.Text += b.Value
		case *types.ContentBlockMemberReasoningContent:
			rt := b.Value.(*types.ReasoningContentBlockMemberReasoningText).Value
			r.Reasoning, r.Signature = aws.ToString(rt.Text), aws.ToString(rt.Signature)
		case *types.ContentBlockMemberToolUse:
			input, err := b.Value.Input.MarshalSmithyDocument()
			if err != nil {
				t.Fatalf("tool input: %v", err)
			}
			r.Tools = append(r.Tools, tool{aws.ToString(b.Value.ToolUseId), aws.ToString(b.Value.Name), string(input)})
		}
	}
	r.Stop, r.Usage = out.StopReason, *out.Usage
	return r, nil
}

func converseStream(t *testing.T, c *bedrockruntime.Client, in *bedrockruntime.ConverseInput) (result, int, error) {
	t.Helper()
	out, err := c.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{
		ModelId: in.ModelId, Messages: in.Messages, System: in.System, InferenceConfig: in.InferenceConfig,
		ToolConfig: in.ToolConfig, AdditionalModelRequestFields: in.AdditionalModelRequestFields,
	})
	if err != nil {
		return result{}, 0, err
	}
	es := out.GetStream()
	defer es.Close()
	var r result
	deltas := 0
	for ev := range es.Events() {
		switch ev := ev.(type) {
		case *types.ConverseStreamOutputMemberContentBlockStart:
			tu := ev.Value.Start.(*types.ContentBlockStartMemberToolUse).Value
			r.Tools = append(r.Tools, tool{ID: aws.ToString(tu.ToolUseId), Name: aws.ToString(tu.Name)})
		case *types.ConverseStreamOutputMemberContentBlockDelta:
			deltas++
			switch d := ev.Value.Delta.(type) {
			case *types.ContentBlockDeltaMemberText:
				r.Text += d.Value
			case *types.ContentBlockDeltaMemberToolUse:
				r.Tools[len(r.Tools)-1].Input += aws.ToString(d.Value.Input)
			case *types.ContentBlockDeltaMemberReasoningContent:
				switch rd := d.Value.(type) {
				case *types.ReasoningContentBlockDeltaMemberText:
					r.Reasoning += rd.Value
				case *types.ReasoningContentBlockDeltaMemberSignature:
					r.Signature += rd.Value
				}
			}
		case *types.ConverseStreamOutputMemberMessageStop:
			r.Stop = ev.Value.StopReason
		case *types.ConverseStreamOutputMemberMetadata:
			r.Usage = *ev.Value.Usage
		}
	}
	return r, deltas, es.Err()
}

var cmpResult = cmp.Options{cmp.AllowUnexported(types.TokenUsage{}), cmp.Comparer(func(a, b types.TokenUsage) bool {
	return aws.ToInt32(a.InputTokens) == aws.ToInt32(b.InputTokens) && aws.ToInt32(a.OutputTokens) == aws.ToInt32(b.OutputTokens) &&
		aws.ToInt32(a.TotalTokens) == aws.ToInt32(b.TotalTokens) && aws.ToInt32(a.CacheReadInputTokens) == aws.ToInt32(b.CacheReadInputTokens) &&
		aws.ToInt32(a.CacheWriteInputTokens) == aws.ToInt32(b.CacheWriteInputTokens)
})}

// TestEmulator_SDK runs every scripted behaviour through the official SDK,
// once with Converse and once with ConverseStream, and checks that both
// give the same answer and usage.
func TestEmulator_SDK(t *testing.T) {
	t.Parallel()
	c := newSDK(t, emulator.Options{})
	thinking := document.NewLazyDocument(map[string]any{"thinking": map[string]any{"type": "enabled", "budget_tokens": 2048}})
	tests := []struct {
		name  string
		in    bedrockruntime.ConverseInput
		check func(t *testing.T, r result)
	}{
		{"Default", bedrockruntime.ConverseInput{Messages: []types.Message{userText("Tell me about the sea and its many moods, please.")}},
			func(t *testing.T, r result) {
				if want := "This is a synthetic reply from the Bedrock emulator to: Tell me about the sea and its many moods"; r.Text != want {
					t.Errorf("text = %q, want %q", r.Text, want)
				}
				if r.Stop != types.StopReasonEndTurn {
					t.Errorf("stop = %q, want end_turn", r.Stop)
				}
			}},
		{"Text", bedrockruntime.ConverseInput{Messages: []types.Message{userText("hi\n@emulator text Hello there, friend!")}},
			func(t *testing.T, r result) {
				if r.Text != "Hello there, friend!" {
					t.Errorf("text = %q", r.Text)
				}
			}},
		{"ParallelToolsAfterText", bedrockruntime.ConverseInput{ToolConfig: weatherTools(), Messages: []types.Message{userText(
			"@emulator text Let me check.\n@emulator tool get_weather {\"city\":\"Paris\"}\n@emulator tool get_weather {\"city\":\"Rome\"}")}},
			func(t *testing.T, r result) {
				if r.Text != "Let me check." || r.Stop != types.StopReasonToolUse || len(r.Tools) != 2 {
					t.Fatalf("got %+v", r)
				}
				if r.Tools[0].Input != `{"city":"Paris"}` || r.Tools[1].Name != "get_weather" || !strings.HasPrefix(r.Tools[0].ID, "tooluse_") || r.Tools[0].ID == r.Tools[1].ID {
					t.Errorf("tools = %+v", r.Tools)
				}
			}},
		{"MaxTokensDirective", bedrockruntime.ConverseInput{Messages: []types.Message{userText("@emulator text one two three four five six\n@emulator max-tokens")}},
			func(t *testing.T, r result) {
				if r.Stop != types.StopReasonMaxTokens || r.Text != "one two three" {
					t.Errorf("got stop %q text %q", r.Stop, r.Text)
				}
			}},
		{"MaxTokensLimit", bedrockruntime.ConverseInput{InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(2)},
			Messages: []types.Message{userText("@emulator text one two three four five six")}},
			func(t *testing.T, r result) {
				if r.Stop != types.StopReasonMaxTokens || r.Text != "one two " || aws.ToInt32(r.Usage.OutputTokens) != 2 {
					t.Errorf("got stop %q text %q usage %d", r.Stop, r.Text, aws.ToInt32(r.Usage.OutputTokens))
				}
			}},
		{"StopSequence", bedrockruntime.ConverseInput{InferenceConfig: &types.InferenceConfiguration{StopSequences: []string{"STOP", "three"}},
			Messages: []types.Message{userText("@emulator text one two three STOP four")}},
			func(t *testing.T, r result) {
				if r.Stop != types.StopReasonStopSequence || r.Text != "one two " {
					t.Errorf("got stop %q text %q", r.Stop, r.Text)
				}
			}},
		{"Guardrail", bedrockruntime.ConverseInput{Messages: []types.Message{userText("@emulator guardrail")}},
			func(t *testing.T, r result) {
				if r.Stop != types.StopReasonGuardrailIntervened {
					t.Errorf("stop = %q", r.Stop)
				}
			}},
		{"CacheAndUsage", bedrockruntime.ConverseInput{Messages: []types.Message{userText("@emulator usage in 10 out 20\n@emulator cache read 30 write 40")}},
			func(t *testing.T, r result) {
				want := types.TokenUsage{InputTokens: aws.Int32(10), OutputTokens: aws.Int32(20), CacheReadInputTokens: aws.Int32(30),
					CacheWriteInputTokens: aws.Int32(40), TotalTokens: aws.Int32(100)}
				if diff := cmp.Diff(want, r.Usage, cmpResult); diff != "" {
					t.Errorf("usage mismatch (-want +got):\n%s", diff)
				}
			}},
		{"Thinking", bedrockruntime.ConverseInput{AdditionalModelRequestFields: thinking,
			InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(4096)},
			Messages:        []types.Message{userText("@emulator thinking Let me think step by step.\n@emulator text 42")}},
			func(t *testing.T, r result) {
				if r.Reasoning != "Let me think step by step." || r.Signature == "" || r.Text != "42" {
					t.Errorf("got %+v", r)
				}
			}},
		{"ToolResults", bedrockruntime.ConverseInput{ToolConfig: weatherTools(), Messages: []types.Message{
			userText("weather?"),
			{Role: types.ConversationRoleAssistant, Content: []types.ContentBlock{&types.ContentBlockMemberToolUse{Value: types.ToolUseBlock{
				ToolUseId: aws.String("tooluse_1"), Name: aws.String("get_weather"), Input: document.NewLazyDocument(map[string]any{"city": "Paris"})}}}},
			{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberToolResult{Value: types.ToolResultBlock{
				ToolUseId: aws.String("tooluse_1"), Content: []types.ToolResultContentBlock{&types.ToolResultContentBlockMemberText{Value: "sunny, 21C"}}}}}},
		}},
			func(t *testing.T, r result) {
				if !strings.Contains(r.Text, "get_weather returned sunny, 21C") {
					t.Errorf("text = %q", r.Text)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := tt.in
			in.ModelId = aws.String(sonnet)
			got, err := converse(t, c, &in)
			if err != nil {
				t.Fatalf("Converse: %v", err)
			}
			tt.check(t, got)
			streamed, deltas, err := converseStream(t, c, &in)
			if err != nil {
				t.Fatalf("ConverseStream: %v", err)
			}
			if deltas == 0 {
				t.Errorf("stream sent no deltas")
			}
			if diff := cmp.Diff(got, streamed, cmpResult); diff != "" {
				t.Errorf("Converse and ConverseStream disagree (-converse +stream):\n%s", diff)
			}
		})
	}
}

// TestEmulator_SDKErrors checks that every scripted exception surfaces as
// the SDK's typed error (or its generic one for types the operation does
// not model) with Bedrock's HTTP status.
func TestEmulator_SDKErrors(t *testing.T) {
	t.Parallel()
	c := newSDK(t, emulator.Options{})
	tests := []struct {
		exception string
		status    int
		typed     func(error) bool
	}{
		{"ThrottlingException", 429, isType[*types.ThrottlingException]},
		{"ValidationException", 400, isType[*types.ValidationException]},
		{"AccessDeniedException", 403, isType[*types.AccessDeniedException]},
		{"ResourceNotFoundException", 404, isType[*types.ResourceNotFoundException]},
		{"ServiceUnavailableException", 503, isType[*types.ServiceUnavailableException]},
		{"ModelTimeoutException", 408, isType[*types.ModelTimeoutException]},
		{"InternalServerException", 500, isType[*types.InternalServerException]},
		{"ModelErrorException", 424, isType[*types.ModelErrorException]},
		{"ModelNotReadyException", 429, isType[*types.ModelNotReadyException]},
		{"ServiceQuotaExceededException", 400, isType[*smithy.GenericAPIError]},
	}
	for _, tt := range tests {
		t.Run(tt.exception, func(t *testing.T) {
			t.Parallel()
			in := &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet),
				Messages: []types.Message{userText("@emulator error " + tt.exception + " scripted failure")}}
			_, err := converse(t, c, in)
			checkSDKError(t, err, tt.exception, tt.status, tt.typed)
			_, _, err = converseStream(t, c, in)
			checkSDKError(t, err, tt.exception, tt.status, tt.typed)
		})
	}
}

func isType[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

func checkSDKError(t *testing.T, err error, exception string, status int, typed func(error) bool) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %s", exception)
	}
	if !typed(err) {
		t.Errorf("err = %T %v, want the SDK's type for %s", err, err, exception)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != exception || ae.ErrorMessage() != "scripted failure" {
		t.Errorf("err = %v, want code %s with message %q", err, exception, "scripted failure")
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() != status {
		t.Errorf("status = %d, want %d", re.HTTPStatusCode(), status)
	}
}

// TestEmulator_SDKStreamError checks an exception frame after n deltas.
func TestEmulator_SDKStreamError(t *testing.T) {
	t.Parallel()
	c := newSDK(t, emulator.Options{})
	for _, tt := range []struct {
		exception string
		typed     func(error) bool
	}{
		{"ModelStreamErrorException", isType[*types.ModelStreamErrorException]},
		{"ThrottlingException", isType[*types.ThrottlingException]},
		{"InternalServerException", isType[*types.InternalServerException]},
		{"ValidationException", isType[*types.ValidationException]},
		{"ServiceUnavailableException", isType[*types.ServiceUnavailableException]},
	} {
		t.Run(tt.exception, func(t *testing.T) {
			t.Parallel()
			in := &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet), Messages: []types.Message{userText(
				"@emulator text one two three four five six seven eight nine ten\n@emulator stream-error " + tt.exception + " after 2")}}
			r, deltas, err := converseStream(t, c, in)
			if !tt.typed(err) {
				t.Fatalf("err = %T %v, want %s", err, err, tt.exception)
			}
			if deltas != 2 || r.Text != "one two three four five six " {
				t.Errorf("deltas = %d text = %q, want 2 deltas before the exception", deltas, r.Text)
			}
		})
	}
}

// TestEmulator_SDKThinkingToolLoop runs the two-turn thinking + tools
// conversation: the signed reasoning block must come back for the second
// turn to be accepted, and a tampered or missing one is refused.
func TestEmulator_SDKThinkingToolLoop(t *testing.T) {
	t.Parallel()
	c := newSDK(t, emulator.Options{})
	fields := document.NewLazyDocument(map[string]any{"thinking": map[string]any{"type": "enabled", "budget_tokens": 1024}})
	first := &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet), ToolConfig: weatherTools(), AdditionalModelRequestFields: fields,
		InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(2048)},
		Messages:        []types.Message{userText("@emulator tool get_weather {\"city\":\"Oslo\"}")}}
	out, err := c.Converse(context.Background(), first)
	if err != nil {
		t.Fatalf("Converse turn 1: %v", err)
	}
	assistant := out.Output.(*types.ConverseOutputMemberMessage).Value
	if _, ok := assistant.Content[0].(*types.ContentBlockMemberReasoningContent); !ok {
		t.Fatalf("turn 1 content[0] = %T, want reasoning", assistant.Content[0])
	}
	toolUse := assistant.Content[1].(*types.ContentBlockMemberToolUse).Value
	turn2 := func(assistant types.Message) *bedrockruntime.ConverseInput {
		in := *first
		in.Messages = []types.Message{first.Messages[0], assistant, {Role: types.ConversationRoleUser, Content: []types.ContentBlock{
			&types.ContentBlockMemberToolResult{Value: types.ToolResultBlock{ToolUseId: toolUse.ToolUseId,
				Content: []types.ToolResultContentBlock{&types.ToolResultContentBlockMemberText{Value: "snow"}}}}}}}
		return &in
	}
	if _, err := c.Converse(context.Background(), turn2(assistant)); err != nil {
		t.Errorf("turn 2 with the signed reasoning: %v", err)
	}

	tampered := assistant
	tampered.Content = append([]types.ContentBlock{&types.ContentBlockMemberReasoningContent{Value: &types.ReasoningContentBlockMemberReasoningText{
		Value: types.ReasoningTextBlock{Text: aws.String("altered thoughts"), Signature: assistant.Content[0].(*types.ContentBlockMemberReasoningContent).Value.(*types.ReasoningContentBlockMemberReasoningText).Value.Signature}}}},
		assistant.Content[1:]...)
	_, err = c.Converse(context.Background(), turn2(tampered))
	if !isType[*types.ValidationException](err) || !strings.Contains(err.Error(), "Invalid `signature`") {
		t.Errorf("turn 2 with tampered reasoning: err = %v, want invalid signature", err)
	}

	stripped := assistant
	stripped.Content = assistant.Content[1:]
	_, err = c.Converse(context.Background(), turn2(stripped))
	if !isType[*types.ValidationException](err) || !strings.Contains(err.Error(), "must start with a thinking block") {
		t.Errorf("turn 2 without reasoning: err = %v, want the thinking-block rule", err)
	}
}

// TestEmulator_SigV4 checks that RequireSigV4 accepts the SDK's signed
// requests and refuses unsigned ones as AWS does.
func TestEmulator_SigV4(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(emulator.New(emulator.Options{RequireSigV4: true}))
	defer srv.Close()
	awsCfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}
	c := bedrock.NewSDKClient(awsCfg, bedrock.ClientConfig{Endpoint: srv.URL})
	if _, err := c.Converse(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet), Messages: []types.Message{userText("hi")}}); err != nil {
		t.Errorf("signed Converse: %v", err)
	}
	resp, err := http.Post(srv.URL+"/model/"+sonnet+"/converse", "application/json", strings.NewReader(`{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.HasPrefix(resp.Header.Get("X-Amzn-Errortype"), "MissingAuthenticationTokenException") {
		t.Errorf("unsigned: status %d type %q, want 403 MissingAuthenticationTokenException", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"))
	}
}
