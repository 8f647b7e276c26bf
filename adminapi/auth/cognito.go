package auth

import (
	"context"
	"errors"
	"log/slog"
	"slices"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/openai-api-convertor/convertor"
)

// Token uses Cognito writes in token_use.
const (
	tokenUseID     = "id"
	tokenUseAccess = "access"
)

// cognitoClaims are the claims read from Cognito ID and access tokens.
// https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-with-identity-providers.html
type cognitoClaims struct {
	jwt.RegisteredClaims
	TokenUse string   `json:"token_use"`
	ClientID string   `json:"client_id"`        // access tokens
	Username string   `json:"username"`         // access tokens
	IDName   string   `json:"cognito:username"` // ID tokens
	Email    string   `json:"email"`            // ID tokens
	Groups   []string `json:"cognito:groups"`
}

// cognitoVerifier verifies Cognito tokens against a user pool. Safe for
// concurrent use.
type cognitoVerifier struct {
	keys    *keySet
	parser  *jwt.Parser
	clients []string
	log     *slog.Logger
}

func newCognitoVerifier(ctx context.Context, cfg Config, log *slog.Logger) *cognitoVerifier {
	issuer := cfg.issuer()
	return &cognitoVerifier{
		keys: newKeySet(ctx, issuer+"/.well-known/jwks.json", cfg, log),
		parser: jwt.NewParser(
			// Cognito signs with RS256 only. Naming it refuses none, and
			// HS256 with the public key as its secret, before any key is
			// looked up.
			jwt.WithValidMethods([]string{"RS256"}),
			jwt.WithIssuer(issuer),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(Leeway),
		),
		clients: cfg.ClientIDs,
		log:     log,
	}
}

// verify returns the principal of the Cognito token raw.
func (v *cognitoVerifier) verify(ctx context.Context, raw string) (*Principal, error) {
	kf, ok := v.keys.keyfunc(ctx)
	if !ok {
		return nil, errKeysUnavailable
	}
	var c cognitoClaims
	if _, err := v.parser.ParseWithClaims(raw, &c, kf); err != nil {
		// The cause stays here: it names the check that failed, which
		// the caller learns in general terms only.
		v.log.DebugContext(ctx, "admin token refused", "error", err)
		return nil, tokenError(err)
	}
	switch {
	case c.Subject == "":
		return nil, errNoSubject
	case c.TokenUse == tokenUseID:
		if !slices.ContainsFunc(c.Audience, v.isClient) {
			return nil, errWrongClient
		}
	case c.TokenUse == tokenUseAccess:
		if !v.isClient(c.ClientID) {
			return nil, errWrongClient
		}
	default:
		return nil, errTokenUse
	}
	p := &Principal{Subject: c.Subject, Name: c.Username, Mode: ModeCognito, Groups: c.Groups}
	if c.TokenUse == tokenUseID {
		p.Name, p.Email = c.IDName, c.Email
	}
	if p.Name == "" {
		p.Name = c.Subject
	}
	switch {
	case slices.Contains(c.Groups, GroupAdmin):
		p.Role = RoleAdmin
	case slices.Contains(c.Groups, GroupViewer):
		p.Role = RoleViewer
	default:
		return nil, errNoGroup
	}
	return p, nil
}

func (v *cognitoVerifier) isClient(id string) bool {
	return id != "" && slices.Contains(v.clients, id)
}

func (v *cognitoVerifier) close() { v.keys.close() }

// tokenError maps a parse error to what the caller may learn. The checks
// are tested in the order a person fixing a client would want them: a token
// for another pool is that, whether or not it has also expired.
func tokenError(err error) error {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return errMalformedToken
	case errors.Is(err, errNoKID), errors.Is(err, errUnknownKID), errors.Is(err, jwkset.ErrKeyNotFound):
		return errUnknownKey
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return errBadSignature
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return errWrongIssuer
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return errMissingExpiry
	case errors.Is(err, jwt.ErrTokenExpired):
		return errTokenExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return errTokenNotYetValid
	}
	return errInvalidToken
}

// Errors of cognito mode. None quotes the token; the kid, issuer and
// client of a refused token go to the debug log only.
var (
	errKeysUnavailable = &convertor.Error{
		Code:    convertor.EUnavailable,
		Message: "Admin sign-in is not available yet: the Cognito user pool's signing keys could not be fetched. Try again shortly.",
	}
	errMalformedToken = &convertor.Error{
		Code:    convertor.EUnauthorized,
		Reason:  "invalid_credentials",
		Message: "The bearer token is not a well-formed JWT. Send a Cognito ID or access token.",
	}
	errBadSignature = &convertor.Error{
		Code:    convertor.EUnauthorized,
		Reason:  "invalid_credentials",
		Message: "The token's signature is not valid: it must be signed with RS256 by the Cognito user pool.",
	}
	errUnknownKey = &convertor.Error{
		Code:    convertor.EUnauthorized,
		Reason:  "invalid_credentials",
		Message: "The token is not signed with a key of the Cognito user pool.",
	}
	errWrongIssuer = &convertor.Error{
		Code:    convertor.EUnauthorized,
		Reason:  "invalid_credentials",
		Message: "The token was not issued by the configured Cognito user pool.",
	}
	errMissingExpiry = &convertor.Error{
		Code:    convertor.EUnauthorized,
		Reason:  "invalid_credentials",
		Message: "The token lacks a required claim (exp or iss).",
	}
	errTokenExpired = &convertor.Error{
		Code:    convertor.EUnauthorized,
		Reason:  "token_expired",
		Message: "The token has expired. Sign in again or refresh the token.",
	}
	errTokenNotYetValid = &convertor.Error{
		Code:    convertor.EUnauthorized,
		Reason:  "invalid_credentials",
		Message: "The token is not valid yet (nbf or iat is in the future). Check the clocks of the client and the server.",
	}
	errInvalidToken = &convertor.Error{
		Code:    convertor.EUnauthorized,
		Reason:  "invalid_credentials",
		Message: "The token is not valid.",
	}
	errNoSubject = &convertor.Error{
		Code:    convertor.EUnauthorized,
		Reason:  "invalid_credentials",
		Message: "The token has no subject (sub).",
	}
	errTokenUse = &convertor.Error{
		Code:    convertor.EUnauthorized,
		Reason:  "invalid_credentials",
		Message: "The token is neither a Cognito ID token nor an access token (token_use must be id or access).",
	}
	errWrongClient = &convertor.Error{
		Code:    convertor.EUnauthorized,
		Reason:  "invalid_credentials",
		Message: "The token was issued to an app client the admin API does not accept.",
	}
	errNoGroup = &convertor.Error{
		Code:    convertor.EForbidden,
		Reason:  "no_admin_group",
		Message: "The user is not in the admin or viewer group.",
	}
)
