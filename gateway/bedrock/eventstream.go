package bedrock

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// Event-stream header names and values used by ConverseStream.
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html
const (
	headerMessageType   = ":message-type"
	headerEventType     = ":event-type"
	headerExceptionType = ":exception-type"
	headerErrorCode     = ":error-code"
	headerErrorMessage  = ":error-message"
	headerContentType   = ":content-type"

	messageTypeEvent     = "event"
	messageTypeException = "exception"
	messageTypeError     = "error"

	// EventStreamContentType is the Content-Type of a ConverseStream response.
	EventStreamContentType = "application/vnd.amazon.eventstream"
)

// StreamException is an exception Bedrock sent inside an open stream
// (":message-type" exception or error), after a 200 response.
type StreamException struct {
	// Type is the exception name, such as ModelStreamErrorException.
	Type    string
	Message string
}

// Error implements the error interface.
func (e *StreamException) Error() string { return e.Type + ": " + e.Message }

// EventReader decodes ConverseStream events from a response body. It reads
// the event-stream framing itself, into one buffer it reuses, because the
// SDK's decoder allocates every header name and value of every frame, which
// is most of the cost of a reply streamed a token at a time. The SDK's
// encoder still writes the frames the emulator and tests send, and
// FuzzEventReader checks this decoder against the SDK's. Not safe for
// concurrent use.
type EventReader struct {
	r       *bufio.Reader
	prelude [preludeBytes]byte
	buf     []byte
	f       frame
}

// eventReaderBufSize is the read buffer of a stream. Token-sized frames are
// a few hundred bytes; a larger one is read through the buffer, not into it.
const eventReaderBufSize = 4 << 10

// NewEventReader returns a reader of the frames in r.
func NewEventReader(r io.Reader) *EventReader {
	return &EventReader{r: bufio.NewReaderSize(r, eventReaderBufSize), buf: make([]byte, 0, 1<<10)}
}

// eventReaders holds the readers of streams read to their end, so that a
// stream does not allocate its 5 KB of buffers anew.
var eventReaders = sync.Pool{New: func() any { return NewEventReader(nil) }}

// maxPooledFrameBuf bounds the frame buffer of a pooled reader; one grown
// past it by a large frame is left to the GC.
const maxPooledFrameBuf = 64 << 10

// acquireEventReader returns a pooled reader of r.
func acquireEventReader(r io.Reader) *EventReader {
	er := eventReaders.Get().(*EventReader)
	er.r.Reset(r)
	return er
}

// releaseEventReader pools er, which must not be used again: nothing it
// decoded refers to its buffers, events and errors being copies. Its
// frame and buffers need no clearing, as each frame is read afresh.
func releaseEventReader(er *EventReader) {
	if cap(er.buf) > maxPooledFrameBuf {
		return
	}
	er.r.Reset(nil) // the pool must not keep the body
	eventReaders.Put(er)
}

// Next decodes the next event into ev, which it resets first. It returns
// io.EOF after the last frame, a *StreamException for an exception frame,
// and io.ErrUnexpectedEOF (wrapped) for a frame cut short.
func (er *EventReader) Next(ev *StreamEvent) error {
	if _, err := er.r.Peek(1); err == io.EOF {
		return io.EOF
	}
	if err := er.readFrame(); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("decode event frame: %w", err)
	}
	return decodeEvent(&er.f, ev)
}

// FrameReady reports whether a whole frame is already buffered, so that
// Next will not block on the network. The gateway uses it to coalesce
// flushes of bursts without ever holding back an event while it waits.
func (er *EventReader) FrameReady() bool {
	n := er.r.Buffered()
	if n < 4 {
		return false
	}
	prelude, err := er.r.Peek(4)
	if err != nil {
		return false
	}
	total := int(binary.BigEndian.Uint32(prelude))
	return n >= total
}

// decodeEvent maps one frame onto ev. Unknown event types are skipped by
// leaving ev empty, because AWS adds event types over time and an older
// gateway must not break on them.
func decodeEvent(f *frame, ev *StreamEvent) error {
	*ev = StreamEvent{}
	switch string(f.messageType) {
	case messageTypeEvent:
	case messageTypeException:
		var body struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(f.payload, &body)
		return &StreamException{Type: string(f.exceptionType), Message: body.Message}
	case messageTypeError:
		return &StreamException{Type: string(f.errorCode), Message: string(f.errorMessage)}
	default:
		return fmt.Errorf("event frame: unknown message type %q", f.messageType)
	}
	var (
		dst  any
		fast bool
	)
	switch string(f.eventType) {
	case EventContentBlockDelta:
		// One allocation holds the event and its text.
		d := new(deltaWithText)
		ev.ContentBlockDelta = &d.ev
		dst, fast = ev.ContentBlockDelta, fastDelta(f.payload, ev.ContentBlockDelta, &d.text)
	case EventMessageStart:
		ev.MessageStart = new(MessageStartEvent)
		dst, fast = ev.MessageStart, fastMessageStart(f.payload, ev.MessageStart)
	case EventContentBlockStart:
		ev.ContentBlockStart = new(ContentBlockStartEvent)
		dst = ev.ContentBlockStart
	case EventContentBlockStop:
		ev.ContentBlockStop = new(ContentBlockStopEvent)
		dst, fast = ev.ContentBlockStop, fastContentBlockStop(f.payload, ev.ContentBlockStop)
	case EventMessageStop:
		ev.MessageStop = new(MessageStopEvent)
		dst, fast = ev.MessageStop, fastMessageStop(f.payload, ev.MessageStop)
	case EventMetadata:
		ev.Metadata = new(MetadataEvent)
		dst, fast = ev.Metadata, fastMetadata(f.payload, ev.Metadata)
	default:
		return nil
	}
	if fast {
		return nil
	}
	// What the fast path set is dropped: encoding/json decodes afresh.
	resetEvent(dst)
	if err := json.Unmarshal(f.payload, dst); err != nil {
		return fmt.Errorf("event %s: %w", f.eventType, err)
	}
	return nil
}

// deltaWithText is a delta event with room for its text.
type deltaWithText struct {
	ev   ContentBlockDeltaEvent
	text string
}

// EventType returns the :event-type of a non-empty event, "" for an empty one.
func (ev *StreamEvent) EventType() string {
	switch {
	case ev.MessageStart != nil:
		return EventMessageStart
	case ev.ContentBlockStart != nil:
		return EventContentBlockStart
	case ev.ContentBlockDelta != nil:
		return EventContentBlockDelta
	case ev.ContentBlockStop != nil:
		return EventContentBlockStop
	case ev.MessageStop != nil:
		return EventMessageStop
	case ev.Metadata != nil:
		return EventMetadata
	}
	return ""
}

// EventWriter encodes ConverseStream events as Bedrock sends them. The
// emulator and the test fixtures use it. Not safe for concurrent use.
type EventWriter struct {
	w   io.Writer
	enc *eventstream.Encoder
}

// NewEventWriter returns a writer of frames to w.
func NewEventWriter(w io.Writer) *EventWriter {
	return &EventWriter{w: w, enc: eventstream.NewEncoder()}
}

// padding mimics the "p" field Bedrock adds to every event payload so that
// payload sizes do not reveal token lengths; clients must ignore it.
const padding = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// WriteEvent writes one event frame.
func (ew *EventWriter) WriteEvent(ev *StreamEvent) error {
	var member any
	switch {
	case ev.MessageStart != nil:
		member = ev.MessageStart
	case ev.ContentBlockStart != nil:
		member = ev.ContentBlockStart
	case ev.ContentBlockDelta != nil:
		member = ev.ContentBlockDelta
	case ev.ContentBlockStop != nil:
		member = ev.ContentBlockStop
	case ev.MessageStop != nil:
		member = ev.MessageStop
	case ev.Metadata != nil:
		member = ev.Metadata
	default:
		return fmt.Errorf("write event: empty event")
	}
	payload, err := json.Marshal(member)
	if err != nil {
		return fmt.Errorf("write event: %w", err)
	}
	// Splice "p" into the object the way Bedrock does, as a last member.
	pad := padding[:1+len(payload)%len(padding)]
	payload = append(payload[:len(payload)-1], `,"p":"`...)
	payload = append(payload, pad...)
	payload = append(payload, `"}`...)
	return ew.enc.Encode(ew.w, eventstream.Message{
		Headers: eventstream.Headers{
			{Name: headerEventType, Value: eventstream.StringValue(ev.EventType())},
			{Name: headerContentType, Value: eventstream.StringValue("application/json")},
			{Name: headerMessageType, Value: eventstream.StringValue(messageTypeEvent)},
		},
		Payload: payload,
	})
}

// WriteException writes an exception frame, as Bedrock does when a stream
// fails after it started.
func (ew *EventWriter) WriteException(exceptionType, message string) error {
	payload, err := json.Marshal(struct {
		Message string `json:"message"`
	}{message})
	if err != nil {
		return fmt.Errorf("write exception: %w", err)
	}
	return ew.enc.Encode(ew.w, eventstream.Message{
		Headers: eventstream.Headers{
			{Name: headerExceptionType, Value: eventstream.StringValue(exceptionType)},
			{Name: headerContentType, Value: eventstream.StringValue("application/json")},
			{Name: headerMessageType, Value: eventstream.StringValue(messageTypeException)},
		},
		Payload: payload,
	})
}
