package memstore

import (
	"bytes"
	"cmp"
	"context"
	"slices"
	"sync"

	"github.com/openai-api-convertor/convertor"
)

var _ convertor.AuditStore = (*AuditStore)(nil)

// AuditStore is an in-memory convertor.AuditStore, safe for concurrent
// use. Entries go in and come out as copies.
type AuditStore struct {
	mu   sync.Mutex
	byID map[string]*convertor.AuditEntry // s.mu must be held
}

// NewAuditStore returns an empty store.
func NewAuditStore() *AuditStore {
	return &AuditStore{byID: make(map[string]*convertor.AuditEntry)}
}

// PutAudit stores a copy of e unless an entry with its id exists, in which
// case it changes nothing. Returns EInvalid if e does not validate.
func (s *AuditStore) PutAudit(ctx context.Context, e *convertor.AuditEntry) error {
	if err := e.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byID[e.ID]; !ok {
		s.byID[e.ID] = cloneAudit(e)
	}
	return nil
}

// Audit returns the entries matching f, newest first (ties by id,
// descending). Returns EInvalid for a limit out of range or a cursor it
// did not issue.
func (s *AuditStore) Audit(ctx context.Context, f convertor.AuditFilter) ([]*convertor.AuditEntry, string, error) {
	limit, err := convertor.PageLimit(f.Limit)
	if err != nil {
		return nil, "", err
	}
	pos, err := decodeCursor(auditCursor, f.Cursor)
	if err != nil {
		return nil, "", err
	}
	s.mu.Lock()
	var out []*convertor.AuditEntry
	for _, e := range s.byID {
		if matches(e, f) && pos.after(e.Time, e.ID) {
			out = append(out, cloneAudit(e))
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b *convertor.AuditEntry) int {
		return cmp.Or(b.Time.Compare(a.Time), cmp.Compare(b.ID, a.ID))
	})
	if len(out) <= limit {
		return out, "", nil
	}
	out = out[:limit]
	last := out[limit-1]
	return out, encodeCursor(auditCursor, last.Time, last.ID), nil
}

// matches reports whether e passes f's time range and exact-match filters.
func matches(e *convertor.AuditEntry, f convertor.AuditFilter) bool {
	eq := func(filter, v string) bool { return filter == "" || filter == v }
	return inRange(e.Time, f.From, f.To) && eq(f.Actor, e.Actor) && eq(f.Action, e.Action) &&
		eq(f.Resource, e.Resource) && eq(f.ResourceID, e.ResourceID)
}

func cloneAudit(e *convertor.AuditEntry) *convertor.AuditEntry {
	c := *e
	c.Before, c.After = bytes.Clone(e.Before), bytes.Clone(e.After)
	return &c
}
