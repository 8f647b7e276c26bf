// Package keygen makes API key secrets and key ids. The secret is the only
// credential a client holds, so it is drawn from crypto/rand, uniformly over
// base62, and never derived from anything else.
package keygen

import (
	"crypto/rand"

	"github.com/oklog/ulid/v2"

	"github.com/openai-api-convertor/convertor"
)

// SecretLength is the number of random characters after the "sk-" prefix:
// 40 base62 characters carry about 238 bits.
const SecretLength = 40

// PrefixLength is how many leading characters of a secret are kept for
// display ("sk-AbCdE"): enough to tell keys apart, far too few to guess one.
const PrefixLength = 8

// KeyIDPrefix starts every key id.
const KeyIDPrefix = "key_"

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewSecret returns a new secret: convertor.APIKeyPrefix followed by
// SecretLength random base62 characters.
func NewSecret() string {
	out := make([]byte, 0, len(convertor.APIKeyPrefix)+SecretLength)
	out = append(out, convertor.APIKeyPrefix...)
	var buf [64]byte
	for len(out) < cap(out) {
		// crypto/rand.Read never fails: it crashes the program rather than
		// return predictable bytes.
		rand.Read(buf[:])
		for _, b := range buf {
			// 248 = 4*62: rejecting larger bytes keeps every character
			// equally likely.
			if b < 248 && len(out) < cap(out) {
				out = append(out, base62[b%62])
			}
		}
	}
	return string(out)
}

// Prefix returns the display prefix of secret.
func Prefix(secret string) string {
	if len(secret) <= PrefixLength {
		return secret
	}
	return secret[:PrefixLength]
}

// NewKeyID returns a new key id, "key_" + ULID, so ids sort by creation time.
func NewKeyID() string {
	return KeyIDPrefix + ulid.Make().String()
}

// New returns a fresh secret and the key fields derived from it: id, hash
// and display prefix. The caller fills in the rest and stores the key; the
// secret must be shown once and then forgotten.
func New() (secret string, k *convertor.APIKey) {
	secret = NewSecret()
	return secret, &convertor.APIKey{
		ID:     NewKeyID(),
		Hash:   convertor.HashAPIKey(secret),
		Prefix: Prefix(secret),
	}
}
