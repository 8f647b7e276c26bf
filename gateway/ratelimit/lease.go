package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Lease sizing. A lease is a batch of admissions counted in Redis at once
// and handed out locally, so most requests cost no Redis round trip.
const (
	// maxLeaseRequests caps a lease; it is also at most 1/leaseDivisor of
	// the limit, so the replicas of a key together hold a small part of it.
	maxLeaseRequests = 64
	leaseDivisor     = 50
	// leaseMargin is kept off a lease's end: the lease is valid only while
	// Redis's clock is in the bucket it was counted in.
	leaseMargin = 5 * time.Millisecond
)

// LeasingLimiter admits against a RedisLimiter in batches: when a key's
// limit is far from reached, one Redis admission counts up to 64 requests
// (and their tokens, at the first request's estimate) in the current
// bucket, and the next requests of the key on this replica are admitted
// from that lease without a round trip, until the bucket ends. Counting
// ahead never lets a window exceed the limit — every admission was counted
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
	l.giveBackLocked(ctx, ls)

	size := int64(1)
	if lim.Requests > 0 {
		size = min(maxLeaseRequests, lim.Requests/leaseDivisor)
	} else {
		size = maxLeaseRequests
	}
	if lim.Tokens > 0 {
		size = min(size, lim.Tokens/leaseDivisor/max(tokens, 1))
	}
	// Close to the limit a lease would not fit: go exact at once rather
	// than pay a refused lease and then the single admission.
	if b := ls.base; b.LimitRequests > 0 && b.RemainingRequests < 2*size ||
		b.LimitTokens > 0 && b.RemainingTokens < 2*size*tokens {
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
