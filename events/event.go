// Package events carries usage events from the gateway to the accounting
// consumers: the versioned wire format, publishers and subscribers over
// NATS JetStream or SQS (through watermill), a batching consumer runner,
// a local spool for when the bus is down, and the emitter the gateway uses
// on the request path.
//
// Delivery is at least once. Every message carries the event id as its
// watermill UUID (and, on NATS, as Nats-Msg-Id, so JetStream drops
// re-publishes inside its duplicate window); consumers write idempotently
// on that id, which makes the effect exactly once.
package events

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/oklog/ulid/v2"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/fastjson"
)

// Default topics. On NATS they are subjects of one stream; on SQS each maps
// to a queue.
const (
	DefaultTopic           = "usage.events"
	DefaultDeadLetterTopic = "usage.deadletter"
)

// ErrInvalidEvent is wrapped by every error about a payload that can never
// become a valid event (bad JSON, unknown version, missing fields). A
// consumer dead-letters such a message instead of retrying it forever.
var ErrInvalidEvent = errors.New("invalid usage event")

// Marshal encodes ev in the wire format: JSON with the schema version in
// "v". It refuses an event that would fail Unmarshal on the other side, so
// a bad event is caught where it is made.
func Marshal(ev *convertor.UsageEvent) ([]byte, error) {
	if ev == nil {
		return nil, fmt.Errorf("marshal: %w: nil event", ErrInvalidEvent)
	}
	if err := ev.Validate(); err != nil {
		return nil, fmt.Errorf("marshal: %w: %w", ErrInvalidEvent, err)
	}
	// fastjson writes what encoding/json writes (FuzzMarshal_AsEncodingJSON
	// holds it to that), in about half the time.
	b, err := fastjson.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("marshal usage event %s: %w", ev.ID, err)
	}
	return b, nil
}

// Unmarshal decodes one wire-format event. Any error wraps ErrInvalidEvent:
// bytes that fail once fail on every redelivery.
func Unmarshal(b []byte) (*convertor.UsageEvent, error) {
	// Read the version first so an event of a newer schema is reported as
	// such rather than as whatever field it happens to break.
	var head struct {
		Version *int `json:"v"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("unmarshal: %w: %w", ErrInvalidEvent, err)
	}
	if head.Version == nil {
		return nil, fmt.Errorf("unmarshal: %w: version field \"v\" missing", ErrInvalidEvent)
	}
	if *head.Version < convertor.MinUsageEventVersion || *head.Version > convertor.UsageEventVersion {
		return nil, fmt.Errorf("unmarshal: %w: version %d is not supported (want %d to %d)",
			ErrInvalidEvent, *head.Version, convertor.MinUsageEventVersion, convertor.UsageEventVersion)
	}
	ev := new(convertor.UsageEvent)
	if err := json.Unmarshal(b, ev); err != nil {
		return nil, fmt.Errorf("unmarshal: %w: %w", ErrInvalidEvent, err)
	}
	if err := ev.Validate(); err != nil {
		return nil, fmt.Errorf("unmarshal: %w: %w", ErrInvalidEvent, err)
	}
	return ev, nil
}

// NewMessage wraps ev in a watermill message whose UUID is the event id,
// the key every transport and consumer dedupes on.
func NewMessage(ev *convertor.UsageEvent) (*message.Message, error) {
	b, err := Marshal(ev)
	if err != nil {
		return nil, err
	}
	return message.NewMessage(ev.ID, b), nil
}

// ids hands out ULIDs. Monotonic entropy keeps ids made in the same
// millisecond sorted by creation; it is not safe for concurrent use, hence
// the mutex.
var ids = struct {
	sync.Mutex
	entropy io.Reader
}{entropy: ulid.Monotonic(rand.Reader, 0)}

// NewID returns a new event id: a ULID with t's millisecond, so ids sort by
// time, and monotonic within this process for equal milliseconds.
func NewID(t time.Time) string {
	ms := ulid.Timestamp(t)
	if t.Before(time.Unix(0, 0)) || ms > ulid.MaxTime() {
		// A ULID cannot hold such a time; an id is still owed.
		ms = ulid.Now()
	}
	ids.Lock()
	id, err := ulid.New(ms, ids.entropy)
	ids.Unlock()
	if err != nil {
		// Monotonic entropy overflows after 2^80 ids in one millisecond;
		// fresh randomness still gives a unique id.
		id = ulid.MustNew(ms, rand.Reader)
	}
	return id.String()
}
