package events_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/events"
)

func recordFixture() *convertor.UsageRecord {
	t := time.Date(2025, 11, 25, 12, 0, 0, 123000000, time.UTC)
	return &convertor.UsageRecord{
		UsageEvent: convertor.UsageEvent{
			Version:          convertor.UsageEventVersion,
			ID:               events.NewID(t),
			RequestID:        "req-1",
			Time:             t,
			KeyID:            "key-1",
			Model:            "claude-sonnet-4-5",
			BedrockModelID:   "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
			InputTokens:      1000,
			OutputTokens:     200,
			CacheReadTokens:  30,
			CacheWriteTokens: 40,
			Status:           convertor.UsageOK,
			HTTPStatus:       200,
		},
		CostMicros: 6159,
		PriceFrom:  time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
	}
}

func TestMarshalRecord_RoundTrip(t *testing.T) {
	for _, unpriced := range []bool{false, true} {
		r := recordFixture()
		r.Unpriced = unpriced
		b, err := events.MarshalRecord(r)
		if err != nil {
			t.Fatalf("MarshalRecord() error = %v", err)
		}
		if !strings.Contains(string(b), `"rv":1`) || !strings.Contains(string(b), `"v":2`) {
			t.Errorf("MarshalRecord() = %s, want both \"rv\":1 and \"v\":2", b)
		}
		got, err := events.UnmarshalRecord(b)
		if err != nil {
			t.Fatalf("UnmarshalRecord() error = %v", err)
		}
		if diff := cmp.Diff(r, got); diff != "" {
			t.Errorf("UnmarshalRecord(MarshalRecord()) mismatch (-want +got):\n%s", diff)
		}
	}
}

func TestMarshalRecord_ErrInvalidEvent(t *testing.T) {
	r := recordFixture()
	r.CostMicros = -1
	if _, err := events.MarshalRecord(r); !errors.Is(err, events.ErrInvalidEvent) {
		t.Errorf("MarshalRecord(negative cost) error = %v, want ErrInvalidEvent", err)
	}
	if _, err := events.MarshalRecord(nil); !errors.Is(err, events.ErrInvalidEvent) {
		t.Errorf("MarshalRecord(nil) error = %v, want ErrInvalidEvent", err)
	}
}

func TestUnmarshalRecord_ErrInvalidEvent(t *testing.T) {
	good, err := events.MarshalRecord(recordFixture())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		payload string
	}{
		{"NotJSON", "{"},
		{"NoRecordVersion", strings.Replace(string(good), `"rv":1,`, "", 1)},
		{"FutureRecordVersion", strings.Replace(string(good), `"rv":1`, `"rv":2`, 1)},
		// A plain usage event is not a priced record.
		{"PlainEvent", `{"v":1,"id":"01J","time":"2025-11-25T12:00:00Z","model":"m","status":"ok"}`},
		{"BadEventVersion", strings.Replace(string(good), `"v":2`, `"v":9`, 1)},
		{"NegativeTokens", strings.Replace(string(good), `"input_tokens":1000`, `"input_tokens":-1`, 1)},
		{"NegativeCost", strings.Replace(string(good), `"cost_micros":6159`, `"cost_micros":-5`, 1)},
		{"CostNotNumber", strings.Replace(string(good), `"cost_micros":6159`, `"cost_micros":"x"`, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.payload == string(good) {
				t.Fatalf("payload unchanged; the fixture's JSON changed shape")
			}
			if _, err := events.UnmarshalRecord([]byte(tt.payload)); !errors.Is(err, events.ErrInvalidEvent) {
				t.Errorf("UnmarshalRecord() error = %v, want ErrInvalidEvent", err)
			}
		})
	}
}

func TestNewRecordMessage_UUIDIsEventID(t *testing.T) {
	r := recordFixture()
	msg, err := events.NewRecordMessage(r)
	if err != nil {
		t.Fatalf("NewRecordMessage() error = %v", err)
	}
	if msg.UUID != r.ID {
		t.Errorf("message UUID = %q, want the event id %q", msg.UUID, r.ID)
	}
}

func TestPricedConfig(t *testing.T) {
	tests := []struct {
		name string
		in   events.Config
		want events.Config
	}{
		{
			name: "NATS",
			in:   events.Config{NATSURL: "nats://127.0.0.1:4222"},
			want: events.Config{NATSURL: "nats://127.0.0.1:4222", Stream: "USAGE_PRICED", Topic: "usage.priced", DeadLetterTopic: "usage.priced.deadletter"},
		},
		{
			name: "SQS",
			in:   events.Config{SQSQueueURL: "http://127.0.0.1:9324/000/usage", SQSDeadLetterURL: "http://127.0.0.1:9324/000/usage-dlq"},
			want: events.Config{
				SQSQueueURL: "http://127.0.0.1:9324/000/usage-priced", SQSDeadLetterURL: "http://127.0.0.1:9324/000/usage-dlq-priced",
				Stream: "USAGE_PRICED", Topic: "usage.priced", DeadLetterTopic: "usage.priced.deadletter",
			},
		},
		{
			name: "OwnTopic",
			in:   events.Config{NATSURL: "nats://x", Stream: "T1", Topic: "t1.events"},
			want: events.Config{NATSURL: "nats://x", Stream: "T1_PRICED", Topic: "t1.priced", DeadLetterTopic: "t1.priced.deadletter"},
		},
		{
			name: "SQSFIFO",
			in:   events.Config{SQSQueueURL: "https://sqs.us-east-1.amazonaws.com/1/usage.fifo"},
			want: events.Config{SQSQueueURL: "https://sqs.us-east-1.amazonaws.com/1/usage-priced.fifo", Stream: "USAGE_PRICED", Topic: "usage.priced", DeadLetterTopic: "usage.priced.deadletter"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := events.PricedConfig(tt.in)
			type names struct{ NATSURL, SQSQueueURL, SQSDeadLetterURL, Stream, Topic, DeadLetterTopic string }
			pick := func(c events.Config) names {
				return names{c.NATSURL, c.SQSQueueURL, c.SQSDeadLetterURL, c.Stream, c.Topic, c.DeadLetterTopic}
			}
			if diff := cmp.Diff(pick(tt.want), pick(got)); diff != "" {
				t.Errorf("PricedConfig() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
