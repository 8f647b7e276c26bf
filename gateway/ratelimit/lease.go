package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Lease sizing. A lease is a batch of admissions counted in Redis at once
// and handed out locally, so most requests cost no Redis round trip.
const (
	// firstLeaseRequests is a key's first lease, and the lease it goes
	// back to near its limit. A lease is also at most 1/leaseDivisor of
	// the limit, so the replicas of a key together hold a small part of it.
	firstLeaseRequests = 64
	// maxLeaseRequests caps a lease grown for a busy key.
	maxLeaseRequests = 1024
	leaseDivisor     = 50
	// leaseGrowth: a lease used up within 1/leaseGrowth of its bucket's
	// width makes the next one twice as large, so a busy key costs a few
	// Redis admissions per bucket instead of one per 64 requests; a lease
	// that ends with more than half of it unused makes the next one half
	// as large.
	leaseGrowth = 8
	// leaseMargin is kept off a lease's end: the lease is valid only while
	// Redis's clock is in the bucket it was counted in.
	leaseMargin = 5 * time.Millisecond
)

// LeasingLimiter admits against a RedisLimiter in batches: when a key's
// limit is far from reached, one Redis admission counts a lease of
// requests (and their tokens, at the first request's estimate) in the
// current bucket, and the next requests of the key on this replica are
// admitted from that lease without a round trip, until the bucket ends. A
// key's first lease is 64 requests; a key that uses its leases up quickly
// gets leases twice as large each time, up to 1024, and one that leaves
// most of a lease unused gets half as much again. Counting ahead never
// lets a window exceed the limit — every admission was counted
// in the bucket where it happens — and when a lease does not fit, the
// request falls back to a single exact admission, so the last permits of a
// window are handed out one by one. Unused permits are given back once
// the lease has ended, before the replica's next admission of the key.
// Safe for concurrent use.
type LeasingLimiter struct {
	r   *RedisLimiter
	now func() time.Time

	mu     sync.Mutex
	leases map[string]*lease
}

type lease struct {
	mu       sync.Mutex
	lim      Limits
	g        geometry
	rkey     string
	bucket   int64
	deadline time.Time
	requests int64 // left to hand out
	tokens   int64
	// base is the decision of the leasing admission: limits and resets;
	// its remaining counts exclude what this lease still holds.
	base Decision
	// size is the lease taken last, as counted (within the limit's caps);
	// taken is when. The next lease's size follows from how fast it went.
	size  int64
	taken time.Time
}

// NewLeasing returns a LeasingLimiter over r.
func NewLeasing(r *RedisLimiter) *LeasingLimiter {
	return &LeasingLimiter{r: r, now: time.Now, leases: map[string]*lease{}}
}

// Admit implements Limiter.
func (l *LeasingLimiter) Admit(ctx context.Context, key string, lim Limits, tokens int64) (Decision, error) {
	lim, err := checkAdmit(key, lim, tokens)
	if err != nil {
		return Decision{}, err
	}
	if lim.unlimited() {
		return Decision{Allowed: true}, nil
	}
	ls := l.lease(key)
	ls.mu.Lock()
	defer ls.mu.Unlock()
	now := l.now()
	if ls.lim == lim && now.Before(ls.deadline) && ls.requests > 0 && (lim.Tokens == 0 || ls.tokens >= tokens) {
		ls.requests--
		if lim.Tokens > 0 {
			ls.tokens -= tokens
		}
		d := ls.base
		d.RemainingRequests += ls.requests
		d.RemainingTokens += ls.tokens
		d.Reservation = Reservation{key: ls.rkey, bucket: ls.bucket, geo: ls.g, tokens: tokens, at: now.UnixMilli()}
		return d, nil
	}
	grown := ls.nextSize(lim, now)
	l.giveBackLocked(ctx, ls)

	size := leaseSize(grown, lim, tokens)
	// Close to the limit a large lease would not fit: fall back to the
	// first size, and closer still go exact at once rather than pay a
	// refused lease and then the single admission.
	if !ls.base.fits(size, tokens) {
		size = leaseSize(firstLeaseRequests, lim, tokens)
	}
	if !ls.base.fits(size, tokens) {
		size = 1
	}
	if size > 1 {
		sent := now
		d, redisNow, err := l.r.admitN(ctx, key, lim, tokens*size, size)
		if err != nil || d.Degraded {
			return d, err
		}
		if d.Allowed {
			g := geometryFor(lim.Window)
			end := time.Duration((d.Reservation.bucket+1)*g.width-redisNow) * time.Millisecond
			// Field by field: ls.mu is held and must not be overwritten.
			ls.lim, ls.g, ls.rkey, ls.bucket = lim, g, d.Reservation.key, d.Reservation.bucket
			ls.deadline = sent.Add(end - leaseMargin)
			ls.requests, ls.tokens, ls.base = size-1, tokens*(size-1), d
			ls.size, ls.taken = size, now
			d.RemainingRequests += ls.requests
			d.RemainingTokens += ls.tokens
			d.Reservation.tokens = tokens
			return d, nil
		}
	}
	// Near the limit (or a lease did not fit): one exact admission. Its
	// counts tell the next request whether a lease would fit again.
	d, err := l.r.Admit(ctx, key, lim, tokens)
	if err == nil && !d.Degraded {
		ls.lim, ls.base, ls.deadline = lim, d, time.Time{}
	}
	return d, err
}

// nextSize is the size of the lease to take after ls, before the caps of
// lim: twice ls's when it was used up within 1/leaseGrowth of its bucket,
// half when it ended with more than half of it unused, else the same.
// ls.mu must be held.
func (ls *lease) nextSize(lim Limits, now time.Time) int64 {
	if ls.lim != lim || ls.taken.IsZero() {
		return firstLeaseRequests
	}
	size := max(ls.size, firstLeaseRequests)
	switch {
	case now.Before(ls.deadline) && now.Sub(ls.taken) < time.Duration(ls.g.width)*time.Millisecond/leaseGrowth:
		// Still valid, so this request found it used up.
		return min(2*size, maxLeaseRequests)
	case !now.Before(ls.deadline) && 2*ls.requests > ls.size:
		return max(size/2, firstLeaseRequests)
	}
	return size
}

// leaseSize caps a lease of want requests to 1/leaseDivisor of lim's
// requests and of its tokens, at tokens a request.
func leaseSize(want int64, lim Limits, tokens int64) int64 {
	size := want
	if lim.Requests > 0 {
		size = min(size, lim.Requests/leaseDivisor)
	}
	if lim.Tokens > 0 {
		size = min(size, lim.Tokens/leaseDivisor/max(tokens, 1))
	}
	return size
}

// fits reports whether a lease of size requests at tokens a request
// leaves room to spare in the window d describes: half of what remains at
// most, so that leases do not take the last permits.
func (d Decision) fits(size, tokens int64) bool {
	return !(d.LimitRequests > 0 && d.RemainingRequests < 2*size ||
		d.LimitTokens > 0 && d.RemainingTokens < 2*size*tokens)
}

// Adjust implements Limiter.
func (l *LeasingLimiter) Adjust(ctx context.Context, r Reservation, actualTokens int64) error {
	return l.r.Adjust(ctx, r, actualTokens)
}

func (l *LeasingLimiter) lease(key string) *lease {
	l.mu.Lock()
	defer l.mu.Unlock()
	ls, ok := l.leases[key]
	if !ok {
		if len(l.leases) >= DefaultMaxKeys {
			l.sweepLocked()
		}
		ls = &lease{}
		l.leases[key] = ls
	}
	return ls
}

// releaseLocked gives back what an ended lease did not hand out, in the
// background. ls.mu must be held.
func (l *LeasingLimiter) releaseLocked(ls *lease) {
	if ls.requests == 0 && ls.tokens == 0 {
		return
	}
	rkey, g, bucket, req, tok := ls.rkey, ls.g, ls.bucket, ls.requests, ls.tokens
	ls.requests, ls.tokens = 0, 0
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = l.r.release(ctx, rkey, g, bucket, req, tok)
	}()
}

// giveBackLocked gives back what an ended lease did not hand out before
// the request at hand is counted: still counted, those permits could get
// that very request refused with room in the window, and callers may trust
// a refusal until its RetryAfter (the gateway refuses the key without
// asking again). It waits for Redis, within the store timeout, even if
// ctx is canceled; on failure the permits stay counted until their bucket
// leaves the window. ls.mu must be held.
func (l *LeasingLimiter) giveBackLocked(ctx context.Context, ls *lease) {
	if ls.requests == 0 && ls.tokens == 0 {
		return
	}
	rkey, g, bucket, req, tok := ls.rkey, ls.g, ls.bucket, ls.requests, ls.tokens
	ls.requests, ls.tokens = 0, 0
	_ = l.r.release(context.WithoutCancel(ctx), rkey, g, bucket, req, tok)
}

// sweepLocked drops leases that ended, giving their rest back. l.mu must be held.
func (l *LeasingLimiter) sweepLocked() {
	now := l.now()
	for k, ls := range l.leases {
		if ls.mu.TryLock() {
			if !now.Before(ls.deadline) {
				l.releaseLocked(ls)
				delete(l.leases, k)
			}
			ls.mu.Unlock()
		}
	}
}
