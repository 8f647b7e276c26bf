package convert_test

import (
	"testing"

	"github.com/openai-api-convertor/convertor/gateway/convert"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

// FuzzResponsesStream feeds any event sequence (fuzzEvents) to a
// ResponsesStream, ending well or failing: every event stays well formed
// for the official SDK, numbered in order, with each item added before its
// deltas and done once.
func FuzzResponsesStream(f *testing.F) {
	f.Add([]byte{0}, false)
	f.Add([]byte("\x01\x00\x00\x00\x02\x00\x02hi\x01\x01\x01a\x03\x01\x02{}\x07\x01\x00\x08\x00\x01\x09\x00\x00"), false)
	f.Add([]byte("\x00\x04\x00\x03hmm\x05\x00\x01s\x07\x00\x00\x01\x02\x01x\x03\x02\x02{}\x01\x03\x01y\x07\x03\x00\x08\x00\x01"), true)
	f.Fuzz(func(t *testing.T, data []byte, fail bool) {
		_, events := fuzzEvents(data)
		s := convert.NewResponsesStream(responsesBase())
		var body []byte
		for i := range events {
			body = s.AppendEvents(body, &events[i])
		}
		if fail {
			code := "upstream_error"
			body = s.AppendFailed(body, &openai.ErrorObject{Message: "failed", Type: "server_error", Code: &code})
		} else {
			body = s.AppendDone(body)
		}
		evs := responsesEvents(t, body)
		open := map[int64]bool{}
		done := map[int64]bool{}
		for i, ev := range evs {
			if ev.SequenceNumber != int64(i) {
				t.Fatalf("event %d numbered %d", i, ev.SequenceNumber)
			}
			switch ev.Type {
			case "response.output_item.added":
				open[ev.OutputIndex] = true
			case "response.output_item.done":
				if !open[ev.OutputIndex] || done[ev.OutputIndex] {
					t.Fatalf("item %d done without being added, or twice", ev.OutputIndex)
				}
				done[ev.OutputIndex] = true
			case "response.output_text.delta", "response.function_call_arguments.delta", "response.reasoning_summary_text.delta":
				if !open[ev.OutputIndex] {
					t.Fatalf("%s for item %d never added", ev.Type, ev.OutputIndex)
				}
			}
		}
		if len(done) != len(open) {
			t.Fatalf("%d items added, %d done", len(open), len(done))
		}
		last := evs[len(evs)-1].Type
		if fail && last != "error" || !fail && last != "response.completed" && last != "response.incomplete" {
			t.Fatalf("stream ends with %q (fail %v)", last, fail)
		}
	})
}
