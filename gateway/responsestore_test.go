package gateway

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openai-api-convertor/convertor/internal/testenv"
)

func storedResponse(id string, n int) *StoredResponse {
	return &StoredResponse{ID: id, Body: []byte(`"` + strings.Repeat("b", n) + `"`), Items: []byte("[]")}
}

// responseStores returns a fresh store of each kind with the bounds given;
// the Redis one on its own key prefix, skipped without TEST_REDIS_ADDR.
func responseStores(t *testing.T, entries int, keyBytes int64) map[string]func(t *testing.T) ResponseStore {
	return map[string]func(t *testing.T) ResponseStore{
		"Memory": func(t *testing.T) ResponseStore {
			return NewMemoryResponseStore(entries, keyBytes, 1<<30, time.Hour, nil)
		},
		"Redis": func(t *testing.T) ResponseStore {
			return NewRedisResponseStore(testenv.Redis(t), entries, keyBytes, time.Hour, nil)
		},
	}
}

// storeKey gives each test its own API key ids, as the Redis server is
// shared between tests and runs.
func storeKey(t *testing.T, name string) string {
	return testenv.Prefix(t) + name
}

func mustGet(t *testing.T, s ResponseStore, keyID, id string) bool {
	t.Helper()
	r, ok, err := s.Get(context.Background(), keyID, id)
	if err != nil {
		t.Fatalf("Get(%s, %s) error = %v", keyID, id, err)
	}
	if ok && r.ID != id {
		t.Fatalf("Get(%s, %s) returned %s", keyID, id, r.ID)
	}
	return ok
}

func mustPut(t *testing.T, s ResponseStore, keyID string, r *StoredResponse) {
	t.Helper()
	if err := s.Put(context.Background(), keyID, r); err != nil {
		t.Fatalf("Put(%s, %s) error = %v", keyID, r.ID, err)
	}
}

func mustDelete(t *testing.T, s ResponseStore, keyID, id string) bool {
	t.Helper()
	ok, err := s.Delete(context.Background(), keyID, id)
	if err != nil {
		t.Fatalf("Delete(%s, %s) error = %v", keyID, id, err)
	}
	return ok
}

// TestResponseStore runs the contract every ResponseStore keeps.
func TestResponseStore(t *testing.T) {
	t.Parallel()
	one := storedResponse("x", 1000).size()
	for kind, open := range responseStores(t, 3, 1<<20) {
		t.Run(kind+"/GetDeleteByKey", func(t *testing.T) {
			t.Parallel()
			s := open(t)
			alice, bob := storeKey(t, "alice"), storeKey(t, "bob")
			mustPut(t, s, alice, storedResponse("resp_1", 10))
			r, ok, err := s.Get(context.Background(), alice, "resp_1")
			if err != nil || !ok || string(r.Body) != `"bbbbbbbbbb"` || string(r.Items) != "[]" {
				t.Fatalf("Get(alice) = %+v, %v, %v", r, ok, err)
			}
			if mustGet(t, s, bob, "resp_1") {
				t.Error("another key read the response")
			}
			if mustDelete(t, s, bob, "resp_1") {
				t.Error("another key deleted the response")
			}
			if !mustGet(t, s, alice, "resp_1") {
				t.Error("the response is gone after another key's delete")
			}
			if !mustDelete(t, s, alice, "resp_1") {
				t.Fatal("Delete = false")
			}
			if mustGet(t, s, alice, "resp_1") {
				t.Error("deleted response still read")
			}
			if mustDelete(t, s, alice, "resp_1") {
				t.Error("second Delete = true")
			}
		})
		t.Run(kind+"/EntriesPerKey", func(t *testing.T) {
			t.Parallel()
			s := open(t)
			alice, bob := storeKey(t, "alice"), storeKey(t, "bob")
			mustPut(t, s, bob, storedResponse("b", 10))
			for i := range 5 {
				mustPut(t, s, alice, storedResponse(fmt.Sprint(i), 10))
			}
			for i, want := range []bool{false, false, true, true, true} {
				if got := mustGet(t, s, alice, fmt.Sprint(i)); got != want {
					t.Errorf("response %d held = %v, want %v", i, got, want)
				}
			}
			if !mustGet(t, s, bob, "b") {
				t.Error("alice's responses evicted bob's")
			}
			// Putting an id again replaces it rather than adding one.
			mustPut(t, s, alice, storedResponse("4", 10))
			if !mustGet(t, s, alice, "2") {
				t.Error("replacing a response evicted another")
			}
		})
	}
	for kind, open := range responseStores(t, 100, 2*one) {
		t.Run(kind+"/BytesPerKey", func(t *testing.T) {
			t.Parallel()
			s := open(t)
			alice, bob := storeKey(t, "alice"), storeKey(t, "bob")
			for i := range 3 {
				mustPut(t, s, alice, storedResponse(fmt.Sprint(i), 1000))
			}
			mustPut(t, s, bob, storedResponse("b", 1000))
			if mustGet(t, s, alice, "0") {
				t.Error("oldest not evicted past the key's bytes")
			}
			if !mustGet(t, s, alice, "1") || !mustGet(t, s, alice, "2") {
				t.Error("newer responses evicted")
			}
			if !mustGet(t, s, bob, "b") {
				t.Error("another key's response evicted")
			}
			mustPut(t, s, alice, storedResponse("huge", 4000))
			if mustGet(t, s, alice, "huge") {
				t.Error("a response over the key's budget was kept")
			}
			if !mustDelete(t, s, alice, "2") {
				t.Fatal("Delete = false")
			}
			// The deleted response's bytes are free again: two fit.
			mustPut(t, s, alice, storedResponse("3", 1000))
			if !mustGet(t, s, alice, "1") || !mustGet(t, s, alice, "3") {
				t.Error("a delete did not free its bytes")
			}
		})
	}
}

func TestMemoryResponseStore_TotalBytes(t *testing.T) {
	t.Parallel()
	one := storedResponse("x", 1000).size()
	s := NewMemoryResponseStore(100, 1<<20, 3*one, time.Hour, nil)
	for i := range 4 {
		mustPut(t, s, fmt.Sprint("key", i), storedResponse("x", 1000))
	}
	if s.Len() != 3 {
		t.Errorf("Len() = %d, want 3", s.Len())
	}
	if mustGet(t, s, "key0", "x") {
		t.Error("oldest of all not evicted past the total")
	}
}

func TestMemoryResponseStore_TTL(t *testing.T) {
	t.Parallel()
	now := time.Unix(1767225600, 0)
	s := NewMemoryResponseStore(10, 1<<20, 1<<20, time.Hour, func() time.Time { return now })
	mustPut(t, s, "alice", storedResponse("old", 10))
	now = now.Add(30 * time.Minute)
	mustPut(t, s, "alice", storedResponse("new", 10))
	now = now.Add(31 * time.Minute)
	if mustGet(t, s, "alice", "old") {
		t.Error("expired response read")
	}
	if !mustGet(t, s, "alice", "new") {
		t.Error("live response not read")
	}
	now = now.Add(time.Hour)
	mustPut(t, s, "bob", storedResponse("b", 10))
	if s.Len() != 1 {
		t.Errorf("Len() = %d after expiry, want 1", s.Len())
	}
}

// TestRedisResponseStore_TTL checks every key a response writes expires
// with the TTL, and that a response whose time ran out by the store's
// clock leaves the key's index, freeing its place, when the next arrives.
func TestRedisResponseStore_TTL(t *testing.T) {
	t.Parallel()
	client := testenv.Redis(t)
	now := time.Now()
	s := NewRedisResponseStore(client, 2, 1<<20, time.Hour, func() time.Time { return now })
	alice := storeKey(t, "alice")
	mustPut(t, s, alice, storedResponse("old", 10))
	index, sizes, data := redisResponseKeys(alice)
	ctx := context.Background()
	for _, k := range []string{index, sizes, data + "old"} {
		if d, err := client.PTTL(ctx, k).Result(); err != nil || d <= 0 || d > time.Hour {
			t.Errorf("PTTL(%s) = %v, %v; want within the TTL", k, d, err)
		}
	}
	now = now.Add(2 * time.Hour)
	mustPut(t, s, alice, storedResponse("a", 10))
	mustPut(t, s, alice, storedResponse("b", 10))
	if n, err := client.ZCard(ctx, index).Result(); err != nil || n != 2 {
		t.Errorf("index holds %d (%v), want the 2 live responses", n, err)
	}
	if !mustGet(t, s, alice, "a") || !mustGet(t, s, alice, "b") {
		t.Error("live responses evicted in place of an expired one")
	}
}

func TestRedisResponseStore_Down(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.RedisURL = "redis://127.0.0.1:1/0"
	s, err := newResponseStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(context.Background(), "alice", "resp_1"); err == nil || !strings.Contains(err.Error(), "cannot be read") {
		t.Errorf("Get with Redis down = %v, want the store's unavailable error", err)
	}
}
