package gateway

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/convert"
	"github.com/openai-api-convertor/convertor/gateway/ratelimit"
	"github.com/openai-api-convertor/convertor/internal/envvar"
)

// Defaults of the configuration.
const (
	// DefaultAddr is the port the OpenAI SDK examples and docker-compose use.
	DefaultAddr = ":8000"
	// DefaultRegion is where every Claude model and global inference
	// profile is offered.
	DefaultRegion = "us-east-1"
	// DefaultMaxRetries matches the AWS SDK's standard retryer (3 attempts
	// after the first would double the worst-case latency for little gain).
	DefaultMaxRetries = 3
	// DefaultUpstreamTimeout bounds one Bedrock call. Long extended-thinking
	// answers stream for minutes; anything past five is a stuck call.
	DefaultUpstreamTimeout = 5 * time.Minute
	// DefaultImageFetchMaxBytes is Bedrock's limit for one image (3.75 MB):
	// a larger download would only be refused by Bedrock afterwards.
	DefaultImageFetchMaxBytes = 3932160
	// DefaultImageFetchTimeout keeps a slow image host from holding a
	// request (and a worker) much longer than the model call itself.
	DefaultImageFetchTimeout = 10 * time.Second
	// DefaultImageFetchConcurrency bounds the image downloads of the whole
	// process: enough for several vision requests at once (each fetches 4
	// at a time), few enough that requests naming slow or huge images
	// cannot tie up hundreds of sockets and, at 3.75 MB each, gigabytes.
	DefaultImageFetchConcurrency = 32
	// DefaultImageFetchMaxTotalBytes bounds what one request downloads in
	// all, as MAX_REQUEST_BODY_BYTES bounds what it may carry as data URLs.
	DefaultImageFetchMaxTotalBytes = 20 << 20
	// DefaultMaxRequestBodyBytes leaves room for a few base64 images at
	// Bedrock's 3.75 MB limit (base64 grows them by a third) plus a long
	// conversation.
	DefaultMaxRequestBodyBytes = 20 << 20
	// DefaultThinkingCacheEntries holds the reasoning of that many tool
	// calls; each entry is a few KB of thinking text and a signature.
	DefaultThinkingCacheEntries = 10000
	// DefaultThinkingCacheMaxBytes caps the cache's memory whatever the
	// size of the thinking blocks.
	DefaultThinkingCacheMaxBytes = 64 << 20
	// DefaultThinkingCacheTTL outlives a tool round trip that waits on a
	// slow tool or a human, and lets abandoned conversations go.
	DefaultThinkingCacheTTL = time.Hour
	// DefaultResponseStoreEntries is how many responses one key keeps for
	// previous_response_id and GET: an agent's conversations of a day.
	DefaultResponseStoreEntries = 1000
	// DefaultResponseStoreKeyBytes keeps one key from taking the store.
	DefaultResponseStoreKeyBytes = 32 << 20
	// DefaultResponseStoreMaxBytes caps the store's memory in the process.
	DefaultResponseStoreMaxBytes = 256 << 20
	// DefaultResponseStoreTTL outlives a working day's pauses in a
	// conversation. OpenAI keeps responses for weeks, but clients continue
	// a conversation within hours, and every kept day costs memory.
	DefaultResponseStoreTTL = 24 * time.Hour
	// DefaultRateLimitRequests and DefaultRateLimitWindow are the global
	// defaults of earlier releases (100 requests a minute), applied when
	// RATE_LIMIT_ENABLED to keys without their own RPM.
	DefaultRateLimitRequests = 100
	DefaultRateLimitWindow   = time.Minute
	// DefaultShutdownTimeout fits inside the 30 s an ECS task gets between
	// SIGTERM and SIGKILL by default, with time left to flush logs.
	DefaultShutdownTimeout = 25 * time.Second
)

// Key stores.
const (
	KeyStoreDynamoDB = "dynamodb"
	KeyStoreNone     = "none"
)

// Config is the gateway's configuration; each field names its variable and
// default.
type Config struct {
	// Addr is GATEWAY_ADDR, default ":8000".
	Addr string
	// Region is AWS_REGION, default "us-east-1".
	Region string
	// BedrockEndpoint is AWS_ENDPOINT_URL_BEDROCK_RUNTIME, else
	// AWS_ENDPOINT_URL; empty means the SDK's regional endpoint.
	BedrockEndpoint string
	// MaxRetries is BEDROCK_MAX_RETRIES, default 3: retries after the
	// first attempt of a Bedrock call.
	MaxRetries int
	// UpstreamTimeout is GATEWAY_UPSTREAM_TIMEOUT, default 5m: the longest
	// one Bedrock call, streamed or not, may take.
	UpstreamTimeout time.Duration
	// MasterAPIKey is MASTER_API_KEY: the key clients present.
	MasterAPIKey string
	// RequireAPIKey is REQUIRE_API_KEY, default true. False serves anyone.
	RequireAPIKey bool
	// Features are ENABLE_VISION, ENABLE_TOOL_USE and
	// ENABLE_EXTENDED_THINKING, each default true.
	Features convert.Features
	// PromptCaching is ENABLE_PROMPT_CACHING, default true: whether the
	// gateway sends Bedrock cache points (automatic ones, and those
	// clients ask for with cache_control). Keys and requests can turn it
	// off for themselves, not on when it is off here.
	PromptCaching bool
	// PromptCacheTTL is PROMPT_CACHE_TTL, default "5m": the TTL of cache
	// points when neither the key nor the request names one; "1h" costs
	// more per write (2× input instead of 1.25×) and pays off for
	// prefixes reused less often than every 5 minutes.
	PromptCacheTTL string
	// StrictParams is STRICT_PARAMS, default false: refuse temperature and
	// top_p values Claude does not take with 400, as earlier releases did,
	// instead of adjusting them (see convert.Adjustment).
	StrictParams bool
	// ImageFetch is ENABLE_IMAGE_URL_FETCH, default false: whether https
	// image URLs are downloaded by the gateway.
	ImageFetch bool
	// ImageFetchMaxBytes is IMAGE_FETCH_MAX_BYTES, default 3932160 (3.75 MB).
	ImageFetchMaxBytes int64
	// ImageFetchTimeout is IMAGE_FETCH_TIMEOUT, default 10s.
	ImageFetchTimeout time.Duration
	// ImageFetchConcurrency is IMAGE_FETCH_CONCURRENCY, default 32: the
	// image downloads of all requests together in flight at once; more
	// wait for one to end.
	ImageFetchConcurrency int
	// ImageFetchMaxTotalBytes is IMAGE_FETCH_MAX_TOTAL_BYTES, default
	// 20 MiB: what one request's image downloads may read in all.
	ImageFetchMaxTotalBytes int64
	// MaxRequestBodyBytes is MAX_REQUEST_BODY_BYTES, default 20 MiB.
	MaxRequestBodyBytes int
	// ThinkingCacheEntries is THINKING_CACHE_ENTRIES, default 10000.
	ThinkingCacheEntries int
	// ThinkingCacheMaxBytes is THINKING_CACHE_MAX_BYTES, default 64 MiB.
	ThinkingCacheMaxBytes int64
	// ThinkingCacheTTL is THINKING_CACHE_TTL, default 1h.
	ThinkingCacheTTL time.Duration
	// ResponseStoreEntries is RESPONSES_STORE_ENTRIES, default 1000: the
	// Responses API responses each key keeps for previous_response_id and
	// GET, in Redis when REDIS_URL is set, else in the process; 0 turns
	// storing off.
	ResponseStoreEntries int
	// ResponseStoreKeyBytes is RESPONSES_STORE_KEY_BYTES, default 32 MiB
	// per key.
	ResponseStoreKeyBytes int64
	// ResponseStoreMaxBytes is RESPONSES_STORE_MAX_BYTES, default 256 MiB
	// for all keys together in the process (Redis's memory policy bounds
	// them there).
	ResponseStoreMaxBytes int64
	// ResponseStoreTTL is RESPONSES_STORE_TTL, default 24h.
	ResponseStoreTTL time.Duration
	// ShutdownTimeout is SHUTDOWN_TIMEOUT, default 25s: how long in-flight
	// requests and streams may run on after a stop signal.
	ShutdownTimeout time.Duration

	// KeyStore is KEY_STORE, default "dynamodb": where per-client keys are
	// looked up; "none" accepts the master key only.
	KeyStore string
	// KeyCacheTTL is KEY_CACHE_TTL, default 5s: how long a key record is
	// trusted before it is read again, so the longest a revoked key keeps
	// working on a replica.
	KeyCacheTTL time.Duration
	// RoutesRefresh is ROUTES_REFRESH, default 5s: how often the admin
	// routes and the prices are reloaded when the gateway reads the
	// stores, so the longest a route change takes to reach a replica.
	RoutesRefresh time.Duration
	// RedisURL is REDIS_URL (redis:// or rediss://); empty means the
	// in-process rate limiter, exact only for a single replica.
	RedisURL string
	// RateLimitEnabled is RATE_LIMIT_ENABLED, default false: whether keys
	// without their own RPM/TPM get the global defaults below. A key's own
	// limits apply either way.
	RateLimitEnabled bool
	// RateLimitRequests is RATE_LIMIT_REQUESTS, default 100 per window.
	RateLimitRequests int64
	// RateLimitTokens is RATE_LIMIT_TOKENS, default 0 (no token limit).
	RateLimitTokens int64
	// RateLimitWindow is RATE_LIMIT_WINDOW, default 60 (seconds; 1m is the
	// same), at least 1s.
	RateLimitWindow time.Duration
	// RateLimitFailOpen is RATE_LIMIT_FAIL_OPEN, default true: while Redis
	// is unreachable, admit requests uncounted rather than refuse them.
	RateLimitFailOpen bool
	// RateLimitRedisTimeout is RATE_LIMIT_REDIS_TIMEOUT, default 100ms:
	// the longest one limiter call may add to a request; a slower call
	// counts as Redis unreachable (RateLimitFailOpen decides).
	RateLimitRedisTimeout time.Duration
}

// LoadConfig reads and validates the configuration, reporting every problem
// at once. Values follow envvar's rule: durations take Go syntax ("90s",
// "5m") or whole seconds, booleans true/false/1/0.
func LoadConfig(getenv func(string) string) (Config, error) {
	r := envvar.New(getenv)
	cfg := Config{
		Addr:            r.String("GATEWAY_ADDR", DefaultAddr),
		Region:          r.String("AWS_REGION", DefaultRegion),
		BedrockEndpoint: r.String("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", r.String("AWS_ENDPOINT_URL", "")),
		MaxRetries:      r.Int("BEDROCK_MAX_RETRIES", DefaultMaxRetries, 0),
		UpstreamTimeout: r.Duration("GATEWAY_UPSTREAM_TIMEOUT", DefaultUpstreamTimeout, envvar.Positive),
		MasterAPIKey:    r.String("MASTER_API_KEY", ""),
		RequireAPIKey:   r.Bool("REQUIRE_API_KEY", true),
		Features: convert.Features{
			Vision:   r.Bool("ENABLE_VISION", true),
			ToolUse:  r.Bool("ENABLE_TOOL_USE", true),
			Thinking: r.Bool("ENABLE_EXTENDED_THINKING", true),
		},
		PromptCaching:           r.Bool("ENABLE_PROMPT_CACHING", true),
		PromptCacheTTL:          r.String("PROMPT_CACHE_TTL", convertor.CacheTTL5m),
		StrictParams:            r.Bool("STRICT_PARAMS", false),
		ImageFetch:              r.Bool("ENABLE_IMAGE_URL_FETCH", false),
		ImageFetchMaxBytes:      r.Int64("IMAGE_FETCH_MAX_BYTES", DefaultImageFetchMaxBytes, 1),
		ImageFetchTimeout:       r.Duration("IMAGE_FETCH_TIMEOUT", DefaultImageFetchTimeout, envvar.Positive),
		ImageFetchConcurrency:   r.Int("IMAGE_FETCH_CONCURRENCY", DefaultImageFetchConcurrency, 1),
		ImageFetchMaxTotalBytes: r.Int64("IMAGE_FETCH_MAX_TOTAL_BYTES", DefaultImageFetchMaxTotalBytes, 1),
		MaxRequestBodyBytes:     r.Int("MAX_REQUEST_BODY_BYTES", DefaultMaxRequestBodyBytes, 1),
		ThinkingCacheEntries:    r.Int("THINKING_CACHE_ENTRIES", DefaultThinkingCacheEntries, 1),
		ThinkingCacheMaxBytes:   r.Int64("THINKING_CACHE_MAX_BYTES", DefaultThinkingCacheMaxBytes, 1),
		ThinkingCacheTTL:        r.Duration("THINKING_CACHE_TTL", DefaultThinkingCacheTTL, envvar.Positive),
		ResponseStoreEntries:    r.Int("RESPONSES_STORE_ENTRIES", DefaultResponseStoreEntries, 0),
		ResponseStoreKeyBytes:   r.Int64("RESPONSES_STORE_KEY_BYTES", DefaultResponseStoreKeyBytes, 1),
		ResponseStoreMaxBytes:   r.Int64("RESPONSES_STORE_MAX_BYTES", DefaultResponseStoreMaxBytes, 1),
		ResponseStoreTTL:        r.Duration("RESPONSES_STORE_TTL", DefaultResponseStoreTTL, envvar.Positive),
		ShutdownTimeout:         r.Duration("SHUTDOWN_TIMEOUT", DefaultShutdownTimeout, 0),
		KeyStore:                strings.ToLower(r.String("KEY_STORE", KeyStoreDynamoDB)),
		KeyCacheTTL:             r.Duration("KEY_CACHE_TTL", DefaultKeyCacheTTL, envvar.Positive),
		RoutesRefresh:           r.Duration("ROUTES_REFRESH", DefaultRoutesRefresh, envvar.Positive),
		RedisURL:                r.String("REDIS_URL", ""),
		RateLimitEnabled:        r.Bool("RATE_LIMIT_ENABLED", false),
		RateLimitRequests:       r.Int64("RATE_LIMIT_REQUESTS", DefaultRateLimitRequests, 0),
		RateLimitTokens:         r.Int64("RATE_LIMIT_TOKENS", 0, 0),
		RateLimitWindow:         r.Duration("RATE_LIMIT_WINDOW", DefaultRateLimitWindow, time.Second),
		RateLimitFailOpen:       r.Bool("RATE_LIMIT_FAIL_OPEN", true),
		RateLimitRedisTimeout:   r.Duration("RATE_LIMIT_REDIS_TIMEOUT", ratelimit.DefaultTimeout, envvar.Positive),
	}
	return cfg, errors.Join(r.Err(), cfg.Validate())
}

// Validate checks the relations between fields that parsing alone cannot.
func (c *Config) Validate() error {
	var errs []error
	if c.RequireAPIKey && c.MasterAPIKey == "" && c.KeyStore == KeyStoreNone {
		errs = append(errs, errors.New("MASTER_API_KEY is empty while REQUIRE_API_KEY is true and KEY_STORE=none: set a key, use KEY_STORE=dynamodb, or set REQUIRE_API_KEY=false to serve without authentication"))
	}
	switch c.KeyStore {
	case KeyStoreDynamoDB, KeyStoreNone:
	default:
		errs = append(errs, fmt.Errorf("KEY_STORE: %q is not dynamodb or none", c.KeyStore))
	}
	if c.PromptCacheTTL != convertor.CacheTTL5m && c.PromptCacheTTL != convertor.CacheTTL1h {
		errs = append(errs, fmt.Errorf("PROMPT_CACHE_TTL: %q is not 5m or 1h (ENABLE_PROMPT_CACHING=false turns caching off)", c.PromptCacheTTL))
	}
	if c.RateLimitWindow < time.Second {
		errs = append(errs, fmt.Errorf("RATE_LIMIT_WINDOW must be at least 1s, got %s", c.RateLimitWindow))
	}
	if c.KeyCacheTTL <= 0 {
		errs = append(errs, fmt.Errorf("KEY_CACHE_TTL must be positive, got %s", c.KeyCacheTTL))
	}
	if c.RoutesRefresh <= 0 {
		errs = append(errs, fmt.Errorf("ROUTES_REFRESH must be positive, got %s", c.RoutesRefresh))
	}
	if c.Addr == "" {
		errs = append(errs, errors.New("GATEWAY_ADDR is empty"))
	}
	if c.Region == "" {
		errs = append(errs, errors.New("AWS_REGION is empty"))
	}
	if c.BedrockEndpoint != "" {
		if u, err := url.Parse(c.BedrockEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("AWS_ENDPOINT_URL_BEDROCK_RUNTIME (or AWS_ENDPOINT_URL): %q is not an http or https URL", c.BedrockEndpoint))
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"GATEWAY_UPSTREAM_TIMEOUT", c.UpstreamTimeout},
		{"IMAGE_FETCH_TIMEOUT", c.ImageFetchTimeout},
		{"THINKING_CACHE_TTL", c.ThinkingCacheTTL},
	} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %s", d.name, d.v))
		}
	}
	if c.ShutdownTimeout < 0 {
		errs = append(errs, fmt.Errorf("SHUTDOWN_TIMEOUT must not be negative, got %s", c.ShutdownTimeout))
	}
	return errors.Join(errs...)
}
