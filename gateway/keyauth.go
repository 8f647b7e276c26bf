package gateway

import (
	"container/list"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/openai-api-convertor/convertor"
)

// Defaults of the key cache.
const (
	// DefaultKeyCacheTTL bounds how long a revoked or disabled key keeps
	// working on a replica that has it cached: the promise is "within a few
	// seconds on every replica", with no invalidation message to lose.
	DefaultKeyCacheTTL = 5 * time.Second
	// DefaultKeyCacheNegativeTTL is shorter: a key created a moment ago
	// should start working almost at once, while a flood of wrong keys
	// still costs the store at most one read per key per interval.
	DefaultKeyCacheNegativeTTL = 2 * time.Second
	// DefaultKeyCacheEntries bounds the cache's memory (a few hundred bytes
	// per key).
	DefaultKeyCacheEntries = 100000
	// touchInterval batches last-used updates: the store sees at most one
	// write per key per interval, and none on the request path.
	touchInterval = time.Minute
	// staleGrace lets a cached key keep working while the store is
	// unreachable, so a DynamoDB outage does not take the gateway down; a
	// key never seen before is refused with 503 then.
	staleGrace = 5 * time.Minute
	// staleWait is how long a request whose cached key has expired waits
	// for the refresh before it is served the cached record: a healthy
	// store answers well within it, so a change is seen as soon as the
	// TTL allows, while a hung store adds no more than this to a request.
	staleWait = 50 * time.Millisecond
	// storeReadTimeout bounds one read of a key record.
	storeReadTimeout = 2 * time.Second
)

// KeyAuthenticator authenticates per-client keys kept in an APIKeyStore,
// and the operator's master key. Lookups are cached (positive and negative,
// bounded, short TTL) so the steady state costs no store read; concurrent
// misses for one key share a single read. Safe for concurrent use.
type KeyAuthenticator struct {
	store  convertor.APIKeyStore
	master *[sha256.Size]byte // nil: no master key
	ttl    time.Duration
	negTTL time.Duration
	max    int
	now    func() time.Time
	log    *slog.Logger

	mu       sync.Mutex
	entries  map[string]*list.Element // by hash
	lru      *list.List               // of *keyEntry, most recent first
	inflight map[string]*keyLookup
	touched  map[string]time.Time // key id → last use, pending write
	// slow is set while refreshes outlast staleWait, so that is logged
	// once; a.mu must be held.
	slow bool
}

type keyEntry struct {
	hash    string
	key     *convertor.APIKey // nil: no such key
	fetched time.Time
}

type keyLookup struct {
	done chan struct{}
	key  *convertor.APIKey
	err  error
}

// KeyAuthConfig tunes a KeyAuthenticator; zero fields take the defaults.
type KeyAuthConfig struct {
	MasterKey   string
	TTL         time.Duration
	NegativeTTL time.Duration
	Entries     int
	// Now is the clock; nil means time.Now. Tests move it.
	Now func() time.Time
}

// NewKeyAuthenticator returns an authenticator over store.
func NewKeyAuthenticator(store convertor.APIKeyStore, cfg KeyAuthConfig, log *slog.Logger) *KeyAuthenticator {
	if store == nil || log == nil {
		panic("gateway: NewKeyAuthenticator needs a store and a logger")
	}
	a := &KeyAuthenticator{
		store: store, ttl: cfg.TTL, negTTL: cfg.NegativeTTL, max: cfg.Entries, now: cfg.Now, log: log,
		entries: map[string]*list.Element{}, lru: list.New(),
		inflight: map[string]*keyLookup{}, touched: map[string]time.Time{},
	}
	if cfg.MasterKey != "" {
		d := sha256.Sum256([]byte(cfg.MasterKey))
		a.master = &d
	}
	if a.ttl <= 0 {
		a.ttl = DefaultKeyCacheTTL
	}
	if a.negTTL <= 0 {
		a.negTTL = DefaultKeyCacheNegativeTTL
	}
	if a.max <= 0 {
		a.max = DefaultKeyCacheEntries
	}
	if a.now == nil {
		a.now = time.Now
	}
	return a
}

// Authenticate implements Authenticator.
func (a *KeyAuthenticator) Authenticate(ctx context.Context, secret []byte) (Principal, error) {
	digest := sha256.Sum256(secret)
	if a.master != nil && subtle.ConstantTimeCompare(digest[:], a.master[:]) == 1 {
		return Principal{KeyID: MasterKeyID}, nil
	}
	// The hex form is the store's key; made on the stack, it becomes a
	// string only when the cache misses.
	var hash [2 * sha256.Size]byte
	hex.Encode(hash[:], digest[:])
	key, err := a.lookup(ctx, hash[:])
	if err != nil {
		return Principal{}, err
	}
	if key == nil {
		return Principal{}, errInvalidAPIKey
	}
	now := a.now()
	if ok, why := key.Usable(now); !ok {
		return Principal{}, &convertor.Error{Code: convertor.EUnauthorized, Reason: "invalid_api_key", Message: why}
	}
	a.mu.Lock()
	a.touched[key.ID] = now
	a.mu.Unlock()
	return Principal{KeyID: key.ID, Key: key}, nil
}

// lookup returns the key for hash (nil when there is none), from the cache
// when fresh, else from the store.
func (a *KeyAuthenticator) lookup(ctx context.Context, hexHash []byte) (*convertor.APIKey, error) {
	now := a.now()
	a.mu.Lock()
	// A copy of the expired entry: the refresh updates the entry itself.
	var stale *keyEntry
	if el, ok := a.entries[string(hexHash)]; ok {
		e := el.Value.(*keyEntry)
		ttl := a.ttl
		if e.key == nil {
			ttl = a.negTTL
		}
		if now.Sub(e.fetched) < ttl {
			a.lru.MoveToFront(el)
			a.mu.Unlock()
			return e.key, nil
		}
		stale = &keyEntry{hash: e.hash, key: e.key, fetched: e.fetched}
	}
	hash := string(hexHash)
	l, shared := a.inflight[hash]
	if !shared {
		l = &keyLookup{done: make(chan struct{})}
		a.inflight[hash] = l
		// One read per key at a time, detached from the request: other
		// requests wait on it, and one client hanging up must not fail
		// them all.
		go a.fetch(context.WithoutCancel(ctx), hash, l)
	}
	a.mu.Unlock()

	// A request holding an expired record waits only briefly for the
	// refresh, then is served the record it has (stale-while-revalidate).
	var wait <-chan time.Time
	if stale != nil && now.Sub(stale.fetched) < staleGrace {
		t := time.NewTimer(staleWait)
		defer t.Stop()
		wait = t.C
	}
	select {
	case <-l.done:
	case <-wait:
		a.slowStore(hash)
		return stale.key, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if l.err != nil {
		if stale != nil && now.Sub(stale.fetched) < staleGrace {
			return stale.key, nil
		}
		a.log.Error("api key lookup failed", "err", l.err)
		return nil, &convertor.Error{Code: convertor.EUnavailable, Message: "The API key could not be checked right now. Retry shortly."}
	}
	return l.key, nil
}

// fetch reads hash's record into the cache and wakes the requests
// waiting on l.
func (a *KeyAuthenticator) fetch(ctx context.Context, hash string, l *keyLookup) {
	ctx, cancel := context.WithTimeout(ctx, storeReadTimeout)
	l.key, l.err = a.store.APIKeyByHash(ctx, hash)
	cancel()
	if convertor.ErrorCode(l.err) == convertor.ENotFound {
		l.key, l.err = nil, nil
	}
	a.mu.Lock()
	delete(a.inflight, hash)
	if l.err == nil {
		a.put(hash, l.key, a.now())
		if a.slow {
			a.slow = false
			a.log.Info("api key store answers promptly again")
		}
	}
	a.mu.Unlock()
	close(l.done)
}

// slowStore notes that a key's refresh outlasted staleWait and its cached
// record was served instead; logged once until the store is prompt again.
func (a *KeyAuthenticator) slowStore(hash string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.slow {
		a.slow = true
		a.log.Warn("api key store is slow; serving cached key records while it is refreshed", "wait", staleWait)
	}
}

// put caches key under hash, evicting the least recently used entry when
// full. a.mu must be held.
func (a *KeyAuthenticator) put(hash string, key *convertor.APIKey, now time.Time) {
	if el, ok := a.entries[hash]; ok {
		e := el.Value.(*keyEntry)
		e.key, e.fetched = key, now
		a.lru.MoveToFront(el)
		return
	}
	a.entries[hash] = a.lru.PushFront(&keyEntry{hash: hash, key: key, fetched: now})
	for a.lru.Len() > a.max {
		old := a.lru.Back()
		a.lru.Remove(old)
		delete(a.entries, old.Value.(*keyEntry).hash)
	}
}

// Len returns the number of cached entries.
func (a *KeyAuthenticator) Len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lru.Len()
}

// FlushLastUsed writes the pending last-used times to the store.
func (a *KeyAuthenticator) FlushLastUsed(ctx context.Context) error {
	a.mu.Lock()
	pending := a.touched
	a.touched = make(map[string]time.Time, len(pending))
	a.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	if err := a.store.TouchAPIKeys(ctx, pending); err != nil {
		// Put them back so the next flush retries; newer uses win.
		a.mu.Lock()
		for id, t := range pending {
			if cur, ok := a.touched[id]; !ok || cur.Before(t) {
				a.touched[id] = t
			}
		}
		a.mu.Unlock()
		return err
	}
	return nil
}

// RunLastUsed flushes last-used times every minute until ctx ends, then once
// more, so a graceful stop loses none.
func (a *KeyAuthenticator) RunLastUsed(ctx context.Context) {
	t := time.NewTicker(touchInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := a.FlushLastUsed(ctx); err != nil {
				a.log.Warn("update last-used times of api keys", "err", err)
			}
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := a.FlushLastUsed(fctx); err != nil && !errors.Is(err, context.Canceled) {
				a.log.Warn("update last-used times of api keys", "err", err)
			}
			cancel()
			return
		}
	}
}
