package convert_test

import (
	"encoding/json"
	"testing"

	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/convert"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

// fuzzStopReasons are the stop reasons fuzzEvents picks from.
var fuzzStopReasons = []string{
	bedrock.StopEndTurn, bedrock.StopToolUse, bedrock.StopMaxTokens, bedrock.StopStopSequence,
	bedrock.StopGuardrailIntervened, bedrock.StopContentFiltered, bedrock.StopMalformedModelOutput,
	bedrock.StopMalformedToolUse, bedrock.StopModelContextWindowExceeded, "", "future_reason",
}

// fuzzEvents decodes any bytes into an event sequence: per event an
// opcode, a block index and a length-prefixed string. Sequences need not
// make sense; Bedrock's own order is what the goldens cover.
func fuzzEvents(data []byte) (meta convert.Meta, events []bedrock.StreamEvent) {
	meta = convert.Meta{ID: "chatcmpl-fuzz", Model: "m\u2028\"", Created: 1}
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	meta.IncludeUsage = next()&1 == 1
	for len(data) > 0 {
		op, block := next()%11, int(next()%4)
		n := min(int(next()%16), len(data))
		s := string(data[:n])
		data = data[n:]
		var ev bedrock.StreamEvent
		switch op {
		case 0:
			ev.MessageStart = &bedrock.MessageStartEvent{Role: bedrock.RoleAssistant}
		case 1:
			ev.ContentBlockStart = &bedrock.ContentBlockStartEvent{ContentBlockIndex: block, Start: bedrock.ContentBlockStart{
				ToolUse: &bedrock.ToolUseBlockStart{ToolUseID: "tooluse_" + s, Name: "f" + s},
			}}
		case 2:
			ev.ContentBlockDelta = &bedrock.ContentBlockDeltaEvent{ContentBlockIndex: block, Delta: bedrock.ContentBlockDelta{Text: &s}}
		case 3:
			ev.ContentBlockDelta = &bedrock.ContentBlockDeltaEvent{ContentBlockIndex: block, Delta: bedrock.ContentBlockDelta{ToolUse: &bedrock.ToolUseBlockDelta{Input: s}}}
		case 4:
			ev.ContentBlockDelta = &bedrock.ContentBlockDeltaEvent{ContentBlockIndex: block, Delta: bedrock.ContentBlockDelta{ReasoningContent: &bedrock.ReasoningContentDelta{Text: &s}}}
		case 5:
			ev.ContentBlockDelta = &bedrock.ContentBlockDeltaEvent{ContentBlockIndex: block, Delta: bedrock.ContentBlockDelta{ReasoningContent: &bedrock.ReasoningContentDelta{Signature: &s}}}
		case 6:
			ev.ContentBlockDelta = &bedrock.ContentBlockDeltaEvent{ContentBlockIndex: block, Delta: bedrock.ContentBlockDelta{ReasoningContent: &bedrock.ReasoningContentDelta{RedactedContent: []byte(s)}}}
		case 7:
			ev.ContentBlockStop = &bedrock.ContentBlockStopEvent{ContentBlockIndex: block}
		case 8:
			ev.MessageStop = &bedrock.MessageStopEvent{StopReason: fuzzStopReasons[n%len(fuzzStopReasons)]}
		case 9:
			ev.Metadata = &bedrock.MetadataEvent{Usage: bedrock.TokenUsage{InputTokens: n, OutputTokens: block, CacheReadInputTokens: len(s) % 3}}
		case 10:
			// An event of a type this gateway does not know.
		}
		events = append(events, ev)
	}
	return meta, events
}

// streamChecker holds what must stay true across the chunks of one stream.
type streamChecker struct {
	tb         testing.TB
	meta       convert.Meta
	chunks     int
	roleSent   bool
	toolCalls  int
	usageSent  bool
	finishSeen bool
}

// check parses one SSE event payload and checks it against the stream so far.
func (c *streamChecker) check(data []byte) {
	c.tb.Helper()
	var chunk struct {
		ID      string          `json:"id"`
		Object  string          `json:"object"`
		Created int64           `json:"created"`
		Model   string          `json:"model"`
		Usage   json.RawMessage `json:"usage"`
		Choices []struct {
			Index        int     `json:"index"`
			FinishReason *string `json:"finish_reason"`
			Delta        struct {
				Role      string `json:"role"`
				ToolCalls []struct {
					Index    *int    `json:"index"`
					ID       *string `json:"id"`
					Type     *string `json:"type"`
					Function struct {
						Name      *string `json:"name"`
						Arguments *string `json:"arguments"`
					} `json:"function"`
				} `json:"tool_calls"`
			} `json:"delta"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(data, &chunk); err != nil {
		c.tb.Fatalf("chunk %d is not JSON: %v: %q", c.chunks, err, data)
	}
	defer func() { c.chunks++ }()
	if chunk.ID != c.meta.ID || chunk.Model != c.meta.Model || chunk.Created != c.meta.Created || chunk.Object != "chat.completion.chunk" {
		c.tb.Fatalf("chunk %d header = %q %q %q %d", c.chunks, chunk.ID, chunk.Object, chunk.Model, chunk.Created)
	}
	if c.meta.IncludeUsage != (chunk.Usage != nil) {
		c.tb.Fatalf("chunk %d: usage member present = %v, include_usage = %v", c.chunks, chunk.Usage != nil, c.meta.IncludeUsage)
	}
	if len(chunk.Choices) == 0 {
		if c.usageSent || string(chunk.Usage) == "null" || chunk.Usage == nil {
			c.tb.Fatalf("chunk %d: choices empty without usage, or usage sent twice", c.chunks)
		}
		c.usageSent = true
		return
	}
	if len(chunk.Choices) != 1 || chunk.Choices[0].Index != 0 {
		c.tb.Fatalf("chunk %d: want exactly choice 0: %s", c.chunks, data)
	}
	ch := chunk.Choices[0]
	if (ch.Delta.Role != "") == c.roleSent {
		c.tb.Fatalf("chunk %d: role %q, role sent before = %v", c.chunks, ch.Delta.Role, c.roleSent)
	}
	c.roleSent = true
	if f := ch.FinishReason; f != nil {
		switch *f {
		case "stop", "length", "tool_calls", "content_filter":
		default:
			c.tb.Fatalf("chunk %d: finish_reason %q is not an OpenAI value", c.chunks, *f)
		}
	}
	for _, tc := range ch.Delta.ToolCalls {
		if tc.Index == nil || tc.Function.Arguments == nil {
			c.tb.Fatalf("chunk %d: tool call without index or arguments: %s", c.chunks, data)
		}
		switch k := *tc.Index; {
		case k == c.toolCalls:
			// A new call: the only delta naming it.
			if tc.ID == nil || tc.Type == nil || *tc.Type != "function" || tc.Function.Name == nil {
				c.tb.Fatalf("chunk %d: first delta of call %d lacks id, type or name: %s", c.chunks, k, data)
			}
			c.toolCalls++
		case k >= 0 && k < c.toolCalls:
			if tc.ID != nil || tc.Type != nil || tc.Function.Name != nil {
				c.tb.Fatalf("chunk %d: later delta of call %d repeats id, type or name: %s", c.chunks, k, data)
			}
		default:
			c.tb.Fatalf("chunk %d: tool call index %d is not dense (%d calls so far)", c.chunks, k, c.toolCalls)
		}
	}
}

func FuzzStream(f *testing.F) {
	f.Add([]byte{0})
	f.Add([]byte("\x01\x00\x00\x00\x02\x00\x02hi\x01\x01\x01a\x03\x01\x02{}\x07\x01\x00\x08\x00\x01\x09\x00\x00"))
	f.Add([]byte("\x00\x04\x00\x03hmm\x05\x00\x01s\x07\x00\x00\x01\x02\x01x\x03\x02\x02{}\x01\x03\x01y\x07\x03\x00\x08\x00\x01"))
	f.Add([]byte("\x01\x02\x00\x04\xff\xfe\xe2\x80\x06\x01\x02\x00\x01\x0a\x00\x00\x09\x00\x00\x09\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		meta, events := fuzzEvents(data)
		s := convert.NewStream(meta)
		c := &streamChecker{tb: t, meta: meta}
		var buf []byte
		for i := range events {
			chunk, ok := s.Event(&events[i])
			if !ok {
				continue
			}
			checkChunkEncoding(t, s, &chunk, meta.IncludeUsage)
			buf = s.AppendSSE(buf[:0], &chunk)
			events := sseData(t, convert.AppendDone(buf))
			if len(events) != 1 {
				t.Fatalf("AppendSSE() wrote %d events, want 1", len(events))
			}
			c.check(events[0])
		}
		// ReasoningByToolCall only ever names calls that were sent.
		if n := len(s.ReasoningByToolCall()); n > c.toolCalls {
			t.Fatalf("ReasoningByToolCall() has %d calls, %d were sent", n, c.toolCalls)
		}
	})
}

// FuzzAppendSSE checks the hand-written string escaping against
// encoding/json on arbitrary bytes.
func FuzzAppendSSE(f *testing.F) {
	for _, s := range []string{"", "a\"b\\c", "\x00\x1f\x7f", "\u2028\u2029", "\xff\xfe\xc3", "\xed\xa0\x80", "日本語 😀", "</script>&"} {
		f.Add(s, 42)
	}
	f.Fuzz(func(t *testing.T, s string, k int) {
		chunk := openai.ChatChunk{ID: s, Object: "chat.completion.chunk", Created: int64(k), Model: s, SystemFingerprint: &s,
			Choices: []openai.ChunkChoice{{Index: k, FinishReason: &s, Delta: openai.Delta{
				Role: s, Content: &s, ReasoningContent: &s, Refusal: &s,
				ToolCalls: []openai.ToolCall{{Index: &k, ID: s, Type: s, Function: openai.FunctionCall{Name: s, Arguments: s}}, {Function: openai.FunctionCall{Arguments: s}}},
			}}},
			Usage: &openai.Usage{PromptTokens: k, CompletionTokens: -k, TotalTokens: k * 2, PromptTokensDetails: &openai.PromptTokensDetails{CachedTokens: k, CacheWriteTokens: k}},
		}
		checkChunkEncoding(t, convert.NewStream(convert.Meta{}), &chunk, false)
	})
}
