package gateway

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// StoredResponse is one response kept for GET /v1/responses/{id} and for
// previous_response_id.
type StoredResponse struct {
	// ID is the response id.
	ID string
	// Body is the response object as POST returned it.
	Body []byte
	// Items is the conversation up to and including the response, as JSON
	// input items: the history it continued, its input and its output. A
	// follow-up puts them before its own input.
	Items []byte
}

// size approximates what the entry costs in memory.
func (r *StoredResponse) size() int64 {
	return int64(len(r.ID) + len(r.Body) + len(r.Items) + storedResponseOverhead)
}

// storedResponseOverhead approximates the map, list and struct headers of
// an entry beside its bytes, so many small entries still count.
const storedResponseOverhead = 256

// ResponseStore keeps the Responses API responses of each API key,
// bounded per key in number and bytes, each for a TTL; the oldest go first
// past a bound. A key reads and deletes only its own responses: the id of
// another key's response is not found, as if it did not exist.
type ResponseStore interface {
	// Get returns keyID's response id; ok is false when it is not held
	// (never stored, expired, evicted, deleted, or another key's). An
	// error means the store could not be read.
	Get(ctx context.Context, keyID, id string) (r *StoredResponse, ok bool, err error)
	// Put keeps r for keyID. A response larger than a key's whole budget
	// is not kept.
	Put(ctx context.Context, keyID string, r *StoredResponse) error
	// Delete removes keyID's response id and reports whether it was held.
	Delete(ctx context.Context, keyID, id string) (bool, error)
}

// MemoryResponseStore is a ResponseStore in the gateway process, also
// bounded in total bytes. With several replicas a follow-up
// (previous_response_id, GET, DELETE) must reach the replica that served
// the response, or it is not found; RedisResponseStore shares them. Safe
// for concurrent use.
type MemoryResponseStore struct {
	maxEntries  int   // per key
	maxKeyBytes int64 // per key
	maxBytes    int64 // in all
	ttl         time.Duration
	now         func() time.Time

	mu    sync.Mutex
	all   *list.List // of *storedEntry, oldest at the back; mu must be held
	byID  map[storedKey]*storedEntry
	keys  map[string]*keyResponses
	bytes int64
}

type storedKey struct{ keyID, id string }

type storedEntry struct {
	key     storedKey
	r       *StoredResponse
	size    int64
	expires time.Time
	inAll   *list.Element
	inKey   *list.Element
}

// keyResponses are one key's entries, oldest at the back.
type keyResponses struct {
	list  *list.List
	bytes int64
}

// NewMemoryResponseStore returns a store keeping at most maxEntries
// responses and maxKeyBytes bytes per key, maxBytes bytes in all, each for
// ttl. now is the clock; nil means time.Now.
func NewMemoryResponseStore(maxEntries int, maxKeyBytes, maxBytes int64, ttl time.Duration, now func() time.Time) *MemoryResponseStore {
	if now == nil {
		now = time.Now
	}
	return &MemoryResponseStore{
		maxEntries: maxEntries, maxKeyBytes: maxKeyBytes, maxBytes: maxBytes, ttl: ttl, now: now,
		all: list.New(), byID: map[storedKey]*storedEntry{}, keys: map[string]*keyResponses{},
	}
}

var _ ResponseStore = (*MemoryResponseStore)(nil)

// Get implements ResponseStore; it never fails.
func (s *MemoryResponseStore) Get(_ context.Context, keyID, id string) (*StoredResponse, bool, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byID[storedKey{keyID, id}]
	if !ok {
		return nil, false, nil
	}
	if !now.Before(e.expires) {
		s.removeLocked(e)
		return nil, false, nil
	}
	return e.r, true, nil
}

// Put implements ResponseStore, evicting the key's oldest responses past
// its bounds and then the oldest of any key past the total. It never
// fails.
func (s *MemoryResponseStore) Put(_ context.Context, keyID string, r *StoredResponse) error {
	size := r.size()
	if size > s.maxKeyBytes || size > s.maxBytes || s.maxEntries <= 0 {
		return nil
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	k := storedKey{keyID, r.ID}
	if old, ok := s.byID[k]; ok {
		s.removeLocked(old)
	}
	kr := s.keys[keyID]
	if kr == nil {
		kr = &keyResponses{list: list.New()}
		s.keys[keyID] = kr
	}
	e := &storedEntry{key: k, r: r, size: size, expires: now.Add(s.ttl)}
	e.inAll = s.all.PushFront(e)
	e.inKey = kr.list.PushFront(e)
	s.byID[k] = e
	kr.bytes += size
	s.bytes += size
	for kr.list.Len() > s.maxEntries || kr.bytes > s.maxKeyBytes {
		s.removeLocked(kr.list.Back().Value.(*storedEntry))
	}
	for s.bytes > s.maxBytes {
		s.removeLocked(s.all.Back().Value.(*storedEntry))
	}
	// Expired entries of any key go when met at the back, so a store
	// nobody reads from still lets them go as new ones arrive.
	for el := s.all.Back(); el != nil; el = s.all.Back() {
		if old := el.Value.(*storedEntry); !now.Before(old.expires) {
			s.removeLocked(old)
			continue
		}
		break
	}
	return nil
}

// Delete implements ResponseStore; it never fails.
func (s *MemoryResponseStore) Delete(_ context.Context, keyID, id string) (bool, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byID[storedKey{keyID, id}]
	if !ok {
		return false, nil
	}
	s.removeLocked(e)
	return now.Before(e.expires), nil
}

// Len returns the number of responses held, expired or not.
func (s *MemoryResponseStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.all.Len()
}

// removeLocked drops one entry; s.mu must be held.
func (s *MemoryResponseStore) removeLocked(e *storedEntry) {
	s.all.Remove(e.inAll)
	kr := s.keys[e.key.keyID]
	kr.list.Remove(e.inKey)
	kr.bytes -= e.size
	if kr.list.Len() == 0 {
		delete(s.keys, e.key.keyID)
	}
	delete(s.byID, e.key)
	s.bytes -= e.size
}
