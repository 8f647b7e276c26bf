package auth

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Mode is how the admin API authenticates requests, chosen by ADMIN_AUTH.
// There is no default mode: see the package documentation.
type Mode string

// Modes.
const (
	// ModeCognito accepts Cognito ID and access tokens of the admin and
	// viewer groups.
	ModeCognito Mode = "cognito"
	// ModeToken accepts one shared bearer token, ADMIN_TOKEN, as an admin.
	ModeToken Mode = "token"
	// ModeNone accepts every request as an admin, and only on a loopback
	// listen address.
	ModeNone Mode = "none"
)

// Defaults and limits of the configuration.
const (
	// MinTokenLength is the shortest ADMIN_TOKEN accepted: 32 random
	// characters ("openssl rand -hex 32" gives 64) cannot be guessed
	// through a network, whereas a short, remembered password can.
	MinTokenLength = 32
	// DefaultKeyRefreshInterval is how often the user pool's signing keys
	// are fetched again on their own. Cognito publishes a new key before
	// signing with it, and a token with an unknown kid triggers a fetch
	// anyway; the periodic fetch is what drops a removed key.
	DefaultKeyRefreshInterval = time.Hour
	// DefaultUnknownKIDRefreshInterval spaces the fetches a token signed
	// with an unknown key (kid) triggers: a flood of forged kids costs
	// Cognito one request a minute, and a genuine key rotation is picked up
	// on the first token that uses the new key.
	DefaultUnknownKIDRefreshInterval = time.Minute
	// DefaultKeyRetryInterval is how often the keys are fetched while they
	// never have been (Cognito unreachable at start): often enough that a
	// short outage costs seconds, rarely enough to be no load at all.
	DefaultKeyRetryInterval = 10 * time.Second
	// DefaultKeyFetchTimeout bounds one JWKS request; Cognito answers in
	// milliseconds, and a request waiting on a refetch waits this long at
	// most.
	DefaultKeyFetchTimeout = 10 * time.Second
	// Leeway is the clock skew tolerated on exp, nbf and iat. 30 s covers a
	// host clock that drifts between NTP corrections and adds little to
	// the life of a Cognito token (5 minutes at the least).
	Leeway = 30 * time.Second
)

// Config is the admin API's authentication configuration; each field names
// its variable and default.
type Config struct {
	// Mode is ADMIN_AUTH: cognito, token or none. Required.
	Mode Mode
	// Token is ADMIN_TOKEN, required in token mode: the bearer token
	// scripts present, at least MinTokenLength characters.
	Token string
	// UserPoolID is ADMIN_COGNITO_USER_POOL_ID, required in cognito mode:
	// "<region>_<id>", such as "us-east-1_AbC123".
	UserPoolID string
	// ClientIDs is ADMIN_COGNITO_CLIENT_IDS, comma-separated, at least one
	// in cognito mode: the app clients whose tokens are accepted.
	ClientIDs []string
	// Issuer is ADMIN_COGNITO_ISSUER, default
	// "https://cognito-idp.<region>.amazonaws.com/<pool id>": the iss
	// tokens must carry. Keys are read from <Issuer>/.well-known/jwks.json,
	// so an override (a local OIDC server) must be https, or plain http to
	// a loopback host: keys fetched in the clear could be replaced.
	Issuer string
	// ListenAddr is the admin API's listen address, from its own
	// configuration. ADMIN_AUTH=none requires a loopback address.
	ListenAddr string

	// The settings below are not read from the environment; zero means
	// the default. Tests shorten them.

	// KeyRefreshInterval is how often the keys are fetched again, default
	// DefaultKeyRefreshInterval.
	KeyRefreshInterval time.Duration
	// UnknownKIDRefreshInterval is the least time between two fetches
	// triggered by unknown kids, default DefaultUnknownKIDRefreshInterval.
	UnknownKIDRefreshInterval time.Duration
	// KeyRetryInterval is how often a failed first fetch is retried,
	// default DefaultKeyRetryInterval.
	KeyRetryInterval time.Duration
	// KeyFetchTimeout bounds one fetch, default DefaultKeyFetchTimeout.
	KeyFetchTimeout time.Duration
}

// modesHelp ends every error about ADMIN_AUTH itself, so that whoever
// starts the service learns the choices and what each needs.
const modesHelp = "set it to cognito (sign-in through a Cognito user pool; needs ADMIN_COGNITO_USER_POOL_ID and ADMIN_COGNITO_CLIENT_IDS), " +
	"token (one shared bearer token for scripts and local use; needs ADMIN_TOKEN of at least 32 characters) " +
	"or none (no authentication at all; only when the admin API listens on a loopback address such as 127.0.0.1:8005)"

// userPoolIDPattern is a Cognito user pool id: the region, "_", and an
// alphanumeric id ("us-east-1_AbC123", "us-gov-west-1_x9").
var userPoolIDPattern = regexp.MustCompile(`^([a-z]{2}(?:-[a-z]+)+-[0-9]+)_[0-9A-Za-z]+$`)

// LoadConfig reads and validates the configuration, reporting every problem
// at once; each names its variable. listenAddr is the address the admin API
// listens on, which decides whether ADMIN_AUTH=none is allowed.
func LoadConfig(getenv func(string) string, listenAddr string) (Config, error) {
	cfg := Config{
		Mode:       Mode(strings.ToLower(strings.TrimSpace(getenv("ADMIN_AUTH")))),
		Token:      getenv("ADMIN_TOKEN"),
		UserPoolID: strings.TrimSpace(getenv("ADMIN_COGNITO_USER_POOL_ID")),
		ClientIDs:  splitList(getenv("ADMIN_COGNITO_CLIENT_IDS")),
		Issuer:     strings.TrimRight(strings.TrimSpace(getenv("ADMIN_COGNITO_ISSUER")), "/"),
		ListenAddr: listenAddr,
	}
	if cfg.Mode == ModeCognito && cfg.Issuer == "" {
		cfg.Issuer = defaultIssuer(cfg.UserPoolID)
	}
	var errs []error
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	// A gateway key is not an admin credential; reusing the master key
	// would make it one, so refuse the mix-up at start.
	if master := getenv("MASTER_API_KEY"); cfg.Mode == ModeToken && master != "" && cfg.Token == master {
		errs = append(errs, errors.New("ADMIN_TOKEN equals MASTER_API_KEY: the admin token must be a secret of its own, not a gateway key"))
	}
	return cfg, errors.Join(errs...)
}

// Validate checks the configuration, reporting every problem at once. New
// calls it, so a Config built in code cannot open the admin API either.
func (c *Config) Validate() error {
	var errs []error
	switch c.Mode {
	case "":
		return errors.New("ADMIN_AUTH is not set; the admin API does not start without an explicit choice of authentication: " + modesHelp)
	case ModeToken:
		errs = c.validateToken()
	case ModeCognito:
		errs = c.validateCognito()
	case ModeNone:
		if err := checkLoopback(c.ListenAddr); err != nil {
			errs = append(errs, err)
		}
	default:
		return fmt.Errorf("ADMIN_AUTH: %q is not a mode; %s", c.Mode, modesHelp)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"KeyRefreshInterval", c.KeyRefreshInterval},
		{"UnknownKIDRefreshInterval", c.UnknownKIDRefreshInterval},
		{"KeyRetryInterval", c.KeyRetryInterval},
		{"KeyFetchTimeout", c.KeyFetchTimeout},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %s", d.name, d.v))
		}
	}
	return errors.Join(errs...)
}

func (c *Config) validateToken() []error {
	switch {
	case c.Token == "":
		return []error{fmt.Errorf("ADMIN_TOKEN is not set; ADMIN_AUTH=token needs a random token of at least %d characters (for example from: openssl rand -hex 32)", MinTokenLength)}
	case len(c.Token) < MinTokenLength:
		return []error{fmt.Errorf("ADMIN_TOKEN is %d characters long; it must be at least %d (for example from: openssl rand -hex 32)", len(c.Token), MinTokenLength)}
	case strings.IndexFunc(c.Token, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0:
		// A bearer token is one header word of visible ASCII; anything
		// else could never be presented.
		return []error{errors.New("ADMIN_TOKEN contains spaces, control or non-ASCII characters; a bearer token cannot carry them")}
	}
	return nil
}

func (c *Config) validateCognito() []error {
	var errs []error
	switch {
	case c.UserPoolID == "":
		errs = append(errs, errors.New("ADMIN_COGNITO_USER_POOL_ID is not set; ADMIN_AUTH=cognito needs the user pool id, such as us-east-1_AbC123"))
	case !userPoolIDPattern.MatchString(c.UserPoolID):
		errs = append(errs, fmt.Errorf("ADMIN_COGNITO_USER_POOL_ID: %q is not a user pool id (<region>_<id>, such as us-east-1_AbC123)", c.UserPoolID))
	}
	if len(c.ClientIDs) == 0 {
		errs = append(errs, errors.New("ADMIN_COGNITO_CLIENT_IDS is not set; ADMIN_AUTH=cognito needs the ids of the app clients whose tokens are accepted, comma-separated"))
	}
	if c.Issuer != "" {
		if err := checkIssuer(c.Issuer); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// issuer returns the configured issuer, else the user pool's.
func (c *Config) issuer() string {
	if c.Issuer != "" {
		return strings.TrimRight(c.Issuer, "/")
	}
	return defaultIssuer(c.UserPoolID)
}

// defaultIssuer is the iss of the user pool's tokens, or "" for a pool id
// that names no region.
func defaultIssuer(poolID string) string {
	m := userPoolIDPattern.FindStringSubmatch(poolID)
	if m == nil {
		return ""
	}
	return "https://cognito-idp." + m[1] + ".amazonaws.com/" + poolID
}

func checkIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	switch {
	case err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("ADMIN_COGNITO_ISSUER: %q is not an issuer URL such as https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123", issuer)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopbackHost(u.Hostname()):
		return nil
	}
	return fmt.Errorf("ADMIN_COGNITO_ISSUER: %q must be https (plain http only to a loopback host): the signing keys are fetched from it", issuer)
}

// checkLoopback refuses a listen address other machines could reach.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	switch {
	case err != nil:
		return fmt.Errorf("ADMIN_AUTH=none: listen address %q is not host:port; none is allowed only on a loopback address such as 127.0.0.1:8005", addr)
	case host == "":
		return fmt.Errorf("ADMIN_AUTH=none: listen address %q listens on every interface; none is allowed only on a loopback address such as 127.0.0.1:8005, so that nothing but this machine reaches an admin API without authentication", addr)
	case !isLoopbackHost(host):
		return fmt.Errorf("ADMIN_AUTH=none: listen address %q is not a loopback address (127.0.0.0/8, ::1 or localhost); nothing but this machine may reach an admin API without authentication", addr)
	}
	return nil
}

// isLoopbackHost reports whether host is localhost or a loopback IP. Other
// names are not resolved: what they resolve to may change.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
