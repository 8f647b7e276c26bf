package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor"
)

// UsageStore runs the UsageStore contract on stores from newStore, which
// gives each parallel subtest an empty store of its own.
func UsageStore(t *testing.T, newStore func(t *testing.T) convertor.UsageStore) {
	ctx := context.Background()
	base := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)

	t.Run("PutAndRead", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		want := NewUsageRecord(1, base.Add(90*time.Minute+123456789), "key_a")
		want.BedrockModelID, want.Region = "global.anthropic.claude-sonnet-4-5-20250929-v1:0", "us-east-1"
		want.CacheReadTokens, want.CacheWriteTokens = 30, 40
		want.Estimated, want.Streamed, want.Disconnected = true, true, true
		want.Status, want.ErrorType, want.HTTPStatus = convertor.UsageCanceled, "canceled", 499
		want.TTFTMs, want.LatencyMs = 120, 850
		want.CostMicros, want.PriceFrom = 6159, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		MustPutUsage(t, s, want, true)

		got := ReadUsage(t, s, base, base.Add(3*time.Hour), "")
		if diff := cmp.Diff([]*convertor.UsageRecord{want}, got); diff != "" {
			t.Errorf("Usage() mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("DuplicateIsNotStored", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		r := NewUsageRecord(1, base, "key_a")
		MustPutUsage(t, s, r, true)
		dup := *r
		dup.CostMicros = 999 // a redelivery priced differently must not win
		MustPutUsage(t, s, &dup, false)
		got := ReadUsage(t, s, base, base.Add(time.Hour), "")
		if len(got) != 1 || got[0].CostMicros != r.CostMicros {
			t.Errorf("Usage() = %+v, want only the first record", got)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		r := NewUsageRecord(1, base, "key_a")
		r.InputTokens = -1
		if _, err := s.PutUsage(ctx, r); convertor.ErrorCode(err) != convertor.EInvalid {
			t.Errorf("PutUsage(negative tokens) error = %v, want invalid", err)
		}
	})

	t.Run("RangeAndKey", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		// Records across four hours and two keys, written out of order.
		var all []*convertor.UsageRecord
		for i := range 12 {
			key := "key_a"
			if i%3 == 0 {
				key = "key_b"
			}
			all = append(all, NewUsageRecord(i, base.Add(time.Duration(i)*20*time.Minute), key))
		}
		for i := len(all) - 1; i >= 0; i-- {
			MustPutUsage(t, s, all[i], true)
		}
		from, to := base.Add(40*time.Minute), base.Add(200*time.Minute) // records 2..9
		var wantAll, wantB []string
		for _, r := range all[2:10] {
			wantAll = append(wantAll, r.ID)
			if r.KeyID == "key_b" {
				wantB = append(wantB, r.ID)
			}
		}
		if diff := cmp.Diff(wantAll, usageIDs(ReadUsage(t, s, from, to, ""))); diff != "" {
			t.Errorf("Usage(all keys) ids mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(wantB, usageIDs(ReadUsage(t, s, from, to, "key_b"))); diff != "" {
			t.Errorf("Usage(key_b) ids mismatch (-want +got):\n%s", diff)
		}
		// to is exclusive: a record exactly at to is left out.
		if got := ReadUsage(t, s, base, base.Add(20*time.Minute), ""); len(got) != 1 || got[0].ID != all[0].ID {
			t.Errorf("Usage([0, 20m)) = %v, want only %s", usageIDs(got), all[0].ID)
		}
		if got := ReadUsage(t, s, to, from, ""); len(got) != 0 {
			t.Errorf("Usage(empty range) = %v, want none", usageIDs(got))
		}
	})

	t.Run("CallbackErrorStops", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		MustPutUsage(t, s, NewUsageRecord(1, base, "key_a"), true)
		stop := errors.New("stop")
		if err := s.Usage(ctx, base, base.Add(time.Hour), "", func([]*convertor.UsageRecord) error { return stop }); !errors.Is(err, stop) {
			t.Errorf("Usage() error = %v, want the callback's", err)
		}
	})

	t.Run("RepriceUsage", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		r := NewUsageRecord(1, base, "key_a")
		r.PriceFrom = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		MustPutUsage(t, s, r, true)

		want := *r
		want.CostMicros, want.PriceFrom, want.Unpriced = 0, time.Time{}, true
		change := want
		change.InputTokens = 1 // only the cost fields may change
		if err := s.RepriceUsage(ctx, &change); err != nil {
			t.Fatalf("RepriceUsage() error = %v", err)
		}
		if diff := cmp.Diff([]*convertor.UsageRecord{&want}, ReadUsage(t, s, base, base.Add(time.Hour), "")); diff != "" {
			t.Errorf("Usage() after RepriceUsage mismatch (-want +got):\n%s", diff)
		}
		missing := NewUsageRecord(2, base, "key_a")
		if err := s.RepriceUsage(ctx, missing); convertor.ErrorCode(err) != convertor.ENotFound {
			t.Errorf("RepriceUsage(missing) error = %v, want not_found", err)
		}
	})

	requestLog(t, newStore)
}

// NewUsageRecord returns record i (its id and counts derive from i) of
// keyID at at, a valid successful request.
func NewUsageRecord(i int, at time.Time, keyID string) *convertor.UsageRecord {
	return &convertor.UsageRecord{
		UsageEvent: convertor.UsageEvent{
			Version:      convertor.UsageEventVersion,
			ID:           fmt.Sprintf("01JUSAGE%018d", i),
			RequestID:    fmt.Sprintf("req-%d", i),
			Time:         at,
			KeyID:        keyID,
			Model:        "claude-sonnet-4-5",
			InputTokens:  int64(100 + i),
			OutputTokens: int64(10 + i),
			Status:       convertor.UsageOK,
			HTTPStatus:   200,
		},
		CostMicros: int64(1000 + i),
	}
}

// MustPutUsage stores r and stops t unless PutUsage succeeds and reports
// stored as wantStored.
func MustPutUsage(t testing.TB, s convertor.UsageStore, r *convertor.UsageRecord, wantStored bool) {
	t.Helper()
	stored, err := s.PutUsage(context.Background(), r)
	if err != nil {
		t.Fatalf("PutUsage(%s) error = %v", r.ID, err)
	}
	if stored != wantStored {
		t.Fatalf("PutUsage(%s) stored = %t, want %t", r.ID, stored, wantStored)
	}
}

// ReadUsage returns every record of Usage(from, to, keyID), stopping t on
// an error.
func ReadUsage(t testing.TB, s convertor.UsageStore, from, to time.Time, keyID string) []*convertor.UsageRecord {
	t.Helper()
	var out []*convertor.UsageRecord
	err := s.Usage(context.Background(), from, to, keyID, func(page []*convertor.UsageRecord) error {
		out = append(out, page...)
		return nil
	})
	if err != nil {
		t.Fatalf("Usage() error = %v", err)
	}
	return out
}

func usageIDs(rs []*convertor.UsageRecord) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}
