package emulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/openai-api-convertor/convertor/internal/envvar"
)

// DefaultAddr is where `convertor bedrock-emulator` listens: loopback only,
// since the emulator has no authentication worth the name.
const DefaultAddr = "127.0.0.1:8010"

// shutdownGrace is how long Run lets open streams finish after ctx ends.
const shutdownGrace = 5 * time.Second

// Config is the emulator server's configuration; each field names its
// variable and default.
type Config struct {
	Addr         string        // BEDROCK_EMULATOR_ADDR, default "127.0.0.1:8010"
	Latency      time.Duration // BEDROCK_EMULATOR_LATENCY, default 0 (a duration, or whole seconds)
	TokenDelay   time.Duration // BEDROCK_EMULATOR_TOKEN_DELAY, default 0 (a duration, or whole seconds)
	RequireSigV4 bool          // BEDROCK_EMULATOR_REQUIRE_SIGV4, default false
	Secret       string        // BEDROCK_EMULATOR_SECRET signs reasoning; empty means random per process
}

// LoadConfig reads and validates the configuration, reporting every problem at once.
func LoadConfig(getenv func(string) string) (Config, error) {
	r := envvar.New(getenv)
	cfg := Config{
		Addr:         r.String("BEDROCK_EMULATOR_ADDR", DefaultAddr),
		Latency:      r.Duration("BEDROCK_EMULATOR_LATENCY", 0, 0),
		TokenDelay:   r.Duration("BEDROCK_EMULATOR_TOKEN_DELAY", 0, 0),
		RequireSigV4: r.Bool("BEDROCK_EMULATOR_REQUIRE_SIGV4", false),
		Secret:       r.String("BEDROCK_EMULATOR_SECRET", ""),
	}
	errs := []error{r.Err()}
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		errs = append(errs, fmt.Errorf("BEDROCK_EMULATOR_ADDR %q: %w", cfg.Addr, err))
	}
	return cfg, errors.Join(errs...)
}

// Options returns the emulator options the configuration asks for.
func (c Config) Options() Options {
	o := Options{Latency: c.Latency, TokenDelay: c.TokenDelay, RequireSigV4: c.RequireSigV4}
	if c.Secret != "" {
		o.Secret = []byte(c.Secret)
	}
	return o
}

// Run serves the emulator on cfg.Addr until ctx is done.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("bedrock emulator: listen: %w", err)
	}
	opts := cfg.Options()
	opts.Log = log
	return Serve(ctx, ln, New(opts), log)
}

// Serve serves h (normally an *Emulator) on ln until ctx is done, then
// shuts down gracefully; it closes ln. Callers that need the port before
// serving (tests, `convertor dev` on :0) listen themselves and call Serve.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Warn("bedrock emulator listening: its answers are synthetic", "addr", "http://"+ln.Addr().String())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("bedrock emulator: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("bedrock emulator: serve: %w", err)
	}
	return nil
}
