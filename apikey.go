package convertor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"
)

// APIKeyPrefix starts every secret the product issues.
const APIKeyPrefix = "sk-"

// APIKey is a client's key record. The secret itself is never stored: only
// its SHA-256 hash, and a short display prefix so people can tell keys apart.
type APIKey struct {
	// ID is the stable identifier ("key_" + ULID) used in logs, usage
	// and the admin API; it reveals nothing of the secret.
	ID string `json:"id"`
	// Hash is the hex SHA-256 of the secret, the lookup key on the request path.
	Hash string `json:"-"`
	// Prefix is the secret's first characters, for display ("sk-AbCd").
	Prefix    string    `json:"prefix"`
	Name      string    `json:"name"`
	Owner     string    `json:"owner,omitempty"`
	Enabled   bool      `json:"enabled"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is zero for a key that never expires.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// AllowedModels lists the model names (as clients send them) the key
	// may use; empty means every model.
	AllowedModels []string `json:"allowed_models,omitempty"`
	// RPM and TPM are the key's requests and tokens per minute; 0 means the
	// gateway's global default.
	RPM int64 `json:"rpm,omitempty"`
	TPM int64 `json:"tpm,omitempty"`
	// MonthlyBudgetMicros is the key's spend limit per calendar month (UTC)
	// in micro-dollars; 0 means no budget.
	MonthlyBudgetMicros int64 `json:"monthly_budget_micros,omitempty"`
	// RevokedAt is set when the key was revoked; a revoked key never works again.
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	// LastUsedAt is updated asynchronously, at most about once a minute.
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

// Usable reports whether the key may be used at now, and if not, why
// (a message safe to show the caller).
func (k *APIKey) Usable(now time.Time) (bool, string) {
	switch {
	case !k.RevokedAt.IsZero():
		return false, "This API key has been revoked."
	case !k.Enabled:
		return false, "This API key is disabled."
	case !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt):
		return false, "This API key has expired."
	}
	return true, ""
}

// AllowsModel reports whether the key may use model.
func (k *APIKey) AllowsModel(model string) bool {
	if len(k.AllowedModels) == 0 {
		return true
	}
	for _, m := range k.AllowedModels {
		if m == model {
			return true
		}
	}
	return false
}

// Validate checks the fields an operator sets.
func (k *APIKey) Validate() error {
	switch {
	case k.ID == "":
		return Errorf(EInvalid, "key id required")
	case len(k.Hash) != sha256.Size*2:
		return Errorf(EInvalid, "key hash must be a hex SHA-256")
	case strings.TrimSpace(k.Name) == "":
		return Errorf(EInvalid, "key name required")
	case k.RPM < 0 || k.TPM < 0:
		return Errorf(EInvalid, "rpm and tpm must not be negative")
	case k.MonthlyBudgetMicros < 0:
		return Errorf(EInvalid, "monthly budget must not be negative")
	}
	return nil
}

// HashAPIKey returns the hex SHA-256 of a secret, as stored in APIKey.Hash.
func HashAPIKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// APIKeyUpdate changes some fields of a key; nil fields stay as they are.
type APIKeyUpdate struct {
	Name                *string    `json:"name,omitempty"`
	Owner               *string    `json:"owner,omitempty"`
	Enabled             *bool      `json:"enabled,omitempty"`
	ExpiresAt           *time.Time `json:"expires_at,omitempty"`
	AllowedModels       *[]string  `json:"allowed_models,omitempty"`
	RPM                 *int64     `json:"rpm,omitempty"`
	TPM                 *int64     `json:"tpm,omitempty"`
	MonthlyBudgetMicros *int64     `json:"monthly_budget_micros,omitempty"`
}

// Apply sets the fields of k that upd names; the stores share it so an
// update means the same everywhere.
func (k *APIKey) Apply(upd APIKeyUpdate) {
	if upd.Name != nil {
		k.Name = *upd.Name
	}
	if upd.Owner != nil {
		k.Owner = *upd.Owner
	}
	if upd.Enabled != nil {
		k.Enabled = *upd.Enabled
	}
	if upd.ExpiresAt != nil {
		k.ExpiresAt = *upd.ExpiresAt
	}
	if upd.AllowedModels != nil {
		k.AllowedModels = slices.Clone(*upd.AllowedModels)
	}
	if upd.RPM != nil {
		k.RPM = *upd.RPM
	}
	if upd.TPM != nil {
		k.TPM = *upd.TPM
	}
	if upd.MonthlyBudgetMicros != nil {
		k.MonthlyBudgetMicros = *upd.MonthlyBudgetMicros
	}
}

// APIKeyStore keeps key records.
type APIKeyStore interface {
	// CreateAPIKey stores a new key. Returns EConflict if the id or hash exists.
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// APIKeyByHash returns the key whose secret hashes to hash, the
	// request-path lookup. Returns ENotFound if there is none.
	APIKeyByHash(ctx context.Context, hash string) (*APIKey, error)
	// APIKey returns a key by id. Returns ENotFound if there is none.
	APIKey(ctx context.Context, id string) (*APIKey, error)
	// ListAPIKeys returns every key, revoked ones included, newest first.
	ListAPIKeys(ctx context.Context) ([]*APIKey, error)
	// UpdateAPIKey applies upd and returns the new record. Returns ENotFound.
	UpdateAPIKey(ctx context.Context, id string, upd APIKeyUpdate) (*APIKey, error)
	// RevokeAPIKey marks the key revoked at t. Returns ENotFound.
	RevokeAPIKey(ctx context.Context, id string, t time.Time) error
	// RotateAPIKey replaces the key's hash and prefix (a new secret), keeping
	// its id, limits and history. Returns ENotFound.
	RotateAPIKey(ctx context.Context, id, newHash, newPrefix string) (*APIKey, error)
	// TouchAPIKeys records last-used times, batched off the request path.
	TouchAPIKeys(ctx context.Context, lastUsed map[string]time.Time) error
}
