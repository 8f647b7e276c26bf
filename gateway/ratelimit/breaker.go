package ratelimit

import (
	"sync"
	"sync/atomic"
	"time"
)

// breaker skips a store that keeps failing: after threshold consecutive
// failures it refuses calls for cooldown, then lets one probe through; the
// probe's success closes it, its failure opens it for another cooldown. So a
// dead Redis costs nothing per request most of the time instead of a
// timeout each. Safe for concurrent use; the closed state, the only one on
// the hot path, is read with one atomic load.
type breaker struct {
	threshold int32
	cooldown  time.Duration
	now       func() time.Time

	failures atomic.Int32 // consecutive failures; ≥ threshold means open

	mu        sync.Mutex
	openUntil time.Time // no probe before this; b.mu must be held
	probing   bool      // a probe is in flight; b.mu must be held
}

func newBreaker(threshold int, cooldown time.Duration) *breaker {
	return &breaker{threshold: int32(threshold), cooldown: cooldown, now: time.Now}
}

// allow reports whether a call may go to the store. When the breaker is
// open and the cool-down is over, exactly one caller is allowed as the
// probe; it must end with success, failure or release.
func (b *breaker) allow() bool {
	if b.failures.Load() < b.threshold {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.probing || b.now().Before(b.openUntil) {
		return false
	}
	b.probing = true
	return true
}

// success records a call that reached the store. It reports whether the
// breaker was open, so the caller can log the recovery once.
func (b *breaker) success() (recovered bool) {
	if b.failures.Load() == 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	recovered = b.failures.Load() >= b.threshold
	b.failures.Store(0)
	b.probing = false
	return recovered
}

// failure records a call that did not reach the store. It reports whether
// this failure opened the breaker (not a failed probe of an open one).
func (b *breaker) failure() (opened bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
	f := b.failures.Add(1)
	if f < b.threshold {
		return false
	}
	// Saturate so a long outage cannot overflow the counter.
	b.failures.Store(b.threshold)
	b.openUntil = b.now().Add(b.cooldown)
	return f == b.threshold
}

// release ends a call that says nothing about the store (its caller went
// away), freeing the probe slot if it held it.
func (b *breaker) release() {
	if b.failures.Load() < b.threshold {
		return
	}
	b.mu.Lock()
	b.probing = false
	b.mu.Unlock()
}

// open reports whether calls are being skipped.
func (b *breaker) open() bool { return b.failures.Load() >= b.threshold }
