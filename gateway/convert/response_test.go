package convert_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/convert"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

func init() {
	// The package's request tests may declare -update too; both read the
	// one flag through goldenUpdate.
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

// goldenUpdate reports whether -update asks for golden files to be rewritten.
func goldenUpdate() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// responseMeta is the Meta every response golden is converted with.
var responseMeta = convert.Meta{ID: "chatcmpl-01JTESTRESPONSE", Model: "claude-sonnet-4-5", Created: 1767225600}

// readConverseResponse reads a testdata/response/<case>.converse.json file.
func readConverseResponse(tb testing.TB, path string) *bedrock.ConverseResponse {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var resp bedrock.ConverseResponse
	if err := json.Unmarshal(b, &resp); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return &resp
}

// compareGolden compares got with the golden file at path, or rewrites the
// file under -update.
func compareGolden(tb testing.TB, path string, got []byte) {
	tb.Helper()
	if goldenUpdate() {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		tb.Errorf("%s mismatch (-want +got):\n%s", filepath.Base(path), diff)
	}
}

func TestConverseResponseToChat(t *testing.T) {
	paths, err := filepath.Glob("testdata/response/*.converse.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no response goldens: %v", err)
	}
	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".converse.json")
		t.Run(name, func(t *testing.T) {
			got := convert.ConverseResponseToChat(readConverseResponse(t, path), responseMeta)
			b, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, strings.TrimSuffix(path, ".converse.json")+".chat.json", append(b, '\n'))
		})
	}
}

func TestConverseResponseToChat_Content(t *testing.T) {
	text := func(s string) bedrock.ContentBlock { return bedrock.ContentBlock{Text: &s} }
	toolUse := bedrock.ContentBlock{ToolUse: &bedrock.ToolUseBlock{ToolUseID: "t1", Name: "f", Input: json.RawMessage(`{}`)}}
	redacted := bedrock.ContentBlock{ReasoningContent: &bedrock.ReasoningContent{RedactedContent: []byte{1, 2}}}
	for _, tt := range []struct {
		name    string
		content []bedrock.ContentBlock
		want    *string
	}{
		{"Nothing", nil, respPtr("")},
		{"OnlyRedactedReasoning", []bedrock.ContentBlock{redacted}, respPtr("")},
		{"OnlyToolCall", []bedrock.ContentBlock{toolUse}, nil},
		{"EmptyTextAndToolCall", []bedrock.ContentBlock{text(""), toolUse}, respPtr("")},
		{"TextAroundToolCall", []bedrock.ContentBlock{text("a"), toolUse, text("b")}, respPtr("ab")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := &bedrock.ConverseResponse{
				Output:     bedrock.ConverseOutput{Message: &bedrock.Message{Role: bedrock.RoleAssistant, Content: tt.content}},
				StopReason: bedrock.StopEndTurn,
			}
			got := convert.ConverseResponseToChat(resp, responseMeta).Choices[0].Message.Content
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("content mismatch (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("NoMessage", func(t *testing.T) {
		got := convert.ConverseResponseToChat(&bedrock.ConverseResponse{StopReason: bedrock.StopEndTurn}, responseMeta)
		if c := got.Choices[0].Message.Content; c == nil || *c != "" {
			t.Errorf("content = %v, want \"\"", c)
		}
		if got.Choices[0].Message.Role != "assistant" {
			t.Errorf("role = %q, want assistant", got.Choices[0].Message.Role)
		}
	})
}

func TestConverseResponseToChat_ToolArguments(t *testing.T) {
	for _, tt := range []struct {
		input json.RawMessage
		want  string
	}{
		{nil, "{}"},
		{json.RawMessage(`null`), "{}"},
		{json.RawMessage(" {\n \"a\" : [1, 2] }\n"), `{"a":[1,2]}`},
		{json.RawMessage(`{"s":"<&>"}`), `{"s":"<&>"}`},
		{json.RawMessage(`{broken`), `{broken`},
	} {
		resp := &bedrock.ConverseResponse{Output: bedrock.ConverseOutput{Message: &bedrock.Message{
			Role:    bedrock.RoleAssistant,
			Content: []bedrock.ContentBlock{{ToolUse: &bedrock.ToolUseBlock{ToolUseID: "t", Name: "f", Input: tt.input}}},
		}}}
		got := convert.ConverseResponseToChat(resp, responseMeta).Choices[0].Message.ToolCalls[0].Function.Arguments
		if got != tt.want {
			t.Errorf("arguments for input %q = %q, want %q", tt.input, got, tt.want)
		}
	}
}

func TestUsageToOpenAI(t *testing.T) {
	for _, tt := range []struct {
		name           string
		in             bedrock.TokenUsage
		reasoningBytes int
		want           *openai.Usage
	}{
		{
			name: "Plain",
			in:   bedrock.TokenUsage{InputTokens: 12, OutputTokens: 10, TotalTokens: 22},
			want: &openai.Usage{
				PromptTokens: 12, CompletionTokens: 10, TotalTokens: 22,
				PromptTokensDetails:     &openai.PromptTokensDetails{},
				CompletionTokensDetails: &openai.CompletionTokensDetails{},
			},
		},
		{
			// Cache tokens count once in prompt_tokens, never twice.
			name: "Cache",
			in:   bedrock.TokenUsage{InputTokens: 14, OutputTokens: 9, TotalTokens: 2583, CacheReadInputTokens: 2048, CacheWriteInputTokens: 512},
			want: &openai.Usage{
				PromptTokens: 2574, CompletionTokens: 9, TotalTokens: 2583,
				PromptTokensDetails:     &openai.PromptTokensDetails{CachedTokens: 2048, CacheWriteTokens: 512},
				CompletionTokensDetails: &openai.CompletionTokensDetails{},
			},
		},
		{
			// 41 bytes of thinking text, at four bytes a token rounded up.
			name:           "Reasoning",
			in:             bedrock.TokenUsage{InputTokens: 5, OutputTokens: 30},
			reasoningBytes: 41,
			want: &openai.Usage{
				PromptTokens: 5, CompletionTokens: 30, TotalTokens: 35,
				PromptTokensDetails:     &openai.PromptTokensDetails{},
				CompletionTokensDetails: &openai.CompletionTokensDetails{ReasoningTokens: 11},
			},
		},
		{
			// The estimate never claims more than Bedrock counted.
			name:           "ReasoningCapped",
			in:             bedrock.TokenUsage{InputTokens: 5, OutputTokens: 3},
			reasoningBytes: 400,
			want: &openai.Usage{
				PromptTokens: 5, CompletionTokens: 3, TotalTokens: 8,
				PromptTokensDetails:     &openai.PromptTokensDetails{},
				CompletionTokensDetails: &openai.CompletionTokensDetails{ReasoningTokens: 3},
			},
		},
		{
			name: "Zero",
			want: &openai.Usage{PromptTokensDetails: &openai.PromptTokensDetails{}, CompletionTokensDetails: &openai.CompletionTokensDetails{}},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, convert.UsageToOpenAI(tt.in, tt.reasoningBytes)); diff != "" {
				t.Errorf("UsageToOpenAI() mismatch (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("WireShape", func(t *testing.T) {
		b, err := json.Marshal(convert.UsageToOpenAI(bedrock.TokenUsage{InputTokens: 1, OutputTokens: 2}, 0))
		if err != nil {
			t.Fatal(err)
		}
		const want = `{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}`
		if string(b) != want {
			t.Errorf("usage JSON = %s, want %s", b, want)
		}
	})
}

func TestStopReasonToFinishReason(t *testing.T) {
	for in, want := range map[string]string{
		bedrock.StopEndTurn:                    "stop",
		bedrock.StopStopSequence:               "stop",
		bedrock.StopMaxTokens:                  "length",
		bedrock.StopModelContextWindowExceeded: "length",
		bedrock.StopToolUse:                    "tool_calls",
		bedrock.StopGuardrailIntervened:        "content_filter",
		bedrock.StopContentFiltered:            "content_filter",
		bedrock.StopMalformedModelOutput:       "stop",
		bedrock.StopMalformedToolUse:           "stop",
		"":                                     "stop",
		"some_future_reason":                   "stop",
	} {
		if got := convert.StopReasonToFinishReason(in); got != want {
			t.Errorf("StopReasonToFinishReason(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReasoningByToolCall(t *testing.T) {
	r1 := bedrock.ContentBlock{ReasoningContent: &bedrock.ReasoningContent{ReasoningText: &bedrock.ReasoningText{Text: "one", Signature: "s1"}}}
	r2 := bedrock.ContentBlock{ReasoningContent: &bedrock.ReasoningContent{RedactedContent: []byte("enc")}}
	text := "answer"
	tool := func(id string) bedrock.ContentBlock {
		return bedrock.ContentBlock{ToolUse: &bedrock.ToolUseBlock{ToolUseID: id, Name: "f", Input: json.RawMessage(`{}`)}}
	}
	for _, tt := range []struct {
		name string
		msg  *bedrock.Message
		want map[string][]bedrock.ContentBlock
	}{
		{"Nil", nil, nil},
		{"NoReasoning", &bedrock.Message{Content: []bedrock.ContentBlock{tool("a")}}, nil},
		{"NoTools", &bedrock.Message{Content: []bedrock.ContentBlock{r1, {Text: &text}}}, nil},
		{
			name: "EveryFollowingCall",
			msg:  &bedrock.Message{Content: []bedrock.ContentBlock{r1, r2, {Text: &text}, tool("a"), tool("b")}},
			want: map[string][]bedrock.ContentBlock{"a": {r1, r2}, "b": {r1, r2}},
		},
		{
			name: "InterleavedReasoning",
			msg:  &bedrock.Message{Content: []bedrock.ContentBlock{tool("early"), r1, tool("a"), r2, tool("b")}},
			want: map[string][]bedrock.ContentBlock{"a": {r1}, "b": {r1, r2}},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := convert.ReasoningByToolCall(tt.msg)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ReasoningByToolCall() mismatch (-want +got):\n%s", diff)
			}
			// Appending to one call's blocks must not change another's.
			for id := range got {
				_ = append(got[id], bedrock.ContentBlock{Text: &text})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("after append, ReasoningByToolCall() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func BenchmarkConverseResponseToChat(b *testing.B) {
	resp := readConverseResponse(b, "testdata/response/reasoning_tool_calls.converse.json")
	want, err := os.ReadFile("testdata/response/reasoning_tool_calls.chat.json")
	if err != nil {
		b.Fatal(err)
	}
	got, err := json.MarshalIndent(convert.ConverseResponseToChat(resp, responseMeta), "", "  ")
	if err != nil {
		b.Fatal(err)
	}
	if !bytes.Equal(append(got, '\n'), want) {
		b.Fatalf("output differs from golden:\n%s", got)
	}
	in, err := json.Marshal(resp)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		convert.ConverseResponseToChat(resp, responseMeta)
	}
}

func respPtr[T any](v T) *T { return &v }
