package ratelimit

import (
	"cmp"
	"context"
	"hash/maphash"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultMaxKeys bounds a MemoryLimiter: at a few hundred bytes per key,
// 100,000 active keys stay in the tens of megabytes.
const DefaultMaxKeys = 100_000

// memShards spreads keys over independently locked maps so concurrent
// admissions of different keys rarely wait on each other.
const memShards = 32

// MemoryOptions configure a MemoryLimiter. The zero value is usable.
type MemoryOptions struct {
	// MaxKeys bounds how many keys are tracked; DefaultMaxKeys when zero.
	// Keys idle for a whole window are dropped first; past the bound the
	// least recently used key is dropped even if its window still counts,
	// which forgets that key's usage (it may be admitted beyond its limit),
	// so size it above the number of keys active in one window.
	MaxKeys int
	// Now, when set, replaces the clock; tests use it to slide windows
	// without waiting. The default clock is monotonic, so wall-clock steps
	// cannot shorten a window.
	Now func() time.Time
	// Registerer, when set, receives the limiter's metrics. NewMemory
	// panics if they are registered already.
	Registerer prometheus.Registerer
}

// MemoryLimiter is a Limiter that counts in process, for a single gateway
// replica (or when no Redis is configured). It applies the same algorithm as
// RedisLimiter, with the same decisions. Safe for concurrent use.
type MemoryLimiter struct {
	now      func() int64 // Unix milliseconds
	seed     maphash.Seed
	shardMax int
	metrics  *metrics
	shards   [memShards]memShard
}

var _ Limiter = (*MemoryLimiter)(nil)

type memShard struct {
	mu        sync.Mutex
	counters  map[string]*memCounter // s.mu must be held
	nextSweep int64                  // ms; s.mu must be held
}

// memCounter is one key's window: a ring of n+1 buckets, bucket id i in
// slot i mod (n+1).
type memCounter struct {
	geo          geometry
	slots        []memSlot
	lastRequests int64 // newest bucket that counted requests
	lastTokens   int64 // newest bucket that reserved tokens
	lastUse      int64 // ms, for least-recently-used eviction
}

// noBucket is older than any bucket: an empty slot, or no bucket at all.
const noBucket int64 = -1 << 62

type memSlot struct {
	id               int64
	requests, tokens int64
}

// NewMemory returns an in-process limiter.
func NewMemory(opts MemoryOptions) *MemoryLimiter {
	l := &MemoryLimiter{
		seed:     maphash.MakeSeed(),
		shardMax: max(cmp.Or(opts.MaxKeys, DefaultMaxKeys)/memShards, 1),
		metrics:  newMetrics(),
	}
	if opts.Now != nil {
		l.now = func() int64 { return opts.Now().UnixMilli() }
	} else {
		start := time.Now()
		base := start.UnixMilli()
		l.now = func() int64 { return base + time.Since(start).Milliseconds() }
	}
	for i := range l.shards {
		l.shards[i].counters = make(map[string]*memCounter)
	}
	l.metrics.register(opts.Registerer, false)
	return l
}

// Admit implements Limiter. It never returns EUnavailable.
func (l *MemoryLimiter) Admit(ctx context.Context, key string, lim Limits, tokens int64) (Decision, error) {
	lim, err := checkAdmit(key, lim, tokens)
	if err != nil {
		return Decision{}, err
	}
	if lim.unlimited() {
		return Decision{Allowed: true}, nil
	}
	g := geometryFor(lim.Window)
	s := l.shard(key)
	s.mu.Lock()
	now := l.now()
	c := s.counter(key, g, now, l.shardMax)
	o := c.admit(now, lim, tokens)
	s.mu.Unlock()
	d := o.decision(lim, g, key, tokens)
	l.metrics.count(d)
	return d, nil
}

// Adjust implements Limiter. It fails only on invalid arguments.
func (l *MemoryLimiter) Adjust(ctx context.Context, r Reservation, actualTokens int64) error {
	if err := checkAdjust(actualTokens); err != nil {
		return err
	}
	delta := actualTokens - r.tokens
	if r.key == "" || delta == 0 {
		return nil
	}
	s := l.shard(r.key)
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.counters[r.key]
	if c == nil || c.geo != r.geo || r.bucket < l.now()/c.geo.width-c.geo.n {
		return nil
	}
	slot := &c.slots[c.index(r.bucket)]
	if slot.id == r.bucket {
		slot.tokens = max(slot.tokens+delta, 0)
	}
	return nil
}

func (l *MemoryLimiter) shard(key string) *memShard {
	return &l.shards[maphash.String(l.seed, key)%memShards]
}

// counter returns key's counter, creating it, or replacing it when the
// window changed (its bucket numbering no longer applies), and keeps the
// shard within max keys. s.mu must be held.
func (s *memShard) counter(key string, g geometry, now int64, limit int) *memCounter {
	if now >= s.nextSweep {
		s.sweep(now)
	}
	c := s.counters[key]
	if c == nil || c.geo != g {
		if c == nil && len(s.counters) >= limit {
			s.evict(now, limit)
		}
		c = &memCounter{geo: g, slots: make([]memSlot, g.n+1), lastRequests: noBucket, lastTokens: noBucket}
		for i := range c.slots {
			c.slots[i].id = noBucket
		}
		s.counters[key] = c
	}
	c.lastUse = now
	return c
}

// sweep drops counters whose every bucket has left the window, at most
// once per second per shard so the cost stays amortised. s.mu must be held.
func (s *memShard) sweep(now int64) {
	s.nextSweep = now + 1000
	for k, c := range s.counters {
		if c.idle(now) {
			delete(s.counters, k)
		}
	}
}

// evict makes room for one counter: idle ones go first, else the least
// recently used. s.mu must be held.
func (s *memShard) evict(now int64, limit int) {
	s.sweep(now)
	if len(s.counters) < limit {
		return
	}
	var victim string
	lastUse := int64(1<<63 - 1)
	for k, c := range s.counters {
		if c.lastUse < lastUse {
			victim, lastUse = k, c.lastUse
		}
	}
	delete(s.counters, victim)
}

// admit is admit.lua over the ring: see it for the meaning of the outcome.
func (c *memCounter) admit(now int64, lim Limits, need int64) outcome {
	g := c.geo
	cur := floorDiv(now, g.width)
	oldest := cur - g.n
	o := outcome{bucket: cur, now: now}
	for _, sl := range c.slots {
		if sl.id >= oldest {
			o.requests += sl.requests
			o.tokens += sl.tokens
		}
	}
	o.retryRequests = c.retry(now, oldest, o.requests, 1, lim.Requests, func(s memSlot) int64 { return s.requests })
	o.retryTokens = c.retry(now, oldest, o.tokens, need, lim.Tokens, func(s memSlot) int64 { return s.tokens })
	if o.retryRequests == 0 && o.retryTokens == 0 {
		o.allowed = true
		sl := &c.slots[c.index(cur)]
		if sl.id != cur {
			*sl = memSlot{id: cur}
		}
		sl.requests++
		o.requests++
		c.lastRequests = max(c.lastRequests, cur)
		if need > 0 {
			sl.tokens += need
			o.tokens += need
			c.lastTokens = max(c.lastTokens, cur)
		}
	}
	o.resetRequests = c.reset(now, oldest, c.lastRequests, o.requests)
	o.resetTokens = c.reset(now, oldest, c.lastTokens, o.tokens)
	return o
}

// retry is how long until want more fits under limit, freeing buckets
// oldest first as they leave the window: 0 now, -1 never.
func (c *memCounter) retry(now, oldest, sum, want, limit int64, count func(memSlot) int64) int64 {
	if limit == 0 || sum+want <= limit {
		return 0
	}
	if want > limit {
		return -1
	}
	live := make([]memSlot, 0, len(c.slots))
	for _, sl := range c.slots {
		if sl.id >= oldest {
			live = append(live, sl)
		}
	}
	slices.SortFunc(live, func(a, b memSlot) int { return cmp.Compare(a.id, b.id) })
	var freed int64
	for _, sl := range live {
		freed += count(sl)
		if sum-freed+want <= limit {
			return (sl.id+c.geo.n+1)*c.geo.width - now
		}
	}
	return -1
}

// reset is how long until bucket last, the newest that counted
// something, has left the window, and with it everything counted now.
func (c *memCounter) reset(now, oldest, last, sum int64) int64 {
	if sum <= 0 || last < oldest {
		return 0
	}
	return (last+c.geo.n+1)*c.geo.width - now
}

// idle reports whether nothing the counter holds still counts at now.
func (c *memCounter) idle(now int64) bool {
	return max(c.lastRequests, c.lastTokens) < floorDiv(now, c.geo.width)-c.geo.n
}

func (c *memCounter) index(bucket int64) int {
	m := c.geo.n + 1
	return int(((bucket % m) + m) % m)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
