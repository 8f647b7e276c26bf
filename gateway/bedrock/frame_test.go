package bedrock

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// encodeFrame encodes one frame with the SDK's encoder.
func encodeFrame(t testing.TB, hs eventstream.Headers, payload []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := eventstream.NewEncoder().Encode(&buf, eventstream.Message{Headers: hs, Payload: payload}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// everyHeaderType is a frame's headers with a value of every type the
// framing has, around the ones ConverseStream reads.
func everyHeaderType() eventstream.Headers {
	return eventstream.Headers{
		{Name: "t", Value: eventstream.BoolValue(true)},
		{Name: "f", Value: eventstream.BoolValue(false)},
		{Name: headerEventType, Value: eventstream.StringValue(EventContentBlockDelta)},
		{Name: "b", Value: eventstream.Int8Value(-3)},
		{Name: "s", Value: eventstream.Int16Value(300)},
		{Name: "i", Value: eventstream.Int32Value(70000)},
		{Name: "l", Value: eventstream.Int64Value(1 << 40)},
		{Name: "raw", Value: eventstream.BytesValue([]byte{0, 1, 2})},
		{Name: "ts", Value: eventstream.TimestampValue(time.Unix(1700000000, 0))},
		{Name: "id", Value: eventstream.UUIDValue{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}},
		{Name: headerMessageType, Value: eventstream.StringValue(messageTypeEvent)},
	}
}

func TestEventReader_Frames(t *testing.T) {
	t.Parallel()
	delta := encodeFrame(t, everyHeaderType(), []byte(`{"contentBlockIndex":1,"delta":{"text":"hi"},"p":"abc"}`))
	var ev StreamEvent
	if err := NewEventReader(bytes.NewReader(delta)).Next(&ev); err != nil {
		t.Fatalf("Next: %v", err)
	}
	if ev.ContentBlockDelta == nil || ev.ContentBlockDelta.ContentBlockIndex != 1 || ev.ContentBlockDelta.Delta.Text == nil || *ev.ContentBlockDelta.Delta.Text != "hi" {
		t.Fatalf("event = %+v, want the text delta of block 1", ev)
	}

	exception := encodeFrame(t, eventstream.Headers{
		{Name: headerMessageType, Value: eventstream.StringValue(messageTypeException)},
		{Name: headerExceptionType, Value: eventstream.StringValue("modelStreamErrorException")},
	}, []byte(`{"message":"the model failed"}`))
	errFrame := encodeFrame(t, eventstream.Headers{
		{Name: headerMessageType, Value: eventstream.StringValue(messageTypeError)},
		{Name: headerErrorCode, Value: eventstream.StringValue("InternalFailure")},
		{Name: headerErrorMessage, Value: eventstream.StringValue("try again")},
	}, nil)
	for _, tt := range []struct {
		name  string
		frame []byte
		want  StreamException
	}{
		{"exception", exception, StreamException{Type: "modelStreamErrorException", Message: "the model failed"}},
		{"error", errFrame, StreamException{Type: "InternalFailure", Message: "try again"}},
	} {
		var se *StreamException
		if err := NewEventReader(bytes.NewReader(tt.frame)).Next(&ev); !errors.As(err, &se) || *se != tt.want {
			t.Errorf("%s: Next = %v, want %+v", tt.name, err, tt.want)
		}
	}

	corrupt := func(at int) []byte {
		b := bytes.Clone(delta)
		b[at] ^= 0x40
		return b
	}
	huge := bytes.Clone(delta)
	binary.BigEndian.PutUint32(huge[0:4], maxFrameBytes+1)
	binary.BigEndian.PutUint32(huge[8:12], crc32.ChecksumIEEE(huge[:8]))
	for _, tt := range []struct {
		name  string
		frame []byte
		want  error
	}{
		{"prelude checksum", corrupt(9), errFrameChecksum},
		{"message checksum", corrupt(len(delta) - 10), errFrameChecksum},
		{"cut short", delta[:len(delta)-3], io.ErrUnexpectedEOF},
		{"prelude cut short", delta[:7], io.ErrUnexpectedEOF},
		{"too long", huge, nil},
	} {
		err := NewEventReader(bytes.NewReader(tt.frame)).Next(&ev)
		if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("%s: Next = %v, want %v", tt.name, err, tt.want)
		}
	}
}

// FuzzEventReader holds the frame reader to the SDK's decoder: a frame the
// SDK decodes is read alike, and one it refuses is refused.
func FuzzEventReader(f *testing.F) {
	f.Add(encodeFrame(f, everyHeaderType(), []byte(`{"contentBlockIndex":0,"delta":{"text":"x"}}`)))
	f.Add(encodeFrame(f, nil, nil))
	f.Add(encodeFrame(f, eventstream.Headers{{Name: headerMessageType, Value: eventstream.StringValue(messageTypeError)}}, []byte("{}")))
	f.Fuzz(func(t *testing.T, data []byte) {
		want, sdkErr := eventstream.NewDecoder().Decode(bytes.NewReader(data), nil)
		er := NewEventReader(bytes.NewReader(data))
		err := er.readFrame()
		if (sdkErr == nil) != (err == nil) {
			t.Fatalf("SDK decoder err = %v, ours = %v", sdkErr, err)
		}
		if err != nil {
			return
		}
		str := func(name string) []byte {
			if v, ok := want.Headers.Get(name).(eventstream.StringValue); ok {
				return []byte(v)
			}
			return nil
		}
		for _, h := range []struct {
			name string
			got  []byte
		}{
			{headerMessageType, er.f.messageType}, {headerEventType, er.f.eventType},
			{headerExceptionType, er.f.exceptionType}, {headerErrorCode, er.f.errorCode},
			{headerErrorMessage, er.f.errorMessage},
		} {
			if !bytes.Equal(h.got, str(h.name)) {
				t.Errorf("header %s = %q, SDK %q", h.name, h.got, str(h.name))
			}
		}
		if !bytes.Equal(er.f.payload, want.Payload) {
			t.Errorf("payload = %q, SDK %q", er.f.payload, want.Payload)
		}
	})
}

// BenchmarkEventReader decodes a reply streamed a token at a time: one
// text delta per frame, as Bedrock sends them, with this package's reader
// and, for comparison, the SDK's decoder (frames only, no JSON).
func BenchmarkEventReader(b *testing.B) {
	var frames bytes.Buffer
	ew := NewEventWriter(&frames)
	const n = 200
	for i := range n {
		text := " token" + string(rune('a'+i%26))
		if err := ew.WriteEvent(&StreamEvent{ContentBlockDelta: &ContentBlockDeltaEvent{Delta: ContentBlockDelta{Text: &text}}}); err != nil {
			b.Fatal(err)
		}
	}
	data := frames.Bytes()
	b.Run("Events", func(b *testing.B) {
		b.ReportAllocs()
		var ev StreamEvent
		r := bytes.NewReader(data)
		for b.Loop() {
			r.Reset(data)
			er := NewEventReader(r)
			for {
				if err := er.Next(&ev); err != nil {
					if err != io.EOF {
						b.Fatal(err)
					}
					break
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
	})
	b.Run("Frames", func(b *testing.B) {
		b.ReportAllocs()
		r := bytes.NewReader(data)
		for b.Loop() {
			r.Reset(data)
			er := NewEventReader(r)
			for range n {
				if err := er.readFrame(); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/frame")
	})
	b.Run("FramesSDK", func(b *testing.B) {
		b.ReportAllocs()
		r := bytes.NewReader(data)
		dec := eventstream.NewDecoder()
		var buf []byte
		for b.Loop() {
			r.Reset(data)
			for range n {
				msg, err := dec.Decode(r, buf[:0])
				if err != nil {
					b.Fatal(err)
				}
				buf = msg.Payload
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/frame")
	})
}

// TestFastEvents_UsualShapes: the events Bedrock sends for text and tool
// calls, escapes and padding included, take the fast paths and decode as
// encoding/json decodes them.
func TestFastEvents_UsualShapes(t *testing.T) {
	for _, tc := range []struct {
		payload string
		fast    func([]byte) (got any, ok bool)
		want    any
	}{
		{`{"contentBlockIndex":0,"delta":{"text":"Hello"},"p":"abcdefghijkl"}`, func(b []byte) (any, bool) {
			var e ContentBlockDeltaEvent
			var text string
			ok := fastDelta(b, &e, &text)
			return &e, ok
		}, &ContentBlockDeltaEvent{}},
		{`{"contentBlockIndex":1,"delta":{"text":"line\n\t\"quoted\" \\ é😀"},"p":"ab"}`, func(b []byte) (any, bool) {
			var e ContentBlockDeltaEvent
			var text string
			ok := fastDelta(b, &e, &text)
			return &e, ok
		}, &ContentBlockDeltaEvent{}},
		{`{"contentBlockIndex":2,"delta":{"toolUse":{"input":"{\"city\": \"Pa"}},"p":"abc"}`, func(b []byte) (any, bool) {
			var e ContentBlockDeltaEvent
			var text string
			ok := fastDelta(b, &e, &text)
			return &e, ok
		}, &ContentBlockDeltaEvent{}},
		{`{"p":"abcd","role":"assistant"}`, func(b []byte) (any, bool) {
			var e MessageStartEvent
			return &e, fastMessageStart(b, &e)
		}, &MessageStartEvent{}},
		{`{"contentBlockIndex":3,"p":"abcdefghijklmnopqrstuvwxyzABCDEF"}`, func(b []byte) (any, bool) {
			var e ContentBlockStopEvent
			return &e, fastContentBlockStop(b, &e)
		}, &ContentBlockStopEvent{}},
		{`{"p":"abcdefghijklmnopqrstuvwxyzABCDEFGHI","stopReason":"tool_use"}`, func(b []byte) (any, bool) {
			var e MessageStopEvent
			return &e, fastMessageStop(b, &e)
		}, &MessageStopEvent{}},
		{`{"metrics":{"latencyMs":1234},"p":"abc","usage":{"inputTokens":25,"outputTokens":7,"totalTokens":32}}`, func(b []byte) (any, bool) {
			var e MetadataEvent
			return &e, fastMetadata(b, &e)
		}, &MetadataEvent{}},
		{`{"usage":{"inputTokens":3,"outputTokens":7,"totalTokens":1034,"cacheReadInputTokens":1000,"cacheWriteInputTokens":24}}`, func(b []byte) (any, bool) {
			var e MetadataEvent
			return &e, fastMetadata(b, &e)
		}, &MetadataEvent{}},
	} {
		got, ok := tc.fast([]byte(tc.payload))
		if !ok {
			t.Errorf("%s: took the slow path", tc.payload)
			continue
		}
		if err := json.Unmarshal([]byte(tc.payload), tc.want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: fast path %+v, encoding/json %+v", tc.payload, got, tc.want)
		}
	}
}

// FuzzFastEvents holds every event's fast path to encoding/json: whatever
// a fast path accepts, encoding/json accepts and decodes alike.
func FuzzFastEvents(f *testing.F) {
	for _, s := range []string{
		`{"contentBlockIndex":0,"delta":{"text":"Hello"},"p":"abcd"}`,
		`{"contentBlockIndex":2,"delta":{"text":"a \"quoted\"\n\u00e9 \ud83d\ude00"}}`,
		`{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"city\": \"Pa"}},"p":"ab"}`,
		`{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"hmm"}}}`,
		`{"contentBlockIndex":1.5,"delta":{"text":"x"}}`,
		`{"contentBlockIndex":1e2,"delta":{"text":"x"}}`,
		`{"delta":{"text":"x","toolUse":{"input":""}}}`,
		`{"contentBlockIndex":0,"delta":{"text":"x"},"delta":{"text":"y"}}`,
		`{"role":"assistant","p":"abcdefgh"}`,
		`{"role":null}`,
		`{"contentBlockIndex":3}`,
		`{"stopReason":"end_turn","p":"abc"}`,
		`{"stopReason":"tool_use","additionalModelResponseFields":{"x":1}}`,
		`{"usage":{"inputTokens":10,"outputTokens":2,"totalTokens":12},"metrics":{"latencyMs":123},"p":"ab"}`,
		`{"usage":{"inputTokens":10,"cacheReadInputTokens":5,"cacheWriteInputTokens":7,"cacheDetails":[{"inputTokens":7,"ttl":"5m"}]}}`,
		`{"usage":{"inputTokens":99999999999999999999}}`,
		`{"metrics":{"latencyMs":1},"metrics":null}`,
		`[1,2]`,
		"{\"delta\":{\"text\":\"\x93\"}}", // invalid UTF-8, which encoding/json replaces
		` { "contentBlockIndex" : 7 , "delta" : { "text" : "tab\there\r\n\\ \/ \b\f" } } `,
		`{"contentBlockIndex":01,"delta":{"text":"x"}}`,
		`{"contentBlockIndex":-0,"delta":{"text":"x"}}`,
		`{"contentBlockIndex":1234567890123456789,"delta":{"text":"x"}}`,
		`{"contentBlockIndex":0,"delta":{"text":"x"}} x`,
		`{"contentBlockIndex":0,"delta":{"text":"x",}}`,
		`{"contentBlockIndex":0,,"delta":{"text":"x"}}`,
		`{"contentBlockIndex":0,"delta":{"text":"\q"}}`,
		`{"contentBlockIndex":0,"delta":{"text":"é ✓ 😀"},"p":"é"}`,
		`{"p":"a","p":"b","role":"assistant"}`,
		`{"Role":"assistant"}`,
		`{"delta":{"toolUse":{"input":"a","input":"b"}}}`,
		`{"usage":{"inputTokens":1,"inputTokens":2}}`,
		`{"usage":{"inputTokens":-3,"outputTokens":0,"totalTokens":-3}}`,
		`{}`,
	} {
		for kind := range byte(5) {
			f.Add(kind, []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, kind byte, payload []byte) {
		var fast, slow any
		var ok bool
		switch kind % 5 {
		case 0:
			var a, b ContentBlockDeltaEvent
			var text string
			ok, fast, slow = fastDelta(payload, &a, &text), &a, &b
		case 1:
			var a, b MessageStartEvent
			ok, fast, slow = fastMessageStart(payload, &a), &a, &b
		case 2:
			var a, b ContentBlockStopEvent
			ok, fast, slow = fastContentBlockStop(payload, &a), &a, &b
		case 3:
			var a, b MessageStopEvent
			ok, fast, slow = fastMessageStop(payload, &a), &a, &b
		case 4:
			var a, b MetadataEvent
			ok, fast, slow = fastMetadata(payload, &a), &a, &b
		}
		if !ok {
			return
		}
		if err := json.Unmarshal(payload, slow); err != nil {
			t.Fatalf("fast path accepted %q, encoding/json refuses it: %v", payload, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q: fast path %+v, encoding/json %+v", payload, fast, slow)
		}
	})
}
