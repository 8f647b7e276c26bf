package convertor

import (
	"context"
	"encoding/json"
	"time"
)

// Audit actions: what an admin change did.
const (
	AuditKeyCreate   = "key.create"
	AuditKeyUpdate   = "key.update"
	AuditKeyRotate   = "key.rotate"
	AuditKeyRevoke   = "key.revoke"
	AuditRoutePut    = "route.put"
	AuditRouteDelete = "route.delete"
	AuditPriceCreate = "price.create"
)

// AuditEntry records one admin change: who, what, when, and the resource
// before and after. Before and After never hold a secret or a key hash.
type AuditEntry struct {
	// ID is a ULID: unique, and in time order.
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
	// Actor names who made the change (a Cognito user, "admin token",
	// a CLI user); ActorRole their role and AuthMode how they signed in
	// ("cognito", "token", "none", "cli").
	Actor     string `json:"actor"`
	ActorRole string `json:"actor_role,omitempty"`
	AuthMode  string `json:"auth_mode"`
	// Action is one of the Audit* constants.
	Action string `json:"action"`
	// Resource is "key", "route" or "price"; ResourceID its id (a key id,
	// a route's model name, "<model>#<route>#<effective_from>").
	Resource   string `json:"resource"`
	ResourceID string `json:"resource_id"`
	// Before and After are the resource as JSON; Before is empty for a
	// creation, After for a deletion.
	Before json.RawMessage `json:"before,omitempty"`
	After  json.RawMessage `json:"after,omitempty"`
	// RequestID is the admin API request that made the change.
	RequestID string `json:"request_id,omitempty"`
}

// Validate checks what the audit log relies on. Returns EInvalid.
func (e *AuditEntry) Validate() error {
	switch {
	case e.ID == "":
		return Errorf(EInvalid, "audit entry id required")
	case e.Time.IsZero():
		return Errorf(EInvalid, "audit entry %s: time required", e.ID)
	case e.Actor == "" || e.AuthMode == "":
		return Errorf(EInvalid, "audit entry %s: actor and auth mode required", e.ID)
	case e.Action == "" || e.Resource == "" || e.ResourceID == "":
		return Errorf(EInvalid, "audit entry %s: action and resource required", e.ID)
	case len(e.Before) > 0 && !json.Valid(e.Before), len(e.After) > 0 && !json.Valid(e.After):
		// Stored as is, it would break every later listing that marshals it.
		return Errorf(EInvalid, "audit entry %s: before and after must be JSON", e.ID)
	}
	return nil
}

// AuditFilter selects audit entries: Time in [From, To) (zero: unbounded)
// and, when set, exactly the given actor, action, resource and resource id.
type AuditFilter struct {
	From, To   time.Time
	Actor      string
	Action     string
	Resource   string
	ResourceID string
	// Limit is the page size (at most MaxPageSize; 0 means DefaultPageSize).
	Limit int
	// Cursor continues a previous page; "" starts at the newest entry.
	Cursor string
}

// Page sizes of every paged list.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// AuditStore keeps the audit log.
type AuditStore interface {
	// PutAudit stores e; storing an entry with the same ID again changes
	// nothing. Returns EInvalid if e does not validate.
	PutAudit(ctx context.Context, e *AuditEntry) error
	// Audit returns the entries matching f, newest first, at most f.Limit,
	// and a cursor for the next page ("" when there is none). Returns
	// EInvalid for a cursor it did not issue.
	Audit(ctx context.Context, f AuditFilter) (entries []*AuditEntry, next string, err error)
}
