package events_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/oklog/ulid/v2"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/events"
)

func TestMarshal_RoundTrip(t *testing.T) {
	ev := testEvent(t, 7)
	ev.CacheReadTokens, ev.CacheWriteTokens = 3, 4
	ev.Estimated, ev.Disconnected = true, true
	b, err := events.Marshal(ev)
	if err != nil {
		t.Fatalf("Marshal() error = %v", err)
	}
	if !strings.Contains(string(b), `"v":2`) {
		t.Errorf("Marshal() = %s, want a \"v\":2 version field", b)
	}
	got, err := events.Unmarshal(b)
	if err != nil {
		t.Fatalf("Unmarshal() error = %v", err)
	}
	if diff := cmp.Diff(ev, got); diff != "" {
		t.Errorf("Unmarshal(Marshal()) mismatch (-want +got):\n%s", diff)
	}
}

func TestMarshal_ErrInvalidEvent(t *testing.T) {
	ev := testEvent(t, 1)
	ev.OutputTokens = -1
	if _, err := events.Marshal(ev); !errors.Is(err, events.ErrInvalidEvent) {
		t.Errorf("Marshal(negative tokens) error = %v, want ErrInvalidEvent", err)
	}
	if _, err := events.Marshal(nil); !errors.Is(err, events.ErrInvalidEvent) {
		t.Errorf("Marshal(nil) error = %v, want ErrInvalidEvent", err)
	}
}

func TestUnmarshal_ErrInvalidEvent(t *testing.T) {
	valid := `"id":"01JDQ0000000000000000000AB","request_id":"r","time":"2025-11-25T12:00:00Z","key_id":"k","model":"m","input_tokens":1,"output_tokens":2,"cache_read_tokens":0,"cache_write_tokens":0,"latency_ms":3,"status":"ok","http_status":200,"streamed":false,"disconnected":false`
	if _, err := events.Unmarshal([]byte(`{"v":1,` + valid + `}`)); err != nil {
		t.Fatalf("Unmarshal(valid) error = %v", err)
	}
	tests := map[string]string{
		"Write1hOverWrites": `{"v":2,` + strings.Replace(valid, `"cache_write_tokens":0`, `"cache_write_tokens":5,"cache_write_1h_tokens":6`, 1) + `}`,
		"NotJSON":           `{"v":1,`,
		"Empty":             ``,
		"Array":             `[1,2]`,
		"NoVersion":         `{` + valid + `}`,
		"FutureVersion":     `{"v":3,` + valid + `}`,
		"VersionString":     `{"v":"1",` + valid + `}`,
		"MissingID":         `{"v":1,` + strings.Replace(valid, `"id":"01JDQ0000000000000000000AB",`, "", 1) + `}`,
		"MissingTime":       `{"v":1,` + strings.Replace(valid, `"time":"2025-11-25T12:00:00Z",`, "", 1) + `}`,
		"MissingModel":      `{"v":1,` + strings.Replace(valid, `"model":"m",`, "", 1) + `}`,
		"NegativeTokens":    `{"v":1,` + strings.Replace(valid, `"input_tokens":1`, `"input_tokens":-5`, 1) + `}`,
		"UnknownStatus":     `{"v":1,` + strings.Replace(valid, `"status":"ok"`, `"status":"maybe"`, 1) + `}`,
		"TokensWrongType":   `{"v":1,` + strings.Replace(valid, `"input_tokens":1`, `"input_tokens":"1"`, 1) + `}`,
	}
	for name, payload := range tests {
		t.Run(name, func(t *testing.T) {
			ev, err := events.Unmarshal([]byte(payload))
			if !errors.Is(err, events.ErrInvalidEvent) {
				t.Fatalf("Unmarshal() = %+v, %v; want ErrInvalidEvent", ev, err)
			}
		})
	}
}

// TestUnmarshal_Version1 shows that events written before the 1-hour cache
// breakdown existed still decode: their cache writes are all 5-minute ones.
func TestUnmarshal_Version1(t *testing.T) {
	v1 := `{"v":1,"id":"01JDQ0000000000000000000AB","request_id":"r","time":"2025-11-25T12:00:00Z","key_id":"k","model":"m","input_tokens":1,"output_tokens":2,"cache_read_tokens":3,"cache_write_tokens":4,"latency_ms":3,"status":"ok","http_status":200,"streamed":false,"disconnected":false}`
	ev, err := events.Unmarshal([]byte(v1))
	if err != nil {
		t.Fatalf("Unmarshal(v1) error = %v", err)
	}
	if ev.Version != 1 || ev.CacheWriteTokens != 4 || ev.CacheWrite1hTokens != 0 {
		t.Errorf("Unmarshal(v1) = version %d, writes %d, 1h writes %d; want 1, 4, 0", ev.Version, ev.CacheWriteTokens, ev.CacheWrite1hTokens)
	}
	v2 := strings.Replace(strings.Replace(v1, `"v":1`, `"v":2`, 1), `"cache_write_tokens":4`, `"cache_write_tokens":4,"cache_write_1h_tokens":3`, 1)
	if ev, err = events.Unmarshal([]byte(v2)); err != nil || ev.CacheWrite1hTokens != 3 {
		t.Errorf("Unmarshal(v2) = %+v, %v; want 3 1-hour cache writes", ev, err)
	}
}

func TestNewID(t *testing.T) {
	at := time.Date(2025, 11, 25, 12, 0, 0, 0, time.UTC)
	prev := ""
	for i := range 1000 {
		id := events.NewID(at) // same millisecond: monotonic entropy orders them
		u, err := ulid.ParseStrict(id)
		if err != nil {
			t.Fatalf("NewID() = %q: %v", id, err)
		}
		if got := ulid.Time(u.Time()); !got.Equal(at) {
			t.Fatalf("NewID() time = %v, want %v", got, at)
		}
		if id <= prev {
			t.Fatalf("NewID() #%d = %s, not after %s", i, id, prev)
		}
		prev = id
	}
	if id := events.NewID(time.Time{}); len(id) != 26 {
		t.Errorf("NewID(zero time) = %q, want a ULID", id)
	}
}

func TestNewMessage_UUIDIsEventID(t *testing.T) {
	ev := testEvent(t, 1)
	msg, err := events.NewMessage(ev)
	if err != nil {
		t.Fatal(err)
	}
	if msg.UUID != ev.ID {
		t.Errorf("NewMessage().UUID = %q, want event id %q", msg.UUID, ev.ID)
	}
}

// FuzzMarshal_AsEncodingJSON holds Marshal's bytes to encoding/json's for
// any event: odd strings (HTML, control and invalid UTF-8 bytes), times
// in any zone, any counts.
func FuzzMarshal_AsEncodingJSON(f *testing.F) {
	f.Add("01JD0000000000000000000000", "req-1<&>", "key-1", "claude-sonnet-4-5", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", "us-east-1", "ok", "", int64(1764072000123456789), 3600, int64(100), int64(20), int64(5), int64(2), int64(1), int64(850), int64(120), 200, true, false, false)
	f.Add("x", "\u2028\x00\xff", "k", "m\"\\", "", "", "error", "throttled", int64(-62135596800), -18000, int64(0), int64(0), int64(0), int64(0), int64(0), int64(0), int64(0), 429, false, true, true)
	f.Fuzz(func(t *testing.T, id, requestID, keyID, model, bedrockModel, region, status, errorType string, unixNano int64, zoneOffset int,
		in, out, cacheRead, cacheWrite, cacheWrite1h, latency, ttft int64, httpStatus int, streamed, disconnected, estimated bool) {
		ev := &convertor.UsageEvent{
			Version: convertor.UsageEventVersion, ID: id, RequestID: requestID, KeyID: keyID, Model: model,
			BedrockModelID: bedrockModel, Region: region, Status: status, ErrorType: errorType,
			Time:        time.Unix(0, unixNano).In(time.FixedZone("z", zoneOffset%86400)),
			InputTokens: in, OutputTokens: out, CacheReadTokens: cacheRead, CacheWriteTokens: cacheWrite,
			CacheWrite1hTokens: cacheWrite1h, LatencyMs: latency, TTFTMs: ttft, HTTPStatus: httpStatus,
			Streamed: streamed, Disconnected: disconnected, Estimated: estimated,
		}
		want, wantErr := json.Marshal(ev)
		got, err := events.Marshal(ev)
		if ev.Validate() != nil {
			return // refused before encoding
		}
		if (err == nil) != (wantErr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("Marshal(%+v) =\n  %s (%v)\nencoding/json gives\n  %s (%v)", ev, got, err, want, wantErr)
		}
	})
}
