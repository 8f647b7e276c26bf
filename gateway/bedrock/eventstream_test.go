package bedrock

import (
	"bytes"
	"io"
	"testing"
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
