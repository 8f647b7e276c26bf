package bedrock

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/openai-api-convertor/convertor"
)

// errStreamClosed is returned by Next after Close.
var errStreamClosed = errors.New("stream closed")

// Stream reads the events of one ConverseStream response. Next is not safe
// for concurrent use, but Close may be called from any goroutine at any
// time, for instance when the gateway's client disconnects.
type Stream struct {
	ctx       context.Context
	body      io.ReadCloser
	er        *EventReader
	requestID string
	attempts  int

	sawStop bool  // a messageStop arrived, so EOF is a clean end
	atEnd   bool  // the metadata after messageStop arrived: only EOF is left
	err     error // sticky: once Next failed it keeps failing the same way

	closeOnce sync.Once
	closeErr  error
	closed    chan struct{}
	// release, when set, frees what the body read from once it is closed.
	release func()
}

// NewStream wraps an event-stream body, for tests and fakes. The stream
// has no context: only Close aborts it.
func NewStream(body io.ReadCloser) *Stream {
	return newStream(context.Background(), body, "", 0)
}

func newStream(ctx context.Context, body io.ReadCloser, requestID string, attempts int) *Stream {
	return &Stream{
		ctx:       ctx,
		body:      body,
		er:        acquireEventReader(body),
		requestID: requestID,
		attempts:  attempts,
		closed:    make(chan struct{}),
	}
}

// Next decodes the next event into ev. It returns io.EOF after the last
// event; an *APIError for an exception Bedrock sent inside the stream;
// ECanceled or ETimeout (convertor.ErrorCode) when the call's context ended;
// EUnavailable when the connection broke and EUpstream when the stream ended
// before its messageStop or could not be decoded. Events are never retried:
// part of the answer may already be with the client.
func (s *Stream) Next(ev *StreamEvent) error {
	if s.err != nil {
		return s.err
	}
	err := s.er.Next(ev)
	if err == nil {
		switch {
		case ev.MessageStop != nil:
			s.sawStop = true
		case ev.Metadata != nil && s.sawStop:
			s.atEnd = true
		}
		return nil
	}
	s.err = s.classify(err)
	// The body is either at its end (the connection goes back to the pool)
	// or broken (it must not); Close handles both.
	s.Close()
	// Only Next reads through the reader, and with s.err set it never does
	// again. A stream closed before its end leaves its reader to the GC:
	// Close may run while Next reads.
	releaseEventReader(s.er)
	s.er = nil
	return s.err
}

// EventReady reports whether the next event is already buffered, so that
// Next will return without waiting on Bedrock.
func (s *Stream) EventReady() bool {
	return s.err == nil && s.er.FrameReady()
}

// AtEnd reports whether the stream's last event, the metadata that follows
// messageStop, has been read. Bedrock ends the body with that event, so
// what Next returns next is the end of the stream, and the gateway sends a
// reply's last events and its end in one write rather than two.
func (s *Stream) AtEnd() bool { return s.atEnd }

// classify maps a read failure onto the errors Next documents.
func (s *Stream) classify(err error) error {
	var se *StreamException
	switch {
	case errors.Is(err, io.EOF) && s.sawStop:
		return io.EOF
	case errors.As(err, &se):
		typ := canonicalExceptionType(se.Type)
		return &APIError{Type: typ, Message: se.Message, StatusCode: ExceptionStatus(typ),
			RequestID: s.requestID, Attempts: s.attempts, InStream: true}
	case s.isClosed():
		return &callError{domain: convertor.Errorf(convertor.ECanceled, "the stream was closed"), cause: errStreamClosed, attempts: s.attempts}
	case s.ctx.Err() != nil:
		return transportError(s.ctx, err, s.attempts)
	case errors.Is(err, io.EOF):
		return protocolError(fmt.Errorf("stream ended before messageStop: %w", io.ErrUnexpectedEOF), s.attempts)
	case isNetError(err):
		return transportError(s.ctx, err, s.attempts)
	}
	return protocolError(err, s.attempts)
}

// Close releases the stream; before the last event it aborts the upstream
// body, so Bedrock stops generating. It is idempotent and safe to call
// concurrently with Next, which then fails with ECanceled.
func (s *Stream) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.closeErr = s.body.Close()
		if s.release != nil {
			s.release()
		}
	})
	return s.closeErr
}

// RequestID returns Bedrock's x-amzn-RequestId of the call, "" if unknown.
func (s *Stream) RequestID() string { return s.requestID }

// Attempts returns how many HTTP requests it took to open the stream.
func (s *Stream) Attempts() int { return s.attempts }

func (s *Stream) isClosed() bool {
	select {
	case <-s.closed:
		return true
	default:
		return false
	}
}
