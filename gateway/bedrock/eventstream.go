package bedrock

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"

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

// EventReader decodes ConverseStream events from a response body. Framing
// and checksums are the AWS SDK's eventstream decoder's job; this type only
// maps frames to typed events. Not safe for concurrent use.
type EventReader struct {
	r   *bufio.Reader
	dec *eventstream.Decoder
	buf []byte
}

// NewEventReader returns a reader of the frames in r.
func NewEventReader(r io.Reader) *EventReader {
	return &EventReader{r: bufio.NewReaderSize(r, 16<<10), dec: eventstream.NewDecoder(), buf: make([]byte, 0, 4<<10)}
}

// Next decodes the next event into ev, which it resets first. It returns
// io.EOF after the last frame, a *StreamException for an exception frame,
// and io.ErrUnexpectedEOF (wrapped) for a frame cut short.
func (er *EventReader) Next(ev *StreamEvent) error {
	if _, err := er.r.Peek(1); err == io.EOF {
		return io.EOF
	}
	msg, err := er.dec.Decode(er.r, er.buf[:0])
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("decode event frame: %w", err)
	}
	if cap(msg.Payload) > cap(er.buf) {
		er.buf = msg.Payload[:0]
	}
	return DecodeEventMessage(msg, ev)
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

// DecodeEventMessage maps one decoded frame onto ev. Unknown event types are
// skipped by leaving ev empty, because AWS adds event types over time and an
// older gateway must not break on them.
func DecodeEventMessage(msg eventstream.Message, ev *StreamEvent) error {
	*ev = StreamEvent{}
	switch headerString(msg.Headers, headerMessageType) {
	case messageTypeEvent:
	case messageTypeException:
		var body struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(msg.Payload, &body)
		return &StreamException{Type: headerString(msg.Headers, headerExceptionType), Message: body.Message}
	case messageTypeError:
		return &StreamException{Type: headerString(msg.Headers, headerErrorCode), Message: headerString(msg.Headers, headerErrorMessage)}
	default:
		return fmt.Errorf("event frame: unknown message type %q", headerString(msg.Headers, headerMessageType))
	}
	var dst any
	switch t := headerString(msg.Headers, headerEventType); t {
	case EventMessageStart:
		ev.MessageStart = new(MessageStartEvent)
		dst = ev.MessageStart
	case EventContentBlockStart:
		ev.ContentBlockStart = new(ContentBlockStartEvent)
		dst = ev.ContentBlockStart
	case EventContentBlockDelta:
		ev.ContentBlockDelta = new(ContentBlockDeltaEvent)
		dst = ev.ContentBlockDelta
	case EventContentBlockStop:
		ev.ContentBlockStop = new(ContentBlockStopEvent)
		dst = ev.ContentBlockStop
	case EventMessageStop:
		ev.MessageStop = new(MessageStopEvent)
		dst = ev.MessageStop
	case EventMetadata:
		ev.Metadata = new(MetadataEvent)
		dst = ev.Metadata
	default:
		return nil
	}
	if err := json.Unmarshal(msg.Payload, dst); err != nil {
		return fmt.Errorf("event %s: %w", headerString(msg.Headers, headerEventType), err)
	}
	return nil
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

func headerString(hs eventstream.Headers, name string) string {
	v := hs.Get(name)
	if v == nil {
		return ""
	}
	if s, ok := v.(eventstream.StringValue); ok {
		return string(s)
	}
	return v.String()
}
