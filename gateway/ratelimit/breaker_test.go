package ratelimit

import (
	"testing"
	"time"
)

func TestBreaker(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	b := newBreaker(3, time.Second)
	b.now = func() time.Time { return now }

	for i := range 2 {
		if !b.allow() {
			t.Fatalf("allow() after %d failures = false, want true", i)
		}
		if b.failure() {
			t.Fatalf("failure() #%d opened the breaker, threshold is 3", i+1)
		}
	}
	if !b.failure() {
		t.Fatalf("third failure() = false, want it to open the breaker")
	}
	if b.allow() {
		t.Errorf("allow() while open = true, want false")
	}

	now = now.Add(time.Second)
	if !b.allow() {
		t.Fatalf("allow() after the cool-down = false, want one probe")
	}
	if b.allow() {
		t.Errorf("allow() during the probe = true, want false: one probe at a time")
	}
	if b.failure() {
		t.Errorf("failed probe reported as a new opening; it should log once per outage")
	}
	if b.allow() {
		t.Errorf("allow() after a failed probe = true, want a new cool-down")
	}

	now = now.Add(time.Second)
	if !b.allow() {
		t.Fatalf("allow() after the second cool-down = false, want a probe")
	}
	b.release() // the probe's caller went away: free the slot, decide nothing
	if !b.allow() {
		t.Fatalf("allow() after a released probe = false, want another probe")
	}
	if !b.success() {
		t.Errorf("success() of the probe = false, want it to report recovery")
	}
	if !b.allow() || b.open() {
		t.Errorf("breaker after a successful probe: allow %v, open %v; want closed", b.allow(), b.open())
	}
	if b.success() {
		t.Errorf("success() while closed reported a recovery")
	}
}
