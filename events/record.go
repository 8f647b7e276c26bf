package events

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/openai-api-convertor/convertor"
)

// PricedTopic carries priced usage records from the accountant to the
// aggregator with the default configuration (see PricedConfig). It is a
// topic of its own, on its own stream, so the aggregator never sees an unpriced event and a
// replay of "usage.events" never re-applies a cost.
const PricedTopic = "usage.priced"

// RecordVersion is the schema version of the priced-record wire form, in
// "rv" beside the event's own "v". Consumers dead-letter versions they do
// not know.
const RecordVersion = 1

// recordWire is the wire form of a priced record: the record's JSON with
// the record version inlined.
type recordWire struct {
	RecordVersion *int `json:"rv"`
	*convertor.UsageRecord
}

// MarshalRecord encodes r in the priced-record wire form. It refuses a
// record that UnmarshalRecord would refuse, so a bad record is caught where
// it is made.
func MarshalRecord(r *convertor.UsageRecord) ([]byte, error) {
	if r == nil {
		return nil, fmt.Errorf("marshal record: %w: nil record", ErrInvalidEvent)
	}
	if err := validateRecord(r); err != nil {
		return nil, fmt.Errorf("marshal record: %w: %w", ErrInvalidEvent, err)
	}
	v := RecordVersion
	b, err := json.Marshal(recordWire{RecordVersion: &v, UsageRecord: r})
	if err != nil {
		return nil, fmt.Errorf("marshal record %s: %w", r.ID, err)
	}
	return b, nil
}

// UnmarshalRecord decodes one priced record. Any error wraps
// ErrInvalidEvent: bytes that fail once fail on every redelivery.
func UnmarshalRecord(b []byte) (*convertor.UsageRecord, error) {
	var head struct {
		RecordVersion *int `json:"rv"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("unmarshal record: %w: %w", ErrInvalidEvent, err)
	}
	if head.RecordVersion == nil {
		return nil, fmt.Errorf("unmarshal record: %w: version field \"rv\" missing", ErrInvalidEvent)
	}
	if *head.RecordVersion != RecordVersion {
		return nil, fmt.Errorf("unmarshal record: %w: version %d is not supported (want %d)",
			ErrInvalidEvent, *head.RecordVersion, RecordVersion)
	}
	w := recordWire{UsageRecord: new(convertor.UsageRecord)}
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("unmarshal record: %w: %w", ErrInvalidEvent, err)
	}
	if err := validateRecord(w.UsageRecord); err != nil {
		return nil, fmt.Errorf("unmarshal record: %w: %w", ErrInvalidEvent, err)
	}
	return w.UsageRecord, nil
}

func validateRecord(r *convertor.UsageRecord) error {
	if err := r.UsageEvent.Validate(); err != nil {
		return err
	}
	if r.CostMicros < 0 {
		return convertor.Errorf(convertor.EInvalid, "usage record %s: negative cost", r.ID)
	}
	return nil
}

// NewRecordMessage wraps r in a watermill message whose UUID is the event
// id, so the bus and the aggregator dedupe a record published twice (the
// accountant publishes again after a crash between write and ack).
func NewRecordMessage(r *convertor.UsageRecord) (*message.Message, error) {
	b, err := MarshalRecord(r)
	if err != nil {
		return nil, err
	}
	return message.NewMessage(r.ID, b), nil
}

// PricedConfig derives the configuration of the priced-record bus from the
// usage-event one: the same servers; as Topic the event topic with
// ".events" replaced by ".priced" (PricedTopic for the default topic; any
// other topic gets ".priced" appended), and that plus ".deadletter" as
// DeadLetterTopic; on NATS the stream "<Stream>_PRICED"; on SQS the queues
// named like the event queues with a "-priced" suffix (".../usage" →
// ".../usage-priced"), created when missing. Its subjects do not overlap
// the event stream's, which JetStream requires. The accountant publishes
// and the aggregator subscribes with it.
func PricedConfig(cfg Config) Config {
	cfg.setDefaults()
	cfg.Stream += "_PRICED"
	cfg.Topic = strings.TrimSuffix(cfg.Topic, ".events") + ".priced"
	cfg.DeadLetterTopic = cfg.Topic + ".deadletter"
	cfg.SQSQueueURL = siblingQueueURL(cfg.SQSQueueURL, "-priced")
	cfg.SQSDeadLetterURL = siblingQueueURL(cfg.SQSDeadLetterURL, "-priced")
	return cfg
}

// siblingQueueURL is the URL of the queue named like u's with suffix added;
// "" stays "". A FIFO queue keeps its required ".fifo" ending.
func siblingQueueURL(u, suffix string) string {
	if u == "" {
		return ""
	}
	if base, ok := strings.CutSuffix(u, ".fifo"); ok {
		return base + suffix + ".fifo"
	}
	return u + suffix
}
