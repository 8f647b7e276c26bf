package bedrock

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// chunkedReader returns its chunks one Read at a time, as a network
// connection delivers segments.
type chunkedReader struct{ chunks [][]byte }

func (r *chunkedReader) Read(p []byte) (int, error) {
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.chunks[0])
	r.chunks[0] = r.chunks[0][n:]
	if len(r.chunks[0]) == 0 {
		r.chunks = r.chunks[1:]
	}
	return n, nil
}

func TestEventReader_FrameReady(t *testing.T) {
	var frames bytes.Buffer
	ew := NewEventWriter(&frames)
	text := "hello"
	for _, ev := range []StreamEvent{
		{MessageStart: &MessageStartEvent{Role: RoleAssistant}},
		{ContentBlockDelta: &ContentBlockDeltaEvent{Delta: ContentBlockDelta{Text: &text}}},
		{MessageStop: &MessageStopEvent{StopReason: StopEndTurn}},
	} {
		if err := ew.WriteEvent(&ev); err != nil {
			t.Fatal(err)
		}
	}
	all := frames.Bytes()
	// Find where the second frame ends: frame lengths are in the prelude.
	first := int(uint32(all[0])<<24 | uint32(all[1])<<16 | uint32(all[2])<<8 | uint32(all[3]))
	second := first + int(uint32(all[first])<<24|uint32(all[first+1])<<16|uint32(all[first+2])<<8|uint32(all[first+3]))

	// Segment 1: frames one and two whole, and half of frame three.
	cut := second + (len(all)-second)/2
	er := NewEventReader(&chunkedReader{chunks: [][]byte{all[:cut], all[cut:]}})
	var ev StreamEvent
	if err := er.Next(&ev); err != nil {
		t.Fatal(err)
	}
	if !er.FrameReady() {
		t.Error("FrameReady() = false with the second frame buffered whole")
	}
	if err := er.Next(&ev); err != nil {
		t.Fatal(err)
	}
	if er.FrameReady() {
		t.Error("FrameReady() = true with only half of the third frame buffered")
	}
	if err := er.Next(&ev); err != nil || ev.MessageStop == nil {
		t.Fatalf("third event = %+v, %v", ev, err)
	}
	if er.FrameReady() {
		t.Error("FrameReady() = true at the end of the stream")
	}
	if err := er.Next(&ev); err != io.EOF {
		t.Errorf("Next() after the last frame = %v, want io.EOF", err)
	}
}

// TestStream_ReaderReuse: a stream's reader goes back to a pool when the
// stream ends, however it ends, and a stream reading through it next sees
// only its own frames: not the bytes left buffered after an exception, nor
// a frame cut short, nor a large frame's buffer.
func TestStream_ReaderReuse(t *testing.T) {
	encode := func(evs ...StreamEvent) []byte {
		var b bytes.Buffer
		ew := NewEventWriter(&b)
		for i := range evs {
			if err := ew.WriteEvent(&evs[i]); err != nil {
				t.Fatal(err)
			}
		}
		return b.Bytes()
	}
	text := func(s string) StreamEvent {
		return StreamEvent{ContentBlockDelta: &ContentBlockDeltaEvent{Delta: ContentBlockDelta{Text: &s}}}
	}
	start := StreamEvent{MessageStart: &MessageStartEvent{Role: RoleAssistant}}
	stop := StreamEvent{MessageStop: &MessageStopEvent{StopReason: StopEndTurn}}
	exception := encodeFrame(t, eventstream.Headers{
		{Name: headerMessageType, Value: eventstream.StringValue(messageTypeException)},
		{Name: headerExceptionType, Value: eventstream.StringValue("throttlingException")},
	}, []byte(`{"message":"slow down"}`))
	whole := encode(start, text("left over"), stop)

	endings := map[string][]byte{
		"read to its end":  encode(start, text("first"), stop),
		"large frame":      encode(start, text(strings.Repeat("x", 100<<10)), stop),
		"exception":        append(append(encode(start), exception...), whole...),
		"cut short":        whole[:len(whole)-7],
		"without its stop": encode(start, text("no stop")),
		"empty":            nil,
	}
	for range 20 {
		for name, body := range endings {
			s := NewStream(io.NopCloser(bytes.NewReader(body)))
			var ev StreamEvent
			for s.Next(&ev) == nil {
			}

			want := []string{"second", "", "third"}
			s = NewStream(io.NopCloser(&chunkedReader{chunks: [][]byte{encode(start, text(want[0]), text(want[1]), text(want[2]), stop)}}))
			var got []string
			for {
				err := s.Next(&ev)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("after a stream that ended %s: %v", name, err)
				}
				if d := ev.ContentBlockDelta; d != nil {
					got = append(got, *d.Delta.Text)
				} else if ev.MessageStart == nil && ev.MessageStop == nil {
					t.Fatalf("after a stream that ended %s: unexpected event %+v", name, ev)
				}
			}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Fatalf("after a stream that ended %s: texts %q, want %q", name, got, want)
			}
		}
	}
}

// TestStream_AtEnd: a stream is at its end only once the metadata that
// follows messageStop is read; metadata without a messageStop before it
// is not the end Bedrock sends.
func TestStream_AtEnd(t *testing.T) {
	meta := StreamEvent{Metadata: &MetadataEvent{Usage: TokenUsage{InputTokens: 3, OutputTokens: 1, TotalTokens: 4}}}
	text := "hi"
	evs := []StreamEvent{
		{MessageStart: &MessageStartEvent{Role: RoleAssistant}},
		meta,
		{ContentBlockDelta: &ContentBlockDeltaEvent{Delta: ContentBlockDelta{Text: &text}}},
		{MessageStop: &MessageStopEvent{StopReason: StopEndTurn}},
		meta,
	}
	var body bytes.Buffer
	ew := NewEventWriter(&body)
	for i := range evs {
		if err := ew.WriteEvent(&evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	s := NewStream(io.NopCloser(&body))
	var ev StreamEvent
	for i := range evs {
		if err := s.Next(&ev); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if want := i == len(evs)-1; s.AtEnd() != want {
			t.Errorf("after event %d: AtEnd() = %v, want %v", i, s.AtEnd(), want)
		}
	}
	if err := s.Next(&ev); err != io.EOF {
		t.Errorf("Next() after the metadata = %v, want io.EOF", err)
	}
}
