package convert_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"testing"

	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/convert"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

// benchStreamCase returns the frames, SSE golden and meta of a stream case.
func benchStreamCase(b *testing.B, name string) (frames, want []byte, meta convert.Meta) {
	b.Helper()
	for _, c := range readStreamCases(b) {
		if c.name != name {
			continue
		}
		frames, err := os.ReadFile(c.base + ".eventstream")
		if err != nil {
			b.Fatal(err)
		}
		want, err := os.ReadFile(c.base + ".sse")
		if err != nil {
			b.Fatal(err)
		}
		return frames, want, c.meta
	}
	b.Fatalf("no stream case %q", name)
	return nil, nil, convert.Meta{}
}

// BenchmarkStream measures the per-response streaming path: read frames,
// convert events, write SSE.
func BenchmarkStream(b *testing.B) {
	for _, name := range []string{"text_tool_call", "reasoning_tool_calls"} {
		b.Run(name, func(b *testing.B) {
			frames, want, meta := benchStreamCase(b, name)
			if got := replaySSE(b, bytes.NewReader(frames), meta, nil); !bytes.Equal(got, want) {
				b.Fatalf("output differs from golden:\n%s", got)
			}
			var (
				r   bytes.Reader
				buf = make([]byte, 0, 4<<10)
			)
			b.ReportAllocs()
			b.SetBytes(int64(len(frames)))
			for b.Loop() {
				r.Reset(frames)
				buf = replaySSE(b, &r, meta, buf[:0])
			}
		})
	}
	// Conversion and SSE alone, events decoded up front: the part of the
	// path this package owns; the rest is frame and JSON decoding.
	b.Run("convert_only", func(b *testing.B) {
		frames, want, meta := benchStreamCase(b, "text_tool_call")
		var events []bedrock.StreamEvent
		er := bedrock.NewEventReader(bytes.NewReader(frames))
		for {
			var ev bedrock.StreamEvent
			if err := er.Next(&ev); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
			events = append(events, ev)
		}
		convertAll := func(buf []byte) []byte {
			s := convert.NewStream(meta)
			for i := range events {
				if chunk, ok := s.Event(&events[i]); ok {
					buf = s.AppendSSE(buf, &chunk)
				}
			}
			return convert.AppendDone(buf)
		}
		if got := convertAll(nil); !bytes.Equal(got, want) {
			b.Fatalf("output differs from golden:\n%s", got)
		}
		buf := make([]byte, 0, 8<<10)
		b.ReportAllocs()
		b.SetBytes(int64(len(frames)))
		for b.Loop() {
			buf = convertAll(buf[:0])
		}
	})
}

// BenchmarkAppendSSE compares the hand-written chunk encoder with
// encoding/json over the chunks of a golden stream; the faster one is what
// AppendSSE uses.
func BenchmarkAppendSSE(b *testing.B) {
	frames, _, meta := benchStreamCase(b, "unicode")
	var chunks []openai.ChatChunk
	er := bedrock.NewEventReader(bytes.NewReader(frames))
	s := convert.NewStream(meta)
	for {
		var ev bedrock.StreamEvent
		err := er.Next(&ev)
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		if chunk, ok := s.Event(&ev); ok {
			// Deep-copy through JSON: the chunk is only valid until the next event.
			var c openai.ChatChunk
			data, err := json.Marshal(&chunk)
			if err != nil {
				b.Fatal(err)
			}
			if err := json.Unmarshal(data, &c); err != nil {
				b.Fatal(err)
			}
			checkChunkEncoding(b, s, &c, meta.IncludeUsage)
			chunks = append(chunks, c)
		}
	}
	size := 0
	for i := range chunks {
		size += len(convert.AppendSSE(nil, &chunks[i]))
	}
	buf := make([]byte, 0, 4<<10)
	b.Run("hand", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(size))
		for b.Loop() {
			for i := range chunks {
				buf = convert.AppendSSE(buf[:0], &chunks[i])
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(size))
		for b.Loop() {
			for i := range chunks {
				data, err := json.Marshal(&chunks[i])
				if err != nil {
					b.Fatal(err)
				}
				buf = append(append(append(buf[:0], "data: "...), data...), "\n\n"...)
			}
		}
	})
}
