package gateway

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/openai-api-convertor/convertor/gateway/ratelimit"
)

// countingLimiter counts Adjust calls of the limiter it wraps.
type countingLimiter struct {
	ratelimit.Limiter
	mu      sync.Mutex
	adjusts int
}

func (c *countingLimiter) Adjust(ctx context.Context, r ratelimit.Reservation, actual int64) error {
	c.mu.Lock()
	c.adjusts++
	c.mu.Unlock()
	return c.Limiter.Adjust(ctx, r, actual)
}

func (c *countingLimiter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.adjusts
}

func TestAdjuster_MergesCorrectionsPerSlot(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	mem := ratelimit.NewMemory(ratelimit.MemoryOptions{Now: func() time.Time { return now }})
	lim := &countingLimiter{Limiter: mem}
	limits := ratelimit.Limits{Tokens: 10000, Window: time.Minute}
	ctx := context.Background()

	a := newAdjuster(lim, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for range 10 {
		d, err := mem.Admit(ctx, "k", limits, 500)
		if err != nil || !d.Allowed {
			t.Fatalf("Admit() = %+v, %v", d, err)
		}
		a.add(d.Reservation, 100) // each request used 100 of the 500 reserved
	}
	runCtx, cancel := context.WithCancel(ctx)
	go a.run(runCtx)
	cancel()
	<-a.done

	if n := lim.count(); n != 1 {
		t.Errorf("Adjust calls = %d, want 1 for ten corrections in one slot", n)
	}
	d, err := mem.Admit(ctx, "k", limits, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(10000 - 10*100); d.RemainingTokens != want {
		t.Errorf("remaining tokens = %d, want %d (reservations corrected to actual use)", d.RemainingTokens, want)
	}

	// A correction after the loop has stopped is sent on its own.
	d, err = mem.Admit(ctx, "k", limits, 500)
	if err != nil || !d.Allowed {
		t.Fatalf("Admit() = %+v, %v", d, err)
	}
	a.add(d.Reservation, 100)
	for lim.count() != 2 {
		time.Sleep(time.Millisecond)
	}
}

// TestAdjuster_ConcurrentAdds adds corrections from many goroutines while
// the loop flushes: every one is applied once.
func TestAdjuster_ConcurrentAdds(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	mem := ratelimit.NewMemory(ratelimit.MemoryOptions{Now: func() time.Time { return now }})
	limits := ratelimit.Limits{Tokens: 1_000_000, Window: time.Minute}
	ctx := context.Background()
	a := newAdjuster(mem, slog.New(slog.NewTextHandler(io.Discard, nil)))
	runCtx, cancel := context.WithCancel(ctx)
	go a.run(runCtx)

	// Flushes besides the loop's, as often as they come, so that both
	// empty and full flushes meet the adds.
	adding := make(chan struct{})
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		for {
			select {
			case <-adding:
				return
			default:
				a.flush(false)
			}
		}
	}()

	const goroutines, each = 8, 200
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			key := "k" + strconv.Itoa(g%3)
			for range each {
				d, err := mem.Admit(ctx, key, limits, 500)
				if err != nil || !d.Allowed {
					t.Errorf("Admit() = %+v, %v", d, err)
					return
				}
				a.add(d.Reservation, 100)
			}
		})
	}
	wg.Wait()
	close(adding)
	<-flushed
	cancel()
	<-a.done

	used := map[string]int64{}
	for g := range goroutines {
		used["k"+strconv.Itoa(g%3)] += each * 100
	}
	for key, u := range used {
		d, err := mem.Admit(ctx, key, limits, 0)
		if err != nil {
			t.Fatal(err)
		}
		if want := limits.Tokens - u; d.RemainingTokens != want {
			t.Errorf("%s: remaining tokens = %d, want %d", key, d.RemainingTokens, want)
		}
	}
}
