package adminapi

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/keygen"
)

// Limits of key fields. They catch typos (an RPM with three zeros too
// many) rather than constrain anyone: each is far above real use.
const (
	maxKeyNameLen     = 200
	maxAllowedModels  = 200
	maxRatePerMinute  = 1_000_000_000             // RPM and TPM
	maxBudgetMicros   = 1_000_000_000 * 1_000_000 // $1 billion a month
	maxRotationGrace  = 7 * 24 * time.Hour
	spendReadParallel = 8
)

// KeyView is a key as operators see it: everything but its secret and
// hash, with its month-to-date spend when it was read.
type KeyView struct {
	ID            string    `json:"id" doc:"Stable key id (key_...)"`
	Prefix        string    `json:"prefix" doc:"First characters of the secret, for telling keys apart"`
	Name          string    `json:"name"`
	Owner         string    `json:"owner"`
	Status        string    `json:"status" enum:"active,disabled,expired,revoked"`
	Enabled       bool      `json:"enabled" doc:"Whether the key is switched on; always false for a revoked key, which can never be enabled again"`
	CreatedAt     time.Time `json:"created_at"`
	ExpiresAt     time.Time `json:"expires_at,omitzero" doc:"Absent when the key never expires"`
	RevokedAt     time.Time `json:"revoked_at,omitzero"`
	LastUsedAt    time.Time `json:"last_used_at,omitzero" doc:"Updated about once a minute"`
	AllowedModels []string  `json:"allowed_models" doc:"Model names the key may use; empty means every model"`
	RPM           int64     `json:"rpm" doc:"Requests per minute; 0 means the gateway's default"`
	TPM           int64     `json:"tpm" doc:"Tokens per minute; 0 means the gateway's default"`
	// MonthlyBudgetMicros is the spend limit per UTC calendar month.
	MonthlyBudgetMicros int64     `json:"monthly_budget_micros" doc:"Spend limit per UTC calendar month in micro-dollars; 0 means none"`
	PromptCacheTTL      string    `json:"prompt_cache_ttl,omitempty" enum:"5m,1h,none" doc:"Prompt-cache TTL of the key's requests (5m or 1h) unless a request sets its own; none turns prompt caching off for the key; absent: the gateway's PROMPT_CACHE_TTL"`
	Revision            int64     `json:"revision" doc:"Counts changes; send it as If-Match to make a change conditional"`
	RotatedAt           time.Time `json:"rotated_at,omitzero"`
	PreviousPrefix      string    `json:"previous_prefix,omitempty" doc:"Prefix of the secret the last rotation replaced"`
	PreviousUntil       time.Time `json:"previous_until,omitzero" doc:"The replaced secret works until then"`
	// MonthSpendMicros and BudgetResetsAt are read from the roll-ups; nil
	// in audit entries, where they are not part of the key.
	MonthSpendMicros *int64    `json:"month_spend_micros,omitempty" doc:"Spend so far this UTC month in micro-dollars"`
	BudgetResetsAt   time.Time `json:"budget_resets_at,omitzero" doc:"Start of the next UTC month, when the month's spend starts again from 0"`
}

func keyView(k *convertor.APIKey, now time.Time) *KeyView {
	v := &KeyView{
		ID: k.ID, Prefix: k.Prefix, Name: k.Name, Owner: k.Owner, Status: k.Status(now), Enabled: k.Enabled,
		CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, RevokedAt: k.RevokedAt, LastUsedAt: k.LastUsedAt,
		AllowedModels: slices.Clone(k.AllowedModels), RPM: k.RPM, TPM: k.TPM,
		MonthlyBudgetMicros: k.MonthlyBudgetMicros, PromptCacheTTL: k.PromptCacheTTL, Revision: k.Revision,
		RotatedAt: k.RotatedAt, PreviousPrefix: k.PreviousPrefix, PreviousUntil: k.PreviousUntil,
	}
	if v.AllowedModels == nil {
		v.AllowedModels = []string{}
	}
	// Revoking leaves the stored switch as it was; a revoked key is off
	// for good, and showing it enabled would say otherwise.
	if !k.RevokedAt.IsZero() {
		v.Enabled = false
	}
	// A previous secret past its time is history, not state.
	if !k.PreviousUntil.After(now) {
		v.PreviousPrefix, v.PreviousUntil = "", time.Time{}
	}
	return v
}

// KeyInput is what an operator sets on a new key.
type KeyInput struct {
	Name                string
	Owner               string
	Enabled             bool
	ExpiresAt           time.Time
	AllowedModels       []string
	RPM, TPM            int64
	MonthlyBudgetMicros int64
	// PromptCacheTTL is "", "5m", "1h" or "none" (APIKey.PromptCacheTTL).
	PromptCacheTTL string
}

// CreateKey makes a key and returns its secret, which exists nowhere else
// afterwards: only its hash is stored. Returns EInvalid naming the field.
func (s *Service) CreateKey(ctx context.Context, a Actor, in KeyInput) (secret string, v *KeyView, err error) {
	now := s.now().UTC()
	in.Name, in.Owner = strings.TrimSpace(in.Name), strings.TrimSpace(in.Owner)
	if err := checkKeyFields(&in.Name, &in.Owner, &in.AllowedModels, &in.RPM, &in.TPM, &in.MonthlyBudgetMicros); err != nil {
		return "", nil, err
	}
	if in.Name == "" {
		return "", nil, convertor.ParamErrorf("name", "name is required")
	}
	if err := checkCacheTTL(&in.PromptCacheTTL); err != nil {
		return "", nil, err
	}
	if !in.ExpiresAt.IsZero() && !in.ExpiresAt.After(now) {
		return "", nil, convertor.ParamErrorf("expires_at", "expires_at %s is not in the future", in.ExpiresAt.UTC().Format(time.RFC3339))
	}
	secret, k := keygen.New()
	k.Name, k.Owner, k.Enabled, k.CreatedAt = in.Name, in.Owner, in.Enabled, now
	k.ExpiresAt, k.AllowedModels = in.ExpiresAt.UTC(), in.AllowedModels
	k.RPM, k.TPM, k.MonthlyBudgetMicros = in.RPM, in.TPM, in.MonthlyBudgetMicros
	k.PromptCacheTTL = in.PromptCacheTTL
	if err := s.d.Keys.CreateAPIKey(ctx, k); err != nil {
		return "", nil, fmt.Errorf("create key: %w", err)
	}
	k.Revision = max(k.Revision, 1)
	v = keyView(k, now)
	s.audit(ctx, a, convertor.AuditKeyCreate, "key", k.ID, nil, v)
	return secret, s.withSpend(ctx, v), nil
}

// checkKeyFields validates the fields a create or an update sets; nil
// pointers are not being set.
func checkKeyFields(name, owner *string, models *[]string, rpm, tpm, budget *int64) error {
	if name != nil {
		if err := checkText("name", *name, maxKeyNameLen); err != nil {
			return err
		}
	}
	if owner != nil {
		if err := checkText("owner", *owner, maxKeyNameLen); err != nil {
			return err
		}
	}
	if models != nil {
		if len(*models) > maxAllowedModels {
			return convertor.ParamErrorf("allowed_models", "at most %d allowed models", maxAllowedModels)
		}
		seen := make(map[string]bool, len(*models))
		out := make([]string, 0, len(*models))
		for i, m := range *models {
			m = strings.TrimSpace(m)
			if err := convertor.ValidateModelName(fmt.Sprintf("allowed_models[%d]", i), m); err != nil {
				return err
			}
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
		*models = out
	}
	for _, f := range []struct {
		name string
		v    *int64
		max  int64
	}{{"rpm", rpm, maxRatePerMinute}, {"tpm", tpm, maxRatePerMinute}, {"monthly_budget_micros", budget, maxBudgetMicros}} {
		switch {
		case f.v == nil:
		case *f.v < 0:
			return convertor.ParamErrorf(f.name, "%s must not be negative", f.name)
		case *f.v > f.max:
			return convertor.ParamErrorf(f.name, "%s %d is above the maximum %d", f.name, *f.v, f.max)
		}
	}
	return nil
}

// checkText refuses text too long or with control characters, which
// would garble tables, CSV and logs.
func checkText(param, s string, maxLen int) error {
	if len(s) > maxLen {
		return convertor.ParamErrorf(param, "%s is longer than %d characters", param, maxLen)
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return convertor.ParamErrorf(param, "%s must not contain control characters", param)
	}
	return nil
}

// Key returns one key with its month-to-date spend. Returns ENotFound.
func (s *Service) Key(ctx context.Context, id string) (*KeyView, error) {
	k, err := s.d.Keys.APIKey(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.withSpend(ctx, keyView(k, s.now())), nil
}

// withSpend adds the key's month-to-date spend. A failed read leaves it
// out rather than failing the page: the key itself was read.
func (s *Service) withSpend(ctx context.Context, v *KeyView) *KeyView {
	now := s.now().UTC()
	spend, err := s.d.Stats.MonthSpend(ctx, v.ID, now)
	if err != nil {
		s.log.Warn("month spend not read", "key_id", v.ID, "error", err)
		return v
	}
	v.MonthSpendMicros = &spend
	v.BudgetResetsAt = time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	return v
}

// KeyQuery selects a page of keys.
type KeyQuery struct {
	// Search matches, case-insensitively, part of the name, owner, prefix
	// or id.
	Search string
	// Status keeps only keys in that status (KeyActive, ...); "" keeps all.
	Status string
	Limit  int
	Cursor string
}

// Keys returns a page of keys, newest first, each with its month-to-date
// spend, and the cursor of the next page ("" at the end). Returns EInvalid
// for a status, limit or cursor that is not valid.
func (s *Service) Keys(ctx context.Context, q KeyQuery) ([]*KeyView, string, error) {
	limit, err := pageLimit("limit", q.Limit)
	if err != nil {
		return nil, "", err
	}
	switch q.Status {
	case "", convertor.KeyActive, convertor.KeyDisabled, convertor.KeyExpired, convertor.KeyRevoked:
	default:
		return nil, "", convertor.ParamErrorf("query.status", "status %q: want active, disabled, expired or revoked", q.Status)
	}
	var after *keyPosition
	if q.Cursor != "" {
		p, err := decodeKeyCursor(q.Cursor)
		if err != nil {
			return nil, "", err
		}
		after = &p
	}
	all, err := s.d.Keys.ListAPIKeys(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("list keys: %w", err)
	}
	now := s.now()
	search := strings.ToLower(strings.TrimSpace(q.Search))
	var page []*KeyView
	next := ""
	for _, k := range all {
		if after != nil && !after.before(k) {
			continue
		}
		if q.Status != "" && k.Status(now) != q.Status || search != "" && !matches(k, search) {
			continue
		}
		if len(page) == limit {
			last := page[len(page)-1]
			next = encodeKeyCursor(keyPosition{created: last.CreatedAt, id: last.ID})
			break
		}
		page = append(page, keyView(k, now))
	}
	s.addSpends(ctx, page)
	if page == nil {
		page = []*KeyView{}
	}
	return page, next, nil
}

func matches(k *convertor.APIKey, search string) bool {
	for _, f := range []string{k.Name, k.Owner, k.Prefix, k.ID} {
		if strings.Contains(strings.ToLower(f), search) {
			return true
		}
	}
	return false
}

// addSpends reads the month spends of a page of keys, a few at a time.
func (s *Service) addSpends(ctx context.Context, vs []*KeyView) {
	sem := make(chan struct{}, spendReadParallel)
	var wg sync.WaitGroup
	for _, v := range vs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			s.withSpend(ctx, v)
		})
	}
	wg.Wait()
}

// keyPosition is where a page of keys ended, in the store's order: newest
// first by creation time, then by id descending.
type keyPosition struct {
	created time.Time
	id      string
}

// before reports whether k comes after p in the list order.
func (p keyPosition) before(k *convertor.APIKey) bool {
	if c := p.created.Compare(k.CreatedAt); c != 0 {
		return c > 0
	}
	return cmp.Compare(p.id, k.ID) > 0
}

func encodeKeyCursor(p keyPosition) string {
	return encodeCursor("k", p.created.UTC().Format(time.RFC3339Nano), p.id)
}

func decodeKeyCursor(s string) (keyPosition, error) {
	f, err := decodeCursor(s, "k", 2)
	if err != nil {
		return keyPosition{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, f[0])
	if err != nil {
		return keyPosition{}, errBadCursor()
	}
	return keyPosition{created: t, id: f[1]}, nil
}

// KeyChange is what an update sets; nil fields stay as they are.
type KeyChange struct {
	Name                *string
	Owner               *string
	Enabled             *bool
	ExpiresAt           *time.Time // a zero time removes the expiry
	AllowedModels       *[]string
	RPM, TPM            *int64
	MonthlyBudgetMicros *int64
	// PromptCacheTTL is "5m", "1h", "none", or "" to go back to the
	// gateway's default.
	PromptCacheTTL *string
	// IfRevision makes the update conditional (0: unconditional).
	IfRevision int64
}

func (c *KeyChange) empty() bool {
	return c.Name == nil && c.Owner == nil && c.Enabled == nil && c.ExpiresAt == nil && c.AllowedModels == nil &&
		c.RPM == nil && c.TPM == nil && c.MonthlyBudgetMicros == nil && c.PromptCacheTTL == nil
}

// UpdateKey changes a key. Revoked keys cannot be changed. Returns
// ENotFound, EInvalid naming the field, EConflict for a revoked key and
// EPrecondition when IfRevision is not the key's revision.
func (s *Service) UpdateKey(ctx context.Context, a Actor, id string, c KeyChange) (*KeyView, error) {
	if c.empty() {
		return nil, convertor.Errorf(convertor.EInvalid, "nothing to change: set at least one of name, owner, enabled, expires_at, allowed_models, rpm, tpm, monthly_budget_micros, prompt_cache_ttl")
	}
	if c.Name != nil {
		n := strings.TrimSpace(*c.Name)
		if n == "" {
			return nil, convertor.ParamErrorf("name", "name must not be empty")
		}
		c.Name = &n
	}
	if c.Owner != nil {
		o := strings.TrimSpace(*c.Owner)
		c.Owner = &o
	}
	if err := checkKeyFields(c.Name, c.Owner, c.AllowedModels, c.RPM, c.TPM, c.MonthlyBudgetMicros); err != nil {
		return nil, err
	}
	if err := checkCacheTTL(c.PromptCacheTTL); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	if c.ExpiresAt != nil && !c.ExpiresAt.IsZero() && !c.ExpiresAt.After(now) {
		return nil, convertor.ParamErrorf("expires_at", "expires_at %s is not in the future", c.ExpiresAt.UTC().Format(time.RFC3339))
	}
	old, err := s.d.Keys.APIKey(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := checkRevision(old, c.IfRevision); err != nil {
		return nil, err
	}
	if !old.RevokedAt.IsZero() {
		return nil, convertor.Errorf(convertor.EConflict, "api key %s is revoked; a revoked key cannot be changed", id)
	}
	upd := convertor.APIKeyUpdate{
		Name: c.Name, Owner: c.Owner, Enabled: c.Enabled, AllowedModels: c.AllowedModels,
		RPM: c.RPM, TPM: c.TPM, MonthlyBudgetMicros: c.MonthlyBudgetMicros, PromptCacheTTL: c.PromptCacheTTL,
		// Conditional on what was checked above, so that a change made
		// meanwhile is not overwritten either.
		IfRevision: old.Revision,
	}
	if c.ExpiresAt != nil {
		t := c.ExpiresAt.UTC()
		upd.ExpiresAt = &t
	}
	k, err := s.d.Keys.UpdateAPIKey(ctx, id, upd)
	if err != nil {
		return nil, err
	}
	v := keyView(k, now)
	s.audit(ctx, a, convertor.AuditKeyUpdate, "key", id, keyView(old, now), v)
	return s.withSpend(ctx, v), nil
}

// checkRevision fails with EPrecondition unless want is 0 or k's revision.
func checkRevision(k *convertor.APIKey, want int64) error {
	if want != 0 && k.Revision != want {
		return convertor.Errorf(convertor.EPrecondition, "api key %s is at revision %d, not %d: it changed since it was read; read it again and retry", k.ID, k.Revision, want)
	}
	return nil
}

// RotateKey gives a key a new secret, returned once. The replaced secret
// keeps working for grace (at most 7 days; 0 ends it at once). Returns
// ENotFound, EInvalid, EConflict for a revoked key and EPrecondition.
func (s *Service) RotateKey(ctx context.Context, a Actor, id string, grace time.Duration, ifRevision int64) (secret string, v *KeyView, err error) {
	if grace < 0 || grace > maxRotationGrace {
		return "", nil, convertor.ParamErrorf("grace_seconds", "grace period must be between 0 and %d seconds (7 days)", int64(maxRotationGrace/time.Second))
	}
	old, err := s.d.Keys.APIKey(ctx, id)
	if err != nil {
		return "", nil, err
	}
	if err := checkRevision(old, ifRevision); err != nil {
		return "", nil, err
	}
	if !old.RevokedAt.IsZero() {
		return "", nil, convertor.Errorf(convertor.EConflict, "api key %s is revoked; a revoked key cannot be rotated", id)
	}
	now := s.now().UTC()
	secret = keygen.NewSecret()
	rot := convertor.APIKeyRotation{
		Hash: convertor.HashAPIKey(secret), Prefix: keygen.Prefix(secret), At: now, IfRevision: old.Revision,
	}
	if grace > 0 {
		rot.PreviousUntil = now.Add(grace)
	}
	k, err := s.d.Keys.RotateAPIKey(ctx, id, rot)
	if err != nil {
		return "", nil, err
	}
	v = keyView(k, now)
	s.audit(ctx, a, convertor.AuditKeyRotate, "key", id, keyView(old, now), v)
	return secret, s.withSpend(ctx, v), nil
}

// RevokeKey ends a key for good, its previous secret included. Revoking a
// revoked key changes nothing and is not audited again. Returns ENotFound
// and EPrecondition.
func (s *Service) RevokeKey(ctx context.Context, a Actor, id string, ifRevision int64) (*KeyView, error) {
	old, err := s.d.Keys.APIKey(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := checkRevision(old, ifRevision); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	if !old.RevokedAt.IsZero() {
		return s.withSpend(ctx, keyView(old, now)), nil
	}
	if err := s.d.Keys.RevokeAPIKey(ctx, id, now); err != nil {
		return nil, err
	}
	k, err := s.d.Keys.APIKey(ctx, id)
	if err != nil {
		return nil, err
	}
	v := keyView(k, now)
	s.audit(ctx, a, convertor.AuditKeyRevoke, "key", id, keyView(old, now), v)
	return s.withSpend(ctx, v), nil
}

// checkCacheTTL checks a key's prompt_cache_ttl; nil is not being set.
func checkCacheTTL(ttl *string) error {
	if ttl != nil && !convertor.ValidCacheSetting(*ttl) {
		return convertor.ParamErrorf("prompt_cache_ttl", "prompt_cache_ttl must be 5m, 1h, none or empty, not %q", *ttl)
	}
	return nil
}
