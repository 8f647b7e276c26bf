// Package gateway is the OpenAI-compatible HTTP server: it authenticates
// clients, resolves model routes, converts OpenAI chat requests to Bedrock
// Converse calls and streams the answers back as OpenAI SSE.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/ratelimit"
)

// Version is the build version reported by /health, set at link time with
// -ldflags "-X github.com/openai-api-convertor/convertor/gateway.Version=…".
var Version = "dev"

// Converser is the part of the Bedrock client the gateway calls;
// *bedrock.Client implements it, tests fake it.
type Converser interface {
	// Converse returns the whole answer. Errors carry domain codes
	// (convertor.ErrorCode) and, for Bedrock exceptions, a *bedrock.APIError.
	Converse(ctx context.Context, modelID string, req *bedrock.ConverseRequest) (*bedrock.ConverseResponse, error)
	// ConverseStream opens a stream; canceling ctx or closing the stream
	// aborts it.
	ConverseStream(ctx context.Context, modelID string, req *bedrock.ConverseRequest) (*bedrock.Stream, error)
}

var _ Converser = (*bedrock.Client)(nil)

// ReadinessCheck is one dependency /ready reports on.
type ReadinessCheck struct {
	// Name identifies the dependency ("bedrock_credentials").
	Name string
	// Check returns nil when the dependency can serve. It must return
	// within ctx's deadline; /ready gives each check a few seconds.
	Check func(ctx context.Context) error
}

// Degraded is the error a readiness check returns for a dependency that
// is impaired without stopping the gateway from serving, such as an
// events bus that is down while usage events are spooled to disk: /ready
// names it ("degraded: ...") and stays 200, so load balancers keep a
// replica that can serve while operators still see what is wrong.
type Degraded string

// Error implements error.
func (d Degraded) Error() string { return string(d) }

// Deps are the gateway's dependencies, built once by Run (or by a test or
// the development command) and shared by every request.
type Deps struct {
	// Converser calls Bedrock. Required.
	Converser Converser
	// Routes resolves model names; nil means a RouteTable over
	// convertor.DefaultRoutes.
	Routes convertor.RouteResolver
	// Reasoning keeps thinking blocks across turns; nil means a
	// MemoryReasoningStore sized by the configuration.
	Reasoning ReasoningStore
	// Responses keeps Responses API responses when storing is on
	// (RESPONSES_STORE_ENTRIES > 0); nil means one in Redis when
	// REDIS_URL is set, shared by every replica, else in the process.
	Responses ResponseStore
	// Images fetches https image URLs when Config.ImageFetch is set; nil
	// means an HTTPImageFetcher configured from Config.
	Images ImageFetcher
	// Auth checks API keys when Config.RequireAPIKey is set; nil means
	// the master key of Config.
	Auth Authenticator
	// Usage receives a record per request that reached Bedrock; nil
	// drops them.
	Usage UsageSink
	// Keys holds per-client keys; nil accepts the master key only. New
	// wraps it in a KeyAuthenticator unless Auth is set.
	Keys convertor.APIKeyStore
	// Limiter enforces RPM and TPM; nil means one built from the
	// configuration (Redis when REDIS_URL is set, else in-process).
	Limiter ratelimit.Limiter
	// Spend reads month-to-date spend for budgets; nil disables budgets.
	Spend SpendReader
	// Prices says which models have a price; a key with a budget may not
	// use one that has none, since its cost could not be counted. Nil
	// skips that check.
	Prices PriceChecker
	// Gatherer adds metrics of the process's other parts (the usage-event
	// emitter) to GET /metrics; nil adds none.
	Gatherer prometheus.Gatherer
	// Ready are the checks /ready runs.
	Ready []ReadinessCheck
	// UpstreamNote is shown by /health, for instance that answers come from
	// the Bedrock emulator and are synthetic.
	UpstreamNote string
	// Now replaces the clock that times how long a key the rate limiter
	// refused stays refused; nil means time.Now. Tests move it together
	// with the limiter's to pass a window without waiting.
	Now func() time.Time
}

// Server timeouts and limits.
const (
	// readTimeout bounds reading one request, body included; a 20 MiB body
	// over a slow mobile link still fits.
	readTimeout = 60 * time.Second
	// idleTimeout closes keep-alive connections no client is using.
	idleTimeout = 120 * time.Second
	// readBufferSize bounds the request line and headers. fasthttp's 4 KiB
	// default is too small for some proxies' header sets; past 16 KiB the
	// request is refused with 431.
	readBufferSize = 16 << 10
	// serverName is the Server header.
	serverName = "openai-api-convertor"
)

// Server is the gateway's HTTP server. Create it with New, run it with
// Serve, stop it with Shutdown.
type Server struct {
	cfg     Config
	deps    Deps
	log     *slog.Logger
	metrics *Metrics
	http    *fasthttp.Server
	spend   *spendCache
	// refusals are the keys refused for their request count, answered
	// before their body is read until the refusal runs out.
	refusals *refusalMemory
	now      func() time.Time
	// imageSlots holds a token per image download in flight, over all
	// requests (IMAGE_FETCH_CONCURRENCY).
	imageSlots chan struct{}
	// adjuster sends token corrections; its loop ends with baseCtx.
	adjuster *adjuster
	// responses keeps Responses API responses; nil when storing is off.
	responses ResponseStore

	// baseCtx parents every upstream call; Shutdown cancels it when the
	// grace period ends, which aborts the streams still running.
	baseCtx    context.Context
	cancelBase context.CancelFunc
	streams    sync.WaitGroup

	mu           sync.Mutex
	listeners    []net.Listener // s.mu must be held
	shuttingDown bool           // s.mu must be held
}

// New returns a server for cfg over deps, filling the optional
// dependencies Deps documents. cfg is validated again (a test may build it
// by hand).
func New(cfg Config, deps Deps, log *slog.Logger) (*Server, error) {
	if deps.Converser == nil {
		return nil, errors.New("new gateway: Deps.Converser is nil")
	}
	if log == nil {
		return nil, errors.New("new gateway: logger is nil")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new gateway: %w", err)
	}
	if cfg.MaxRequestBodyBytes <= 0 {
		cfg.MaxRequestBodyBytes = DefaultMaxRequestBodyBytes
	}
	if cfg.ImageFetchConcurrency <= 0 {
		cfg.ImageFetchConcurrency = DefaultImageFetchConcurrency
	}
	if cfg.ImageFetchMaxTotalBytes <= 0 {
		cfg.ImageFetchMaxTotalBytes = DefaultImageFetchMaxTotalBytes
	}
	if deps.Routes == nil {
		deps.Routes = NewRouteTable(nil, convertor.DefaultRoutes)
	}
	if deps.Reasoning == nil {
		deps.Reasoning = NewMemoryReasoningStore(cfg.ThinkingCacheEntries, cfg.ThinkingCacheMaxBytes, cfg.ThinkingCacheTTL, nil)
		if cfg.RedisURL != "" {
			// Shared across replicas: the turn with the tool results may
			// reach another replica than the one that saw the tool call.
			client, err := ratelimit.ParseRedisURL(cfg.RedisURL)
			if err != nil {
				return nil, fmt.Errorf("new gateway: REDIS_URL: %w", err)
			}
			deps.Reasoning = NewRedisReasoningStore(client, cfg.ThinkingCacheTTL, deps.Reasoning, log)
		}
	}
	if deps.Images == nil && cfg.ImageFetch {
		deps.Images = NewHTTPImageFetcher(ImageFetchConfig{MaxBytes: cfg.ImageFetchMaxBytes, Timeout: cfg.ImageFetchTimeout})
	}
	if deps.Auth == nil && cfg.RequireAPIKey && deps.Keys == nil && cfg.MasterAPIKey == "" {
		return nil, errors.New("new gateway: REQUIRE_API_KEY is true but there is neither a key store nor a MASTER_API_KEY: no request could ever be served")
	}
	if deps.Auth == nil && cfg.RequireAPIKey {
		if deps.Keys != nil {
			deps.Auth = NewKeyAuthenticator(deps.Keys, KeyAuthConfig{MasterKey: cfg.MasterAPIKey, TTL: cfg.KeyCacheTTL}, log)
		} else {
			deps.Auth = NewMasterKeyAuthenticator(cfg.MasterAPIKey)
		}
	}
	// Created first: the limiter the configuration asks for registers its
	// convertor_gateway_ratelimit_* metrics here.
	metrics := newMetrics()
	if deps.Limiter == nil {
		l, err := newLimiter(cfg, log, metrics.registry)
		if err != nil {
			return nil, fmt.Errorf("new gateway: %w", err)
		}
		deps.Limiter = l
	}
	if deps.Usage == nil {
		deps.Usage = nopUsageSink{}
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	s := &Server{cfg: cfg, deps: deps, log: log, metrics: metrics, refusals: newRefusalMemory(), now: deps.Now,
		imageSlots: make(chan struct{}, cfg.ImageFetchConcurrency)}
	if deps.Spend != nil {
		s.spend = newSpendCache(deps.Spend)
	}
	if cfg.ResponseStoreEntries > 0 {
		s.responses = deps.Responses
		if s.responses == nil {
			var err error
			if s.responses, err = newResponseStore(cfg); err != nil {
				return nil, fmt.Errorf("new gateway: %w", err)
			}
		}
	}
	if deps.Gatherer != nil {
		s.metrics.handler = fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(
			prometheus.Gatherers{s.metrics.registry, deps.Gatherer}, promhttp.HandlerOpts{}))
	}
	s.baseCtx, s.cancelBase = context.WithCancel(context.Background())
	s.adjuster = newAdjuster(deps.Limiter, log)
	go s.adjuster.run(s.baseCtx)
	if ka, ok := deps.Auth.(*KeyAuthenticator); ok {
		// Flushes last-used times each minute and once more at Shutdown.
		go ka.RunLastUsed(s.baseCtx)
	}
	s.http = &fasthttp.Server{
		Handler:            s.serveHTTP,
		ErrorHandler:       s.serveHTTPError,
		Name:               serverName,
		ReadTimeout:        readTimeout,
		IdleTimeout:        idleTimeout,
		ReadBufferSize:     readBufferSize,
		MaxRequestBodySize: cfg.MaxRequestBodyBytes,
		// WriteTimeout stays zero: it would cut streams that legitimately
		// run for minutes; UpstreamTimeout bounds them instead.
		CloseOnShutdown:              true,
		DisablePreParseMultipartForm: true,
		NoDefaultContentType:         true,
		// fasthttp's own error logs must not quote request bytes (keys).
		SecureErrorLogMessage: true,
		Logger:                fasthttpLogger{log},
	}
	return s, nil
}

// Metrics returns the server's metrics.
func (s *Server) Metrics() *Metrics { return s.metrics }

// Serve accepts connections on ln until Shutdown. It returns nil after a
// Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.shuttingDown {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	// Kept so Shutdown can close ln even before fasthttp registers it;
	// fasthttp's own Shutdown would miss a Serve that has not got that far.
	s.listeners = append(s.listeners, ln)
	s.mu.Unlock()
	if err := s.http.Serve(ln); err != nil {
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	}
	return nil
}

// streamAbortGrace is how long Shutdown waits, after aborting the streams
// that outlived its context, for them to write their final error event.
const streamAbortGrace = 2 * time.Second

// Shutdown stops accepting connections and waits for in-flight requests and
// streams to finish until ctx ends; then it aborts the remaining streams
// (each ends with an error event) and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shuttingDown = true
	for _, ln := range s.listeners {
		ln.Close()
	}
	s.mu.Unlock()
	err := s.http.ShutdownWithContext(ctx)
	if errors.Is(err, net.ErrClosed) {
		// fasthttp closing the listeners closed above.
		err = nil
	}
	if err == nil {
		s.waitStreams(ctx)
		s.cancelBase()
		return nil
	}
	s.cancelBase()
	graceCtx, cancel := context.WithTimeout(context.Background(), streamAbortGrace)
	defer cancel()
	s.waitStreams(graceCtx)
	return fmt.Errorf("shutdown: %w", err)
}

// waitStreams waits for every stream to be closed, or for ctx to end.
func (s *Server) waitStreams(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		s.streams.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// Run builds the real dependencies once (AWS configuration, the Bedrock
// client and its connection pool, routes, caches) and serves cfg.Addr
// until ctx ends, then shuts down gracefully within cfg.ShutdownTimeout.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	deps, err := BedrockDeps(ctx, cfg)
	if err != nil {
		return err
	}
	return RunDeps(ctx, cfg, deps, log)
}

// BedrockDeps builds the Deps that reach Bedrock as cfg says: AWS
// configuration and credentials loaded once, one client, and a readiness
// check for credentials. Callers add the key store and the usage sink.
func BedrockDeps(ctx context.Context, cfg Config) (Deps, error) {
	awsCfg, err := bedrock.LoadAWSConfig(ctx, cfg.Region)
	if err != nil {
		return Deps{}, fmt.Errorf("run gateway: %w", err)
	}
	client, err := bedrock.NewClient(awsCfg, bedrock.ClientConfig{
		Region:     cfg.Region,
		Endpoint:   cfg.BedrockEndpoint,
		MaxRetries: bedrockMaxRetries(cfg.MaxRetries),
	})
	if err != nil {
		return Deps{}, fmt.Errorf("run gateway: %w", err)
	}
	deps := Deps{
		Converser: client,
		Ready: []ReadinessCheck{
			{Name: "bedrock_credentials", Check: func(ctx context.Context) error {
				if !bedrock.HasCredentials(ctx, awsCfg) {
					return errors.New("no AWS credentials found in the default chain")
				}
				return nil
			}},
			{Name: "bedrock_endpoint", Check: endpointCheck(bedrockEndpointAddr(cfg))},
		},
	}
	if cfg.BedrockEndpoint != "" {
		deps.UpstreamNote = "Bedrock endpoint overridden: " + cfg.BedrockEndpoint
	}
	return deps, nil
}

// bedrockEndpointAddr returns the host:port Bedrock calls connect to.
func bedrockEndpointAddr(cfg Config) string {
	if u, err := url.Parse(cfg.BedrockEndpoint); err == nil && u.Host != "" {
		if u.Port() != "" {
			return u.Host
		}
		if u.Scheme == "http" {
			return net.JoinHostPort(u.Hostname(), "80")
		}
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort("bedrock-runtime."+cfg.Region+".amazonaws.com", "443")
}

// endpointCheck reports whether a TCP connection to addr opens: DNS and
// the network path to Bedrock work. It sends nothing.
func endpointCheck(addr string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return fmt.Errorf("connect %s: %w", addr, err)
		}
		return c.Close()
	}
}

// bedrockMaxRetries translates our 0 ("no retries") to the client's
// convention, where 0 means its default and a negative value none.
func bedrockMaxRetries(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// RunDeps serves cfg.Addr over deps until ctx ends, then shuts down
// gracefully within cfg.ShutdownTimeout. Run uses it with the real Bedrock
// client; the development command uses it with the emulator.
func RunDeps(ctx context.Context, cfg Config, deps Deps, log *slog.Logger) error {
	if !cfg.RequireAPIKey {
		log.Warn("REQUIRE_API_KEY is false: the gateway serves any caller without an API key")
	}
	s, err := New(cfg, deps, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("run gateway: %w", err)
	}
	log.Info("gateway listening", "addr", ln.Addr().String(), "region", cfg.Region, "version", Version)
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("gateway shutting down", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	shutdownErr := s.Shutdown(sctx)
	if err := <-errc; err != nil {
		return err
	}
	if shutdownErr != nil {
		log.Warn("gateway shutdown cut in-flight requests short", "err", shutdownErr)
	}
	return nil
}

// fasthttpLogger routes fasthttp's own messages (connection errors) to the
// structured log at debug level: they are per-connection noise.
type fasthttpLogger struct{ log *slog.Logger }

// quoted matches the quoted strings fasthttp puts in its messages: the
// bytes of a request it could not parse, an Authorization line among them.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// maxFasthttpMessage bounds what is kept of one fasthttp message.
const maxFasthttpMessage = 300

// Printf implements fasthttp.Logger. Quoted request bytes are cut out of
// every message: no key may reach the log, whatever the client sent.
func (l fasthttpLogger) Printf(format string, args ...any) {
	msg := quoted.ReplaceAllString(fmt.Sprintf(format, args...), `"…"`)
	if len(msg) > maxFasthttpMessage {
		msg = msg[:maxFasthttpMessage] + "…"
	}
	l.log.Debug("fasthttp", "msg", msg)
}
