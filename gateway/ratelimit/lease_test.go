package ratelimit

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// leasingReplicas returns n leasing limiters sharing one Redis through
// separate clients, as n gateway replicas would.
func leasingReplicas(t *testing.T, n int, prefix string) []Limiter {
	t.Helper()
	ls := make([]Limiter, n)
	for i := range ls {
		ls[i] = NewLeasing(NewRedis(testenv.Redis(t), RedisOptions{Prefix: prefix, Timeout: 5 * time.Second}))
	}
	return ls
}

// hammerLimiters runs clients goroutines spread over ls, each admitting
// attempts times, and returns the admissions' times (ms).
func hammerLimiters(t *testing.T, ls []Limiter, clients, attempts int, key string, lim Limits, tokens int64) []int64 {
	t.Helper()
	var (
		mu    sync.Mutex
		times []int64
		wg    sync.WaitGroup
	)
	for c := range clients {
		wg.Go(func() {
			l := ls[c%len(ls)]
			for range attempts {
				d, err := l.Admit(context.Background(), key, lim, tokens)
				if err != nil || d.Degraded {
					t.Errorf("Admit() = %+v, %v with Redis up", d, err)
					return
				}
				if d.Allowed {
					mu.Lock()
					times = append(times, d.Reservation.at)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return times
}

func TestLeasingLimiter_Exact(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		lim    Limits
		tokens int64
		want   int
	}{
		{"Requests", Limits{Requests: 1000, Window: time.Hour}, 0, 1000},
		{"Tokens", Limits{Tokens: 70000, Window: time.Hour}, 70, 1000},
		{"Both", Limits{Requests: 1000, Tokens: 21000, Window: time.Hour}, 30, 700},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ls := leasingReplicas(t, 3, testenv.Prefix(t))
			got := hammerLimiters(t, ls, 64, 50, "hot", tc.lim, tc.tokens)
			if len(got) != tc.want {
				t.Errorf("admitted %d of 3200 attempts, want exactly %d", len(got), tc.want)
			}
		})
	}
}

// TestLeasingLimiter_SlidingWindowNeverExceeded runs several real windows
// with leases in play (a limit large enough to lease) and checks every
// window of length W, at every admission, against the limit.
func TestLeasingLimiter_SlidingWindowNeverExceeded(t *testing.T) {
	t.Parallel()
	const (
		limit   = 300
		w       = time.Second
		windows = 4
	)
	ls := leasingReplicas(t, 3, testenv.Prefix(t))
	lim := Limits{Requests: limit, Window: w}
	var (
		mu    sync.Mutex
		times []int64
		done  atomic.Bool
		wg    sync.WaitGroup
	)
	deadline := time.Now().Add(2 * time.Minute)
	for c := range 12 {
		wg.Go(func() {
			l := ls[c%len(ls)]
			for !done.Load() && time.Now().Before(deadline) {
				d, err := l.Admit(context.Background(), "slide", lim, 0)
				if err != nil {
					t.Errorf("Admit() error = %v", err)
					return
				}
				if !d.Allowed {
					continue
				}
				mu.Lock()
				times = append(times, d.Reservation.at)
				if len(times) >= windows*limit {
					done.Store(true)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(times) < windows*limit {
		t.Fatalf("admitted %d before the deadline, want %d", len(times), windows*limit)
	}
	checkEveryWindow(t, times, w, limit)
}

// TestLeasingLimiter_FewRoundTrips checks the point of leasing: a busy key
// costs a Redis admission per lease, not per request.
func TestLeasingLimiter_FewRoundTrips(t *testing.T) {
	t.Parallel()
	r := NewRedis(testenv.Redis(t), RedisOptions{Prefix: testenv.Prefix(t), Timeout: 5 * time.Second})
	l := NewLeasing(r)
	lim := Limits{Requests: 1 << 40, Tokens: 1 << 40, Window: time.Minute}
	for range 640 {
		d, err := l.Admit(context.Background(), "busy", lim, 100)
		if err != nil || !d.Allowed {
			t.Fatalf("Admit() = %+v, %v", d, err)
		}
	}
	if got := metricValue(t, r.metrics.allowed); got > 640/firstLeaseRequests+2 {
		t.Errorf("Redis admissions = %v for 640 requests, want at most %d", got, 640/firstLeaseRequests)
	}
}

// leaseCounted is what Redis holds counted in the bucket of d's
// reservation: the requests admitted there, leased ones included.
func leaseCounted(t *testing.T, rdb *redis.Client, d Decision) int64 {
	t.Helper()
	n, err := rdb.HGet(context.Background(), d.Reservation.key, "r:"+strconv.FormatInt(d.Reservation.bucket, 10)).Int64()
	if err != nil {
		t.Fatalf("read bucket %d of %s: %v", d.Reservation.bucket, d.Reservation.key, err)
	}
	return n
}

// clockedLeasing returns a leasing limiter and its Redis limiter on
// clock, and the Redis client under them.
func clockedLeasing(t *testing.T, clock *fakeClock) (*redis.Client, *RedisLimiter, *LeasingLimiter) {
	t.Helper()
	rdb := testenv.Redis(t)
	r := NewRedis(rdb, RedisOptions{Prefix: testenv.Prefix(t), Timeout: 5 * time.Second})
	r.clock = clock.Now
	l := NewLeasing(r)
	l.now = clock.Now
	return rdb, r, l
}

// TestLeasingLimiter_LeaseSizeFollowsTheRate: a lease used up at once
// makes the next twice as large, up to maxLeaseRequests and 1/50 of the
// limit; a lease that ends mostly unused makes the next half as large.
// The sizes are read from the bucket's count in Redis after each lease.
func TestLeasingLimiter_LeaseSizeFollowsTheRate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		lim   Limits
		sizes []int64
	}{
		{"Uncapped", Limits{Requests: 1 << 40, Tokens: 1 << 40, Window: time.Minute}, []int64{64, 128, 256, 512, 1024, 1024}},
		{"RequestLimit", Limits{Requests: 20000, Window: time.Minute}, []int64{64, 128, 256, 400, 400}},
		// 1/50 of the tokens at 100 a request: 300 requests.
		{"TokenLimit", Limits{Tokens: 1_500_000, Window: time.Minute}, []int64{64, 128, 256, 300}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			rdb, r, l := clockedLeasing(t, clock)
			var counted int64
			for i, want := range tc.sizes {
				d := admit(t, l, "busy", tc.lim, 100)
				if !d.Allowed {
					t.Fatalf("lease %d refused: %+v", i, d)
				}
				got := leaseCounted(t, rdb, d) - counted
				if got != want {
					t.Fatalf("lease %d counted %d requests, want %d (sizes so far want %v)", i, got, want, tc.sizes[:i+1])
				}
				counted += got
				for range want - 1 { // the rest of the lease, with no time passing
					if d := admit(t, l, "busy", tc.lim, 100); !d.Allowed {
						t.Fatalf("Admit() from lease %d refused: %+v", i, d)
					}
				}
			}
			if got := metricValue(t, r.metrics.allowed); got != float64(len(tc.sizes)) {
				t.Errorf("Redis admissions = %v, want one per lease (%d)", got, len(tc.sizes))
			}

			// A lease that ends with most of it unused: the next is half.
			last := tc.sizes[len(tc.sizes)-1]
			admit(t, l, "busy", tc.lim, 100)
			clock.Advance(time.Second) // the bucket, and with it the lease, ends
			d := admit(t, l, "busy", tc.lim, 100)
			want := max(last/2, firstLeaseRequests)
			if got := leaseCounted(t, rdb, d); got != want {
				t.Errorf("lease after one that ended unused counted %d requests, want %d", got, want)
			}
		})
	}
}

// TestLeasingLimiter_SteadyKeyKeepsItsLease: a key whose leases last
// longer than an eighth of their bucket keeps leases of 64.
func TestLeasingLimiter_SteadyKeyKeepsItsLease(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	rdb, r, l := clockedLeasing(t, clock)
	lim := Limits{Requests: 1 << 40, Window: time.Minute} // buckets of one second
	var counted int64
	for i := range 4 {
		d := admit(t, l, "steady", lim, 0)
		if got := leaseCounted(t, rdb, d) - counted; got != firstLeaseRequests {
			t.Fatalf("lease %d counted %d requests, want %d", i, got, firstLeaseRequests)
		}
		counted += firstLeaseRequests
		for range firstLeaseRequests - 1 {
			clock.Advance(2 * time.Millisecond) // 64 requests in 128 ms: over an eighth of the bucket
			if d := admit(t, l, "steady", lim, 0); !d.Allowed {
				t.Fatalf("Admit() from lease %d refused: %+v", i, d)
			}
		}
		clock.Advance(2 * time.Millisecond)
	}
	if got := metricValue(t, r.metrics.allowed); got != 4 {
		t.Errorf("Redis admissions = %v, want one per lease of 64 (4)", got)
	}
}

// TestLeasingLimiter_LeasesAgainAfterTheLimitEased checks that a key that
// came near its limit goes back to leasing once its window has room again,
// instead of staying on one round trip per request.
func TestLeasingLimiter_LeasesAgainAfterTheLimitEased(t *testing.T) {
	t.Parallel()
	r := NewRedis(testenv.Redis(t), RedisOptions{Prefix: testenv.Prefix(t), Timeout: 5 * time.Second})
	l := NewLeasing(r)
	lim := Limits{Requests: 200, Window: time.Second}
	ctx := context.Background()
	for range 250 { // past the limit: the key ends in exact mode
		if _, err := l.Admit(ctx, "k", lim, 0); err != nil {
			t.Fatal(err)
		}
	}
	// Wait until the window has room again.
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := l.Admit(ctx, "k", lim, 0)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed && d.RemainingRequests > 100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the window never had room again")
		}
		time.Sleep(50 * time.Millisecond)
	}
	before := metricValue(t, r.metrics.allowed)
	for range 40 {
		if d, err := l.Admit(ctx, "k", lim, 0); err != nil || !d.Allowed {
			t.Fatalf("Admit() = %+v, %v", d, err)
		}
	}
	if n := metricValue(t, r.metrics.allowed) - before; n > 20 {
		t.Errorf("%v Redis admissions for 40 requests with room in the window: leasing did not resume", n)
	}
}

// TestLeasingLimiter_GivesBackBeforeCounting: when a lease ends with
// permits it never handed out, the next request on that replica is counted
// only after they are given back. Still counted, they would get that very
// request refused although the window has room for it.
func TestLeasingLimiter_GivesBackBeforeCounting(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	prefix := testenv.Prefix(t)
	r := NewRedis(testenv.Redis(t), RedisOptions{Prefix: prefix, Timeout: 5 * time.Second})
	r.clock = clock.Now
	l := NewLeasing(r)
	l.now = clock.Now
	other := NewRedis(testenv.Redis(t), RedisOptions{Prefix: prefix, Timeout: 5 * time.Second})
	other.clock = clock.Now
	lim := Limits{Requests: 100, Window: time.Minute}

	// A lease of two (1/50 of the limit), one of them handed out.
	if d := admit(t, l, "k", lim, 0); !d.Allowed {
		t.Fatalf("first Admit() refused: %+v", d)
	}
	// Another replica takes the rest of the window: the lease's unused
	// permit is all that is left, and it is counted.
	for i := range 98 {
		if d := admit(t, other, "k", lim, 0); !d.Allowed {
			t.Fatalf("Admit() %d on the other replica refused: %+v", i, d)
		}
	}
	if d := admit(t, other, "k", lim, 0); d.Allowed {
		t.Fatalf("Admit() past the limit with the lease's permit counted = allowed")
	}

	clock.Advance(time.Second) // the lease's bucket has ended
	if d := admit(t, l, "k", lim, 0); !d.Allowed || d.RemainingRequests != 0 {
		t.Errorf("Admit() after the lease ended = %+v, want allowed with the permit it gave back", d)
	}
}
