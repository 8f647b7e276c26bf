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
	// PromptCacheTTL is the key's prompt-cache setting: "5m" or "1h" set
	// the TTL of its requests' cache points unless a request asks for its
	// own, "none" turns prompt caching off for the key whatever its
	// requests ask, and "" (the default) leaves both to the gateway's
	// PROMPT_CACHE_TTL and to each request.
	PromptCacheTTL string `json:"prompt_cache_ttl,omitempty"`
	// RevokedAt is set when the key was revoked; a revoked key never works again.
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	// LastUsedAt is updated asynchronously, at most about once a minute.
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	// Revision counts the changes made to the key (1 when created); an
	// update may be made conditional on it (APIKeyUpdate.IfRevision), so
	// two operators editing one key cannot silently overwrite each other.
	// Last-used times do not change it.
	Revision int64 `json:"revision"`
	// RotatedAt is when the secret was last replaced.
	RotatedAt time.Time `json:"rotated_at,omitzero"`
	// PreviousPrefix and PreviousUntil describe the secret a rotation
	// replaced: it keeps working until PreviousUntil, so that clients can
	// move to the new one without an outage. Zero when there is none.
	PreviousPrefix string    `json:"previous_prefix,omitempty"`
	PreviousUntil  time.Time `json:"previous_until,omitzero"`
	// ByPrevious is set on a key returned by APIKeyByHash for its previous
	// secret; Usable then also checks PreviousUntil. Never stored.
	ByPrevious bool `json:"-"`
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
	case k.ByPrevious && !now.Before(k.PreviousUntil):
		return false, "This API key was rotated: its previous secret no longer works; use the new one."
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
	case !ValidCacheSetting(k.PromptCacheTTL):
		return Errorf(EInvalid, "prompt cache ttl %q: want 5m, 1h, none or empty", k.PromptCacheTTL)
	}
	return nil
}

// Status is the key's state as shown to operators: "revoked", "disabled",
// "expired" or "active".
func (k *APIKey) Status(now time.Time) string {
	switch {
	case !k.RevokedAt.IsZero():
		return KeyRevoked
	case !k.Enabled:
		return KeyDisabled
	case !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt):
		return KeyExpired
	}
	return KeyActive
}

// Key statuses, as APIKey.Status reports them.
const (
	KeyActive   = "active"
	KeyDisabled = "disabled"
	KeyExpired  = "expired"
	KeyRevoked  = "revoked"
)

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
	PromptCacheTTL      *string    `json:"prompt_cache_ttl,omitempty"`
	// IfRevision, when not 0, makes the update conditional: it fails with
	// EPrecondition unless the stored key's Revision is IfRevision.
	IfRevision int64 `json:"-"`
}

// APIKeyRotation gives a key a new secret.
type APIKeyRotation struct {
	// Hash and Prefix are those of the new secret.
	Hash, Prefix string
	// At is when the rotation happens (RotatedAt).
	At time.Time
	// PreviousUntil keeps the replaced secret working until then; zero
	// ends it at once. A secret replaced earlier stops working either way:
	// a key has at most one previous secret.
	PreviousUntil time.Time
	// IfRevision, when not 0, fails the rotation with EPrecondition unless
	// the stored key's Revision is IfRevision.
	IfRevision int64
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
	if upd.PromptCacheTTL != nil {
		k.PromptCacheTTL = *upd.PromptCacheTTL
	}
}

// APIKeyStore keeps key records.
type APIKeyStore interface {
	// CreateAPIKey stores a new key with Revision 1. Returns EConflict if
	// the id or hash exists.
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// APIKeyByHash returns the key whose secret hashes to hash, the
	// request-path lookup. For the previous secret of a rotated key it
	// returns the key with ByPrevious set (Usable checks PreviousUntil).
	// Returns ENotFound if there is none.
	APIKeyByHash(ctx context.Context, hash string) (*APIKey, error)
	// APIKey returns a key by id. Returns ENotFound if there is none.
	APIKey(ctx context.Context, id string) (*APIKey, error)
	// ListAPIKeys returns every key, revoked ones included, newest first.
	ListAPIKeys(ctx context.Context) ([]*APIKey, error)
	// UpdateAPIKey applies upd, increments Revision and returns the new
	// record. Returns ENotFound, EInvalid if the result does not validate
	// and EPrecondition if upd.IfRevision does not match.
	UpdateAPIKey(ctx context.Context, id string, upd APIKeyUpdate) (*APIKey, error)
	// RevokeAPIKey marks the key revoked at t (its previous secret stops
	// too) and increments Revision; revoking a revoked key changes nothing.
	// Returns ENotFound.
	RevokeAPIKey(ctx context.Context, id string, t time.Time) error
	// RotateAPIKey gives the key a new secret, keeping its id, limits and
	// history, and increments Revision. Returns ENotFound, EConflict if the
	// key is revoked or the new hash belongs to a key, EInvalid and
	// EPrecondition.
	RotateAPIKey(ctx context.Context, id string, rot APIKeyRotation) (*APIKey, error)
	// TouchAPIKeys records last-used times, batched off the request path.
	TouchAPIKeys(ctx context.Context, lastUsed map[string]time.Time) error
}
