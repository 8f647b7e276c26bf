package ratelimit

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/openai-api-convertor/convertor"
)

// Defaults of RedisOptions.
const (
	// DefaultPrefix keeps the limiter's keys apart from anything else in a
	// shared Redis.
	DefaultPrefix = "convertor:ratelimit:"
	// DefaultTimeout bounds what one Redis call may add to a request; a
	// healthy Redis in the same network answers in well under a millisecond.
	DefaultTimeout = 100 * time.Millisecond
	// DefaultBreakerFailures consecutive failures open the circuit breaker:
	// enough to ride out one broken pooled connection after a restart.
	DefaultBreakerFailures = 5
	// DefaultBreakerCooldown is how long an open breaker skips Redis before
	// probing it again; short, since a recovered Redis should count again soon.
	DefaultBreakerCooldown = time.Second
)

// errorLogInterval spaces the log lines about Redis errors: an outage under
// load would otherwise log once per request.
const errorLogInterval = 10 * time.Second

var (
	//go:embed admit.lua
	admitSource string
	//go:embed adjust.lua
	adjustSource string

	// The scripts run with EVALSHA and fall back to EVAL on NOSCRIPT, which
	// a restarted or failed-over Redis answers.
	admitScript  = redis.NewScript(admitSource)
	adjustScript = redis.NewScript(adjustSource)
)

// RedisOptions configure a RedisLimiter. The zero value is usable.
type RedisOptions struct {
	// Prefix starts every key the limiter writes; DefaultPrefix when empty.
	Prefix string
	// FailClosed refuses requests with EUnavailable while Redis cannot be
	// reached. By default the limiter fails open: it admits them uncounted
	// with Decision.Degraded set, so a Redis outage does not take the
	// gateway down with it.
	FailClosed bool
	// Timeout bounds each Redis call; DefaultTimeout when zero. It holds
	// only if the client honours context deadlines, as ParseRedisURL's do.
	Timeout time.Duration
	// BreakerFailures and BreakerCooldown tune the circuit breaker;
	// DefaultBreakerFailures and DefaultBreakerCooldown when zero.
	BreakerFailures int
	BreakerCooldown time.Duration
	// Log receives the outage and recovery lines; discarded when nil.
	Log *slog.Logger
	// Registerer, when set, receives the limiter's metrics (names start
	// convertor_gateway_ratelimit_). NewRedis panics if they are registered
	// already.
	Registerer prometheus.Registerer
}

// RedisLimiter is a Limiter whose counts live in Redis, so every gateway
// replica sharing that Redis enforces one limit. Each Admit and Adjust is one
// atomic Lua script: one round trip. Safe for concurrent use.
type RedisLimiter struct {
	client     redis.UniversalClient
	prefix     string
	failClosed bool
	timeout    time.Duration
	log        *slog.Logger
	breaker    *breaker
	metrics    *metrics
	errLog     logThrottle

	// clock, when set by tests, replaces Redis's TIME; production never
	// sets it, so all replicas share the server's clock.
	clock func() time.Time
}

var _ Limiter = (*RedisLimiter)(nil)

// NewRedis returns a limiter using client, which the caller keeps and closes.
func NewRedis(client redis.UniversalClient, opts RedisOptions) *RedisLimiter {
	if client == nil {
		panic("ratelimit: NewRedis with a nil client")
	}
	l := &RedisLimiter{
		client:     client,
		prefix:     cmp.Or(opts.Prefix, DefaultPrefix),
		failClosed: opts.FailClosed,
		timeout:    cmp.Or(opts.Timeout, DefaultTimeout),
		log:        opts.Log,
		breaker: newBreaker(cmp.Or(opts.BreakerFailures, DefaultBreakerFailures),
			cmp.Or(opts.BreakerCooldown, DefaultBreakerCooldown)),
		metrics: newMetrics(),
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	l.metrics.register(opts.Registerer, true)
	return l
}

// Admit implements Limiter.
func (l *RedisLimiter) Admit(ctx context.Context, key string, lim Limits, tokens int64) (Decision, error) {
	d, _, err := l.admitN(ctx, key, lim, tokens, 1)
	return d, err
}

// admitN counts count requests and tokens at once, for a lease, and also
// returns the store clock of the admission (Unix ms; 0 when Redis was not
// reached).
func (l *RedisLimiter) admitN(ctx context.Context, key string, lim Limits, tokens, count int64) (Decision, int64, error) {
	lim, err := checkAdmit(key, lim, tokens)
	if err != nil {
		return Decision{}, 0, err
	}
	if lim.unlimited() {
		return Decision{Allowed: true}, 0, nil
	}
	g := geometryFor(lim.Window)
	rkey := l.key(key, g)
	if !l.breaker.allow() {
		l.metrics.skipped.Inc()
		d, err := l.unreachable(lim, tokens, errBreakerOpen)
		return d, 0, err
	}
	cctx, cancel := context.WithTimeout(ctx, l.timeout)
	res, err := admitScript.Run(cctx, l.client, []string{rkey},
		g.width, g.n, lim.Requests, lim.Tokens, tokens, l.now(), count).Int64Slice()
	cancel()
	if err == nil && len(res) != 9 {
		err = fmt.Errorf("admit script returned %d values, want 9", len(res))
	}
	if err != nil {
		if ctx.Err() != nil {
			l.breaker.release()
			return Decision{}, 0, fmt.Errorf("rate limit: %w: %w", err, canceled)
		}
		l.failed(err)
		d, err := l.unreachable(lim, tokens, err)
		return d, 0, err
	}
	l.succeeded()
	o := outcome{
		allowed: res[0] == 1, requests: res[1], tokens: res[2],
		resetRequests: res[3], resetTokens: res[4],
		retryRequests: res[5], retryTokens: res[6],
		bucket: res[7], now: res[8],
	}
	d := o.decision(lim, g, rkey, tokens)
	l.metrics.count(d)
	return d, o.now, nil
}

// Adjust implements Limiter.
func (l *RedisLimiter) Adjust(ctx context.Context, r Reservation, actualTokens int64) error {
	if err := checkAdjust(actualTokens); err != nil {
		return err
	}
	delta := actualTokens - r.tokens
	if r.key == "" || delta == 0 {
		return nil
	}
	if !l.breaker.allow() {
		l.metrics.skipped.Inc()
		return fmt.Errorf("rate limit adjust: %w: %w", errBreakerOpen, unavailable)
	}
	cctx, cancel := context.WithTimeout(ctx, l.timeout)
	err := adjustScript.Run(cctx, l.client, []string{r.key},
		r.geo.width, r.geo.n, strconv.FormatInt(r.bucket, 10), delta, l.now()).Err()
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			l.breaker.release()
			return fmt.Errorf("rate limit adjust: %w: %w", err, canceled)
		}
		l.failed(err)
		return fmt.Errorf("rate limit adjust: %w: %w", err, unavailable)
	}
	l.succeeded()
	return nil
}

var (
	errBreakerOpen = errors.New("redis skipped after repeated failures")
	// unavailable and canceled carry the codes of the errors Admit and
	// Adjust return; the wrapped Redis error is for the log only.
	unavailable = convertor.Errorf(convertor.EUnavailable, "rate limiter unavailable")
	canceled    = convertor.Errorf(convertor.ECanceled, "request canceled")
)

// unreachable answers an admission Redis could not count: uncounted
// admission when failing open, EUnavailable when failing closed.
func (l *RedisLimiter) unreachable(lim Limits, tokens int64, cause error) (Decision, error) {
	if l.failClosed {
		l.metrics.failClose.Inc()
		return Decision{}, fmt.Errorf("rate limit: %w: %w", cause, unavailable)
	}
	l.metrics.failOpen.Inc()
	return degraded(lim, tokens), nil
}

// failed records a Redis failure: metrics, breaker and a throttled log line.
func (l *RedisLimiter) failed(err error) {
	l.metrics.storeErrors.Inc()
	if l.breaker.failure() {
		l.metrics.breakerOpen.Set(1)
		l.log.Warn("rate limit redis unreachable; skipping it between probes",
			"error", err, "fail_closed", l.failClosed)
		return
	}
	if n, ok := l.errLog.due(time.Now()); ok {
		l.log.Warn("rate limit redis error", "error", err, "fail_closed", l.failClosed, "suppressed", n)
	}
}

// succeeded records a call that reached Redis.
func (l *RedisLimiter) succeeded() {
	if l.breaker.success() {
		l.metrics.breakerOpen.Set(0)
		l.log.Info("rate limit redis reachable again")
	}
}

// key names the hash of one API key and window. The braces are a Redis
// Cluster hash tag, so whatever the limiter keeps about one key lands on one
// slot; the window is part of the name because its bucket numbering differs,
// so a changed window starts from an empty count instead of misreading one.
func (l *RedisLimiter) key(key string, g geometry) string {
	return l.prefix + "{" + key + "}:" + strconv.FormatInt(g.width*g.n, 10)
}

// now is the script's time argument: empty means Redis's TIME.
func (l *RedisLimiter) now() string {
	if l.clock == nil {
		return ""
	}
	return strconv.FormatInt(l.clock().UnixMilli(), 10)
}

// logThrottle lets one log line through per errorLogInterval and counts
// the ones it held back. Safe for concurrent use.
type logThrottle struct {
	mu         sync.Mutex
	next       time.Time
	suppressed int
}

// due reports whether a line may be logged now, and how many were held
// back since the last one.
func (t *logThrottle) due(now time.Time) (suppressed int, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Before(t.next) {
		t.suppressed++
		return 0, false
	}
	suppressed, t.suppressed = t.suppressed, 0
	t.next = now.Add(errorLogInterval)
	return suppressed, true
}

// release gives back requests and tokens counted in bucket of the store key
// rkey and never used: the unused part of a lease.
func (l *RedisLimiter) release(ctx context.Context, rkey string, g geometry, bucket, requests, tokens int64) error {
	if requests == 0 && tokens == 0 {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	err := adjustScript.Run(cctx, l.client, []string{rkey},
		g.width, g.n, strconv.FormatInt(bucket, 10), -tokens, l.now(), -requests).Err()
	if err != nil {
		return fmt.Errorf("rate limit release: %w: %w", err, unavailable)
	}
	return nil
}
