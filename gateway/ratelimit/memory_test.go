package ratelimit

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestMemoryLimiter_Admit(t *testing.T) {
	t.Parallel()
	t.Run("ExactUnderConcurrency", func(t *testing.T) {
		t.Parallel()
		l := NewMemory(MemoryOptions{})
		lim := Limits{Requests: 1000, Tokens: 7000, Window: time.Hour}
		var (
			mu      sync.Mutex
			allowed int
			wg      sync.WaitGroup
		)
		for range 64 {
			wg.Go(func() {
				for range 50 {
					if d := admit(t, l, "hot", lim, 7); d.Allowed {
						mu.Lock()
						allowed++
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		if allowed != 1000 {
			t.Errorf("admitted = %d of 3200 attempts, want exactly 1000", allowed)
		}
	})
	t.Run("SlidingWindowNeverExceeded", func(t *testing.T) {
		t.Parallel()
		// Admissions at random times, some in bursts, over many windows:
		// no window of length W may ever hold more than the limit.
		const limit = 25
		w := 2 * time.Second
		clock := newFakeClock()
		l := NewMemory(MemoryOptions{Now: clock.Now})
		rng := rand.New(rand.NewPCG(1, 2))
		var times []int64
		for range 20_000 {
			clock.Advance(time.Duration(rng.ExpFloat64()*float64(30*time.Millisecond)) / time.Millisecond * time.Millisecond)
			if d := admit(t, l, "k", Limits{Requests: limit, Window: w}, 0); d.Allowed {
				times = append(times, d.Reservation.at)
			}
		}
		if len(times) < 10*limit {
			t.Fatalf("admitted %d, want the run to span many windows", len(times))
		}
		first := 0
		for i, at := range times {
			for times[first] <= at-w.Milliseconds() {
				first++
			}
			if n := i - first + 1; n > limit {
				t.Fatalf("window (%d, %d] holds %d admissions, limit %d", at-w.Milliseconds(), at, n, limit)
			}
		}
	})
}

func TestMemoryLimiter_Evict(t *testing.T) {
	t.Parallel()
	t.Run("IdleKeysGo", func(t *testing.T) {
		t.Parallel()
		clock := newFakeClock()
		l := NewMemory(MemoryOptions{Now: clock.Now})
		lim := Limits{Requests: 1, Window: time.Minute}
		for i := range 1000 {
			admit(t, l, "k"+strconv.Itoa(i), lim, 0)
		}
		clock.Advance(fullReset)
		// Sweeping is per shard, on access: touch every shard.
		touched := map[*memShard]bool{}
		fresh := 0
		for ; len(touched) < memShards; fresh++ {
			key := "fresh" + strconv.Itoa(fresh)
			touched[l.shard(key)] = true
			admit(t, l, key, lim, 0)
		}
		if n := l.keys(); n != fresh {
			t.Errorf("keys tracked = %d, want the %d fresh ones: idle keys should be swept", n, fresh)
		}
	})
	t.Run("BoundedByMaxKeys", func(t *testing.T) {
		t.Parallel()
		clock := newFakeClock()
		l := NewMemory(MemoryOptions{Now: clock.Now, MaxKeys: memShards * 2})
		lim := Limits{Requests: 1, Window: time.Minute}
		for i := range 5000 {
			clock.Advance(time.Millisecond)
			admit(t, l, "k"+strconv.Itoa(i), lim, 0)
		}
		if n := l.keys(); n > memShards*2 {
			t.Errorf("keys tracked = %d, want at most MaxKeys %d", n, memShards*2)
		}
		// The most recent key was not the one evicted.
		if d := admit(t, l, "k4999", lim, 0); d.Allowed {
			t.Errorf("Admit(k4999) over its limit = allowed, want refused")
		}
	})
}

// keys counts the tracked keys.
func (l *MemoryLimiter) keys() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.counters)
		s.mu.Unlock()
	}
	return n
}

func TestGeometryFor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		w     time.Duration
		width int64
		n     int64
	}{
		{time.Minute, 1000, 60},
		{time.Hour, 60_000, 60},
		{6 * time.Second, 100, 60},
		{2 * time.Second, 100, 20},
		{10 * time.Second, 167, 60}, // rounded up: the window counts 10.02s
		{150 * time.Millisecond, 150, 1},
		{time.Microsecond, 1, 1},
	} {
		if g := geometryFor(tc.w); g.width != tc.width || g.n != tc.n {
			t.Errorf("geometryFor(%s) = %d × %dms, want %d × %dms", tc.w, g.n, g.width, tc.n, tc.width)
		}
	}
}

func TestMemoryLimiter_AdjustAfterWindowChange(t *testing.T) {
	t.Parallel()
	l := NewMemory(MemoryOptions{})
	d := admit(t, l, "k", Limits{Tokens: 100, Window: time.Minute}, 10)
	admit(t, l, "k", Limits{Tokens: 100, Window: time.Hour}, 0)
	if err := l.Adjust(context.Background(), d.Reservation, 90); err != nil {
		t.Fatalf("Adjust() error = %v", err)
	}
	if d := admit(t, l, "k", Limits{Tokens: 100, Window: time.Hour}, 100); !d.Allowed {
		t.Errorf("Admit(100 of 100) = refused: a reservation from another window leaked into this one")
	}
}
