package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/openai-api-convertor/convertor"
)

// Client defaults for a limiter on the request path: a dead Redis must cost
// a request tens of milliseconds, not go-redis's seconds. One retry covers
// the pooled connection a restarted server broke; the circuit breaker covers
// the rest.
const (
	clientDialTimeout = 100 * time.Millisecond
	clientIOTimeout   = 100 * time.Millisecond
	clientMaxRetries  = 1
	clientDialRetries = 1
)

// ParseRedisURL builds a client from a REDIS_URL: redis://[user:password@]host:port[/db]
// or rediss:// for TLS, with go-redis's query options (dial_timeout,
// read_timeout, max_retries, pool_size, ...). Options the URL leaves out get
// short timeouts and few retries, and the client honours context deadlines,
// so RedisOptions.Timeout holds. It connects to one server (a standalone
// Redis, or a primary endpoint such as ElastiCache's). Returns EInvalid for
// a malformed URL.
func ParseRedisURL(rawURL string) (redis.UniversalClient, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, convertor.Errorf(convertor.EInvalid, "redis url: %s", redactedError(err, rawURL))
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, convertor.Errorf(convertor.EInvalid, "redis url: malformed")
	}
	q := u.Query()
	if !q.Has("dial_timeout") {
		opts.DialTimeout = clientDialTimeout
	}
	if !q.Has("read_timeout") {
		opts.ReadTimeout = clientIOTimeout
	}
	if !q.Has("write_timeout") {
		opts.WriteTimeout = clientIOTimeout
	}
	if !q.Has("max_retries") {
		opts.MaxRetries = clientMaxRetries
	}
	opts.DialerRetries = clientDialRetries
	opts.ContextTimeoutEnabled = true
	return redis.NewClient(opts), nil
}

// redactedError returns err's text unless it may repeat the URL's
// credentials, which must not reach a log.
func redactedError(err error, rawURL string) string {
	msg := err.Error()
	if strings.Contains(msg, rawURL) || strings.Contains(msg, "@") {
		return "malformed"
	}
	return msg
}

// redisLogger routes go-redis's internal messages (dial failures while
// Redis is down, at every attempt) to the structured log at debug level;
// the limiter reports outages itself, once, at warn.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.Debug("redis client", "msg", fmt.Sprintf(format, v...))
}

// SetRedisLogger sends go-redis's process-wide log to log at debug level.
func SetRedisLogger(log *slog.Logger) {
	redis.SetLogger(redisLogger{log})
}
