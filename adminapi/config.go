package adminapi

import (
	"errors"
	"fmt"
	"slices"
	"strings"
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
	// DefaultUICognitoScopes are what the portal asks Cognito for: openid
	// for an ID token, email and profile so the audit log names people.
	DefaultUICognitoScopes = "openid email profile"
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
	// UI is how the admin portal signs people in.
	UI UIConfig
}

// UIConfig is what the admin portal needs to know before anyone signs in.
type UIConfig struct {
	// CognitoClientID is ADMIN_UI_COGNITO_CLIENT_ID, default the first of
	// ADMIN_COGNITO_CLIENT_IDS: the app client the portal signs in with
	// (authorization code with PKCE, no client secret). It must be one of
	// the accepted clients, or the tokens the portal gets would be refused.
	CognitoClientID string
	// CognitoScopes is ADMIN_UI_COGNITO_SCOPES, default
	// "openid email profile", space-separated.
	CognitoScopes string
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
	cfg.UI = UIConfig{
		CognitoClientID: r.String("ADMIN_UI_COGNITO_CLIENT_ID", ""),
		CognitoScopes:   strings.Join(strings.Fields(r.String("ADMIN_UI_COGNITO_SCOPES", DefaultUICognitoScopes)), " "),
	}
	return cfg, errors.Join(r.Err(), err, cfg.UI.resolve(acfg))
}

// resolve fills the portal's client id in from the accepted clients and
// checks it against them in cognito mode.
func (u *UIConfig) resolve(a auth.Config) error {
	if a.Mode != auth.ModeCognito {
		return nil
	}
	if u.CognitoClientID == "" && len(a.ClientIDs) > 0 {
		u.CognitoClientID = a.ClientIDs[0]
	}
	var errs []error
	if u.CognitoClientID != "" && !slices.Contains(a.ClientIDs, u.CognitoClientID) {
		errs = append(errs, fmt.Errorf("ADMIN_UI_COGNITO_CLIENT_ID: %q is not among ADMIN_COGNITO_CLIENT_IDS; the admin API would refuse the tokens the portal signs in with", u.CognitoClientID))
	}
	if !slices.Contains(strings.Fields(u.CognitoScopes), "openid") {
		errs = append(errs, fmt.Errorf("ADMIN_UI_COGNITO_SCOPES: %q lacks openid; the portal signs in with OpenID Connect", u.CognitoScopes))
	}
	return errors.Join(errs...)
}
