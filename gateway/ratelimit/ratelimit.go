// Package ratelimit holds every API key to a requests-per-window and a
// tokens-per-window limit: RedisLimiter shares the count between any number
// of gateway replicas through one Redis, MemoryLimiter keeps it in process for
// a single replica.
//
// # Algorithm
//
// A window W is cut into n buckets of width w (n ≤ 60, w ≥ 100 ms, n·w ≥ W).
// An admission at time t falls into bucket c = ⌊t/w⌋ and is checked against
// the sum of buckets c−n … c: the n full buckets before it and the oldest
// one, which is partly outside the window but counted whole. A request is
// admitted only if one more request and its reserved tokens both fit; a
// refused request counts nothing.
//
// This never lets any sliding window hold more than the limit. Take any
// interval (s−W, s] and the last admission in it, at time t ≤ s. Every other
// admission in the interval came before t (admissions are serialised: one
// Lua script per key in Redis, a mutex in memory) and at or after s−W > t−W,
// so it lies in a bucket between ⌊(t−W)/w⌋ ≥ c−n and c; all of them were
// counted when t was admitted, and that admission kept the sum within the
// limit. The price is slight under-admission: usage is remembered for up to
// W+w instead of W, so a client may wait up to one bucket (W/60) longer than
// an exact log would make it. An exact log (a sorted set of admissions) would
// cost memory and time per request, and per token for TPM; the two-fixed-window
// interpolation many limiters use is cheap but lets bursts at a window edge
// through (1,008 of a limit of 1,000 under concurrency).
//
// In Redis each key and window is one hash holding per-bucket counts and
// their running sums, so an admission reads and writes a fixed handful of
// fields however many buckets there are; only a refusal reads buckets, to
// compute RetryAfter (admit.lua). The clock is Redis's TIME, so replicas
// with skewed clocks agree, and the hash expires once its newest bucket has
// left the window.
//
// Tokens are reserved at admission (the caller's estimate) and corrected with
// Adjust once usage is known. A correction upwards cannot be refused after the
// fact, so the token guarantee holds for reservations, not for actual usage
// beyond them.
package ratelimit

import (
	"context"
	"time"

	"github.com/openai-api-convertor/convertor"
)

// DefaultWindow is the window used when Limits.Window is zero; OpenAI's
// limits are per minute, and so are the RATE_LIMIT_* settings.
const DefaultWindow = time.Minute

// Bucket geometry. Sixty buckets keep the over-long memory of a window under
// 2% of it; 100 ms keeps a short test window from becoming hundreds of Redis
// hash fields.
const (
	maxBuckets     = 60
	minBucketWidth = 100 // milliseconds
)

// Reasons a Decision refuses a request.
const (
	ReasonRequests = "requests"
	ReasonTokens   = "tokens"
)

// Limits are one key's limits. Zero means unlimited for Requests and Tokens.
type Limits struct {
	Requests int64         // per Window; 0 = unlimited
	Tokens   int64         // per Window; 0 = unlimited
	Window   time.Duration // RATE_LIMIT_WINDOW; 0 means DefaultWindow
}

// Decision is the answer to one admission. Its values follow OpenAI's
// x-ratelimit-* headers; a dimension whose limit is 0 (unlimited) reports 0
// for its limit, remaining and reset.
type Decision struct {
	Allowed bool
	// Reason is ReasonRequests or ReasonTokens when refused; requests win
	// when both are exhausted.
	Reason string
	// Degraded is set when the limiter could not reach its store and
	// admitted the request without counting it (fail open). Remaining values
	// are then what an empty window would leave, and resets are 0.
	Degraded bool

	LimitRequests, RemainingRequests int64 // remaining after this admission
	LimitTokens, RemainingTokens     int64

	// ResetRequests and ResetTokens are the time until the counted usage has
	// left the window entirely, so the limit is back to full (OpenAI's
	// x-ratelimit-reset-* semantics).
	ResetRequests, ResetTokens time.Duration

	// RetryAfter, when refused, is the earliest time a retry of the same
	// request can succeed if nothing else is admitted meanwhile. A request
	// reserving more tokens than LimitTokens can never succeed; RetryAfter is
	// then the whole window, and callers can tell the case by comparing.
	RetryAfter time.Duration

	// Reservation identifies what this admission counted, for Adjust. It is
	// the zero Reservation when nothing was counted.
	Reservation Reservation
}

// Reservation is an opaque handle on the tokens an admission reserved and
// the bucket it reserved them in. It is a small value, safe to copy and to
// keep until the request ends.
type Reservation struct {
	key    string // store key: the Redis key, or the memory limiter's map key
	bucket int64  // bucket index the admission counted in
	geo    geometry
	tokens int64
	at     int64 // store clock at admission, in Unix milliseconds
}

// Tokens returns the tokens the admission reserved.
func (r Reservation) Tokens() int64 { return r.tokens }

// Limiter admits requests against per-key limits. Implementations are safe
// for concurrent use.
type Limiter interface {
	// Admit counts one request reserving tokens against key's limits, if
	// both fit. Returns EInvalid for an empty key or negative values,
	// EUnavailable when the store cannot be reached and the limiter fails
	// closed, and ECanceled when ctx ends first.
	Admit(ctx context.Context, key string, lim Limits, tokens int64) (Decision, error)
	// Adjust corrects a reservation to the tokens actually used: it adds
	// actualTokens − reserved to the bucket the reservation went into, if
	// that bucket still counts; otherwise it does nothing. Returns EInvalid
	// for negative actualTokens and EUnavailable when the store cannot be
	// reached. Callers may run it without waiting, with a context that
	// outlives the request (context.WithoutCancel), and ignore
	// EUnavailable: the reservation then simply stands.
	Adjust(ctx context.Context, r Reservation, actualTokens int64) error
}

// checkAdmit validates Admit's arguments and applies the default window.
func checkAdmit(key string, lim Limits, tokens int64) (Limits, error) {
	switch {
	case key == "":
		return lim, convertor.Errorf(convertor.EInvalid, "rate limit key is empty")
	case lim.Requests < 0:
		return lim, convertor.Errorf(convertor.EInvalid, "rate limit requests %d is negative", lim.Requests)
	case lim.Tokens < 0:
		return lim, convertor.Errorf(convertor.EInvalid, "rate limit tokens %d is negative", lim.Tokens)
	case lim.Window < 0:
		return lim, convertor.Errorf(convertor.EInvalid, "rate limit window %s is negative", lim.Window)
	case tokens < 0:
		return lim, convertor.Errorf(convertor.EInvalid, "reserved tokens %d is negative", tokens)
	}
	if lim.Window == 0 {
		lim.Window = DefaultWindow
	}
	return lim, nil
}

// checkAdjust validates Adjust's arguments.
func checkAdjust(actualTokens int64) error {
	if actualTokens < 0 {
		return convertor.Errorf(convertor.EInvalid, "actual tokens %d is negative", actualTokens)
	}
	return nil
}

// unlimited reports whether lim limits nothing, so no count is needed.
func (lim Limits) unlimited() bool { return lim.Requests == 0 && lim.Tokens == 0 }

// geometry is how a window is cut into buckets.
type geometry struct {
	width int64 // bucket width in milliseconds
	n     int64 // buckets in a window; n+1 are counted
}

// geometryFor cuts w into at most maxBuckets buckets of at least
// minBucketWidth, rounding the width up so n·width ≥ w: a longer window
// only errs on the safe side.
func geometryFor(w time.Duration) geometry {
	ms := max(w.Milliseconds(), 1)
	n := min(maxBuckets, max(ms/minBucketWidth, 1))
	return geometry{width: (ms + n - 1) / n, n: n}
}

// outcome is what one admission computed, in store terms; RedisLimiter gets
// it from the Lua script, MemoryLimiter from admitBuckets.
type outcome struct {
	allowed          bool
	requests, tokens int64 // counted in the window, including this admission if allowed
	resetRequests    int64 // ms until the counted requests have left the window
	resetTokens      int64
	retryRequests    int64 // ms until one more request fits; 0 fits now, -1 never
	retryTokens      int64
	bucket, now      int64
}

// decision turns an outcome into the Decision for lim; key is the store key
// the reservation refers to.
func (o outcome) decision(lim Limits, g geometry, key string, tokens int64) Decision {
	d := Decision{Allowed: o.allowed, LimitRequests: lim.Requests, LimitTokens: lim.Tokens}
	if lim.Requests > 0 {
		d.RemainingRequests = max(lim.Requests-o.requests, 0)
		d.ResetRequests = ms(o.resetRequests)
	}
	if lim.Tokens > 0 {
		d.RemainingTokens = max(lim.Tokens-o.tokens, 0)
		d.ResetTokens = ms(o.resetTokens)
	}
	if o.allowed {
		d.Reservation = Reservation{key: key, bucket: o.bucket, geo: g, tokens: tokens, at: o.now}
		return d
	}
	d.Reason = ReasonTokens
	if lim.Requests > 0 && o.retryRequests != 0 {
		d.Reason = ReasonRequests
	}
	for _, retry := range []int64{o.retryRequests, o.retryTokens} {
		if retry < 0 {
			retry = g.n * g.width
		}
		d.RetryAfter = max(d.RetryAfter, ms(retry))
	}
	return d
}

// degraded is the Decision of a fail-open admission that counted nothing.
func degraded(lim Limits, tokens int64) Decision {
	d := Decision{Allowed: true, Degraded: true, LimitRequests: lim.Requests, LimitTokens: lim.Tokens}
	if lim.Requests > 0 {
		d.RemainingRequests = lim.Requests - 1
	}
	if lim.Tokens > 0 {
		d.RemainingTokens = max(lim.Tokens-tokens, 0)
	}
	return d
}

func ms(v int64) time.Duration { return time.Duration(v) * time.Millisecond }

// Slot identifies where a reservation was counted: a key's bucket. Every
// reservation in one slot can be corrected by a single Adjust.
type Slot struct {
	key    string
	bucket int64
	geo    geometry
}

// Slot returns the reservation's slot.
func (r Reservation) Slot() Slot { return Slot{key: r.key, bucket: r.bucket, geo: r.geo} }

// Merge adds o to r when both were counted in the same slot, so a caller
// can correct many admissions with one Adjust of their summed actual
// tokens. It reports false, and returns r unchanged, otherwise.
func (r Reservation) Merge(o Reservation) (Reservation, bool) {
	if r.Slot() != o.Slot() {
		return r, false
	}
	r.tokens += o.tokens
	r.at = min(r.at, o.at)
	return r, true
}
