package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/ratelimit"
	"github.com/openai-api-convertor/convertor/internal/keygen"
	"github.com/openai-api-convertor/convertor/internal/memstore"
)

// countingStore counts reads by hash and can be made to fail.
type countingStore struct {
	convertor.APIKeyStore
	reads atomic.Int64
	fail  atomic.Bool
	gate  chan struct{} // when set, reads wait on it
}

func (s *countingStore) APIKeyByHash(ctx context.Context, hash string) (*convertor.APIKey, error) {
	s.reads.Add(1)
	if s.gate != nil {
		<-s.gate
	}
	if s.fail.Load() {
		return nil, errors.New("store down")
	}
	return s.APIKeyStore.APIKeyByHash(ctx, hash)
}

func newTestKeyAuth(t *testing.T, cfg KeyAuthConfig) (*KeyAuthenticator, *countingStore, *fakeClock) {
	t.Helper()
	clock := &fakeClock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	cfg.Now = clock.Now
	store := &countingStore{APIKeyStore: memstore.NewAPIKeyStore()}
	return NewKeyAuthenticator(store, cfg, slog.New(slog.NewTextHandler(io.Discard, nil))), store, clock
}

func createKey(t *testing.T, store convertor.APIKeyStore, mod func(*convertor.APIKey)) (string, *convertor.APIKey) {
	t.Helper()
	secret, k := keygen.New()
	k.Name, k.Enabled, k.CreatedAt = "test", true, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if mod != nil {
		mod(k)
	}
	if err := store.CreateAPIKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	return secret, k
}

func wantUnauthorized(t *testing.T, err error) {
	t.Helper()
	if convertor.ErrorCode(err) != convertor.EUnauthorized {
		t.Fatalf("err = %v, want EUnauthorized", err)
	}
}

// TestKeyAuthenticator_CachedKeyDoesNotAllocate: a key served from the
// cache, as nearly every request's is, costs no allocation.
func TestKeyAuthenticator_CachedKeyDoesNotAllocate(t *testing.T) {
	ctx := context.Background()
	a, store, _ := newTestKeyAuth(t, KeyAuthConfig{})
	secret, k := createKey(t, store, nil)
	b := []byte(secret)
	if p, err := a.Authenticate(ctx, b); err != nil || p.KeyID != k.ID {
		t.Fatalf("Authenticate() = %+v, %v", p, err)
	}
	if n := testing.AllocsPerRun(100, func() {
		if _, err := a.Authenticate(ctx, b); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("a cached key costs %v allocations, want 0", n)
	}
}

func TestKeyAuthenticator_Authenticate(t *testing.T) {
	ctx := context.Background()
	a, store, clock := newTestKeyAuth(t, KeyAuthConfig{MasterKey: "sk-master-key-for-tests"})
	secret, k := createKey(t, store, nil)

	p, err := a.Authenticate(ctx, []byte(secret))
	if err != nil || p.KeyID != k.ID || p.Key == nil || p.Key.Name != "test" {
		t.Fatalf("Authenticate() = %+v, %v", p, err)
	}
	for range 100 {
		if _, err := a.Authenticate(ctx, []byte(secret)); err != nil {
			t.Fatal(err)
		}
	}
	if n := store.reads.Load(); n != 1 {
		t.Errorf("store reads = %d, want 1 (cached)", n)
	}

	if p, err := a.Authenticate(ctx, []byte("sk-master-key-for-tests")); err != nil || p.KeyID != MasterKeyID {
		t.Errorf("master key: %+v, %v", p, err)
	}
	_, err = a.Authenticate(ctx, []byte("sk-unknown"))
	wantUnauthorized(t, err)
	_, _ = a.Authenticate(ctx, []byte("sk-unknown"))
	if n := store.reads.Load(); n != 2 {
		t.Errorf("store reads = %d, want 2 (negative cached)", n)
	}

	// Revocation takes effect once the cached entry expires.
	if err := store.RevokeAPIKey(ctx, k.ID, clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, []byte(secret)); err != nil {
		t.Errorf("within the TTL the cached record still serves: %v", err)
	}
	clock.Add(DefaultKeyCacheTTL)
	_, err = a.Authenticate(ctx, []byte(secret))
	wantUnauthorized(t, err)
}

func TestKeyAuthenticator_UnusableKeys(t *testing.T) {
	ctx := context.Background()
	a, store, clock := newTestKeyAuth(t, KeyAuthConfig{})
	disabled, _ := createKey(t, store, func(k *convertor.APIKey) { k.Enabled = false })
	expired, _ := createKey(t, store, func(k *convertor.APIKey) { k.ExpiresAt = clock.Now().Add(-time.Second) })
	for _, s := range []string{disabled, expired} {
		_, err := a.Authenticate(ctx, []byte(s))
		wantUnauthorized(t, err)
		if err != nil && (strings.Contains(err.Error(), s) || strings.Contains(convertor.ErrorMessage(err), "sk-")) {
			t.Errorf("error mentions the key: %v", err)
		}
	}
	// A key created after a negative lookup works once the negative entry expires.
	secret, _ := keygen.New()
	_, err := a.Authenticate(ctx, []byte(secret))
	wantUnauthorized(t, err)
	hash := convertor.HashAPIKey(secret)
	createKey(t, store, func(k *convertor.APIKey) { k.Hash = hash })
	clock.Add(DefaultKeyCacheNegativeTTL)
	if _, err := a.Authenticate(ctx, []byte(secret)); err != nil {
		t.Errorf("new key after negative TTL: %v", err)
	}
}

func TestKeyAuthenticator_ConcurrentMissesShareOneRead(t *testing.T) {
	a, store, _ := newTestKeyAuth(t, KeyAuthConfig{})
	secret, _ := createKey(t, store, nil)
	store.gate = make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := a.Authenticate(context.Background(), []byte(secret))
			errs <- err
		}()
	}
	// Let every goroutine reach the lookup, then release the one read.
	deadline := time.Now().Add(5 * time.Second)
	for store.reads.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(store.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := store.reads.Load(); n < 1 || n > 32 {
		t.Errorf("reads = %d", n)
	}
}

func TestKeyAuthenticator_StoreDown(t *testing.T) {
	ctx := context.Background()
	a, store, clock := newTestKeyAuth(t, KeyAuthConfig{})
	secret, _ := createKey(t, store, nil)
	if _, err := a.Authenticate(ctx, []byte(secret)); err != nil {
		t.Fatal(err)
	}
	store.fail.Store(true)
	clock.Add(DefaultKeyCacheTTL)
	if _, err := a.Authenticate(ctx, []byte(secret)); err != nil {
		t.Errorf("a known key must keep working through a store outage: %v", err)
	}
	other, _ := keygen.New()
	_, err := a.Authenticate(ctx, []byte(other))
	if convertor.ErrorCode(err) != convertor.EUnavailable {
		t.Errorf("unknown key with the store down: %v, want EUnavailable", err)
	}
	clock.Add(staleGrace)
	_, err = a.Authenticate(ctx, []byte(secret))
	if convertor.ErrorCode(err) != convertor.EUnavailable {
		t.Errorf("past the stale grace: %v, want EUnavailable", err)
	}
}

func TestKeyAuthenticator_SlowStoreServesCachedRecord(t *testing.T) {
	ctx := context.Background()
	a, store, clock := newTestKeyAuth(t, KeyAuthConfig{})
	secret, k := createKey(t, store, nil)
	if _, err := a.Authenticate(ctx, []byte(secret)); err != nil {
		t.Fatal(err)
	}
	off := false
	if _, err := store.UpdateAPIKey(ctx, k.ID, convertor.APIKeyUpdate{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	store.gate = make(chan struct{})
	clock.Add(DefaultKeyCacheTTL)

	// The refresh hangs: every request is served the cached record, and
	// they share one read.
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := a.Authenticate(ctx, []byte(secret))
			if err == nil && p.KeyID != k.ID {
				err = fmt.Errorf("principal %+v", p)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Authenticate() while the store hangs: %v, want the cached key", err)
		}
	}
	if n := store.reads.Load(); n != 2 {
		t.Errorf("store reads = %d, want 2: the first and one refresh", n)
	}

	// Once the store answers, the change it held is seen.
	close(store.gate)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := a.Authenticate(ctx, []byte(secret))
		if err != nil {
			wantUnauthorized(t, err)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the disabled key is still accepted after the store answered")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestKeyAuthenticator_Bounded(t *testing.T) {
	a, store, _ := newTestKeyAuth(t, KeyAuthConfig{Entries: 10})
	for range 50 {
		s, _ := createKey(t, store, nil)
		if _, err := a.Authenticate(context.Background(), []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if n := a.Len(); n != 10 {
		t.Errorf("cache holds %d entries, want 10", n)
	}
}

func TestKeyAuthenticator_FlushLastUsed(t *testing.T) {
	ctx := context.Background()
	a, store, clock := newTestKeyAuth(t, KeyAuthConfig{})
	secret, k := createKey(t, store, nil)
	if _, err := a.Authenticate(ctx, []byte(secret)); err != nil {
		t.Fatal(err)
	}
	if err := a.FlushLastUsed(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := store.APIKey(ctx, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.LastUsedAt.Equal(clock.Now()) {
		t.Errorf("last used = %v, want %v", got.LastUsedAt, clock.Now())
	}
}

// rotate gives k a new secret, keeping the old one until until.
func rotate(t *testing.T, store convertor.APIKeyStore, k *convertor.APIKey, at, until time.Time) string {
	t.Helper()
	secret, next := keygen.New()
	rot := convertor.APIKeyRotation{Hash: next.Hash, Prefix: next.Prefix, At: at, PreviousUntil: until}
	if _, err := store.RotateAPIKey(context.Background(), k.ID, rot); err != nil {
		t.Fatal(err)
	}
	return secret
}

const rotatedMessage = "This API key was rotated: its previous secret no longer works; use the new one."

func TestKeyAuthenticator_RotatedKey(t *testing.T) {
	ctx := context.Background()
	a, store, clock := newTestKeyAuth(t, KeyAuthConfig{})
	oldSecret, k := createKey(t, store, nil)
	if _, err := a.Authenticate(ctx, []byte(oldSecret)); err != nil {
		t.Fatal(err)
	}
	// A grace period shorter than the cache's TTL: the cached entry must
	// not stretch it.
	until := clock.Now().Add(DefaultKeyCacheTTL + 3*time.Second)
	newSecret := rotate(t, store, k, clock.Now(), until)
	clock.Add(DefaultKeyCacheTTL) // the entry cached before the rotation expires

	for _, secret := range []string{oldSecret, newSecret} {
		p, err := a.Authenticate(ctx, []byte(secret))
		if err != nil || p.KeyID != k.ID {
			t.Fatalf("Authenticate() during the grace period = %+v, %v; want key %s", p, err, k.ID)
		}
		if p.Key.ByPrevious != (secret == oldSecret) {
			t.Errorf("Principal.Key.ByPrevious = %t for the %s secret", p.Key.ByPrevious, map[bool]string{true: "old", false: "new"}[secret == oldSecret])
		}
	}
	reads := store.reads.Load()

	clock.Add(3 * time.Second) // PreviousUntil, both entries still cached
	_, err := a.Authenticate(ctx, []byte(oldSecret))
	wantUnauthorized(t, err)
	var e *convertor.Error
	if !errors.As(err, &e) || e.Reason != "invalid_api_key" || e.Message != rotatedMessage {
		t.Errorf("old secret after the grace period: %v, want invalid_api_key %q", err, rotatedMessage)
	}
	if p, err := a.Authenticate(ctx, []byte(newSecret)); err != nil || p.KeyID != k.ID {
		t.Errorf("new secret after the grace period = %+v, %v", p, err)
	}
	if n := store.reads.Load(); n != reads {
		t.Errorf("store reads = %d, want %d: the refusal comes from the cached entry", n, reads)
	}

	// Both secrets were used by the one key.
	if err := a.FlushLastUsed(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := store.APIKey(ctx, k.ID)
	if err != nil || !got.LastUsedAt.Equal(clock.Now()) {
		t.Errorf("APIKey() = %+v, %v; want last used %v", got, err, clock.Now())
	}
}

// usageRecorder keeps the usage events a server emits.
type usageRecorder struct {
	mu     sync.Mutex
	events []*convertor.UsageEvent
}

func (r *usageRecorder) Emit(ev *convertor.UsageEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

func (r *usageRecorder) keyIDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]string, len(r.events))
	for i, ev := range r.events {
		ids[i] = ev.KeyID
	}
	return ids
}

// TestServer_RotatedKey serves a key through a rotation with a grace
// period: its old secret works until the period ends, then gets 401
// invalid_api_key, and requests by either secret count against the one
// key's limits and usage.
func TestServer_RotatedKey(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	keys := memstore.NewAPIKeyStore()
	oldSecret, k := createKey(t, keys, func(k *convertor.APIKey) { k.RPM = 3 })
	usage := &usageRecorder{}
	limiterNow := clock.Now() // the limiter's window stays put while the key clock moves
	ts := newTestServer(t, nil, func(cfg *Config, d *Deps) {
		d.Keys = keys
		d.Auth = NewKeyAuthenticator(keys, KeyAuthConfig{Now: clock.Now}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		d.Limiter = ratelimit.NewMemory(ratelimit.MemoryOptions{Now: func() time.Time { return limiterNow }})
		d.Usage = usage
	})
	until := clock.Now().Add(time.Hour)
	newSecret := rotate(t, keys, k, clock.Now(), until)
	post := func(secret string) *response {
		return ts.do(t, http.MethodPost, "/v1/chat/completions", helloRequest, map[string]string{"Authorization": "Bearer " + secret})
	}

	for _, secret := range []string{oldSecret, newSecret} {
		if r := post(secret); r.status != http.StatusOK {
			t.Fatalf("status during the grace period = %d, want 200; body %s", r.status, r.body)
		}
	}

	clock.Add(time.Hour)
	r := post(oldSecret)
	if r.status != http.StatusUnauthorized {
		t.Fatalf("old secret after the grace period: status = %d, want 401; body %s", r.status, r.body)
	}
	if e := openAIError(t, r); deref(e.Code) != "invalid_api_key" || e.Message != rotatedMessage {
		t.Errorf("old secret after the grace period: code, message = %q, %q; want invalid_api_key, %q", deref(e.Code), e.Message, rotatedMessage)
	}
	if r := post(newSecret); r.status != http.StatusOK {
		t.Fatalf("new secret after the grace period: status = %d, want 200; body %s", r.status, r.body)
	}
	// Third request of the minute for the key, whichever secret made them:
	// the fourth is over its RPM of 3.
	if r := post(newSecret); r.status != http.StatusTooManyRequests {
		t.Errorf("fourth request of the key in its window: status = %d, want 429; body %s", r.status, r.body)
	}

	// Three served and one refused by the limit, all the one key's.
	waitFor(t, "four usage events", func() bool { return len(usage.keyIDs()) == 4 })
	for _, id := range usage.keyIDs() {
		if id != k.ID {
			t.Errorf("usage event for key %q, want %s", id, k.ID)
		}
	}
}
