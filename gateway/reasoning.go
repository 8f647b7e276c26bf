package gateway

import (
	"container/list"
	"context"
	"sync"
	"time"

	"github.com/openai-api-convertor/convertor/gateway/bedrock"
)

// ReasoningStore keeps the signed reasoning blocks of assistant turns keyed
// by tool call id. Bedrock requires them back with the tool results when
// extended thinking is on, and OpenAI clients never echo them, so the
// gateway restores them on the next turn.
//
// A store is a cache: losing an entry costs the client a 400 from Bedrock
// on one turn, never wrong output, so neither method reports errors.
type ReasoningStore interface {
	// Get returns the blocks stored for each of ids that is present.
	Get(ctx context.Context, ids []string) map[string][]bedrock.ContentBlock
	// Put stores the blocks of each tool call id in m.
	Put(ctx context.Context, m map[string][]bedrock.ContentBlock)
}

// MemoryReasoningStore is an in-process ReasoningStore bounded by entries
// and total bytes, evicting the least recently used entry first, with
// entries expiring after a TTL. Safe for concurrent use.
type MemoryReasoningStore struct {
	maxEntries int
	maxBytes   int64
	ttl        time.Duration
	now        func() time.Time

	mu    sync.Mutex
	lru   *list.List // of *reasoningEntry; front is most recently used
	byID  map[string]*list.Element
	bytes int64 // sum of entry sizes; mu must be held
}

type reasoningEntry struct {
	id      string
	blocks  []bedrock.ContentBlock
	size    int64
	expires time.Time
}

// NewMemoryReasoningStore returns a store holding at most maxEntries entries
// and maxBytes bytes of reasoning, each for ttl. now is the clock; nil means
// time.Now.
func NewMemoryReasoningStore(maxEntries int, maxBytes int64, ttl time.Duration, now func() time.Time) *MemoryReasoningStore {
	if now == nil {
		now = time.Now
	}
	return &MemoryReasoningStore{
		maxEntries: maxEntries,
		maxBytes:   maxBytes,
		ttl:        ttl,
		now:        now,
		lru:        list.New(),
		byID:       make(map[string]*list.Element),
	}
}

var _ ReasoningStore = (*MemoryReasoningStore)(nil)

// Get implements ReasoningStore. Expired entries are dropped as they are met.
func (s *MemoryReasoningStore) Get(_ context.Context, ids []string) map[string][]bedrock.ContentBlock {
	if len(ids) == 0 {
		return nil
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out map[string][]bedrock.ContentBlock
	for _, id := range ids {
		el, ok := s.byID[id]
		if !ok {
			continue
		}
		e := el.Value.(*reasoningEntry)
		if !now.Before(e.expires) {
			s.removeLocked(el)
			continue
		}
		s.lru.MoveToFront(el)
		if out == nil {
			out = make(map[string][]bedrock.ContentBlock, len(ids))
		}
		out[id] = e.blocks
	}
	return out
}

// Put implements ReasoningStore. An entry larger than the whole byte budget
// is not stored: it would evict everything else and still not fit.
func (s *MemoryReasoningStore) Put(_ context.Context, m map[string][]bedrock.ContentBlock) {
	if len(m) == 0 {
		return
	}
	expires := s.now().Add(s.ttl)
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, blocks := range m {
		size := reasoningSize(id, blocks)
		if el, ok := s.byID[id]; ok {
			s.removeLocked(el)
		}
		if size > s.maxBytes || len(blocks) == 0 {
			continue
		}
		s.byID[id] = s.lru.PushFront(&reasoningEntry{id: id, blocks: blocks, size: size, expires: expires})
		s.bytes += size
	}
	for s.lru.Len() > s.maxEntries || s.bytes > s.maxBytes {
		s.removeLocked(s.lru.Back())
	}
}

// Len returns the number of entries held, expired or not.
func (s *MemoryReasoningStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lru.Len()
}

// removeLocked drops one entry; s.mu must be held.
func (s *MemoryReasoningStore) removeLocked(el *list.Element) {
	e := s.lru.Remove(el).(*reasoningEntry)
	delete(s.byID, e.id)
	s.bytes -= e.size
}

// reasoningEntryOverhead approximates the map, list and slice headers an
// entry costs beside its strings, so many tiny entries still count.
const reasoningEntryOverhead = 256

func reasoningSize(id string, blocks []bedrock.ContentBlock) int64 {
	n := int64(reasoningEntryOverhead + len(id))
	for _, b := range blocks {
		n += 64
		if rc := b.ReasoningContent; rc != nil {
			n += int64(len(rc.RedactedContent))
			if rt := rc.ReasoningText; rt != nil {
				n += int64(len(rt.Text) + len(rt.Signature))
			}
		}
		if b.Text != nil {
			n += int64(len(*b.Text))
		}
	}
	return n
}
