package adminapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/openai-api-convertor/convertor/adminapi/auth"
)

// Server timeouts: admin requests are small and quick; the longest is a
// CSV download or a re-pricing preview.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 2 * time.Minute
	idleTimeout       = 2 * time.Minute
)

// Run serves the admin API on cfg.Addr until ctx ends, then lets requests
// in flight finish within cfg.ShutdownTimeout.
func Run(ctx context.Context, cfg Config, d Deps, log *slog.Logger) error {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("admin API (ADMIN_ADDR): %w", err)
	}
	return Serve(ctx, ln, cfg, d, log)
}

// Serve is Run on a listener the caller opened.
func Serve(ctx context.Context, ln net.Listener, cfg Config, d Deps, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	authn, err := auth.New(ctx, cfg.Auth, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer authn.Close()
	if w := authn.Warning(); w != "" {
		log.Warn(w)
	}
	svc, err := NewService(d, log)
	if err != nil {
		ln.Close()
		return err
	}
	srv, err := New(cfg, svc, authn, log)
	if err != nil {
		ln.Close()
		return err
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Info("admin API listening", "addr", ln.Addr().String(), "auth", cfg.Auth.Mode)
	select {
	case err := <-errc:
		return fmt.Errorf("admin API: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		log.Warn("admin API shutdown cut requests short", "error", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("admin API stopped")
	return nil
}
