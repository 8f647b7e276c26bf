package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"

	"github.com/openai-api-convertor/convertor"
)

// Principal is who a request acts for.
type Principal struct {
	// KeyID identifies the API key in logs and usage; never the key itself.
	KeyID string
	// Key is the key's record, with its limits and allowed models; nil for
	// the master key.
	Key *convertor.APIKey
}

// Authenticator checks the API key a request carries: the master key alone
// (MasterKeyAuthenticator) or per-client keys from a store plus the master
// key (KeyAuthenticator).
type Authenticator interface {
	// Authenticate returns the principal of key. Returns EUnauthorized
	// (Reason "invalid_api_key") if the key is not valid. key is never
	// empty (the caller refuses requests without one) and aliases the
	// request's memory: an implementation that keeps it must copy it.
	Authenticate(ctx context.Context, key []byte) (Principal, error)
}

// MasterKeyID is the KeyID of requests made with the master key.
const MasterKeyID = "master"

// MasterKeyAuthenticator accepts exactly one key.
type MasterKeyAuthenticator struct {
	digest [sha256.Size]byte
}

// NewMasterKeyAuthenticator returns an Authenticator accepting key.
func NewMasterKeyAuthenticator(key string) *MasterKeyAuthenticator {
	return &MasterKeyAuthenticator{digest: sha256.Sum256([]byte(key))}
}

// Authenticate implements Authenticator. Digests are compared rather than
// keys so that the comparison takes the same time whatever the length of
// the key presented, and leaks neither the master key's length nor prefix.
func (a *MasterKeyAuthenticator) Authenticate(_ context.Context, key []byte) (Principal, error) {
	d := sha256.Sum256(key)
	if subtle.ConstantTimeCompare(d[:], a.digest[:]) != 1 {
		return Principal{}, errInvalidAPIKey
	}
	return Principal{KeyID: MasterKeyID}, nil
}

// Authentication errors. Their messages never quote the key presented: it
// may be a real secret sent to the wrong place.
var (
	errMissingAPIKey = &convertor.Error{
		Code:    convertor.EUnauthorized,
		Reason:  "missing_api_key",
		Message: "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or in an x-api-key header.",
	}
	errInvalidAPIKey = &convertor.Error{
		Code:    convertor.EUnauthorized,
		Reason:  "invalid_api_key",
		Message: "Incorrect API key provided. Check the key your client is configured with.",
	}
	errMalformedAuthorization = &convertor.Error{
		Code:    convertor.EUnauthorized,
		Reason:  "invalid_api_key",
		Message: "The Authorization header must have the form 'Bearer YOUR_KEY'.",
	}
)

var bearerPrefix = []byte("bearer ")

// apiKeyFromHeaders extracts the key from Authorization: Bearer, else from
// x-api-key (Anthropic-style clients send that). The returned slice aliases
// the header and must not outlive the request.
func apiKeyFromHeaders(authorization, xAPIKey []byte) ([]byte, error) {
	authorization = bytes.TrimSpace(authorization)
	if len(authorization) > 0 {
		if bytes.EqualFold(authorization, bearerPrefix[:len(bearerPrefix)-1]) {
			return nil, errMissingAPIKey
		}
		if len(authorization) < len(bearerPrefix) || !bytes.EqualFold(authorization[:len(bearerPrefix)], bearerPrefix) {
			return nil, errMalformedAuthorization
		}
		key := bytes.TrimSpace(authorization[len(bearerPrefix):])
		if len(key) == 0 {
			return nil, errMissingAPIKey
		}
		return key, nil
	}
	key := bytes.TrimSpace(xAPIKey)
	if len(key) == 0 {
		return nil, errMissingAPIKey
	}
	return key, nil
}
