package convert_test

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/openai/openai-go/v3/responses"

	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/convert"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

// responsesBase is the response every Responses golden starts from.
func responsesBase() openai.Response {
	req := &openai.ResponsesRequest{Model: "claude-sonnet-4-5", Input: &openai.ResponseInput{Text: "hi"}}
	return convert.NewResponse(req, convert.Meta{ID: "resp_01JTESTRESPONSE", Model: req.Model, Created: 1767225600}, true)
}

// TestConverseResponseToResponses writes testdata/response/<case>.responses.json
// from the same Converse responses the chat goldens are made of.
func TestConverseResponseToResponses(t *testing.T) {
	paths, err := filepath.Glob("testdata/response/*.converse.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no response goldens: %v", err)
	}
	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".converse.json")
		t.Run(name, func(t *testing.T) {
			got := convert.ConverseResponseToResponses(readConverseResponse(t, path), responsesBase())
			b, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, strings.TrimSuffix(path, ".converse.json")+".responses.json", append(b, '\n'))
			// The official SDK must read it.
			var r responses.Response
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatalf("openai-go cannot decode the response: %v", err)
			}
			if r.ID != got.ID || string(r.Status) != got.Status {
				t.Errorf("SDK read id %q status %q", r.ID, r.Status)
			}
		})
	}
}

// replayResponses reads every frame from r and returns the Responses SSE
// body the gateway writes for a stream that ended well.
func replayResponses(tb testing.TB, r io.Reader) []byte {
	tb.Helper()
	er := bedrock.NewEventReader(r)
	s := convert.NewResponsesStream(responsesBase())
	var (
		dst []byte
		ev  bedrock.StreamEvent
	)
	for {
		err := er.Next(&ev)
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatalf("read event: %v", err)
		}
		dst = s.AppendEvents(dst, &ev)
	}
	return s.AppendDone(dst)
}

// responsesEvents splits a Responses SSE body into its events, failing on
// anything that is not "event: <type>\ndata: <json>\n\n" with the type
// repeated in the data.
func responsesEvents(tb testing.TB, body []byte) []responses.ResponseStreamEventUnion {
	tb.Helper()
	var out []responses.ResponseStreamEventUnion
	for len(body) > 0 {
		event, rest, ok := bytes.Cut(body, []byte("\n\n"))
		if !ok {
			tb.Fatalf("event not terminated by a blank line: %q", body)
		}
		head, data, ok := bytes.Cut(event, []byte("\n"))
		typ, ok2 := bytes.CutPrefix(head, []byte("event: "))
		data, ok3 := bytes.CutPrefix(data, []byte("data: "))
		if !ok || !ok2 || !ok3 || bytes.IndexByte(data, '\n') >= 0 {
			tb.Fatalf("malformed event %q", event)
		}
		var ev responses.ResponseStreamEventUnion
		if err := json.Unmarshal(data, &ev); err != nil {
			tb.Fatalf("openai-go cannot decode %q: %v", data, err)
		}
		if ev.Type != string(typ) {
			tb.Fatalf("event line %q, data type %q", typ, ev.Type)
		}
		out = append(out, ev)
		body = rest
	}
	return out
}

// TestResponsesStream_Golden replays every stream case into
// testdata/stream/<case>.responses.sse, whole, byte by byte and at random
// cuts: the output must not change.
func TestResponsesStream_Golden(t *testing.T) {
	for _, c := range readStreamCases(t) {
		t.Run(c.name, func(t *testing.T) {
			frames := c.frames(t)
			want := replayResponses(t, bytes.NewReader(frames))
			compareGolden(t, c.base+".responses.sse", want)
			if got := replayResponses(t, iotest.OneByteReader(bytes.NewReader(frames))); !bytes.Equal(got, want) {
				t.Errorf("byte by byte differs (-want +got):\n%s", cmp.Diff(string(want), string(got)))
			}
			rng := rand.New(rand.NewPCG(uint64(len(frames)), 11))
			for range 20 {
				if got := replayResponses(t, &cutReader{b: frames, rng: rng}); !bytes.Equal(got, want) {
					t.Fatalf("random cuts differ (-want +got):\n%s", cmp.Diff(string(want), string(got)))
				}
			}
		})
	}
}

// TestResponsesStream_MatchesNonStream checks, for every stream case, that
// the events are well formed for the official SDK (sequence numbers in
// order, every item added then done at its index, deltas adding up to the
// done text) and that the final response equals the non-streamed
// conversion of the same answer.
func TestResponsesStream_MatchesNonStream(t *testing.T) {
	for _, c := range readStreamCases(t) {
		t.Run(c.name, func(t *testing.T) {
			events := responsesEvents(t, replayResponses(t, bytes.NewReader(c.frames(t))))
			if len(events) < 3 || events[0].Type != "response.created" || events[1].Type != "response.in_progress" {
				t.Fatalf("stream does not open with created, in_progress: %d events", len(events))
			}
			added := map[int64]string{}
			deltas := map[int64]*strings.Builder{}
			for i, ev := range events {
				if ev.SequenceNumber != int64(i) {
					t.Errorf("event %d has sequence_number %d", i, ev.SequenceNumber)
				}
				switch ev.Type {
				case "response.output_item.added":
					if _, dup := added[ev.OutputIndex]; dup || ev.OutputIndex != int64(len(added)) {
						t.Errorf("item added at output_index %d after %d items", ev.OutputIndex, len(added))
					}
					added[ev.OutputIndex] = ev.Item.ID
					deltas[ev.OutputIndex] = new(strings.Builder)
				case "response.output_text.delta", "response.function_call_arguments.delta", "response.reasoning_summary_text.delta":
					if added[ev.OutputIndex] != ev.ItemID {
						t.Errorf("%s for item %q at %d, which holds %q", ev.Type, ev.ItemID, ev.OutputIndex, added[ev.OutputIndex])
					}
					deltas[ev.OutputIndex].WriteString(ev.Delta)
				case "response.output_text.done", "response.reasoning_summary_text.done":
					if got := deltas[ev.OutputIndex].String(); got != ev.Text {
						t.Errorf("%s text %q, deltas %q", ev.Type, ev.Text, got)
					}
				case "response.function_call_arguments.done":
					if got := deltas[ev.OutputIndex].String(); got != ev.Arguments && !(got == "" && ev.Arguments == "{}") {
						t.Errorf("arguments done %q, deltas %q", ev.Arguments, got)
					}
				case "response.output_item.done":
					if added[ev.OutputIndex] != ev.Item.ID {
						t.Errorf("item done %q at %d, added %q", ev.Item.ID, ev.OutputIndex, added[ev.OutputIndex])
					}
				}
			}
			last := events[len(events)-1]
			if last.Type != "response.completed" && last.Type != "response.incomplete" {
				t.Fatalf("last event %q", last.Type)
			}
			want := convert.ConverseResponseToResponses(assembleResponse(c.events), responsesBase())
			wb, _ := json.Marshal(want)
			var wantSDK responses.Response
			if err := json.Unmarshal(wb, &wantSDK); err != nil {
				t.Fatal(err)
			}
			got := last.Response
			if got.OutputText() != wantSDK.OutputText() || got.Status != wantSDK.Status || len(got.Output) != len(wantSDK.Output) {
				t.Errorf("final response differs:\nstream     %s\nnon-stream %s", got.RawJSON(), wb)
			}
			for i := range min(len(got.Output), len(wantSDK.Output)) {
				g, w := got.Output[i], wantSDK.Output[i]
				sameArgs := g.Type != "function_call" || compactJSON(t, g.AsFunctionCall().Arguments) == compactJSON(t, w.AsFunctionCall().Arguments)
				if g.Type != w.Type || g.ID != w.ID || g.CallID != w.CallID || g.Name != w.Name || !sameArgs {
					t.Errorf("output %d: stream %s, non-stream %s", i, g.RawJSON(), w.RawJSON())
				}
			}
			if got.Usage.InputTokens != wantSDK.Usage.InputTokens || got.Usage.OutputTokens != wantSDK.Usage.OutputTokens ||
				got.Usage.InputTokensDetails.CachedTokens != wantSDK.Usage.InputTokensDetails.CachedTokens {
				t.Errorf("usage: stream %s, non-stream %s", got.Usage.RawJSON(), wantSDK.Usage.RawJSON())
			}
		})
	}
}

// TestResponsesStream_Failed checks the end of a stream that fails after
// its first events: response.failed with the error, then the error event
// whose "error" member makes the SDKs raise it.
func TestResponsesStream_Failed(t *testing.T) {
	s := convert.NewResponsesStream(responsesBase())
	text := "partial"
	dst := s.AppendEvents(nil, &bedrock.StreamEvent{MessageStart: &bedrock.MessageStartEvent{Role: "assistant"}})
	dst = s.AppendEvents(dst, &bedrock.StreamEvent{ContentBlockDelta: &bedrock.ContentBlockDeltaEvent{Delta: bedrock.ContentBlockDelta{Text: &text}}})
	code := "upstream_error"
	dst = s.AppendFailed(dst, &openai.ErrorObject{Message: "Bedrock failed.", Type: "server_error", Code: &code})
	events := responsesEvents(t, dst)
	n := len(events)
	if events[n-2].Type != "response.failed" || events[n-2].Response.Error.Code != "upstream_error" || events[n-2].Response.Status != "failed" {
		t.Errorf("before last: %s", events[n-2].RawJSON())
	}
	if events[n-3].Type != "response.output_item.done" {
		t.Errorf("open item not closed before the failure: %s", events[n-3].Type)
	}
	var last struct {
		Type  string              `json:"type"`
		Code  string              `json:"code"`
		Error *openai.ErrorObject `json:"error"`
	}
	if err := json.Unmarshal([]byte(events[n-1].RawJSON()), &last); err != nil || last.Type != "error" || last.Code != code || last.Error == nil || last.Error.Message != "Bedrock failed." {
		t.Errorf("last event %s (%v)", events[n-1].RawJSON(), err)
	}
}

// BenchmarkResponsesStream measures the Responses streaming path: read
// frames, convert events, write typed SSE events.
func BenchmarkResponsesStream(b *testing.B) {
	for _, name := range []string{"text_tool_call", "reasoning_tool_calls"} {
		b.Run(name, func(b *testing.B) {
			frames, _, _ := benchStreamCase(b, name)
			want, err := os.ReadFile(filepath.Join("testdata", "stream", name+".responses.sse"))
			if err != nil {
				b.Fatal(err)
			}
			if got := replayResponses(b, bytes.NewReader(frames)); !bytes.Equal(got, want) {
				b.Fatalf("output differs from golden:\n%s", got)
			}
			var r bytes.Reader
			b.ReportAllocs()
			b.SetBytes(int64(len(frames)))
			for b.Loop() {
				r.Reset(frames)
				replayResponses(b, &r)
			}
		})
	}
}
