package gateway

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai-api-convertor/convertor/gateway/bedrock"
)

func reasoningBlocks(text string) []bedrock.ContentBlock {
	return []bedrock.ContentBlock{{ReasoningContent: &bedrock.ReasoningContent{
		ReasoningText: &bedrock.ReasoningText{Text: text, Signature: "sig"},
	}}}
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestMemoryReasoningStore_Get(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := NewMemoryReasoningStore(10, 1<<20, time.Hour, nil)
	s.Put(ctx, map[string][]bedrock.ContentBlock{"call_1": reasoningBlocks("think 1"), "call_2": reasoningBlocks("think 2")})
	got := s.Get(ctx, []string{"call_1", "call_3"})
	if len(got) != 1 || got["call_1"][0].ReasoningContent.ReasoningText.Text != "think 1" {
		t.Errorf("Get() = %v, want call_1 only", got)
	}
	if got := s.Get(ctx, nil); got != nil {
		t.Errorf("Get(nil) = %v, want nil", got)
	}
}

func TestMemoryReasoningStore_Bounds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("Entries", func(t *testing.T) {
		s := NewMemoryReasoningStore(3, 1<<20, time.Hour, nil)
		for i := range 3 {
			s.Put(ctx, map[string][]bedrock.ContentBlock{fmt.Sprint(i): reasoningBlocks("x")})
		}
		s.Get(ctx, []string{"0"}) // 0 is now the most recently used; 1 is the oldest
		s.Put(ctx, map[string][]bedrock.ContentBlock{"3": reasoningBlocks("x")})
		if s.Len() != 3 {
			t.Errorf("Len() = %d, want 3", s.Len())
		}
		got := s.Get(ctx, []string{"0", "1", "2", "3"})
		if _, ok := got["1"]; ok || len(got) != 3 {
			t.Errorf("Get() keys = %v, want the least recently used (1) evicted", keys(got))
		}
	})
	t.Run("Bytes", func(t *testing.T) {
		big := strings.Repeat("t", 1000)
		limit := 2*reasoningSize("a", reasoningBlocks(big)) + 10
		s := NewMemoryReasoningStore(100, limit, time.Hour, nil)
		for _, id := range []string{"a", "b", "c"} {
			s.Put(ctx, map[string][]bedrock.ContentBlock{id: reasoningBlocks(big)})
		}
		if got := keys(s.Get(ctx, []string{"a", "b", "c"})); len(got) != 2 || got[0] == "a" || got[1] == "a" {
			t.Errorf("kept %v, want b and c within the byte budget", got)
		}
		s.Put(ctx, map[string][]bedrock.ContentBlock{"huge": reasoningBlocks(strings.Repeat("h", int(limit)))})
		if got := s.Get(ctx, []string{"huge", "b", "c"}); len(got) != 2 {
			t.Errorf("an entry over the whole budget was stored or evicted others: %v", keys(got))
		}
	})
	t.Run("Replace", func(t *testing.T) {
		s := NewMemoryReasoningStore(10, 1<<20, time.Hour, nil)
		s.Put(ctx, map[string][]bedrock.ContentBlock{"a": reasoningBlocks("old")})
		s.Put(ctx, map[string][]bedrock.ContentBlock{"a": reasoningBlocks("new")})
		if s.Len() != 1 || s.Get(ctx, []string{"a"})["a"][0].ReasoningContent.ReasoningText.Text != "new" {
			t.Error("Put() did not replace the entry")
		}
	})
}

func TestMemoryReasoningStore_Expiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := NewMemoryReasoningStore(10, 1<<20, time.Minute, clock.Now)
	s.Put(ctx, map[string][]bedrock.ContentBlock{"a": reasoningBlocks("x")})
	clock.Add(59 * time.Second)
	if len(s.Get(ctx, []string{"a"})) != 1 {
		t.Fatal("entry gone before its TTL")
	}
	clock.Add(time.Second)
	if got := s.Get(ctx, []string{"a"}); len(got) != 0 {
		t.Errorf("Get() after the TTL = %v, want nothing", got)
	}
	if s.Len() != 0 {
		t.Errorf("Len() = %d, want the expired entry dropped", s.Len())
	}
}

func TestMemoryReasoningStore_Concurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := NewMemoryReasoningStore(50, 1<<20, time.Hour, nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				id := fmt.Sprintf("%d-%d", g, i)
				s.Put(ctx, map[string][]bedrock.ContentBlock{id: reasoningBlocks(id)})
				if got := s.Get(ctx, []string{id}); len(got) == 1 && got[id][0].ReasoningContent.ReasoningText.Text != id {
					t.Errorf("Get(%s) returned another entry's blocks", id)
				}
			}
		})
	}
	wg.Wait()
	if s.Len() > 50 {
		t.Errorf("Len() = %d, want at most 50", s.Len())
	}
}

func keys(m map[string][]bedrock.ContentBlock) []string {
	var out []string
	for _, k := range []string{"0", "1", "2", "3", "a", "b", "c", "huge"} {
		if _, ok := m[k]; ok {
			out = append(out, k)
		}
	}
	return out
}
