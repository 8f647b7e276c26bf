package events_test

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/events"
)

// testEvent returns a valid event with a fresh id.
func testEvent(tb testing.TB, i int) *convertor.UsageEvent {
	tb.Helper()
	now := time.Date(2025, 11, 25, 12, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond)
	return &convertor.UsageEvent{
		Version:        convertor.UsageEventVersion,
		ID:             events.NewID(now),
		RequestID:      "req-" + hex.EncodeToString([]byte{byte(i >> 8), byte(i)}),
		Time:           now,
		KeyID:          "key-1",
		Model:          "claude-sonnet-4-5",
		BedrockModelID: "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
		Region:         "us-east-1",
		InputTokens:    int64(100 + i),
		OutputTokens:   int64(20 + i),
		LatencyMs:      850,
		TTFTMs:         120,
		Status:         convertor.UsageOK,
		HTTPStatus:     200,
		Streamed:       i%2 == 0,
	}
}

func testEvents(tb testing.TB, n int) []*convertor.UsageEvent {
	tb.Helper()
	evs := make([]*convertor.UsageEvent, n)
	for i := range evs {
		evs[i] = testEvent(tb, i)
	}
	return evs
}

// uniqueName returns a name no other test run uses, for streams, subjects
// and queues on shared servers.
func uniqueName(tb testing.TB) string {
	tb.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, tb.Name())
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	return name + "_" + hex.EncodeToString(b[:])
}

// waitFor polls cond until it holds or timeout passes (nats-server's
// checkFor): no bare sleeps as synchronisation.
func waitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// seen records event ids as a consumer receives them.
type seen struct {
	mu    sync.Mutex
	count map[string]int
}

func newSeen() *seen { return &seen{count: make(map[string]int)} }

func (s *seen) add(evs []*convertor.UsageEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ev := range evs {
		s.count[ev.ID]++
	}
}

// missing returns how many of evs were never seen.
func (s *seen) missing(evs []*convertor.UsageEvent) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, ev := range evs {
		if s.count[ev.ID] == 0 {
			n++
		}
	}
	return n
}

func (s *seen) times(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count[id]
}

// distinct returns how many different ids were seen.
func (s *seen) distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.count)
}
