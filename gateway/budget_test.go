package gateway

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// downSpend is a spend reader whose store can be taken down; it counts
// the reads it is asked for.
type downSpend struct {
	mu    sync.Mutex
	spent map[string]int64
	down  bool
	reads int
}

func (d *downSpend) MonthSpend(_ context.Context, keyID string, _ time.Time) (int64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reads++
	if d.down {
		return 0, errors.New("stats store unavailable")
	}
	return d.spent[keyID], nil
}

func (d *downSpend) setDown(down bool) {
	d.mu.Lock()
	d.down = down
	d.mu.Unlock()
}

func (d *downSpend) readCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.reads
}

// TestSpendCache_StoreDown: while the stats store is down a key keeps its
// last spend read (so a spent budget stays refused), a key never read has
// none (so it is not refused), and each costs one read per budgetCacheTTL
// rather than one slow read per request; the first read after the store
// is back brings the spend up to date.
func TestSpendCache_StoreDown(t *testing.T) {
	t.Parallel()
	store := &downSpend{spent: map[string]int64{"known": 5_000_000, "new": 7}}
	c := newSpendCache(store)
	now := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	ctx := context.Background()

	if v, err := c.spend(ctx, "known"); err != nil || v != 5_000_000 {
		t.Fatalf("first read = %d, %v; want 5000000", v, err)
	}
	store.setDown(true)
	store.spent["known"] = 6_000_000 // spend the store has but cannot serve

	now = now.Add(budgetCacheTTL) // stale: a read is tried, fails, the last spend is used
	for i := range 5 {
		if v, err := c.spend(ctx, "known"); err != nil || v != 5_000_000 {
			t.Fatalf("request %d with the store down = %d, %v; want the last spend read, 5000000", i, v, err)
		}
		if _, err := c.spend(ctx, "new"); err == nil {
			t.Fatalf("request %d: a key never read has a spend with the store down", i)
		}
	}
	if r := store.readCount(); r != 3 {
		t.Errorf("reads = %d, want 3 (one first read, then one per key while down)", r)
	}

	now = now.Add(budgetCacheTTL) // one more try each per TTL
	c.spend(ctx, "known")
	c.spend(ctx, "new")
	if r := store.readCount(); r != 5 {
		t.Errorf("reads after another TTL = %d, want 5", r)
	}

	store.setDown(false)
	now = now.Add(budgetCacheTTL)
	if v, err := c.spend(ctx, "known"); err != nil || v != 6_000_000 {
		t.Errorf("after the store is back = %d, %v; want 6000000", v, err)
	}
	if v, err := c.spend(ctx, "new"); err != nil || v != 7 {
		t.Errorf("key never read, after the store is back = %d, %v; want 7", v, err)
	}

	// A new month does not carry last month's spend, even with the store down.
	store.setDown(true)
	now = time.Date(2026, 6, 1, 0, 0, 1, 0, time.UTC)
	if _, err := c.spend(ctx, "known"); err == nil {
		t.Error("last month's spend was used for this month")
	}
}

// TestSpendCache_CachedSpendDoesNotAllocate: a key's cached spend is read
// on every request of a key with a budget.
func TestSpendCache_CachedSpendDoesNotAllocate(t *testing.T) {
	c := newSpendCache(&downSpend{spent: map[string]int64{"k": 42}})
	now := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	ctx := context.Background()
	if v, err := c.spend(ctx, "k"); err != nil || v != 42 {
		t.Fatalf("first read = %d, %v; want 42", v, err)
	}
	if n := testing.AllocsPerRun(100, func() {
		if v, err := c.spend(ctx, "k"); err != nil || v != 42 {
			t.Fatalf("cached read = %d, %v; want 42", v, err)
		}
	}); n != 0 {
		t.Errorf("a cached spend costs %v allocations, want 0", n)
	}
}

// TestMonthOf: months are numbered in UTC, consecutively across years.
func TestMonthOf(t *testing.T) {
	t.Parallel()
	jan := monthOf(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	dec := monthOf(time.Date(2026, 12, 31, 23, 59, 59, 999_999_999, time.UTC))
	if jan != dec+1 {
		t.Errorf("monthOf(2027-01) = %d, monthOf(2026-12) = %d; want consecutive", jan, dec)
	}
	// 2027-01-01 01:00 at UTC+2 is still 2026-12 in UTC.
	east := time.FixedZone("UTC+2", 2*3600)
	if got := monthOf(time.Date(2027, 1, 1, 1, 0, 0, 0, east)); got != dec {
		t.Errorf("monthOf(2027-01-01T01:00+02:00) = %d, want December 2026's %d", got, dec)
	}
	if a, b := monthOf(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)), monthOf(time.Date(2026, 5, 31, 23, 0, 0, 0, time.UTC)); a != b {
		t.Errorf("first and last day of May 2026: %d, %d; want the same month", a, b)
	}
}
