package gateway

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func storedResponse(id string, n int) *StoredResponse {
	return &StoredResponse{ID: id, Body: []byte(strings.Repeat("b", n)), Items: []byte("[]")}
}

func TestResponseStore_Get(t *testing.T) {
	s := NewResponseStore(10, 1<<20, 1<<20, time.Hour, nil)
	s.Put("alice", storedResponse("resp_1", 10))
	if r, ok := s.Get("alice", "resp_1"); !ok || r.ID != "resp_1" {
		t.Fatalf("Get(alice) = %v, %v", r, ok)
	}
	t.Run("OtherKey", func(t *testing.T) {
		if _, ok := s.Get("bob", "resp_1"); ok {
			t.Error("another key read the response")
		}
		if s.Delete("bob", "resp_1") {
			t.Error("another key deleted the response")
		}
		if _, ok := s.Get("alice", "resp_1"); !ok {
			t.Error("the response is gone after another key's delete")
		}
	})
	t.Run("Delete", func(t *testing.T) {
		if !s.Delete("alice", "resp_1") {
			t.Fatal("Delete = false")
		}
		if _, ok := s.Get("alice", "resp_1"); ok {
			t.Error("deleted response still read")
		}
		if s.Delete("alice", "resp_1") {
			t.Error("second Delete = true")
		}
	})
}

func TestResponseStore_Bounds(t *testing.T) {
	t.Run("EntriesPerKey", func(t *testing.T) {
		s := NewResponseStore(3, 1<<20, 1<<20, time.Hour, nil)
		for i := range 5 {
			s.Put("alice", storedResponse(fmt.Sprint(i), 10))
		}
		s.Put("bob", storedResponse("b", 10))
		for i, want := range []bool{false, false, true, true, true} {
			if _, ok := s.Get("alice", fmt.Sprint(i)); ok != want {
				t.Errorf("response %d held = %v, want %v", i, ok, want)
			}
		}
		if _, ok := s.Get("bob", "b"); !ok {
			t.Error("alice's responses evicted bob's")
		}
	})
	t.Run("BytesPerKey", func(t *testing.T) {
		one := storedResponse("x", 1000).size()
		s := NewResponseStore(100, 2*one, 1<<20, time.Hour, nil)
		for i := range 3 {
			s.Put("alice", storedResponse(fmt.Sprint(i), 1000))
		}
		s.Put("bob", storedResponse("b", 1000))
		if _, ok := s.Get("alice", "0"); ok {
			t.Error("oldest not evicted past the key's bytes")
		}
		if _, ok := s.Get("alice", "2"); !ok {
			t.Error("newest evicted")
		}
		if _, ok := s.Get("bob", "b"); !ok {
			t.Error("another key's response evicted")
		}
		s.Put("alice", storedResponse("huge", 4000))
		if _, ok := s.Get("alice", "huge"); ok {
			t.Error("a response over the key's budget was kept")
		}
	})
	t.Run("TotalBytes", func(t *testing.T) {
		one := storedResponse("x", 1000).size()
		s := NewResponseStore(100, 1<<20, 3*one, time.Hour, nil)
		for i := range 4 {
			s.Put(fmt.Sprint("key", i), storedResponse("x", 1000))
		}
		if s.Len() != 3 {
			t.Errorf("Len() = %d, want 3", s.Len())
		}
		if _, ok := s.Get("key0", "x"); ok {
			t.Error("oldest of all not evicted past the total")
		}
	})
	t.Run("TTL", func(t *testing.T) {
		now := time.Unix(1767225600, 0)
		s := NewResponseStore(10, 1<<20, 1<<20, time.Hour, func() time.Time { return now })
		s.Put("alice", storedResponse("old", 10))
		now = now.Add(30 * time.Minute)
		s.Put("alice", storedResponse("new", 10))
		now = now.Add(31 * time.Minute)
		if _, ok := s.Get("alice", "old"); ok {
			t.Error("expired response read")
		}
		if _, ok := s.Get("alice", "new"); !ok {
			t.Error("live response not read")
		}
		now = now.Add(time.Hour)
		s.Put("bob", storedResponse("b", 10))
		if s.Len() != 1 {
			t.Errorf("Len() = %d after expiry, want 1", s.Len())
		}
	})
}
