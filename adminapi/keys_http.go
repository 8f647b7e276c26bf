package adminapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/openai-api-convertor/convertor"
)

// KeyPath is the key id of a key URL.
type KeyPath struct {
	ID string `path:"id" maxLength:"100" doc:"The key id (key_...)"`
}

// IfMatch is the precondition of a key change.
type IfMatch struct {
	Value string `header:"If-Match" doc:"The key's ETag (its revision, such as \"3\"): the change is made only if the key is still at that revision, else 412. * or absent: unconditional."`
}

// revision parses If-Match: "3", W/"3" and * (any).
func (m IfMatch) revision() (int64, error) {
	v := strings.TrimSpace(m.Value)
	if v == "" || v == "*" {
		return 0, nil
	}
	v = strings.TrimPrefix(v, "W/")
	n, err := strconv.ParseInt(strings.Trim(v, `"`), 10, 64)
	if err != nil || n <= 0 || !strings.HasPrefix(v, `"`) || !strings.HasSuffix(v, `"`) {
		return 0, convertor.ParamErrorf("header.If-Match", "If-Match %q: want the key's ETag, such as \"3\"", truncate(m.Value, 40))
	}
	return n, nil
}

func etag(v *KeyView) string { return `"` + strconv.FormatInt(v.Revision, 10) + `"` }

type keyOutput struct {
	ETag string `header:"ETag" doc:"The key's revision"`
	Body *KeyView
}

type keyCreateBody struct {
	Name          string     `json:"name" minLength:"1" maxLength:"200" doc:"A name people recognise the key by"`
	Owner         string     `json:"owner,omitempty" maxLength:"200" doc:"Who the key belongs to"`
	Enabled       *bool      `json:"enabled,omitempty" doc:"Default true"`
	ExpiresAt     *time.Time `json:"expires_at,omitempty" doc:"When the key stops working; absent: never"`
	AllowedModels []string   `json:"allowed_models,omitempty" maxItems:"200" doc:"Model names the key may use; empty: every model"`
	RPM           int64      `json:"rpm,omitempty" minimum:"0" doc:"Requests per minute; 0: the gateway's default"`
	TPM           int64      `json:"tpm,omitempty" minimum:"0" doc:"Tokens per minute; 0: the gateway's default"`
	// MonthlyBudgetMicros is whole micro-dollars: a fraction is refused.
	MonthlyBudgetMicros int64  `json:"monthly_budget_micros,omitempty" minimum:"0" doc:"Spend limit per UTC month in whole micro-dollars (12500000 = $12.50); 0: none"`
	PromptCacheTTL      string `json:"prompt_cache_ttl,omitempty" enum:"5m,1h,none" doc:"Prompt-cache TTL of the key's requests unless a request sets its own; none: no prompt caching for the key; absent: the gateway's PROMPT_CACHE_TTL"`
}

// KeySecret is a key with its secret, the only time the secret is shown.
type KeySecret struct {
	Key    *KeyView `json:"key"`
	Secret string   `json:"secret" doc:"The key's secret. It is shown only in this response: store it now."`
	// Note says when the change is in force on every gateway.
	Note string `json:"note"`
}

type keySecretOutput struct {
	ETag     string `header:"ETag"`
	Location string `header:"Location"`
	Body     *KeySecret
}

type keyPatchBody struct {
	Name          *string    `json:"name,omitempty" minLength:"1" maxLength:"200"`
	Owner         *string    `json:"owner,omitempty" maxLength:"200"`
	Enabled       *bool      `json:"enabled,omitempty"`
	ExpiresAt     *time.Time `json:"expires_at,omitempty" nullable:"true" doc:"null removes the expiry"`
	AllowedModels []string   `json:"allowed_models,omitempty" maxItems:"200" doc:"The full new list; [] or null: every model"`
	RPM           *int64     `json:"rpm,omitempty" minimum:"0"`
	TPM           *int64     `json:"tpm,omitempty" minimum:"0"`
	// MonthlyBudgetMicros is whole micro-dollars.
	MonthlyBudgetMicros *int64  `json:"monthly_budget_micros,omitempty" minimum:"0" doc:"Whole micro-dollars; 0 removes the budget"`
	PromptCacheTTL      *string `json:"prompt_cache_ttl,omitempty" maxLength:"4" doc:"5m, 1h or none; an empty string goes back to the gateway's PROMPT_CACHE_TTL"`
}

type rotateBody struct {
	GraceSeconds int64 `json:"grace_seconds,omitempty" minimum:"0" maximum:"604800" doc:"How long the replaced secret keeps working, in seconds (at most 7 days); 0: it stops at once"`
}

// KeyList is a page of keys.
type KeyList struct {
	Keys       []*KeyView `json:"keys"`
	NextCursor string     `json:"next_cursor,omitempty" doc:"Pass as cursor for the next page; absent on the last page"`
}

func (s *Server) keyNote() string {
	return "In force on every gateway within " + s.cfg.KeyCacheTTL.String() + " (KEY_CACHE_TTL)."
}

func (s *Server) registerKeys() {
	write := map[string]any{metaWrite: true}
	op(s, huma.Operation{
		OperationID: "list-keys", Method: http.MethodGet, Path: "/api/keys", Tags: []string{"Keys"},
		Summary:     "List keys",
		Description: "Newest first, each with its month-to-date spend. Never shows a secret.",
		Errors:      []int{http.StatusBadRequest},
	}, func(ctx context.Context, in *struct {
		Q      string `query:"q" maxLength:"200" doc:"Matches part of the name, owner, prefix or id, ignoring case"`
		Status string `query:"status" enum:"active,disabled,expired,revoked" doc:"Only keys in this status"`
		Limit  int    `query:"limit" minimum:"1" maximum:"500" doc:"Page size, default 50"`
		Cursor string `query:"cursor" maxLength:"2048" doc:"next_cursor of the previous page"`
	}) (*struct{ Body KeyList }, error) {
		keys, next, err := s.svc.Keys(ctx, KeyQuery{Search: in.Q, Status: in.Status, Limit: in.Limit, Cursor: in.Cursor})
		if err != nil {
			return nil, err
		}
		return &struct{ Body KeyList }{KeyList{Keys: keys, NextCursor: next}}, nil
	})

	op(s, huma.Operation{
		OperationID: "create-key", Method: http.MethodPost, Path: "/api/keys", Tags: []string{"Keys"},
		Summary:       "Create a key",
		Description:   "Returns the secret in this response only; only its hash is stored.",
		DefaultStatus: http.StatusCreated, Metadata: write,
		Errors: []int{http.StatusBadRequest},
	}, func(ctx context.Context, in *struct{ Body keyCreateBody }) (*keySecretOutput, error) {
		b := in.Body
		k := KeyInput{
			Name: b.Name, Owner: b.Owner, Enabled: b.Enabled == nil || *b.Enabled, AllowedModels: b.AllowedModels,
			RPM: b.RPM, TPM: b.TPM, MonthlyBudgetMicros: b.MonthlyBudgetMicros, PromptCacheTTL: b.PromptCacheTTL,
		}
		if b.ExpiresAt != nil {
			k.ExpiresAt = *b.ExpiresAt
		}
		secret, v, err := s.svc.CreateKey(ctx, actor(ctx), k)
		if err != nil {
			return nil, err
		}
		return &keySecretOutput{ETag: etag(v), Location: "/api/keys/" + v.ID, Body: &KeySecret{Key: v, Secret: secret, Note: s.keyNote()}}, nil
	})

	op(s, huma.Operation{
		OperationID: "get-key", Method: http.MethodGet, Path: "/api/keys/{id}", Tags: []string{"Keys"},
		Summary: "Get a key", Description: "With its month-to-date spend, budget and last use.",
		Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *KeyPath) (*keyOutput, error) {
		v, err := s.svc.Key(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		return &keyOutput{ETag: etag(v), Body: v}, nil
	})

	op(s, huma.Operation{
		OperationID: "update-key", Method: http.MethodPatch, Path: "/api/keys/{id}", Tags: []string{"Keys"},
		Summary: "Change a key",
		Description: "Sets the fields given; the others stay. Send If-Match with the key's ETag so that a change made " +
			"meanwhile by someone else is not overwritten (412). Revoked keys cannot be changed (409).",
		Metadata: write,
		Errors:   []int{http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusPreconditionFailed},
	}, func(ctx context.Context, in *struct {
		KeyPath
		IfMatch
		Body    keyPatchBody
		RawBody []byte
	}) (*keyOutput, error) {
		rev, err := in.revision()
		if err != nil {
			return nil, err
		}
		c, err := keyChange(in.Body, in.RawBody)
		if err != nil {
			return nil, err
		}
		c.IfRevision = rev
		v, err := s.svc.UpdateKey(ctx, actor(ctx), in.ID, c)
		if err != nil {
			return nil, err
		}
		return &keyOutput{ETag: etag(v), Body: v}, nil
	})

	op(s, huma.Operation{
		OperationID: "rotate-key", Method: http.MethodPost, Path: "/api/keys/{id}/rotate", Tags: []string{"Keys"},
		Summary: "Give a key a new secret",
		Description: "Returns the new secret once. With grace_seconds the replaced secret keeps working that long, " +
			"so clients can move without an outage; a key has at most one previous secret.",
		Metadata: write,
		Errors:   []int{http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusPreconditionFailed},
	}, func(ctx context.Context, in *struct {
		KeyPath
		IfMatch
		Body *rotateBody
	}) (*keySecretOutput, error) {
		rev, err := in.revision()
		if err != nil {
			return nil, err
		}
		var grace time.Duration
		if in.Body != nil {
			grace = time.Duration(in.Body.GraceSeconds) * time.Second
		}
		secret, v, err := s.svc.RotateKey(ctx, actor(ctx), in.ID, grace, rev)
		if err != nil {
			return nil, err
		}
		return &keySecretOutput{ETag: etag(v), Location: "/api/keys/" + v.ID, Body: &KeySecret{Key: v, Secret: secret, Note: s.keyNote()}}, nil
	})

	op(s, huma.Operation{
		OperationID: "revoke-key", Method: http.MethodPost, Path: "/api/keys/{id}/revoke", Tags: []string{"Keys"},
		Summary:     "Revoke a key for good",
		Description: "Its secrets stop working on every gateway within KEY_CACHE_TTL. Revoking a revoked key changes nothing.",
		Metadata:    write,
		Errors:      []int{http.StatusNotFound, http.StatusPreconditionFailed},
	}, func(ctx context.Context, in *struct {
		KeyPath
		IfMatch
	}) (*keyOutput, error) {
		rev, err := in.revision()
		if err != nil {
			return nil, err
		}
		v, err := s.svc.RevokeKey(ctx, actor(ctx), in.ID, rev)
		if err != nil {
			return nil, err
		}
		return &keyOutput{ETag: etag(v), Body: v}, nil
	})
}

// keyChange turns a PATCH body into a KeyChange: raw says which fields
// were present, so that null (remove the expiry, allow every model) and
// absent (leave alone) differ.
func keyChange(b keyPatchBody, raw []byte) (KeyChange, error) {
	var present map[string]json.RawMessage
	if err := json.Unmarshal(raw, &present); err != nil {
		return KeyChange{}, convertor.Errorf(convertor.EInvalid, "body: want a JSON object")
	}
	c := KeyChange{Name: b.Name, Owner: b.Owner, Enabled: b.Enabled, RPM: b.RPM, TPM: b.TPM, MonthlyBudgetMicros: b.MonthlyBudgetMicros, PromptCacheTTL: b.PromptCacheTTL}
	for _, f := range []string{"name", "owner", "enabled", "rpm", "tpm", "monthly_budget_micros", "prompt_cache_ttl"} {
		if v, ok := present[f]; ok && string(v) == "null" {
			return KeyChange{}, convertor.ParamErrorf(f, "%s may not be null", f)
		}
	}
	if _, ok := present["expires_at"]; ok {
		t := time.Time{}
		if b.ExpiresAt != nil {
			t = *b.ExpiresAt
		}
		c.ExpiresAt = &t
	}
	if _, ok := present["allowed_models"]; ok {
		m := b.AllowedModels
		if m == nil {
			m = []string{}
		}
		c.AllowedModels = &m
	}
	return c, nil
}
