package events_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor/events"
)

func TestLoadConfig(t *testing.T) {
	env := map[string]string{
		"NATS_URL":             "nats://127.0.0.1:4222",
		"SQS_QUEUE_URL":        "https://sqs.eu-west-1.amazonaws.com/1/usage",
		"SQS_DLQ_URL":          "https://sqs.eu-west-1.amazonaws.com/1/usage-dlq",
		"AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:9324",
		"AWS_REGION":           "eu-west-1",
		"EVENTS_ACK_WAIT":      "45s",
		"EVENTS_MAX_DELIVER":   "5",
		// A bare number is seconds, as everywhere.
		"EVENTS_DUPLICATE_WINDOW": "30",
	}
	got, err := events.LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("LoadConfig() error = %v", err)
	}
	want := events.Config{
		NATSURL:              "nats://127.0.0.1:4222",
		SQSQueueURL:          "https://sqs.eu-west-1.amazonaws.com/1/usage",
		SQSDeadLetterURL:     "https://sqs.eu-west-1.amazonaws.com/1/usage-dlq",
		SQSEndpoint:          "http://127.0.0.1:9324",
		Region:               "eu-west-1",
		Stream:               "USAGE",
		Topic:                "usage.events",
		DeadLetterTopic:      "usage.deadletter",
		AckWait:              45 * time.Second,
		MaxDeliver:           5,
		MaxInFlight:          events.DefaultMaxInFlight,
		DuplicateWindow:      30 * time.Second,
		MaxAge:               events.DefaultMaxAge,
		SQSWorkers:           events.DefaultSQSWorkers,
		SQSVisibilityTimeout: events.DefaultSQSVisibilityTimeout,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LoadConfig() mismatch (-want +got):\n%s", diff)
	}
}

func TestLoadConfig_Errors(t *testing.T) {
	env := map[string]string{
		"EVENTS_STREAM":           "usage.stream",
		"EVENTS_ACK_WAIT":         "soon",
		"EVENTS_MAX_DELIVER":      "-1",
		"EVENTS_MAX_AGE":          "0",
		"EVENTS_DUPLICATE_WINDOW": "-30",
	}
	_, err := events.LoadConfig(func(k string) string { return env[k] })
	if err == nil {
		t.Fatal("LoadConfig() error = nil, want every problem reported")
	}
	for _, want := range []string{
		`EVENTS_STREAM: "usage.stream" may not contain`,
		`EVENTS_ACK_WAIT: "soon" is not a duration (use 30s, 5m or whole seconds)`,
		`EVENTS_MAX_DELIVER: "-1" is below the minimum 1`,
		`EVENTS_MAX_AGE: "0" is not positive`,
		`EVENTS_DUPLICATE_WINDOW: "-30" is negative`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("LoadConfig() error = %q, want it to contain %s", err, want)
		}
	}
}

// TestConfig_WarnInFlight checks the warning appears exactly when the
// batches a consumer holds exceed JetStream's unacknowledged limit.
func TestConfig_WarnInFlight(t *testing.T) {
	for _, c := range []struct {
		nats             string
		batch, conc, max int
		want             bool
	}{
		{"nats://x", 100, 4, 512, false},
		{"nats://x", 200, 1, 512, false},
		{"nats://x", 100, 8, 512, true},
		{"", 100, 8, 512, false}, // SQS has no such limit
	} {
		var buf bytes.Buffer
		cfg := events.Config{NATSURL: c.nats, MaxInFlight: c.max}
		cfg.WarnInFlight(slog.New(slog.NewTextHandler(&buf, nil)), c.batch, c.conc)
		if got := strings.Contains(buf.String(), "EVENTS_MAX_IN_FLIGHT"); got != c.want {
			t.Errorf("%+v: warned = %v, want %v (%s)", c, got, c.want, buf.String())
		}
	}
}
