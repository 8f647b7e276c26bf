package ratelimit

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// t0 is where fake clocks start: on a bucket boundary for every window the
// suite uses, so expected resets are round numbers.
var t0 = time.UnixMilli(1_700_000_000_000)

// fakeClock is a clock tests move by hand. Safe for concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// newLimiterFunc builds a fresh limiter on clock for one subtest.
type newLimiterFunc func(t *testing.T, clock *fakeClock) Limiter

func TestMemoryLimiter_Contract(t *testing.T) {
	t.Parallel()
	testLimiterContract(t, func(t *testing.T, clock *fakeClock) Limiter {
		return NewMemory(MemoryOptions{Now: clock.Now})
	})
}

func TestRedisLimiter_Contract(t *testing.T) {
	t.Parallel()
	client := testenv.Redis(t)
	testLimiterContract(t, func(t *testing.T, clock *fakeClock) Limiter {
		l := NewRedis(client, RedisOptions{Prefix: testenv.Prefix(t), Timeout: 5 * time.Second})
		l.clock = clock.Now
		return l
	})
}

// testLimiterContract is what every Limiter must do, with the same numbers.
func testLimiterContract(t *testing.T, newLimiter newLimiterFunc) {
	cases := []struct {
		name string
		run  func(t *testing.T, l Limiter, clock *fakeClock)
	}{
		{"RefuseOnRequests", contractRefuseOnRequests},
		{"RefuseOnTokens", contractRefuseOnTokens},
		{"RefuseOnBoth", contractRefuseOnBoth},
		{"RefusalCountsNothing", contractRefusalCountsNothing},
		{"WindowSlides", contractWindowSlides},
		{"OldestBucketCountsWhole", contractOldestBucketCountsWhole},
		{"AdjustDown", contractAdjustDown},
		{"AdjustUp", contractAdjustUp},
		{"AdjustRepeated", contractAdjustRepeated},
		{"AdjustExpired", contractAdjustExpired},
		{"AdjustNothingReserved", contractAdjustNothingReserved},
		{"TooManyTokens", contractTooManyTokens},
		{"Unlimited", contractUnlimited},
		{"OnlyTokensLimited", contractOnlyTokensLimited},
		{"KeysAreIndependent", contractKeysAreIndependent},
		{"WindowChangeStartsFresh", contractWindowChangeStartsFresh},
		{"ErrInvalid", contractErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			tc.run(t, newLimiter(t, clock), clock)
		})
	}
}

// admit calls l.Admit and fails the test on an error.
func admit(t *testing.T, l Limiter, key string, lim Limits, tokens int64) Decision {
	t.Helper()
	d, err := l.Admit(context.Background(), key, lim, tokens)
	if err != nil {
		t.Fatalf("Admit(%q, %+v, %d) error = %v", key, lim, tokens, err)
	}
	return d
}

// wantDecision compares d with want, leaving out the opaque reservation.
func wantDecision(t *testing.T, d, want Decision) {
	t.Helper()
	if diff := cmp.Diff(want, d, cmpopts.IgnoreFields(Decision{}, "Reservation")); diff != "" {
		t.Errorf("Admit() mismatch (-want +got):\n%s", diff)
	}
}

func adjust(t *testing.T, l Limiter, r Reservation, actual int64) {
	t.Helper()
	if err := l.Adjust(context.Background(), r, actual); err != nil {
		t.Fatalf("Adjust(%d) error = %v", actual, err)
	}
}

// window is the suite's usual window: 60 buckets of one second.
const window = time.Minute

// fullReset is how long a count made at the start of a bucket lasts: the
// window plus the bucket, which counts whole until it has left entirely.
const fullReset = window + time.Second

func contractRefuseOnRequests(t *testing.T, l Limiter, clock *fakeClock) {
	lim := Limits{Requests: 3, Window: window}
	for i := int64(1); i <= 3; i++ {
		wantDecision(t, admit(t, l, "k", lim, 0), Decision{
			Allowed: true, LimitRequests: 3, RemainingRequests: 3 - i, ResetRequests: fullReset,
		})
	}
	clock.Advance(10 * time.Second)
	wantDecision(t, admit(t, l, "k", lim, 0), Decision{
		Reason: ReasonRequests, LimitRequests: 3, RemainingRequests: 0,
		ResetRequests: fullReset - 10*time.Second, RetryAfter: fullReset - 10*time.Second,
	})
}

func contractRefuseOnTokens(t *testing.T, l Limiter, clock *fakeClock) {
	lim := Limits{Tokens: 100, Window: window}
	wantDecision(t, admit(t, l, "k", lim, 60), Decision{
		Allowed: true, LimitTokens: 100, RemainingTokens: 40, ResetTokens: fullReset,
	})
	clock.Advance(500 * time.Millisecond)
	wantDecision(t, admit(t, l, "k", lim, 50), Decision{
		Reason: ReasonTokens, LimitTokens: 100, RemainingTokens: 40,
		ResetTokens: fullReset - 500*time.Millisecond, RetryAfter: fullReset - 500*time.Millisecond,
	})
	wantDecision(t, admit(t, l, "k", lim, 40), Decision{
		Allowed: true, LimitTokens: 100, RemainingTokens: 0, ResetTokens: fullReset - 500*time.Millisecond,
	})
}

func contractRefuseOnBoth(t *testing.T, l Limiter, clock *fakeClock) {
	lim := Limits{Requests: 1, Tokens: 100, Window: window}
	wantDecision(t, admit(t, l, "k", lim, 100), Decision{
		Allowed: true, LimitRequests: 1, LimitTokens: 100,
		ResetRequests: fullReset, ResetTokens: fullReset,
	})
	clock.Advance(time.Second)
	// Requests win the reason when both are exhausted.
	wantDecision(t, admit(t, l, "k", lim, 1), Decision{
		Reason: ReasonRequests, LimitRequests: 1, LimitTokens: 100,
		ResetRequests: window, ResetTokens: window, RetryAfter: window,
	})
}

func contractRefusalCountsNothing(t *testing.T, l Limiter, clock *fakeClock) {
	lim := Limits{Requests: 10, Tokens: 100, Window: window}
	admit(t, l, "k", lim, 90)
	if d := admit(t, l, "k", lim, 20); d.Allowed {
		t.Fatalf("Admit(20 tokens over 90 of 100) allowed, want refused")
	}
	d := admit(t, l, "k", lim, 10)
	if !d.Allowed || d.RemainingRequests != 8 || d.RemainingTokens != 0 {
		t.Errorf("Admit() = allowed %v, remaining requests %d tokens %d; want true, 8, 0",
			d.Allowed, d.RemainingRequests, d.RemainingTokens)
	}
}

func contractWindowSlides(t *testing.T, l Limiter, clock *fakeClock) {
	lim := Limits{Requests: 10, Window: window}
	for range 5 {
		admit(t, l, "k", lim, 0)
	}
	clock.Advance(30 * time.Second)
	for range 5 {
		admit(t, l, "k", lim, 0)
	}
	// The first five leave at t0+61s, the last five at t0+91s.
	wantDecision(t, admit(t, l, "k", lim, 0), Decision{
		Reason: ReasonRequests, LimitRequests: 10,
		ResetRequests: 61 * time.Second, RetryAfter: 31 * time.Second,
	})
	clock.Advance(31 * time.Second)
	wantDecision(t, admit(t, l, "k", lim, 0), Decision{
		Allowed: true, LimitRequests: 10, RemainingRequests: 4, ResetRequests: fullReset,
	})
	clock.Advance(fullReset)
	wantDecision(t, admit(t, l, "k", lim, 0), Decision{
		Allowed: true, LimitRequests: 10, RemainingRequests: 9, ResetRequests: fullReset,
	})
}

// contractOldestBucketCountsWhole: an admission late in a bucket still counts
// until the whole bucket has left the window, one bucket past W.
func contractOldestBucketCountsWhole(t *testing.T, l Limiter, clock *fakeClock) {
	lim := Limits{Requests: 1, Window: window}
	clock.Advance(999 * time.Millisecond)
	admit(t, l, "k", lim, 0)
	clock.Advance(window) // t0+60.999s: the admission is older than W, its bucket is not
	wantDecision(t, admit(t, l, "k", lim, 0), Decision{
		Reason: ReasonRequests, LimitRequests: 1,
		ResetRequests: time.Millisecond, RetryAfter: time.Millisecond,
	})
	clock.Advance(time.Millisecond)
	if d := admit(t, l, "k", lim, 0); !d.Allowed {
		t.Errorf("Admit() after the bucket left = refused, want allowed")
	}
}

func contractAdjustDown(t *testing.T, l Limiter, clock *fakeClock) {
	lim := Limits{Tokens: 100, Window: window}
	d := admit(t, l, "k", lim, 80)
	if got := d.Reservation.Tokens(); got != 80 {
		t.Errorf("Reservation.Tokens() = %d, want 80", got)
	}
	clock.Advance(5 * time.Second)
	adjust(t, l, d.Reservation, 30)
	wantDecision(t, admit(t, l, "k", lim, 70), Decision{
		Allowed: true, LimitTokens: 100, RemainingTokens: 0, ResetTokens: fullReset,
	})
}

func contractAdjustUp(t *testing.T, l Limiter, clock *fakeClock) {
	lim := Limits{Tokens: 100, Window: window}
	d := admit(t, l, "k", lim, 10)
	adjust(t, l, d.Reservation, 60)
	wantDecision(t, admit(t, l, "k", lim, 0), Decision{
		Allowed: true, LimitTokens: 100, RemainingTokens: 40, ResetTokens: fullReset,
	})
}

// contractAdjustRepeated: correcting a reservation twice must not leave a
// credit behind.
func contractAdjustRepeated(t *testing.T, l Limiter, clock *fakeClock) {
	lim := Limits{Tokens: 100, Window: window}
	d := admit(t, l, "k", lim, 10)
	adjust(t, l, d.Reservation, 0)
	adjust(t, l, d.Reservation, 0)
	wantDecision(t, admit(t, l, "k", lim, 100), Decision{
		Allowed: true, LimitTokens: 100, RemainingTokens: 0, ResetTokens: fullReset,
	})
	if d := admit(t, l, "k", lim, 1); d.Allowed {
		t.Errorf("Admit(1 token over 100 of 100) allowed, want refused")
	}
	err := l.Adjust(context.Background(), d.Reservation, -1)
	if code := convertor.ErrorCode(err); code != convertor.EInvalid {
		t.Errorf("Adjust(-1) error = %v, want code %s", err, convertor.EInvalid)
	}
}

func contractAdjustExpired(t *testing.T, l Limiter, clock *fakeClock) {
	lim := Limits{Tokens: 100, Window: window}
	d := admit(t, l, "k", lim, 10)
	clock.Advance(fullReset)
	adjust(t, l, d.Reservation, 90)
	wantDecision(t, admit(t, l, "k", lim, 100), Decision{
		Allowed: true, LimitTokens: 100, RemainingTokens: 0, ResetTokens: fullReset,
	})
}

func contractAdjustNothingReserved(t *testing.T, l Limiter, clock *fakeClock) {
	adjust(t, l, Reservation{}, 500)
	d := admit(t, l, "k", Limits{}, 10)
	adjust(t, l, d.Reservation, 500)
	wantDecision(t, admit(t, l, "k", Limits{Tokens: 100, Window: window}, 100), Decision{
		Allowed: true, LimitTokens: 100, RemainingTokens: 0, ResetTokens: fullReset,
	})
}

func contractTooManyTokens(t *testing.T, l Limiter, clock *fakeClock) {
	lim := Limits{Requests: 5, Tokens: 100, Window: window}
	wantDecision(t, admit(t, l, "k", lim, 101), Decision{
		Reason: ReasonTokens, LimitRequests: 5, RemainingRequests: 5, LimitTokens: 100, RemainingTokens: 100,
		RetryAfter: window,
	})
}

func contractUnlimited(t *testing.T, l Limiter, clock *fakeClock) {
	for range 3 {
		wantDecision(t, admit(t, l, "k", Limits{}, 1_000_000), Decision{Allowed: true})
	}
}

func contractOnlyTokensLimited(t *testing.T, l Limiter, clock *fakeClock) {
	lim := Limits{Tokens: 10, Window: window}
	for range 20 {
		admit(t, l, "k", lim, 0)
	}
	wantDecision(t, admit(t, l, "k", lim, 10), Decision{
		Allowed: true, LimitTokens: 10, RemainingTokens: 0, ResetTokens: fullReset,
	})
}

func contractKeysAreIndependent(t *testing.T, l Limiter, clock *fakeClock) {
	lim := Limits{Requests: 1}
	admit(t, l, "a", lim, 0)
	if d := admit(t, l, "b", lim, 0); !d.Allowed {
		t.Errorf("Admit(b) after a used its limit = refused, want allowed")
	}
	if d := admit(t, l, "a", lim, 0); d.Allowed {
		t.Errorf("Admit(a) over its limit = allowed, want refused")
	}
}

func contractWindowChangeStartsFresh(t *testing.T, l Limiter, clock *fakeClock) {
	admit(t, l, "k", Limits{Requests: 1, Window: window}, 0)
	// 6s is 60 buckets of 100ms.
	wantDecision(t, admit(t, l, "k", Limits{Requests: 1, Window: 6 * time.Second}, 0), Decision{
		Allowed: true, LimitRequests: 1, ResetRequests: 6*time.Second + 100*time.Millisecond,
	})
}

func contractErrInvalid(t *testing.T, l Limiter, clock *fakeClock) {
	for _, tc := range []struct {
		name   string
		key    string
		lim    Limits
		tokens int64
	}{
		{"EmptyKey", "", Limits{Requests: 1}, 0},
		{"NegativeRequests", "k", Limits{Requests: -1}, 0},
		{"NegativeTokens", "k", Limits{Tokens: -1}, 0},
		{"NegativeWindow", "k", Limits{Requests: 1, Window: -time.Second}, 0},
		{"NegativeReservation", "k", Limits{Tokens: 10}, -1},
	} {
		_, err := l.Admit(context.Background(), tc.key, tc.lim, tc.tokens)
		if code := convertor.ErrorCode(err); code != convertor.EInvalid {
			t.Errorf("%s: Admit() error = %v, want code %s", tc.name, err, convertor.EInvalid)
		}
	}
}
