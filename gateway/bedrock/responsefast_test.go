package bedrock

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/openai-api-convertor/convertor/internal/fastjson"
)

// converseResponseSeeds are Converse bodies of the usual shape and of the
// shapes the fast path must leave to the full decoder.
var converseResponseSeeds = []string{
	`{"metrics":{"latencyMs":1175},"output":{"message":{"content":[{"text":"Hello! How can I help?"}],"role":"assistant"}},"stopReason":"end_turn","usage":{"inputTokens":12,"outputTokens":30,"totalTokens":42}}`,
	`{"output":{"message":{"role":"assistant","content":[{"text":"a \"quoted\"\nline é😀"},{"text":""}]}},"stopReason":"max_tokens","usage":{"inputTokens":3,"outputTokens":7,"totalTokens":1034,"cacheReadInputTokens":1000,"cacheWriteInputTokens":24},"metrics":{"latencyMs":9}}`,
	` { "output" : { "message" : { "role" : "assistant" , "content" : [ ] } } , "stopReason" : "end_turn" } `,
	`{"output":{"message":{"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"f","input":{"a":1}}}]}},"stopReason":"tool_use"}`,
	`{"output":{"message":{"role":"assistant","content":[{"reasoningContent":{"reasoningText":{"text":"hmm","signature":"s"}}},{"text":"x"}]}},"stopReason":"end_turn"}`,
	`{"output":{"message":{"role":"assistant","content":[{"text":"x"}]}},"stopReason":"end_turn","additionalModelResponseFields":{"stop_sequence":"END"}}`,
	`{"output":{"message":{"role":"assistant","content":[{"text":"x"}]}},"usage":{"inputTokens":1,"cacheWriteInputTokens":7,"cacheDetails":[{"inputTokens":7,"ttl":"5m"}]}}`,
	`{"Output":{"message":{"role":"assistant","content":[{"text":"x"}]}}}`,
	`{"output":{"message":null},"stopReason":"end_turn"}`,
	`{"output":{"message":{"content":[{"text":"x","text":"y"}]}}}`,
	`{"output":{"message":{"content":[{}]}}}`,
	`{"output":{"message":{"content":[{"text":"x"},]}}}`,
	`{"output":{"message":{"content":[{"text":"x"} {"text":"y"}]}}}`,
	`{"output":{"message":{"content":[{"text":"\u00e9"}]}}}`,
	`{"output":{},"stopReason":"end_turn","metrics":{"latencyMs":1},"metrics":{"latencyMs":2}}`,
	`{"stopReason":"end_turn"} trailing`,
	`{"stopReason":"end_turn","usage":{"inputTokens":1e2}}`,
	`[]`,
	``,
}

// TestFastConverseResponse_UsualShapes: a text answer, as Bedrock and the
// emulator send it, takes the fast path and decodes as encoding/json
// decodes it; other shapes take the full decoder.
func TestFastConverseResponse_UsualShapes(t *testing.T) {
	for i, body := range converseResponseSeeds {
		var fast ConverseResponse
		ok := fastConverseResponse([]byte(body), &fast)
		if wantFast := i < 3; ok != wantFast {
			t.Errorf("%s: fast path %v, want %v", body, ok, wantFast)
		}
		if !ok {
			continue
		}
		var want ConverseResponse
		if err := json.Unmarshal([]byte(body), &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fast, want) {
			t.Errorf("%s: fast path %+v, encoding/json %+v", body, fast, want)
		}
	}
}

// FuzzFastConverseResponse: whatever the fast path accepts, encoding/json
// accepts and decodes alike.
func FuzzFastConverseResponse(f *testing.F) {
	for _, s := range converseResponseSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var fast ConverseResponse
		if !fastConverseResponse(body, &fast) {
			return
		}
		var slow ConverseResponse
		if err := json.Unmarshal(body, &slow); err != nil {
			t.Fatalf("fast path accepted %q, encoding/json refuses it: %v", body, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q: fast path %+v, encoding/json %+v", body, fast, slow)
		}
	})
}

// BenchmarkConverseResponse decodes a usual text answer by the fast path
// and by the full decoder it falls back to.
func BenchmarkConverseResponse(b *testing.B) {
	body := []byte(converseResponseSeeds[0])
	b.Run("Fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var out ConverseResponse
			if !fastConverseResponse(body, &out) {
				b.Fatal("slow path")
			}
		}
	})
	b.Run("Full", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var out ConverseResponse
			if err := fastjson.Unmarshal(body, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
}
