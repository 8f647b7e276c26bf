package bedrock

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// The event-stream framing (application/vnd.amazon.eventstream): a prelude
// of total length, headers length and the prelude's CRC32, the headers,
// the payload, and the CRC32 of everything before it. All integers are
// big-endian. This is the format the AWS SDKs' eventstream packages read
// and write; FuzzEventReader holds this reader to the Go SDK's.
const (
	preludeBytes  = 12
	frameCRCBytes = 4
	minFrameBytes = preludeBytes + frameCRCBytes
	// maxFrameBytes bounds one frame. Bedrock's are a token or a chunk of
	// tool input, at most kilobytes; a length beyond this is corruption.
	maxFrameBytes = 16 << 20
)

// Header value types, as the framing numbers them.
const (
	headerBoolTrue = iota
	headerBoolFalse
	headerByte
	headerInt16
	headerInt32
	headerInt64
	headerBytes
	headerString
	headerTimestamp
	headerUUID
)

// frame is the part of one frame that ConverseStream events use. Its
// slices point into the reader's buffer and hold until the next frame.
type frame struct {
	messageType, eventType, exceptionType []byte
	errorCode, errorMessage               []byte
	payload                               []byte
}

var errFrameChecksum = errors.New("checksum mismatch")

// readFrame reads and checks the next frame into er.f.
func (er *EventReader) readFrame() error {
	if _, err := io.ReadFull(er.r, er.prelude[:]); err != nil {
		return err
	}
	total := binary.BigEndian.Uint32(er.prelude[0:4])
	headersLen := binary.BigEndian.Uint32(er.prelude[4:8])
	if crc32.ChecksumIEEE(er.prelude[:8]) != binary.BigEndian.Uint32(er.prelude[8:12]) {
		return fmt.Errorf("prelude: %w", errFrameChecksum)
	}
	if total < minFrameBytes || total > maxFrameBytes || headersLen > total-minFrameBytes {
		return fmt.Errorf("frame length %d with %d bytes of headers is not valid", total, headersLen)
	}
	rest := int(total) - preludeBytes
	if cap(er.buf) < rest {
		er.buf = make([]byte, rest)
	}
	buf := er.buf[:rest]
	if _, err := io.ReadFull(er.r, buf); err != nil {
		return err
	}
	body := buf[:rest-frameCRCBytes]
	crc := crc32.Update(crc32.ChecksumIEEE(er.prelude[:]), crc32.IEEETable, body)
	if crc != binary.BigEndian.Uint32(buf[rest-frameCRCBytes:]) {
		return fmt.Errorf("message: %w", errFrameChecksum)
	}
	er.f = frame{payload: body[headersLen:]}
	return parseHeaders(body[:headersLen], &er.f)
}

// parseHeaders walks the headers in place and keeps the string ones that
// ConverseStream uses; the others are skipped by their size.
func parseHeaders(h []byte, f *frame) error {
	for len(h) > 0 {
		nameLen := int(h[0])
		if len(h) < 1+nameLen+1 {
			return errors.New("header cut short")
		}
		name := h[1 : 1+nameLen]
		typ := h[1+nameLen]
		h = h[2+nameLen:]
		var size int
		switch typ {
		case headerBoolTrue, headerBoolFalse:
		case headerByte:
			size = 1
		case headerInt16:
			size = 2
		case headerInt32:
			size = 4
		case headerInt64, headerTimestamp:
			size = 8
		case headerUUID:
			size = 16
		case headerBytes, headerString:
			if len(h) < 2 {
				return errors.New("header cut short")
			}
			size = 2 + int(binary.BigEndian.Uint16(h))
		default:
			return fmt.Errorf("header %q has unknown value type %d", name, typ)
		}
		if len(h) < size {
			return errors.New("header cut short")
		}
		if typ == headerString {
			v := h[2:size]
			switch string(name) {
			case headerMessageType:
				f.messageType = v
			case headerEventType:
				f.eventType = v
			case headerExceptionType:
				f.exceptionType = v
			case headerErrorCode:
				f.errorCode = v
			case headerErrorMessage:
				f.errorMessage = v
			}
		}
		h = h[size:]
	}
	return nil
}
