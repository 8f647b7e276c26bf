package memstore

import (
	"context"
	"testing"
	"time"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/storetest"
)

// TestStatsStore runs the StatsStore contract.
func TestStatsStore(t *testing.T) {
	t.Parallel()
	storetest.StatsStore(t, func(*testing.T) convertor.StatsStore { return NewStatsStore() })
}

// TestStatsStore_Copies covers what only an in-memory store can get
// wrong, and the contract cannot see: sharing rows with its callers.
func TestStatsStore_Copies(t *testing.T) {
	ctx := context.Background()
	s := NewStatsStore()
	at := time.Date(2026, 1, 1, 10, 30, 0, 0, time.UTC)
	r := &convertor.UsageRecord{
		UsageEvent: convertor.UsageEvent{Version: convertor.UsageEventVersion, ID: "r1", Time: at, KeyID: "key_1", Model: "m", Status: convertor.UsageOK, InputTokens: 5},
		CostMicros: 7,
	}
	if _, err := s.ApplyUsage(ctx, []*convertor.UsageRecord{r}); err != nil {
		t.Fatalf("ApplyUsage() error = %v", err)
	}
	r.InputTokens, r.CostMicros = 500, 700
	f := convertor.RollupFilter{Period: convertor.PeriodHour, KeyID: "key_1"}
	got, err := s.Rollups(ctx, f)
	if err != nil || len(got) != 1 {
		t.Fatalf("Rollups() = %v, %v; want one row", got, err)
	}
	got[0].CostMicros = 1_000_000
	again, _ := s.Rollups(ctx, f)
	if again[0].InputTokens != 5 || again[0].CostMicros != 7 {
		t.Errorf("store shares its rows: %+v", again[0])
	}
	if spend, _ := s.MonthSpend(ctx, "key_1", at); spend != 7 {
		t.Errorf("MonthSpend() = %d, want 7", spend)
	}
}
