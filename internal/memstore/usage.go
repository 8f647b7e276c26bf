package memstore

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/openai-api-convertor/convertor"
)

var _ convertor.UsageStore = (*UsageStore)(nil)

// usagePageSize is how many records one Usage callback gets, about what a
// DynamoDB page of usage items holds.
const usagePageSize = 1000

// UsageStore is an in-memory convertor.UsageStore, safe for concurrent use.
// Records go in and come out as copies.
type UsageStore struct {
	mu   sync.Mutex
	byID map[string]*convertor.UsageRecord // s.mu must be held
}

// NewUsageStore returns an empty store.
func NewUsageStore() *UsageStore {
	return &UsageStore{byID: make(map[string]*convertor.UsageRecord)}
}

// PutUsage stores a copy of r unless a record with its ID exists; stored
// is false for such a duplicate. Returns EInvalid if r's event does not
// validate.
func (s *UsageStore) PutUsage(ctx context.Context, r *convertor.UsageRecord) (stored bool, err error) {
	if err := r.Validate(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byID[r.ID]; ok {
		return false, nil
	}
	c := *r
	s.byID[r.ID] = &c
	return true, nil
}

// Usage calls fn with the records with from <= Time < to, of keyID only
// unless it is empty, oldest first (ties by ID), in pages.
func (s *UsageStore) Usage(ctx context.Context, from, to time.Time, keyID string, fn func([]*convertor.UsageRecord) error) error {
	s.mu.Lock()
	var recs []*convertor.UsageRecord
	for _, r := range s.byID {
		if r.Time.Before(from) || !r.Time.Before(to) || (keyID != "" && r.KeyID != keyID) {
			continue
		}
		c := *r
		recs = append(recs, &c)
	}
	s.mu.Unlock()
	slices.SortFunc(recs, func(a, b *convertor.UsageRecord) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.ID, b.ID))
	})
	for page := range slices.Chunk(recs, usagePageSize) {
		if err := ctx.Err(); err != nil {
			return convertor.Errorf(convertor.ECanceled, "usage: %v", err)
		}
		if err := fn(page); err != nil {
			return err
		}
	}
	return nil
}

// RepriceUsage overwrites the cost fields of the record with r's ID.
// Returns ENotFound.
func (s *UsageStore) RepriceUsage(ctx context.Context, r *convertor.UsageRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.byID[r.ID]
	if !ok {
		return convertor.Errorf(convertor.ENotFound, "usage record %s not found", r.ID)
	}
	old.CostMicros, old.PriceFrom, old.Unpriced = r.CostMicros, r.PriceFrom, r.Unpriced
	return nil
}

// RequestLog returns one key's records with Time in [q.From, q.To), newest
// first (ties by ID, descending), a page at a time. Returns EInvalid for a
// missing key id, a limit out of range or a cursor it did not issue.
func (s *UsageStore) RequestLog(ctx context.Context, q convertor.RequestLogQuery) ([]*convertor.UsageRecord, string, error) {
	if q.KeyID == "" {
		return nil, "", convertor.ParamErrorf("key_id", "a key id is required")
	}
	limit, err := convertor.PageLimit(q.Limit)
	if err != nil {
		return nil, "", err
	}
	pos, err := decodeCursor(requestLogCursor, q.Cursor)
	if err != nil {
		return nil, "", err
	}
	s.mu.Lock()
	var recs []*convertor.UsageRecord
	for _, r := range s.byID {
		if r.KeyID == q.KeyID && inRange(r.Time, q.From, q.To) && pos.after(r.Time, r.ID) {
			c := *r
			recs = append(recs, &c)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(recs, func(a, b *convertor.UsageRecord) int {
		return cmp.Or(b.Time.Compare(a.Time), cmp.Compare(b.ID, a.ID))
	})
	if len(recs) <= limit {
		return recs, "", nil
	}
	recs = recs[:limit]
	last := recs[limit-1]
	return recs, encodeCursor(requestLogCursor, last.Time, last.ID), nil
}
