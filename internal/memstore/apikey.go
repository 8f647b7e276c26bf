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
	byID   map[string]*convertor.APIKey // s.mu must be held
	byHash map[string]string            // hash → id; s.mu must be held
}

// NewAPIKeyStore returns an empty store.
func NewAPIKeyStore() *APIKeyStore {
	return &APIKeyStore{byID: make(map[string]*convertor.APIKey), byHash: make(map[string]string)}
}

// CreateAPIKey stores a copy of k. Returns EInvalid if k does not validate
// and EConflict if its id or hash exists.
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
		return convertor.Errorf(convertor.EConflict, "an api key with this secret exists")
	}
	s.byID[k.ID] = clone(k)
	s.byHash[k.Hash] = k.ID
	return nil
}

// APIKeyByHash returns the key whose secret hashes to hash. Returns ENotFound.
func (s *APIKeyStore) APIKeyByHash(ctx context.Context, hash string) (*convertor.APIKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.byHash[hash]
	if !ok {
		return nil, convertor.Errorf(convertor.ENotFound, "api key not found")
	}
	return clone(s.byID[id]), nil
}

// APIKey returns the key with id. Returns ENotFound.
func (s *APIKeyStore) APIKey(ctx context.Context, id string) (*convertor.APIKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.byID[id]
	if !ok {
		return nil, notFound(id)
	}
	return clone(k), nil
}

// ListAPIKeys returns every key, newest first.
func (s *APIKeyStore) ListAPIKeys(ctx context.Context) ([]*convertor.APIKey, error) {
	s.mu.Lock()
	keys := make([]*convertor.APIKey, 0, len(s.byID))
	for _, k := range s.byID {
		keys = append(keys, clone(k))
	}
	s.mu.Unlock()
	sortAPIKeys(keys)
	return keys, nil
}

// UpdateAPIKey applies upd. Returns ENotFound, or EInvalid if the result
// does not validate (the key is then unchanged).
func (s *APIKeyStore) UpdateAPIKey(ctx context.Context, id string, upd convertor.APIKeyUpdate) (*convertor.APIKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.byID[id]
	if !ok {
		return nil, notFound(id)
	}
	next := clone(k)
	next.Apply(upd)
	if err := next.Validate(); err != nil {
		return nil, err
	}
	s.byID[id] = next
	return clone(next), nil
}

// RevokeAPIKey marks the key revoked at t; revoking a revoked key keeps its
// first revocation time. Returns ENotFound.
func (s *APIKeyStore) RevokeAPIKey(ctx context.Context, id string, t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.byID[id]
	if !ok {
		return notFound(id)
	}
	if k.RevokedAt.IsZero() {
		k.RevokedAt = t
	}
	return nil
}

// RotateAPIKey gives the key a new hash and prefix; the old secret stops
// working at once. Returns ENotFound, EConflict if the key is revoked or
// newHash belongs to a key, and EInvalid if newHash is not a hex SHA-256.
func (s *APIKeyStore) RotateAPIKey(ctx context.Context, id, newHash, newPrefix string) (*convertor.APIKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.byID[id]
	if !ok {
		return nil, notFound(id)
	}
	if !k.RevokedAt.IsZero() {
		return nil, convertor.Errorf(convertor.EConflict, "api key %s is revoked", id)
	}
	if _, ok := s.byHash[newHash]; ok {
		return nil, convertor.Errorf(convertor.EConflict, "an api key with this secret exists")
	}
	next := clone(k)
	next.Hash, next.Prefix = newHash, newPrefix
	if err := next.Validate(); err != nil {
		return nil, err
	}
	delete(s.byHash, k.Hash)
	s.byHash[newHash] = id
	s.byID[id] = next
	return clone(next), nil
}

// TouchAPIKeys records last-used times. Times never move backwards, and
// ids without a key are skipped: the key may be gone by the time a batch
// of touches arrives.
func (s *APIKeyStore) TouchAPIKeys(ctx context.Context, lastUsed map[string]time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, t := range lastUsed {
		if k, ok := s.byID[id]; ok && t.After(k.LastUsedAt) {
			k.LastUsedAt = t
		}
	}
	return nil
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

func notFound(id string) error {
	return convertor.Errorf(convertor.ENotFound, "api key %s not found", id)
}
