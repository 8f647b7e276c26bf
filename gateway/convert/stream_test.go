package convert_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	oai "github.com/openai/openai-go/v3"

	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/convert"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

// A stream case is testdata/stream/<case>.events.json, the events in their
// JSON form; <case>.eventstream, the same events as Bedrock frames (written
// from the JSON under -update, "p" padding included); the optional sidecar
// <case>.meta.json; and <case>.sse, the full SSE body the gateway sends.
type streamCase struct {
	name   string
	base   string // path without extension
	events []bedrock.StreamEvent
	meta   convert.Meta
}

// streamCaseMeta is the sidecar; what it leaves out comes from responseMeta.
type streamCaseMeta struct {
	ID           string `json:"id"`
	Model        string `json:"model"`
	Created      int64  `json:"created"`
	IncludeUsage bool   `json:"include_usage"`
}

func readStreamCases(tb testing.TB) []streamCase {
	tb.Helper()
	paths, err := filepath.Glob("testdata/stream/*.events.json")
	if err != nil || len(paths) == 0 {
		tb.Fatalf("no stream cases: %v", err)
	}
	var cases []streamCase
	for _, path := range paths {
		base := strings.TrimSuffix(path, ".events.json")
		c := streamCase{name: filepath.Base(base), base: base, meta: responseMeta}
		c.meta.ID = "chatcmpl-01JTESTSTREAM"
		b, err := os.ReadFile(path)
		if err != nil {
			tb.Fatal(err)
		}
		if err := json.Unmarshal(b, &c.events); err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		if b, err := os.ReadFile(base + ".meta.json"); err == nil {
			var m streamCaseMeta
			if err := json.Unmarshal(b, &m); err != nil {
				tb.Fatalf("%s.meta.json: %v", base, err)
			}
			c.meta.IncludeUsage = m.IncludeUsage
			if m.ID != "" {
				c.meta.ID = m.ID
			}
			if m.Model != "" {
				c.meta.Model = m.Model
			}
			if m.Created != 0 {
				c.meta.Created = m.Created
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			tb.Fatal(err)
		}
		cases = append(cases, c)
	}
	return cases
}

// frames returns the case's .eventstream file, first writing it from the
// events under -update.
func (c *streamCase) frames(tb testing.TB) []byte {
	tb.Helper()
	if goldenUpdate() {
		var buf bytes.Buffer
		w := bedrock.NewEventWriter(&buf)
		for i := range c.events {
			if err := w.WriteEvent(&c.events[i]); err != nil {
				tb.Fatalf("event %d: %v", i, err)
			}
		}
		if err := os.WriteFile(c.base+".eventstream", buf.Bytes(), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	b, err := os.ReadFile(c.base + ".eventstream")
	if err != nil {
		tb.Fatalf("%v (run with -update to create it)", err)
	}
	return b
}

// replaySSE reads every frame from r, converts it and returns dst with the
// SSE body appended, as the gateway writes it.
func replaySSE(tb testing.TB, r io.Reader, meta convert.Meta, dst []byte) []byte {
	tb.Helper()
	er := bedrock.NewEventReader(r)
	s := convert.NewStream(meta)
	var ev bedrock.StreamEvent
	for {
		err := er.Next(&ev)
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatalf("read event: %v", err)
		}
		if chunk, ok := s.Event(&ev); ok {
			dst = s.AppendSSE(dst, &chunk)
		}
	}
	return convert.AppendDone(dst)
}

// sseData returns the payloads of the data lines of an SSE body, failing
// on anything that is not a well-formed "data: …\n\n" event.
func sseData(tb testing.TB, body []byte) [][]byte {
	tb.Helper()
	var out [][]byte
	for len(body) > 0 {
		event, rest, ok := bytes.Cut(body, []byte("\n\n"))
		if !ok {
			tb.Fatalf("event not terminated by a blank line: %q", body)
		}
		data, ok := bytes.CutPrefix(event, []byte("data: "))
		if !ok || bytes.IndexByte(data, '\n') >= 0 {
			tb.Fatalf("event is not one data line: %q", event)
		}
		out = append(out, data)
		body = rest
	}
	if n := len(out); n == 0 || string(out[n-1]) != "[DONE]" {
		tb.Fatalf("stream does not end with [DONE]")
	}
	return out[:len(out)-1]
}

func TestStream_Event(t *testing.T) {
	for _, c := range readStreamCases(t) {
		t.Run(c.name, func(t *testing.T) {
			frames := c.frames(t)
			// The frames must hold exactly the events the JSON lists.
			er := bedrock.NewEventReader(bytes.NewReader(frames))
			var got []bedrock.StreamEvent
			for {
				var ev bedrock.StreamEvent
				err := er.Next(&ev)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, ev)
			}
			if diff := cmp.Diff(c.events, got); diff != "" {
				t.Fatalf("frames do not match events.json (-want +got):\n%s", diff)
			}
			compareGolden(t, c.base+".sse", replaySSE(t, bytes.NewReader(frames), c.meta, nil))
		})
	}
}

func TestStream_Replay(t *testing.T) {
	for _, c := range readStreamCases(t) {
		t.Run(c.name, func(t *testing.T) {
			frames := c.frames(t)
			want := replaySSE(t, bytes.NewReader(frames), c.meta, nil)
			t.Run("ByteByByte", func(t *testing.T) {
				got := replaySSE(t, iotest.OneByteReader(bytes.NewReader(frames)), c.meta, nil)
				if diff := cmp.Diff(string(want), string(got)); diff != "" {
					t.Errorf("SSE mismatch (-want +got):\n%s", diff)
				}
			})
			t.Run("RandomCuts", func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(len(frames)), 7))
				for range 20 {
					got := replaySSE(t, &cutReader{b: frames, rng: rng}, c.meta, nil)
					if diff := cmp.Diff(string(want), string(got)); diff != "" {
						t.Fatalf("SSE mismatch (-want +got):\n%s", diff)
					}
				}
			})
		})
	}
}

// cutReader returns its bytes in reads of random sizes, as a network does.
type cutReader struct {
	b   []byte
	rng *rand.Rand
}

func (r *cutReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(r.b), 1+r.rng.IntN(64))
	copy(p, r.b[:n])
	r.b = r.b[n:]
	return n, nil
}

// TestStream_Accumulator feeds each golden SSE body to the official openai-go
// accumulator and checks it rebuilds what the non-streamed conversion of the
// same response returns.
func TestStream_Accumulator(t *testing.T) {
	for _, c := range readStreamCases(t) {
		t.Run(c.name, func(t *testing.T) {
			body := replaySSE(t, bytes.NewReader(c.frames(t)), c.meta, nil)
			type call struct{ ID, Type, Name, Arguments string }
			var (
				acc       oai.ChatCompletionAccumulator
				reasoning strings.Builder
				usageSeen bool
				finished  []call
			)
			for i, data := range sseData(t, body) {
				var chunk oai.ChatCompletionChunk
				if err := json.Unmarshal(data, &chunk); err != nil {
					t.Fatalf("chunk %d: %v", i, err)
				}
				if !acc.AddChunk(chunk) {
					t.Fatalf("AddChunk(chunk %d) = false: %s", i, data)
				}
				if tc, ok := acc.JustFinishedToolCall(); ok {
					finished = append(finished, call{tc.ID, "function", tc.Name, tc.Arguments})
				}
				var raw struct {
					Choices []struct {
						Delta struct {
							ReasoningContent *string `json:"reasoning_content"`
						} `json:"delta"`
					} `json:"choices"`
					Usage json.RawMessage `json:"usage"`
				}
				if err := json.Unmarshal(data, &raw); err != nil {
					t.Fatal(err)
				}
				if len(raw.Choices) > 0 && raw.Choices[0].Delta.ReasoningContent != nil {
					reasoning.WriteString(*raw.Choices[0].Delta.ReasoningContent)
				}
				usageSeen = usageSeen || (len(raw.Usage) > 0 && string(raw.Usage) != "null")
			}

			want := convert.ConverseResponseToChat(assembleResponse(c.events), c.meta)
			wm := want.Choices[0].Message
			if len(acc.Choices) != 1 {
				t.Fatalf("accumulated %d choices, want 1", len(acc.Choices))
			}
			got := acc.Choices[0]
			if got.Message.Role != "assistant" {
				t.Errorf("role = %q, want assistant", got.Message.Role)
			}
			if wantContent := deref(wm.Content); got.Message.Content != wantContent {
				t.Errorf("content = %q, want %q", got.Message.Content, wantContent)
			}
			if reasoning.String() != wm.ReasoningContent {
				t.Errorf("reasoning_content = %q, want %q", reasoning.String(), wm.ReasoningContent)
			}
			if got.FinishReason != want.Choices[0].FinishReason {
				t.Errorf("finish_reason = %q, want %q", got.FinishReason, want.Choices[0].FinishReason)
			}
			var gotCalls, wantCalls []call
			for _, tc := range got.Message.ToolCalls {
				gotCalls = append(gotCalls, call{tc.ID, string(tc.Type), tc.Function.Name, compactJSON(t, tc.Function.Arguments)})
			}
			for _, tc := range wm.ToolCalls {
				wantCalls = append(wantCalls, call{tc.ID, tc.Type, tc.Function.Name, tc.Function.Arguments})
			}
			if diff := cmp.Diff(wantCalls, gotCalls); diff != "" {
				t.Errorf("tool calls mismatch (-want +got):\n%s", diff)
			}
			// Agents act on JustFinishedToolCall: each call must be
			// reported once, complete.
			for i := range finished {
				finished[i].Arguments = compactJSON(t, finished[i].Arguments)
			}
			if diff := cmp.Diff(wantCalls, finished); diff != "" {
				t.Errorf("JustFinishedToolCall() calls mismatch (-want +got):\n%s", diff)
			}
			if acc.ID != c.meta.ID || acc.Model != c.meta.Model || acc.Created != c.meta.Created {
				t.Errorf("id, model, created = %q, %q, %d; want %q, %q, %d", acc.ID, acc.Model, acc.Created, c.meta.ID, c.meta.Model, c.meta.Created)
			}
			if usageSeen != c.meta.IncludeUsage {
				t.Errorf("usage sent = %v, want %v", usageSeen, c.meta.IncludeUsage)
			}
			if c.meta.IncludeUsage {
				u := want.Usage
				if acc.Usage.PromptTokens != int64(u.PromptTokens) || acc.Usage.CompletionTokens != int64(u.CompletionTokens) ||
					acc.Usage.TotalTokens != int64(u.TotalTokens) || acc.Usage.PromptTokensDetails.CachedTokens != int64(u.PromptTokensDetails.CachedTokens) {
					t.Errorf("accumulated usage = %+v, want %+v", acc.Usage, u)
				}
			}
		})
	}
}

// TestStream_State checks what the gateway reads from a Stream after the
// last event, for every golden case.
func TestStream_State(t *testing.T) {
	for _, c := range readStreamCases(t) {
		t.Run(c.name, func(t *testing.T) {
			s := convert.NewStream(c.meta)
			for i := range c.events {
				s.Event(&c.events[i])
			}
			resp := assembleResponse(c.events)
			if got, want := s.Usage(), resp.Usage; !cmp.Equal(got, want) {
				t.Errorf("Usage() = %+v, want %+v", got, want)
			}
			if got, want := s.FinishReason(), convert.StopReasonToFinishReason(resp.StopReason); got != want {
				t.Errorf("FinishReason() = %q, want %q", got, want)
			}
			want := convert.ReasoningByToolCall(resp.Output.Message)
			if diff := cmp.Diff(want, s.ReasoningByToolCall(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ReasoningByToolCall() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// assembleResponse builds the non-streamed response the events describe,
// the way an SDK client assembles a ConverseStream.
func assembleResponse(events []bedrock.StreamEvent) *bedrock.ConverseResponse {
	type block struct {
		text, reasoning, signature, input strings.Builder
		kind                              string
		redacted                          []byte
		toolID, toolName                  string
	}
	var (
		order  []int
		blocks = map[int]*block{}
		resp   = &bedrock.ConverseResponse{}
	)
	get := func(i int, kind string) *block {
		b, ok := blocks[i]
		if !ok {
			b = &block{kind: kind}
			blocks[i] = b
			order = append(order, i)
		}
		return b
	}
	for _, ev := range events {
		switch {
		case ev.ContentBlockStart != nil && ev.ContentBlockStart.Start.ToolUse != nil:
			b := get(ev.ContentBlockStart.ContentBlockIndex, "tool")
			b.toolID, b.toolName = ev.ContentBlockStart.Start.ToolUse.ToolUseID, ev.ContentBlockStart.Start.ToolUse.Name
		case ev.ContentBlockDelta != nil:
			d, i := ev.ContentBlockDelta.Delta, ev.ContentBlockDelta.ContentBlockIndex
			switch {
			case d.Text != nil:
				get(i, "text").text.WriteString(*d.Text)
			case d.ToolUse != nil:
				get(i, "tool").input.WriteString(d.ToolUse.Input)
			case d.ReasoningContent != nil:
				b := get(i, "reasoning")
				r := d.ReasoningContent
				switch {
				case r.Text != nil:
					b.reasoning.WriteString(*r.Text)
				case r.Signature != nil:
					b.signature.WriteString(*r.Signature)
				default:
					b.redacted = append(b.redacted, r.RedactedContent...)
				}
			}
		case ev.MessageStop != nil:
			resp.StopReason = ev.MessageStop.StopReason
		case ev.Metadata != nil:
			resp.Usage = ev.Metadata.Usage
		}
	}
	msg := &bedrock.Message{Role: bedrock.RoleAssistant}
	for _, i := range order {
		b := blocks[i]
		switch b.kind {
		case "text":
			msg.Content = append(msg.Content, bedrock.ContentBlock{Text: respPtr(b.text.String())})
		case "tool":
			var input json.RawMessage
			if b.input.Len() > 0 {
				input = json.RawMessage(b.input.String())
			}
			msg.Content = append(msg.Content, bedrock.ContentBlock{ToolUse: &bedrock.ToolUseBlock{ToolUseID: b.toolID, Name: b.toolName, Input: input}})
		case "reasoning":
			if b.redacted != nil {
				msg.Content = append(msg.Content, bedrock.ContentBlock{ReasoningContent: &bedrock.ReasoningContent{RedactedContent: b.redacted}})
			} else {
				msg.Content = append(msg.Content, bedrock.ContentBlock{ReasoningContent: &bedrock.ReasoningContent{
					ReasoningText: &bedrock.ReasoningText{Text: b.reasoning.String(), Signature: b.signature.String()},
				}})
			}
		}
	}
	resp.Output.Message = msg
	return resp
}

func compactJSON(tb testing.TB, s string) string {
	tb.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(s)); err != nil {
		tb.Errorf("arguments %q are not JSON: %v", s, err)
		return s
	}
	return buf.String()
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// streamChunks converts events and returns the payload of each chunk.
func streamChunks(tb testing.TB, meta convert.Meta, events ...bedrock.StreamEvent) []string {
	tb.Helper()
	s := convert.NewStream(meta)
	var body []byte
	for i := range events {
		if chunk, ok := s.Event(&events[i]); ok {
			body = s.AppendSSE(body, &chunk)
		}
	}
	var out []string
	for _, d := range sseData(tb, convert.AppendDone(body)) {
		out = append(out, string(d))
	}
	return out
}

// Event builders for the unit tests.
func evStart() bedrock.StreamEvent {
	return bedrock.StreamEvent{MessageStart: &bedrock.MessageStartEvent{Role: "assistant"}}
}

func evText(i int, s string) bedrock.StreamEvent {
	return bedrock.StreamEvent{ContentBlockDelta: &bedrock.ContentBlockDeltaEvent{ContentBlockIndex: i, Delta: bedrock.ContentBlockDelta{Text: &s}}}
}

func evToolStart(i int, id, name string) bedrock.StreamEvent {
	return bedrock.StreamEvent{ContentBlockStart: &bedrock.ContentBlockStartEvent{ContentBlockIndex: i, Start: bedrock.ContentBlockStart{ToolUse: &bedrock.ToolUseBlockStart{ToolUseID: id, Name: name}}}}
}

func evToolInput(i int, s string) bedrock.StreamEvent {
	return bedrock.StreamEvent{ContentBlockDelta: &bedrock.ContentBlockDeltaEvent{ContentBlockIndex: i, Delta: bedrock.ContentBlockDelta{ToolUse: &bedrock.ToolUseBlockDelta{Input: s}}}}
}

func evReasoning(i int, d bedrock.ReasoningContentDelta) bedrock.StreamEvent {
	return bedrock.StreamEvent{ContentBlockDelta: &bedrock.ContentBlockDeltaEvent{ContentBlockIndex: i, Delta: bedrock.ContentBlockDelta{ReasoningContent: &d}}}
}

func evBlockStop(i int) bedrock.StreamEvent {
	return bedrock.StreamEvent{ContentBlockStop: &bedrock.ContentBlockStopEvent{ContentBlockIndex: i}}
}

func evStop(reason string) bedrock.StreamEvent {
	return bedrock.StreamEvent{MessageStop: &bedrock.MessageStopEvent{StopReason: reason}}
}

func evMetadata(u bedrock.TokenUsage) bedrock.StreamEvent {
	return bedrock.StreamEvent{Metadata: &bedrock.MetadataEvent{Usage: u}}
}

const chunkHead = `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":7,"model":"m","system_fingerprint":null,`

func TestStream_Chunks(t *testing.T) {
	meta := convert.Meta{ID: "chatcmpl-1", Model: "m", Created: 7}
	usageMeta := meta
	usageMeta.IncludeUsage = true
	for _, tt := range []struct {
		name   string
		meta   convert.Meta
		events []bedrock.StreamEvent
		want   []string
	}{
		{
			name:   "RoleFirst",
			meta:   meta,
			events: []bedrock.StreamEvent{evStart(), evText(0, "Hi"), evStop("end_turn")},
			want: []string{
				chunkHead + `"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`,
				chunkHead + `"choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null}]}`,
				chunkHead + `"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}`,
			},
		},
		{
			name:   "MissingMessageStart",
			meta:   meta,
			events: []bedrock.StreamEvent{evText(0, "Hi"), evStart(), evText(0, "!")},
			want: []string{
				chunkHead + `"choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"logprobs":null,"finish_reason":null}]}`,
				chunkHead + `"choices":[{"index":0,"delta":{"content":"!"},"logprobs":null,"finish_reason":null}]}`,
			},
		},
		{
			name:   "MissingMessageStartBeforeToolCall",
			meta:   meta,
			events: []bedrock.StreamEvent{evToolStart(0, "t1", "f")},
			want: []string{
				chunkHead + `"choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"t1","type":"function","function":{"name":"f","arguments":""}}]},"logprobs":null,"finish_reason":null}]}`,
			},
		},
		{
			name:   "OnlyMessageStop",
			meta:   meta,
			events: []bedrock.StreamEvent{evStop("max_tokens")},
			want: []string{
				chunkHead + `"choices":[{"index":0,"delta":{"role":"assistant"},"logprobs":null,"finish_reason":"length"}]}`,
			},
		},
		{
			name:   "EmptyAndUnknownEventsYieldNothing",
			meta:   meta,
			events: []bedrock.StreamEvent{{}, evText(0, ""), evToolInput(0, "{}"), evBlockStop(5), {ContentBlockStart: &bedrock.ContentBlockStartEvent{}}, {ContentBlockDelta: &bedrock.ContentBlockDeltaEvent{}}, evMetadata(bedrock.TokenUsage{InputTokens: 1})},
		},
		{
			// The index counts tool calls only: the reasoning and text
			// blocks before them must not shift it.
			name: "DenseToolIndex",
			meta: meta,
			events: []bedrock.StreamEvent{
				evStart(),
				evReasoning(0, bedrock.ReasoningContentDelta{Text: respPtr("think")}),
				evBlockStop(0),
				evText(1, "ok"),
				evBlockStop(1),
				evToolStart(2, "t1", "f"),
				evToolInput(2, ""),
				evToolInput(2, `{"a":`),
				evToolInput(2, `1}`),
				evBlockStop(2),
				evToolStart(5, "t2", "g"),
				evToolInput(5, `{}`),
				evBlockStop(5),
				evStop("tool_use"),
			},
			want: []string{
				chunkHead + `"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`,
				chunkHead + `"choices":[{"index":0,"delta":{"reasoning_content":"think"},"logprobs":null,"finish_reason":null}]}`,
				chunkHead + `"choices":[{"index":0,"delta":{"content":"ok"},"logprobs":null,"finish_reason":null}]}`,
				chunkHead + `"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"t1","type":"function","function":{"name":"f","arguments":""}}]},"logprobs":null,"finish_reason":null}]}`,
				chunkHead + `"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":"}}]},"logprobs":null,"finish_reason":null}]}`,
				chunkHead + `"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]},"logprobs":null,"finish_reason":null}]}`,
				chunkHead + `"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"t2","type":"function","function":{"name":"g","arguments":""}}]},"logprobs":null,"finish_reason":null}]}`,
				chunkHead + `"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{}"}}]},"logprobs":null,"finish_reason":null}]}`,
				chunkHead + `"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}]}`,
			},
		},
		{
			name:   "ToolWithoutInputGetsEmptyObject",
			meta:   meta,
			events: []bedrock.StreamEvent{evStart(), evToolStart(0, "t1", "f"), evBlockStop(0), evBlockStop(0)},
			want: []string{
				chunkHead + `"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`,
				chunkHead + `"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"t1","type":"function","function":{"name":"f","arguments":""}}]},"logprobs":null,"finish_reason":null}]}`,
				chunkHead + `"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]},"logprobs":null,"finish_reason":null}]}`,
			},
		},
		{
			name:   "SignatureAndRedactedYieldNothing",
			meta:   meta,
			events: []bedrock.StreamEvent{evStart(), evReasoning(0, bedrock.ReasoningContentDelta{Signature: respPtr("sig")}), evReasoning(1, bedrock.ReasoningContentDelta{RedactedContent: []byte{1}}), evReasoning(1, bedrock.ReasoningContentDelta{Text: respPtr("")})},
			want: []string{
				chunkHead + `"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`,
			},
		},
		{
			name:   "IncludeUsage",
			meta:   usageMeta,
			events: []bedrock.StreamEvent{evStart(), evStop("end_turn"), evMetadata(bedrock.TokenUsage{InputTokens: 3, OutputTokens: 2, TotalTokens: 5})},
			want: []string{
				chunkHead + `"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}`,
				chunkHead + `"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}`,
				chunkHead + `"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}`,
			},
		},
		{
			// Usage goes out once, where the first metadata event is.
			name:   "MetadataBeforeStopAndTwice",
			meta:   usageMeta,
			events: []bedrock.StreamEvent{evStart(), evMetadata(bedrock.TokenUsage{InputTokens: 3, OutputTokens: 2, TotalTokens: 5}), evStop("end_turn"), evMetadata(bedrock.TokenUsage{})},
			want: []string{
				chunkHead + `"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}`,
				chunkHead + `"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}`,
				chunkHead + `"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}`,
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := streamChunks(t, tt.meta, tt.events...)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("chunks mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStream_Usage(t *testing.T) {
	u := bedrock.TokenUsage{InputTokens: 3, OutputTokens: 2, TotalTokens: 5}
	s := convert.NewStream(convert.Meta{})
	if got := s.Usage(); !got.IsZero() {
		t.Errorf("Usage() before metadata = %+v, want zero", got)
	}
	for _, ev := range []bedrock.StreamEvent{evMetadata(u), evMetadata(bedrock.TokenUsage{})} {
		s.Event(&ev)
	}
	// A later metrics-only metadata event must not erase billed usage.
	if got := s.Usage(); !cmp.Equal(got, u) {
		t.Errorf("Usage() = %+v, want %+v", got, u)
	}
}

func TestStream_FinishReason(t *testing.T) {
	s := convert.NewStream(convert.Meta{})
	if got := s.FinishReason(); got != "" {
		t.Errorf("FinishReason() before messageStop = %q, want \"\"", got)
	}
	ev := evStop("guardrail_intervened")
	s.Event(&ev)
	if got := s.FinishReason(); got != "content_filter" {
		t.Errorf("FinishReason() = %q, want content_filter", got)
	}
}

func TestStream_ReasoningByToolCall(t *testing.T) {
	text := func(t, sig string) bedrock.ContentBlock {
		return bedrock.ContentBlock{ReasoningContent: &bedrock.ReasoningContent{ReasoningText: &bedrock.ReasoningText{Text: t, Signature: sig}}}
	}
	redacted := bedrock.ContentBlock{ReasoningContent: &bedrock.ReasoningContent{RedactedContent: []byte("ab")}}
	for _, tt := range []struct {
		name   string
		events []bedrock.StreamEvent
		want   map[string][]bedrock.ContentBlock
	}{
		{
			name: "TextSignatureRedacted",
			events: []bedrock.StreamEvent{
				evReasoning(0, bedrock.ReasoningContentDelta{Text: respPtr("a")}),
				evReasoning(0, bedrock.ReasoningContentDelta{Text: respPtr("b")}),
				evReasoning(0, bedrock.ReasoningContentDelta{Signature: respPtr("sig")}),
				evBlockStop(0),
				evReasoning(1, bedrock.ReasoningContentDelta{RedactedContent: []byte("a")}),
				evReasoning(1, bedrock.ReasoningContentDelta{RedactedContent: []byte("b")}),
				evBlockStop(1),
				evText(2, "x"),
				evToolStart(3, "t1", "f"),
				evToolStart(4, "t2", "f"),
			},
			want: map[string][]bedrock.ContentBlock{"t1": {text("ab", "sig"), redacted}, "t2": {text("ab", "sig"), redacted}},
		},
		{
			// Without contentBlockStop the block still ends where the
			// next block begins.
			name: "MissingBlockStop",
			events: []bedrock.StreamEvent{
				evReasoning(0, bedrock.ReasoningContentDelta{Text: respPtr("a")}),
				evReasoning(1, bedrock.ReasoningContentDelta{Signature: respPtr("s")}),
				evToolStart(2, "t1", "f"),
			},
			want: map[string][]bedrock.ContentBlock{"t1": {text("a", ""), text("", "s")}},
		},
		{
			name: "InterleavedThinking",
			events: []bedrock.StreamEvent{
				evToolStart(0, "t0", "f"),
				evReasoning(1, bedrock.ReasoningContentDelta{Text: respPtr("a")}),
				evBlockStop(1),
				evToolStart(2, "t1", "f"),
				evReasoning(3, bedrock.ReasoningContentDelta{Text: respPtr("b")}),
				evBlockStop(3),
				evToolStart(4, "t2", "f"),
			},
			want: map[string][]bedrock.ContentBlock{"t1": {text("a", "")}, "t2": {text("a", ""), text("b", "")}},
		},
		{
			name:   "NoReasoning",
			events: []bedrock.StreamEvent{evToolStart(0, "t0", "f"), evText(1, "x")},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := convert.NewStream(convert.Meta{})
			for i := range tt.events {
				s.Event(&tt.events[i])
			}
			if diff := cmp.Diff(tt.want, s.ReasoningByToolCall()); diff != "" {
				t.Errorf("ReasoningByToolCall() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAppendSSE_EncodingJSON checks, for every chunk of every golden stream,
// that the hand-written encoder and encoding/json say the same thing.
func TestAppendSSE_EncodingJSON(t *testing.T) {
	for _, c := range readStreamCases(t) {
		t.Run(c.name, func(t *testing.T) {
			s := convert.NewStream(c.meta)
			for i := range c.events {
				chunk, ok := s.Event(&c.events[i])
				if !ok {
					continue
				}
				checkChunkEncoding(t, s, &chunk, c.meta.IncludeUsage)
			}
		})
	}
}

// checkChunkEncoding compares s.AppendSSE with encoding/json for chunk.
func checkChunkEncoding(tb testing.TB, s *convert.Stream, chunk *openai.ChatChunk, includeUsage bool) {
	tb.Helper()
	got := s.AppendSSE(nil, chunk)
	data, ok := bytes.CutPrefix(got, []byte("data: "))
	if !ok || !bytes.HasSuffix(data, []byte("\n\n")) {
		tb.Fatalf("AppendSSE() = %q, not a data event", got)
	}
	want, err := json.Marshal(chunk)
	if err != nil {
		tb.Fatal(err)
	}
	if includeUsage && chunk.Usage == nil {
		want = append(want[:len(want)-1], `,"usage":null}`...)
	}
	var g, w any
	if err := json.Unmarshal(bytes.TrimSuffix(data, []byte("\n\n")), &g); err != nil {
		tb.Fatalf("AppendSSE() JSON invalid: %v: %q", err, data)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		tb.Fatal(err)
	}
	if diff := cmp.Diff(w, g); diff != "" {
		tb.Errorf("AppendSSE() differs from encoding/json (-json +hand):\n%s", diff)
	}
}

func TestAppendSSE_Escaping(t *testing.T) {
	for _, s := range []string{
		"",
		"plain ascii",
		"quote \" backslash \\ slash /",
		"\x00\x01\x07\b\f\n\r\t\x1b\x1f\x7f",
		"<script>&amp;</script>",
		"\u2028\u2029 line separators",
		"caf\u00e9 \u65e5\u672c \U0001F600",
		"invalid \xff\xfe utf8 \xc3 cut \xe2\x82",
		"\xed\xa0\x80 surrogate half",
		"\ufffd literal replacement",
	} {
		chunk := openai.ChatChunk{ID: s, Object: "chat.completion.chunk", Model: s, Choices: []openai.ChunkChoice{{
			Delta: openai.Delta{Content: &s, ReasoningContent: &s, Refusal: &s, ToolCalls: []openai.ToolCall{{
				Index: respPtr(3), ID: s, Type: "function", Function: openai.FunctionCall{Name: s, Arguments: s},
			}}},
			FinishReason: &s,
		}}}
		checkChunkEncoding(t, convert.NewStream(convert.Meta{}), &chunk, false)
	}
	// Exact bytes for what clients are picky about.
	s := "a\"b\\c\nd\u2028e\xfff\x01"
	chunk := openai.ChatChunk{Choices: []openai.ChunkChoice{{Delta: openai.Delta{Content: &s}}}}
	got := string(convert.AppendSSE(nil, &chunk))
	const want = `data: {"id":"","object":"","created":0,"model":"","system_fingerprint":null,"choices":[{"index":0,"delta":{"content":"a\"b\\c\nd\u2028e\ufffdf\u0001"},"logprobs":null,"finish_reason":null}]}` + "\n\n"
	if got != want {
		t.Errorf("AppendSSE() = %q, want %q", got, want)
	}
}

func TestAppendSSE_Appends(t *testing.T) {
	chunk := openai.ChatChunk{ID: "x"}
	dst := []byte("prefix")
	got := string(convert.AppendDone(convert.AppendSSE(dst, &chunk)))
	const want = "prefixdata: {\"id\":\"x\",\"object\":\"\",\"created\":0,\"model\":\"\",\"system_fingerprint\":null,\"choices\":[]}\n\ndata: [DONE]\n\n"
	if got != want {
		t.Errorf("AppendDone(AppendSSE()) = %q, want %q", got, want)
	}
	// A Logprobs value, never set by Stream, still yields valid JSON.
	chunk = openai.ChatChunk{Choices: []openai.ChunkChoice{{Logprobs: json.RawMessage(`{"content": []}`)}, {Logprobs: json.RawMessage(`{bad`)}}}
	data := bufio.NewScanner(bytes.NewReader(convert.AppendSSE(nil, &chunk)))
	data.Scan()
	if line := strings.TrimPrefix(data.Text(), "data: "); !json.Valid([]byte(line)) {
		t.Errorf("AppendSSE() with logprobs = %s, not JSON", line)
	}
}
