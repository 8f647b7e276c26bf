package ratelimit

import (
	"bytes"
	"context"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// replicas returns n limiters sharing one Redis through separate clients,
// as n gateway replicas would.
func replicas(t *testing.T, n int, prefix string) []*RedisLimiter {
	t.Helper()
	ls := make([]*RedisLimiter, n)
	for i := range ls {
		ls[i] = NewRedis(testenv.Redis(t), RedisOptions{Prefix: prefix, Timeout: 5 * time.Second})
	}
	return ls
}

// hammer runs clients goroutines, spread over ls, each admitting attempts
// times, and returns the decisions that were allowed.
func hammer(t *testing.T, ls []*RedisLimiter, clients, attempts int, lim Limits, tokens int64) []Decision {
	t.Helper()
	var (
		mu      sync.Mutex
		allowed []Decision
		wg      sync.WaitGroup
	)
	for c := range clients {
		wg.Go(func() {
			l := ls[c%len(ls)]
			for range attempts {
				d, err := l.Admit(context.Background(), "hot", lim, tokens)
				if err != nil {
					t.Errorf("Admit() error = %v", err)
					return
				}
				if d.Degraded {
					t.Errorf("Admit() degraded with Redis up")
					return
				}
				if d.Allowed {
					mu.Lock()
					allowed = append(allowed, d)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return allowed
}

func TestRedisLimiter_Admit(t *testing.T) {
	t.Parallel()
	t.Run("ExactRequests", func(t *testing.T) {
		t.Parallel()
		ls := replicas(t, 3, testenv.Prefix(t))
		got := hammer(t, ls, 64, 50, Limits{Requests: 1000, Window: time.Hour}, 0)
		if len(got) != 1000 {
			t.Errorf("admitted = %d of 3200 attempts, want exactly 1000", len(got))
		}
	})
	t.Run("ExactTokens", func(t *testing.T) {
		t.Parallel()
		ls := replicas(t, 3, testenv.Prefix(t))
		got := hammer(t, ls, 64, 50, Limits{Tokens: 7000, Window: time.Hour}, 7)
		if len(got) != 1000 {
			t.Errorf("admitted = %d of 3200 attempts, want exactly 1000", len(got))
		}
	})
	t.Run("ExactBoth", func(t *testing.T) {
		t.Parallel()
		ls := replicas(t, 3, testenv.Prefix(t))
		got := hammer(t, ls, 64, 50, Limits{Requests: 1000, Tokens: 2100, Window: time.Hour}, 3)
		if len(got) != 700 {
			t.Errorf("admitted = %d of 3200 attempts, want exactly 700 (2100 tokens / 3)", len(got))
		}
	})
	t.Run("SlidingWindowNeverExceeded", testRedisLimiterSliding)
}

// testRedisLimiterSliding runs the real clock (Redis TIME) over several
// windows and checks every window of length W, at every admission, against
// the limit.
func testRedisLimiterSliding(t *testing.T) {
	t.Parallel()
	const (
		limit   = 20
		w       = time.Second
		windows = 5
	)
	ls := replicas(t, 3, testenv.Prefix(t))
	lim := Limits{Requests: limit, Window: w}
	var (
		mu    sync.Mutex
		times []int64 // Redis time of each admission, ms
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

// checkEveryWindow fails t if any window (at-w, at] ending at an admission
// time holds more than limit admissions. Windows ending elsewhere hold no
// more: the count only grows at admissions.
func checkEveryWindow(t *testing.T, times []int64, w time.Duration, limit int) {
	t.Helper()
	slices.Sort(times)
	wms := w.Milliseconds()
	first := 0
	for i, at := range times {
		for times[first] <= at-wms {
			first++
		}
		if n := i - first + 1; n > limit {
			t.Fatalf("window (%d, %d] holds %d admissions, limit %d", at-wms, at, n, limit)
		}
	}
}

func TestRedisLimiter_Keys(t *testing.T) {
	t.Parallel()
	client := testenv.Redis(t)
	prefix := testenv.Prefix(t)
	l := NewRedis(client, RedisOptions{Prefix: prefix, Timeout: 5 * time.Second})
	d := admit(t, l, "key-1", Limits{Requests: 10, Tokens: 100, Window: 6 * time.Second}, 5)
	name := prefix + "{key-1}:6000"
	if d.Reservation.key != name {
		t.Errorf("reservation key = %q, want %q", d.Reservation.key, name)
	}
	ctx := context.Background()
	fields, err := client.HGetAll(ctx, name).Result()
	if err != nil {
		t.Fatalf("HGETALL %s: %v", name, err)
	}
	bucket := strconv.FormatInt(d.Reservation.bucket, 10)
	want := map[string]string{
		"r:" + bucket: "1", "t:" + bucket: "5", "R": "1", "T": "5", "lr": bucket, "lt": bucket,
		"o": strconv.FormatInt(d.Reservation.bucket-60, 10),
	}
	if !maps.Equal(fields, want) {
		t.Errorf("hash %s = %v, want %v", name, fields, want)
	}
	// The hash lives until its bucket has left the window: at most W plus
	// one bucket, so an idle key costs nothing after that.
	ttl, err := client.PTTL(ctx, name).Result()
	if err != nil {
		t.Fatalf("PTTL %s: %v", name, err)
	}
	if ttl <= 0 || ttl > 6100*time.Millisecond {
		t.Errorf("PTTL %s = %s, want in (0, 6.1s]", name, ttl)
	}
}

func TestRedisLimiter_Adjust(t *testing.T) {
	t.Parallel()
	t.Run("MissingKeyStaysMissing", func(t *testing.T) {
		t.Parallel()
		client := testenv.Redis(t)
		l := NewRedis(client, RedisOptions{Prefix: testenv.Prefix(t), Timeout: 5 * time.Second})
		d := admit(t, l, "k", Limits{Tokens: 100}, 10)
		if err := client.Del(context.Background(), d.Reservation.key).Err(); err != nil {
			t.Fatalf("DEL: %v", err)
		}
		adjust(t, l, d.Reservation, 50)
		n, err := client.Exists(context.Background(), d.Reservation.key).Result()
		if err != nil || n != 0 {
			t.Errorf("EXISTS after adjusting a lost key = %d, %v; want 0 (no key without expiry)", n, err)
		}
	})
}

// TestRedisLimiter_Outage stops and restarts a private redis-server under a
// fail-open and a fail-closed limiter, neither of which is rebuilt.
func TestRedisLimiter_Outage(t *testing.T) {
	t.Parallel()
	srv := testenv.StartRedis(t)
	// Generous timeouts keep a stall of this busy machine from passing for
	// an outage; a stopped server refuses connections at once anyway.
	client, err := ParseRedisURL("redis://" + srv.Addr + "?dial_timeout=5s&read_timeout=5s&write_timeout=5s")
	if err != nil {
		t.Fatalf("ParseRedisURL() error = %v", err)
	}
	t.Cleanup(func() { client.Close() })
	var logs syncBuffer
	reg := prometheus.NewRegistry()
	opts := RedisOptions{
		Prefix: testenv.Prefix(t), Timeout: 5 * time.Second, BreakerFailures: 2, BreakerCooldown: 50 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(&logs, nil)), Registerer: reg,
	}
	open := NewRedis(client, opts)
	opts.FailClosed, opts.Registerer = true, nil
	closed := NewRedis(client, opts)
	lim := Limits{Requests: 1000, Tokens: 100_000}
	ctx := context.Background()

	if d := admit(t, open, "k", lim, 10); d.Degraded || d.RemainingRequests != 999 {
		t.Fatalf("Admit() before the outage = degraded %v, remaining %d; want false, 999", d.Degraded, d.RemainingRequests)
	}

	srv.Stop()
	for i := range 10 {
		d := admit(t, open, "k", lim, 10)
		want := Decision{
			Allowed: true, Degraded: true, LimitRequests: 1000, RemainingRequests: 999,
			LimitTokens: 100_000, RemainingTokens: 99_990,
		}
		wantDecision(t, d, want)
		if err := open.Adjust(ctx, d.Reservation, 50); err != nil {
			t.Errorf("Adjust(degraded reservation) error = %v, want nil (nothing reserved)", err)
		}
		_, err := closed.Admit(ctx, "k", lim, 10)
		if code := convertor.ErrorCode(err); code != convertor.EUnavailable {
			t.Fatalf("fail-closed Admit() #%d error = %v, want code %s", i, err, convertor.EUnavailable)
		}
	}
	if !open.breaker.open() {
		t.Errorf("breaker closed after 10 failures, want open")
	}
	if got := metricValue(t, open.metrics.failOpen); got != 10 {
		t.Errorf("failed_open decisions = %v, want 10", got)
	}
	if got := metricValue(t, open.metrics.skipped); got == 0 {
		t.Errorf("redis_skipped_total = 0, want calls skipped by the open breaker")
	}

	srv.Start()
	// The restarted server has no script cached (NOSCRIPT → EVAL) and no
	// counts; admissions count again once the breaker's probe succeeds.
	waitFor(t, func() bool {
		d, err := open.Admit(ctx, "k", lim, 10)
		return err == nil && !d.Degraded
	})
	waitFor(t, func() bool {
		_, err := closed.Admit(ctx, "k", lim, 10)
		return err == nil
	})
	d1 := admit(t, open, "k", lim, 10)
	d2 := admit(t, open, "k", lim, 10)
	if d1.Degraded || d2.Degraded || d2.RemainingRequests != d1.RemainingRequests-1 {
		t.Errorf("after restart: remaining %d then %d (degraded %v, %v); want counting down by one",
			d1.RemainingRequests, d2.RemainingRequests, d1.Degraded, d2.Degraded)
	}
	if got := metricValue(t, open.metrics.breakerOpen); got != 0 {
		t.Errorf("redis_breaker_open = %v after recovery, want 0", got)
	}
	out := logs.String()
	for _, want := range []string{"rate limit redis unreachable", "rate limit redis reachable again"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	// One line per outage, not one per request.
	if n := strings.Count(out, "unreachable"); n > 2 {
		t.Errorf("log has %d outage lines for one outage, want at most 2 (one per limiter):\n%s", n, out)
	}
}

func TestRedisLimiter_Canceled(t *testing.T) {
	t.Parallel()
	l := NewRedis(testenv.Redis(t), RedisOptions{Prefix: testenv.Prefix(t), FailClosed: true})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := l.Admit(ctx, "k", Limits{Requests: 1}, 0)
	if code := convertor.ErrorCode(err); code != convertor.ECanceled {
		t.Errorf("Admit(canceled ctx) error = %v, want code %s", err, convertor.ECanceled)
	}
	if l.breaker.failures.Load() != 0 {
		t.Errorf("breaker failures = %d after a canceled call, want 0", l.breaker.failures.Load())
	}
}

// waitFor polls cond until it holds, failing the test after a generous
// deadline; a restarted server and go-redis's redial take a moment.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// metricValue reads a counter or gauge.
func metricValue(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var pb dto.Metric
	if err := m.Write(&pb); err != nil {
		t.Fatalf("read metric: %v", err)
	}
	if c := pb.GetCounter(); c != nil {
		return c.GetValue()
	}
	return pb.GetGauge().GetValue()
}

// TestRedisLimiter_MatchesMemory replays one random sequence of admissions,
// corrections and clock steps on both limiters: every decision must match.
func TestRedisLimiter_MatchesMemory(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	rl := NewRedis(testenv.Redis(t), RedisOptions{Prefix: testenv.Prefix(t), Timeout: 5 * time.Second})
	rl.clock = clock.Now
	ml := NewMemory(MemoryOptions{Now: clock.Now})
	rng := rand.New(rand.NewPCG(3, 4))
	lim := Limits{Requests: 25, Tokens: 2000, Window: 3 * time.Second}
	var pending []Decision // per op: {redis, memory} reservations, in pairs
	refused := map[string]int{}
	for i := range 3000 {
		clock.Advance(time.Duration(rng.IntN(150)) * time.Millisecond)
		if len(pending) >= 2 && rng.IntN(3) == 0 {
			j := 2 * rng.IntN(len(pending)/2)
			actual := rng.Int64N(150)
			adjust(t, rl, pending[j].Reservation, actual)
			adjust(t, ml, pending[j+1].Reservation, actual)
			pending = append(pending[:j], pending[j+2:]...)
			continue
		}
		tokens := rng.Int64N(120)
		rd := admit(t, rl, "k", lim, tokens)
		md := admit(t, ml, "k", lim, tokens)
		if diff := cmp.Diff(md, rd, cmpopts.IgnoreFields(Decision{}, "Reservation")); diff != "" {
			t.Fatalf("op %d: Admit(%d) redis and memory differ (-memory +redis):\n%s", i, tokens, diff)
		}
		if rd.Reservation.bucket != md.Reservation.bucket || rd.Reservation.tokens != md.Reservation.tokens {
			t.Fatalf("op %d: reservations differ: redis %+v, memory %+v", i, rd.Reservation, md.Reservation)
		}
		if rd.Allowed {
			pending = append(pending, rd, md)
		}
		refused[rd.Reason]++
	}
	if refused[ReasonRequests] == 0 || refused[ReasonTokens] == 0 {
		t.Errorf("refusals by reason = %v; the sequence should exercise both", refused)
	}
}

// TestRedisLimiter_Timeout: a Redis that accepts connections but never
// answers must cost a request RedisOptions.Timeout, not the client's own
// (here, hour-long) read timeout.
func TestRedisLimiter_Timeout(t *testing.T) {
	t.Parallel()
	silent := testenv.Silent(t)
	client, err := ParseRedisURL("redis://" + silent + "?read_timeout=1h&write_timeout=1h")
	if err != nil {
		t.Fatalf("ParseRedisURL() error = %v", err)
	}
	t.Cleanup(func() { client.Close() })
	l := NewRedis(client, RedisOptions{Prefix: testenv.Prefix(t), Timeout: 50 * time.Millisecond})
	d := admit(t, l, "k", Limits{Requests: 1}, 0)
	if !d.Allowed || !d.Degraded {
		t.Errorf("Admit() against a silent server = allowed %v degraded %v, want both", d.Allowed, d.Degraded)
	}
}
