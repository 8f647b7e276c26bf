package adminapi

import (
	"errors"
	"time"

	"github.com/openai-api-convertor/convertor/adminapi/auth"
	"github.com/openai-api-convertor/convertor/internal/envvar"
)

// Defaults of the configuration.
const (
	// DefaultAddr is the admin API's port in every deployment of the
	// product (docker-compose, the ALB target group).
	DefaultAddr = ":8005"
	// DefaultShutdownTimeout fits inside the 30 s an ECS task gets between
	// SIGTERM and SIGKILL; admin requests are short.
	DefaultShutdownTimeout = 10 * time.Second
	// DefaultKeyCacheTTL is the gateway's default KEY_CACHE_TTL: how long
	// a key change takes to reach every gateway, which responses state.
	DefaultKeyCacheTTL = 5 * time.Second
	// DefaultMaxBodyBytes bounds a request body: admin requests are small
	// JSON documents.
	DefaultMaxBodyBytes = 1 << 20
)

// Config is the admin API's configuration; each field names its variable
// and default.
type Config struct {
	// Addr is ADMIN_ADDR, default ":8005".
	Addr string
	// Auth is ADMIN_AUTH and its settings (see auth.LoadConfig); there is
	// no default mode.
	Auth auth.Config
	// KeyCacheTTL is KEY_CACHE_TTL, default 5s: the gateways' key cache,
	// so the delay after which a key change is in force everywhere.
	KeyCacheTTL time.Duration
	// ShutdownTimeout is SHUTDOWN_TIMEOUT, default 10s.
	ShutdownTimeout time.Duration
}

// LoadConfig reads and validates the configuration, reporting every problem at once.
func LoadConfig(getenv func(string) string) (Config, error) {
	r := envvar.New(getenv)
	cfg := Config{
		Addr:            r.String("ADMIN_ADDR", DefaultAddr),
		KeyCacheTTL:     r.Duration("KEY_CACHE_TTL", DefaultKeyCacheTTL, envvar.Positive),
		ShutdownTimeout: r.Duration("SHUTDOWN_TIMEOUT", DefaultShutdownTimeout, 0),
	}
	acfg, err := auth.LoadConfig(getenv, cfg.Addr)
	cfg.Auth = acfg
	return cfg, errors.Join(r.Err(), err)
}
