package convert

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openai-api-convertor/convertor/gateway/openai"
)

// A Responses request case is testdata/responses/<case>.request.json, with
// optional sidecars <case>.history.json (the stored conversation of its
// previous_response_id) and <case>.options.json (as for chat cases); its
// golden is <case>.converse.json or <case>.error.json. The request goes
// through ResponsesRequestToChat and then ChatRequestToConverse, the one
// converter both APIs share, as the gateway runs them.
func TestResponsesRequestToConverse_Golden(t *testing.T) {
	requests, err := filepath.Glob(filepath.Join("testdata", "responses", "*.request.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(requests) == 0 {
		t.Fatal("no golden cases in testdata/responses")
	}
	for _, path := range requests {
		base := strings.TrimSuffix(path, ".request.json")
		t.Run(filepath.Base(base), func(t *testing.T) {
			req := readResponsesRequest(t, path)
			history := readHistory(t, base+".history.json")
			got, err := responsesToConverse(req, history, readOptions(t, base+".options.json"))
			if err != nil {
				checkGolden(t, base+".error.json", base+".converse.json", errorToGolden(t, err))
				return
			}
			checkGolden(t, base+".converse.json", base+".error.json", got)
		})
	}
}

// responsesToConverse converts as the gateway does.
func responsesToConverse(req *openai.ResponsesRequest, history []openai.Item, opts *Options) (any, error) {
	chat, m, err := ResponsesRequestToChat(req, history)
	if err != nil {
		return nil, err
	}
	out, _, err := ChatRequestToConverse(chat, opts)
	if err != nil {
		return nil, m.Error(err)
	}
	return out, nil
}

func readResponsesRequest(tb testing.TB, path string) *openai.ResponsesRequest {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var req openai.ResponsesRequest
	if err := json.Unmarshal(b, &req); err != nil {
		tb.Fatalf("decode %s: %v", path, err)
	}
	return &req
}

func readHistory(tb testing.TB, path string) []openai.Item {
	tb.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		tb.Fatal(err)
	}
	var items []openai.Item
	if err := json.Unmarshal(b, &items); err != nil {
		tb.Fatalf("decode %s: %v", path, err)
	}
	return items
}

// TestResponsesRequestToChat_SameConverseAsChat shows the two APIs share
// one converter: a Responses request and the chat request that says the
// same thing convert to the same Converse request.
func TestResponsesRequestToChat_SameConverseAsChat(t *testing.T) {
	chat := readRequest(t, filepath.Join("testdata", "chat", "basic_string.request.json"))
	want, _, err := ChatRequestToConverse(chat, nil)
	if err != nil {
		t.Fatal(err)
	}
	req := &openai.ResponsesRequest{Model: chat.Model, Instructions: "You are terse.", Input: &openai.ResponseInput{Text: "Hello"}}
	got, err := responsesToConverse(req, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	wb, _ := json.Marshal(want)
	gb, _ := json.Marshal(got)
	if string(wb) != string(gb) {
		t.Errorf("Converse request differs:\nchat      %s\nresponses %s", wb, gb)
	}
}

func TestResponsesMapping_Error(t *testing.T) {
	m := &ResponsesMapping{sources: []source{{param: "instructions"}, {param: "input[0]"}, {param: "input[2]", output: true}, {param: "previous_response_id"}}}
	tests := []struct{ chat, want string }{
		{"messages[1].content[0].image_url.url", "input[0].content[0].image_url.url"},
		{"messages[2].content", "input[2].output"},
		{"messages[2].tool_call_id", "input[2].call_id"},
		{"messages[1].tool_calls[0].function.arguments", "input[0].arguments"},
		{"messages[0].content", "instructions"},
		{"messages[3].content", "previous_response_id"},
		{"messages[9].content", "input"},
		{"tools[1].function.parameters", "tools[1].parameters"},
		{"tool_choice.function.name", "tool_choice.name"},
		{"max_completion_tokens", "max_output_tokens"},
		{"response_format.json_schema.schema", "text.format.schema"},
		{"reasoning_effort", "reasoning.effort"},
		{"temperature", "temperature"},
	}
	for _, tt := range tests {
		if got := m.param(tt.chat); got != tt.want {
			t.Errorf("param(%q) = %q, want %q", tt.chat, got, tt.want)
		}
	}
}
