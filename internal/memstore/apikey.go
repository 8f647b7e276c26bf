// Package memstore keeps the product's records in memory: the same
// semantics as the DynamoDB store, for tests and single-process use.
// Everything it holds is lost when the process ends.
package memstore

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/openai-api-convertor/convertor"
)

var _ convertor.APIKeyStore = (*APIKeyStore)(nil)

// APIKeyStore is an in-memory convertor.APIKeyStore, safe for concurrent
// use. Records go in and come out as copies, so callers never share them.
type APIKeyStore struct {
	mu     sync.Mutex
	byID   map[string]*entry // s.mu must be held
	byHash map[string]secret // current and previous secrets; s.mu must be held
}

// entry is a stored key and the hash of its previous secret, if kept.
type entry struct {
	key          *convertor.APIKey
	previousHash string
}

// secret is what a hash opens: a key's current secret or its previous one.
type secret struct {
	id       string
	previous bool
}

// NewAPIKeyStore returns an empty store.
func NewAPIKeyStore() *APIKeyStore {
	return &APIKeyStore{byID: make(map[string]*entry), byHash: make(map[string]secret)}
}

// CreateAPIKey stores a copy of k with Revision 1. Returns EInvalid if k
// does not validate and EConflict if its id or hash exists (as a key's
// current or previous secret).
func (s *APIKeyStore) CreateAPIKey(ctx context.Context, k *convertor.APIKey) error {
	if err := k.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byID[k.ID]; ok {
		return convertor.Errorf(convertor.EConflict, "api key %s exists", k.ID)
	}
	if _, ok := s.byHash[k.Hash]; ok {
		return errSecretExists()
	}
	stored := clone(k)
	stored.Revision, stored.ByPrevious = 1, false
	s.byID[k.ID] = &entry{key: stored}
	s.byHash[k.Hash] = secret{id: k.ID}
	return nil
}

// APIKeyByHash returns the key whose secret hashes to hash; for its
// previous secret, the key's current record with ByPrevious set. Returns
// ENotFound.
func (s *APIKeyStore) APIKeyByHash(ctx context.Context, hash string) (*convertor.APIKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, ok := s.byHash[hash]
	if !ok {
		return nil, convertor.Errorf(convertor.ENotFound, "api key not found")
	}
	k := clone(s.byID[sec.id].key)
	k.ByPrevious = sec.previous
	return k, nil
}

// APIKey returns the key with id. Returns ENotFound.
func (s *APIKeyStore) APIKey(ctx context.Context, id string) (*convertor.APIKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byID[id]
	if !ok {
		return nil, notFound(id)
	}
	return clone(e.key), nil
}

// ListAPIKeys returns every key, newest first.
func (s *APIKeyStore) ListAPIKeys(ctx context.Context) ([]*convertor.APIKey, error) {
	s.mu.Lock()
	keys := make([]*convertor.APIKey, 0, len(s.byID))
	for _, e := range s.byID {
		keys = append(keys, clone(e.key))
	}
	s.mu.Unlock()
	sortAPIKeys(keys)
	return keys, nil
}

// UpdateAPIKey applies upd and increments Revision. Returns ENotFound,
// EPrecondition if upd.IfRevision is set and not the stored revision, or
// EInvalid if the result does not validate (the key is then unchanged).
func (s *APIKeyStore) UpdateAPIKey(ctx context.Context, id string, upd convertor.APIKeyUpdate) (*convertor.APIKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.entry(id, upd.IfRevision)
	if err != nil {
		return nil, err
	}
	next := clone(e.key)
	next.Apply(upd)
	if err := next.Validate(); err != nil {
		return nil, err
	}
	next.Revision++
	e.key = next
	return clone(next), nil
}

// RevokeAPIKey marks the key revoked at t and increments Revision; revoking
// a revoked key keeps its first revocation time and changes nothing. The
// previous secret opens the same record, so it is refused too. Returns
// ENotFound.
func (s *APIKeyStore) RevokeAPIKey(ctx context.Context, id string, t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.entry(id, 0)
	if err != nil {
		return err
	}
	if e.key.RevokedAt.IsZero() {
		e.key.RevokedAt = t
		e.key.Revision++
	}
	return nil
}

// RotateAPIKey gives the key a new secret and increments Revision. With
// rot.PreviousUntil set the replaced secret keeps working until then; a
// secret replaced earlier stops either way. Returns ENotFound, EPrecondition
// if rot.IfRevision is set and not the stored revision, EConflict if the
// key is revoked or rot.Hash belongs to a key (as its current or previous
// secret), and EInvalid if rot.Hash is not a hex SHA-256.
func (s *APIKeyStore) RotateAPIKey(ctx context.Context, id string, rot convertor.APIKeyRotation) (*convertor.APIKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.entry(id, rot.IfRevision)
	if err != nil {
		return nil, err
	}
	if !e.key.RevokedAt.IsZero() {
		return nil, convertor.Errorf(convertor.EConflict, "api key %s is revoked", id)
	}
	next := clone(e.key)
	next.Hash, next.Prefix, next.RotatedAt = rot.Hash, rot.Prefix, rot.At
	next.PreviousPrefix, next.PreviousUntil = "", time.Time{}
	if err := next.Validate(); err != nil {
		return nil, err
	}
	if _, ok := s.byHash[rot.Hash]; ok {
		return nil, errSecretExists()
	}
	next.Revision++
	if e.previousHash != "" {
		delete(s.byHash, e.previousHash)
	}
	delete(s.byHash, e.key.Hash)
	previousHash := ""
	if !rot.PreviousUntil.IsZero() {
		next.PreviousPrefix, next.PreviousUntil = e.key.Prefix, rot.PreviousUntil
		previousHash = e.key.Hash
		s.byHash[previousHash] = secret{id: id, previous: true}
	}
	s.byHash[rot.Hash] = secret{id: id}
	s.byID[id] = &entry{key: next, previousHash: previousHash}
	return clone(next), nil
}

// TouchAPIKeys records last-used times; they do not change Revision. Times
// never move backwards, and ids without a key are skipped: the key may be
// gone by the time a batch of touches arrives.
func (s *APIKeyStore) TouchAPIKeys(ctx context.Context, lastUsed map[string]time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, t := range lastUsed {
		if e, ok := s.byID[id]; ok && t.After(e.key.LastUsedAt) {
			e.key.LastUsedAt = t
		}
	}
	return nil
}

// entry returns the entry of id, checking its revision when ifRevision is
// not 0. Returns ENotFound and EPrecondition. s.mu must be held.
func (s *APIKeyStore) entry(id string, ifRevision int64) (*entry, error) {
	e, ok := s.byID[id]
	if !ok {
		return nil, notFound(id)
	}
	if ifRevision != 0 && e.key.Revision != ifRevision {
		return nil, convertor.Errorf(convertor.EPrecondition,
			"api key %s is at revision %d, not %d: it changed since it was read", id, e.key.Revision, ifRevision)
	}
	return e, nil
}

// sortAPIKeys orders keys newest first, by creation time and then id, so
// the order is total.
func sortAPIKeys(keys []*convertor.APIKey) {
	slices.SortFunc(keys, func(a, b *convertor.APIKey) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
}

func clone(k *convertor.APIKey) *convertor.APIKey {
	c := *k
	c.AllowedModels = slices.Clone(k.AllowedModels)
	return &c
}

func errSecretExists() error {
	return convertor.Errorf(convertor.EConflict, "an api key with this secret exists")
}

func notFound(id string) error {
	return convertor.Errorf(convertor.ENotFound, "api key %s not found", id)
}
