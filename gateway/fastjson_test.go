package gateway

import (
	"bytes"
	stdjson "encoding/json"
	"reflect"
	"testing"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/convert"
	"github.com/openai-api-convertor/convertor/gateway/openai"
	"github.com/openai-api-convertor/convertor/internal/fastjson"
)

// The hot path's JSON goes through fastjson, which must give what
// encoding/json gives: these fuzz targets decode every input with both
// and encode what the gateway would send and answer with both.

// fastjsonModel is the Bedrock model the converted requests are for.
const fastjsonModel = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"

// sameDecode decodes data into a T with fastjson and with encoding/json
// and fails t unless both fail or both give the same value. It returns the
// value, nil when decoding failed.
func sameDecode[T any](t *testing.T, data []byte) *T {
	t.Helper()
	fast, std := new(T), new(T)
	errFast, errStd := fastjson.Unmarshal(data, fast), stdjson.Unmarshal(data, std)
	if (errFast == nil) != (errStd == nil) {
		t.Fatalf("decoding %q: fastjson error %v, encoding/json error %v", data, errFast, errStd)
	}
	if errStd != nil {
		if errFast.Error() != errStd.Error() {
			t.Fatalf("decoding %q: fastjson error %q, encoding/json error %q", data, errFast, errStd)
		}
		return nil
	}
	if !reflect.DeepEqual(fast, std) {
		t.Fatalf("decoding %q:\nfastjson      %+v\nencoding/json %+v", data, fast, std)
	}
	return std
}

// sameEncode fails t unless fastjson and encoding/json encode v alike.
func sameEncode(t *testing.T, what string, v any) {
	t.Helper()
	fast, errFast := fastjson.Marshal(v)
	std, errStd := stdjson.Marshal(v)
	if (errFast == nil) != (errStd == nil) || !bytes.Equal(fast, std) {
		t.Fatalf("encoding %s:\nfastjson      %s (%v)\nencoding/json %s (%v)", what, fast, errFast, std, errStd)
	}
}

var fastjsonChatSeeds = []string{
	`{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"Summarise the plot of a short story."}]}`,
	`{"model":"m","stream":true,"stream_options":{"include_usage":true},"max_tokens":300,"temperature":0.7,"top_p":0.9,"stop":["\n\n","END"],"messages":[{"role":"system","content":"Be brief <b>&</b> \u00e9"},{"role":"user","content":[{"type":"text","text":"What is in this image?","cache_control":{"type":"ephemeral"}},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=","detail":"high"}}]}]}`,
	`{"model":"m","messages":[{"role":"user","content":"Weather?"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},{"role":"tool","tool_call_id":"call_1","content":"18C"}],"tools":[{"type":"function","function":{"name":"get_weather","description":"d","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]},"strict":true}}],"tool_choice":{"type":"function","function":{"name":"get_weather"}},"parallel_tool_calls":false}`,
	`{"model":"m","messages":[{"role":"developer","content":"x"},{"role":"user","content":"y"}],"response_format":{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"object"},"strict":true}},"reasoning_effort":"high","max_completion_tokens":2048,"seed":7,"n":1,"user":"u","metadata":{"a":"b"}}`,
	`{"model":"m","messages":[{"role":"user","content":"hi"}],"thinking":{"type":"enabled","budget_tokens":1024},"tool_choice":"auto","stop":"x","logit_bias":{"50256":-100},"frequency_penalty":0,"presence_penalty":0.5}`,
	`{"Model":"m","MESSAGES":[{"role":"user","content":"case"}],"model":"n","extra":{"nested":[1,2,{"a":null}]}}`,
	`{"model":"m","messages":[{"role":"user","content":"\ud83d\ude00 \u2028 \"q\" \\ \/"}],"max_tokens":1e2}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":5}]}]}`,
	`{"model":"m",}`, `[1]`, `null`, `{"model":"m","messages":[]}`, `{"max_tokens":1.5}`,
}

// FuzzFastJSON_ChatRequest: a chat request decodes alike, and the
// Converse request made from it encodes alike.
func FuzzFastJSON_ChatRequest(f *testing.F) {
	for _, s := range fastjsonChatSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req := sameDecode[openai.ChatRequest](t, data)
		if req == nil {
			return
		}
		creq, _, err := convert.ChatRequestToConverse(req, &convert.Options{Capabilities: convertor.CapabilitiesFor(fastjsonModel)})
		if err == nil {
			sameEncode(t, "converse request", creq)
		}
	})
}

// FuzzFastJSON_ResponsesRequest: a Responses API request decodes alike.
func FuzzFastJSON_ResponsesRequest(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","input":"Tell me a story."}`,
		`{"model":"m","instructions":"Be brief.","input":[{"role":"user","content":[{"type":"input_text","text":"hi"},{"type":"input_image","image_url":"data:image/png;base64,AA=="}]},{"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c1","output":"ok"}],"tools":[{"type":"function","name":"f","parameters":{"type":"object"}}],"stream":true,"store":false,"max_output_tokens":100,"reasoning":{"effort":"low"},"text":{"format":{"type":"json_schema","name":"s","schema":{"type":"object"}}},"previous_response_id":"resp_1"}`,
		`{"model":5}`, `{"input":{}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sameDecode[openai.ResponsesRequest](t, data)
	})
}

// FuzzFastJSON_ConverseResponse: a Converse answer decodes alike, and the
// chat completion and Responses answer made from it encode alike.
func FuzzFastJSON_ConverseResponse(f *testing.F) {
	for _, s := range []string{
		`{"metrics":{"latencyMs":12},"output":{"message":{"content":[{"text":"A keeper <tends> & waits."}],"role":"assistant"}},"stopReason":"end_turn","usage":{"inputTokens":21,"outputTokens":40,"totalTokens":61}}`,
		`{"output":{"message":{"role":"assistant","content":[{"reasoningContent":{"reasoningText":{"text":"think","signature":"sig"}}},{"text":"Calling."},{"toolUse":{"toolUseId":"t1","name":"get_weather","input":{"city":"Paris","n":[1,2.5,null,true]}}}]}},"stopReason":"tool_use","usage":{"inputTokens":5,"outputTokens":7,"totalTokens":12,"cacheReadInputTokens":100,"cacheWriteInputTokens":50}}`,
		`{"output":{"message":{"role":"assistant","content":[{"reasoningContent":{"redactedContent":"AAEC"}}]}},"stopReason":"max_tokens","usage":{"inputTokens":1,"outputTokens":1}}`,
		`{"output":{"message":{"content":[{"text":"\u00e9\ud83d\ude00\u2028"}]}},"stopReason":"guardrail_intervened","additionalModelResponseFields":{"x":1},"trace":{}}`,
		`{"output":{}}`, `{"usage":{"inputTokens":"1"}}`, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		resp := sameDecode[bedrock.ConverseResponse](t, data)
		if resp == nil {
			return
		}
		sameEncode(t, "chat completion", convert.ConverseResponseToChat(resp, convert.Meta{ID: "chatcmpl-1", Model: "m", Created: 1}))
		sameEncode(t, "response", convert.ConverseResponseToResponses(resp, openai.Response{ID: "resp_1", Model: "m"}))
	})
}

// BenchmarkFastJSON compares encoding/json with fastjson on the hot path's
// JSON: the chat request decoded, the Converse answer decoded and the chat
// completion encoded.
func BenchmarkFastJSON(b *testing.B) {
	req := []byte(fastjsonChatSeeds[0])
	answer := []byte(`{"metrics":{"latencyMs":12},"output":{"message":{"content":[{"text":"A lonely lighthouse keeper tends his light through a winter of storms, writing letters he never sends."}],"role":"assistant"}},"stopReason":"end_turn","usage":{"inputTokens":21,"outputTokens":40,"totalTokens":61}}`)
	var resp bedrock.ConverseResponse
	if err := stdjson.Unmarshal(answer, &resp); err != nil {
		b.Fatal(err)
	}
	completion := convert.ConverseResponseToChat(&resp, convert.Meta{ID: "chatcmpl-1", Model: "claude-haiku-4-5", Created: 1})
	benchDecode(b, "ChatRequest", req, fastjson.Unmarshal[openai.ChatRequest])
	benchDecode(b, "ConverseResponse", answer, fastjson.Unmarshal[bedrock.ConverseResponse])
	for _, lib := range []struct {
		name    string
		marshal func(any) ([]byte, error)
	}{{"encoding-json", stdjson.Marshal}, {"fastjson", fastjson.Marshal}} {
		b.Run("ChatCompletion/"+lib.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := lib.marshal(completion); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchDecode runs name/encoding-json and name/fastjson, decoding data
// into a fresh T each time.
func benchDecode[T any](b *testing.B, name string, data []byte, fast func([]byte, *T) error) {
	for _, lib := range []struct {
		name      string
		unmarshal func([]byte, *T) error
	}{{"encoding-json", func(d []byte, v *T) error { return stdjson.Unmarshal(d, v) }}, {"fastjson", fast}} {
		b.Run(name+"/"+lib.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var v T
				if err := lib.unmarshal(data, &v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
