package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/openai-api-convertor/convertor"
)

// maxAuthorizationBytes caps the Authorization header. A Cognito ID token
// of a user in many groups is a few KB; 16 KB leaves room and keeps a
// hostile header from costing a JWT decode of megabytes.
const maxAuthorizationBytes = 16 << 10

// Authenticator authenticates admin API requests in the configured mode.
// Safe for concurrent use.
type Authenticator struct {
	mode    Mode
	warning string
	token   [sha256.Size]byte // ModeToken: digest of ADMIN_TOKEN
	cognito *cognitoVerifier  // ModeCognito
}

// New returns an Authenticator for cfg, which it validates first. In
// cognito mode it fetches the user pool's keys and keeps them fresh in the
// background until ctx is done or Close is called. The first fetch takes
// at most KeyFetchTimeout; if it fails, that is logged and retried, not
// returned (see the package documentation). log receives those background
// events and never a token.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Authenticator, error) {
	if log == nil {
		panic("auth.New: nil logger")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &Authenticator{mode: cfg.Mode}
	switch cfg.Mode {
	case ModeToken:
		a.token = sha256.Sum256([]byte(cfg.Token))
	case ModeNone:
		a.warning = fmt.Sprintf("ADMIN_AUTH=none: the admin API on %s accepts every request as an admin without authentication; use it only on a development machine", cfg.ListenAddr)
	case ModeCognito:
		a.cognito = newCognitoVerifier(ctx, cfg, log)
	}
	return a, nil
}

// Mode returns the mode a authenticates in.
func (a *Authenticator) Mode() Mode { return a.mode }

// Warning returns what the service must log loudly at start: non-empty in
// none mode, where the admin API is open to whoever reaches it.
func (a *Authenticator) Warning() string { return a.warning }

// Close stops the background refresh of the keys. Safe to call more than
// once.
func (a *Authenticator) Close() {
	if a.cognito != nil {
		a.cognito.close()
	}
}

// Authenticate returns who made r. Errors are *convertor.Error with a
// message safe to show the caller, which never quotes the credentials:
// EUnauthorized for missing, malformed or invalid credentials (Reason
// "token_expired" for an expired Cognito token, so a client knows to
// refresh it), EForbidden for a valid Cognito token outside the admin and
// viewer groups, EUnavailable while the user pool's keys could not be
// fetched.
func (a *Authenticator) Authenticate(r *http.Request) (*Principal, error) {
	if a.mode == ModeNone {
		return &Principal{Subject: "anonymous", Name: "anonymous (ADMIN_AUTH=none)", Role: RoleAdmin, Mode: ModeNone}, nil
	}
	token, err := bearerToken(r.Header)
	if err != nil {
		return nil, err
	}
	if a.mode == ModeToken {
		return a.checkToken(token)
	}
	return a.cognito.verify(r.Context(), token)
}

// checkToken compares digests rather than tokens so that the comparison
// takes the same time whatever is presented, leaking neither the token's
// length nor a prefix.
func (a *Authenticator) checkToken(token string) (*Principal, error) {
	d := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(d[:], a.token[:]) != 1 {
		return nil, errInvalidAdminToken
	}
	return &Principal{Subject: "token", Name: "admin token (ADMIN_TOKEN)", Role: RoleAdmin, Mode: ModeToken}, nil
}

// bearerToken returns the token of the one "Authorization: Bearer <token>"
// header; the scheme is case-insensitive (RFC 9110, section 11.1).
func bearerToken(h http.Header) (string, error) {
	values := h.Values("Authorization")
	switch {
	case len(values) == 0:
		return "", errMissingCredentials
	case len(values) > 1:
		return "", errMalformedAuthorization
	case len(values[0]) > maxAuthorizationBytes:
		return "", errAuthorizationTooLong
	}
	fields := strings.Fields(values[0])
	switch {
	case len(fields) == 0:
		return "", errMissingCredentials
	case !strings.EqualFold(fields[0], "Bearer"):
		return "", errMalformedAuthorization
	case len(fields) == 1:
		return "", errMissingCredentials
	case len(fields) > 2:
		return "", errMalformedAuthorization
	}
	return fields[1], nil
}

// Errors of the Authorization header and of token mode. Their messages
// never quote what was presented: it may be a real secret sent to the wrong
// place.
var (
	errMissingCredentials = &convertor.Error{
		Code:    convertor.EUnauthorized,
		Reason:  "missing_credentials",
		Message: "The admin API needs an Authorization header: Bearer followed by a token.",
	}
	errMalformedAuthorization = &convertor.Error{
		Code:    convertor.EUnauthorized,
		Reason:  "invalid_credentials",
		Message: "The Authorization header must be 'Bearer <token>': one header, the Bearer scheme, exactly one token.",
	}
	errAuthorizationTooLong = &convertor.Error{
		Code:    convertor.EUnauthorized,
		Reason:  "invalid_credentials",
		Message: fmt.Sprintf("The Authorization header is longer than %d KB.", maxAuthorizationBytes>>10),
	}
	errInvalidAdminToken = &convertor.Error{
		Code:    convertor.EUnauthorized,
		Reason:  "invalid_credentials",
		Message: "The admin token is not valid. Gateway API keys are not admin credentials.",
	}
)
