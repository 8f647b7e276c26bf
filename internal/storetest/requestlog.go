package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor"
)

// requestLog runs the RequestLog part of the UsageStore contract.
func requestLog(t *testing.T, newStore func(t *testing.T) convertor.UsageStore) {
	ctx := context.Background()
	base := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)

	t.Run("RequestLogPaging", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		// key_a's records every 7 minutes, three of them at one instant,
		// interleaved with another key's, a key whose id extends key_a's,
		// and a request without a key; written out of order.
		var want []string
		var recs []*convertor.UsageRecord
		for i := range 37 {
			at := base.Add(time.Duration(i) * 7 * time.Minute)
			if i == 11 || i == 12 {
				at = base.Add(10 * 7 * time.Minute)
			}
			recs = append(recs, NewUsageRecord(i, at, "key_a"))
			want = append(want, recs[i].ID)
		}
		for i := range 20 {
			recs = append(recs, NewUsageRecord(100+i, base.Add(time.Duration(i)*5*time.Minute), "key_b"))
		}
		recs = append(recs, NewUsageRecord(200, base.Add(time.Minute), "key_ab"), NewUsageRecord(201, base.Add(2*time.Minute), ""))
		for i := len(recs) - 1; i >= 0; i-- {
			MustPutUsage(t, s, recs[i], true)
		}

		got, pages := ReadRequestLog(t, s, convertor.RequestLogQuery{KeyID: "key_a", Limit: 5})
		if pages != 8 {
			t.Errorf("RequestLog() took %d pages of 5 for 37 records, want 8", pages)
		}
		checkNewestFirst(t, got)
		ids := usageIDs(got)
		slices.Sort(ids)
		if diff := cmp.Diff(want, ids); diff != "" {
			t.Errorf("RequestLog(key_a) ids mismatch, duplicates or gaps (-want +got):\n%s", diff)
		}
		if got[0].ID != recs[36].ID {
			t.Errorf("RequestLog() first = %s, want the newest %s", got[0].ID, recs[36].ID)
		}
		// One page holding everything has no cursor.
		page, next, err := s.RequestLog(ctx, convertor.RequestLogQuery{KeyID: "key_b", Limit: 20})
		if err != nil || len(page) != 20 || next != "" {
			t.Errorf("RequestLog(key_b, limit 20) = %d records, next %q, %v; want 20 and no cursor", len(page), next, err)
		}
		if page, next, err := s.RequestLog(ctx, convertor.RequestLogQuery{KeyID: "key_none"}); err != nil || len(page) != 0 || next != "" {
			t.Errorf("RequestLog(unknown key) = %v, %q, %v; want nothing", usageIDs(page), next, err)
		}
	})

	t.Run("RequestLogTimeRange", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		from, to := base, base.Add(time.Hour)
		times := []time.Time{from.Add(-time.Nanosecond), from, from.Add(30 * time.Minute), to.Add(-time.Nanosecond), to}
		for i, at := range times {
			MustPutUsage(t, s, NewUsageRecord(i, at, "key_a"), true)
		}
		got, _ := ReadRequestLog(t, s, convertor.RequestLogQuery{KeyID: "key_a", From: from, To: to, Limit: 2})
		want := []string{NewUsageRecord(3, to, "").ID, NewUsageRecord(2, to, "").ID, NewUsageRecord(1, to, "").ID}
		if diff := cmp.Diff(want, usageIDs(got)); diff != "" {
			t.Errorf("RequestLog([from, to)) ids mismatch (-want +got):\n%s", diff)
		}
		got, _ = ReadRequestLog(t, s, convertor.RequestLogQuery{KeyID: "key_a", From: from})
		if len(got) != 4 {
			t.Errorf("RequestLog(from only) = %v, want 4 records", usageIDs(got))
		}
		got, _ = ReadRequestLog(t, s, convertor.RequestLogQuery{KeyID: "key_a", To: from})
		if len(got) != 1 || got[0].ID != NewUsageRecord(0, to, "").ID {
			t.Errorf("RequestLog(to only) = %v, want the record before from", usageIDs(got))
		}
		if got, _ := ReadRequestLog(t, s, convertor.RequestLogQuery{KeyID: "key_a", From: to, To: from}); len(got) != 0 {
			t.Errorf("RequestLog(empty range) = %v, want none", usageIDs(got))
		}
	})

	t.Run("RequestLogCursorWithOtherRange", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for i := range 10 {
			MustPutUsage(t, s, NewUsageRecord(i, base.Add(time.Duration(i)*time.Minute), "key_a"), true)
		}
		page, next, err := s.RequestLog(ctx, convertor.RequestLogQuery{KeyID: "key_a", Limit: 3})
		if err != nil || len(page) != 3 || next == "" {
			t.Fatalf("RequestLog(limit 3) = %v, %q, %v", usageIDs(page), next, err)
		}
		// The cursor sits at record 7. A range ending before it continues
		// from the range's top, one starting after it has nothing left, and
		// one around it continues after it.
		tests := []struct {
			name     string
			from, to time.Time
			want     []int
		}{
			{"EndsBefore", time.Time{}, base.Add(3 * time.Minute), []int{2, 1, 0}},
			{"StartsAfter", base.Add(8 * time.Minute), time.Time{}, nil},
			{"Around", base.Add(5 * time.Minute), base.Add(9 * time.Minute), []int{6, 5}},
		}
		for _, tt := range tests {
			got, next2, err := s.RequestLog(ctx, convertor.RequestLogQuery{KeyID: "key_a", From: tt.from, To: tt.to, Cursor: next})
			var want []string
			for _, i := range tt.want {
				want = append(want, NewUsageRecord(i, base, "").ID)
			}
			if err != nil || next2 != "" {
				t.Errorf("%s: RequestLog() next %q, error %v; want no cursor, no error", tt.name, next2, err)
			}
			if diff := cmp.Diff(want, usageIDs(got)); diff != "" {
				t.Errorf("%s: RequestLog() ids mismatch (-want +got):\n%s", tt.name, diff)
			}
		}
	})

	t.Run("RequestLogLimits", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for i := range convertor.DefaultPageSize + 5 {
			MustPutUsage(t, s, NewUsageRecord(i, base.Add(time.Duration(i)*time.Second), "key_a"), true)
		}
		page, next, err := s.RequestLog(ctx, convertor.RequestLogQuery{KeyID: "key_a"})
		if err != nil || len(page) != convertor.DefaultPageSize || next == "" {
			t.Errorf("RequestLog(limit 0) = %d records, next %q, %v; want %d and a cursor", len(page), next, err, convertor.DefaultPageSize)
		}
		page, next, err = s.RequestLog(ctx, convertor.RequestLogQuery{KeyID: "key_a", Limit: convertor.MaxPageSize})
		if err != nil || len(page) != convertor.DefaultPageSize+5 || next != "" {
			t.Errorf("RequestLog(limit max) = %d records, next %q, %v; want all and no cursor", len(page), next, err)
		}
		for _, limit := range []int{-1, convertor.MaxPageSize + 1} {
			WantCode(t, "RequestLog(limit out of range)", ErrOf2(s.RequestLog(ctx, convertor.RequestLogQuery{KeyID: "key_a", Limit: limit})), convertor.EInvalid)
		}
		WantCode(t, "RequestLog(no key id)", ErrOf2(s.RequestLog(ctx, convertor.RequestLogQuery{Limit: 5})), convertor.EInvalid)
	})

	t.Run("RequestLogErrCursor", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for i := range 3 {
			MustPutUsage(t, s, NewUsageRecord(i, base.Add(time.Duration(i)*time.Second), "key_a"), true)
		}
		_, next, err := s.RequestLog(ctx, convertor.RequestLogQuery{KeyID: "key_a", Limit: 1})
		if err != nil || next == "" {
			t.Fatalf("RequestLog(limit 1) next %q, error %v", next, err)
		}
		for _, c := range BadCursors(next) {
			WantCode(t, "RequestLog(cursor "+c+")", ErrOf2(s.RequestLog(ctx, convertor.RequestLogQuery{KeyID: "key_a", Cursor: c})), convertor.EInvalid)
		}
	})
}

// ReadRequestLog follows q's cursors to the end and returns every record
// and the number of pages. It stops t unless every page but the last is
// full and the last has no cursor.
func ReadRequestLog(t testing.TB, s convertor.UsageStore, q convertor.RequestLogQuery) (recs []*convertor.UsageRecord, pages int) {
	t.Helper()
	return readPages(t, "RequestLog", q.Limit, func(cursor string) ([]*convertor.UsageRecord, string, error) {
		q.Cursor = cursor
		return s.RequestLog(context.Background(), q)
	})
}

// checkNewestFirst fails t unless recs are in non-increasing time order.
func checkNewestFirst(t testing.TB, recs []*convertor.UsageRecord) {
	t.Helper()
	for i := 1; i < len(recs); i++ {
		if recs[i].Time.After(recs[i-1].Time) {
			t.Errorf("record %d (%s at %v) is newer than the one before it (%v)", i, recs[i].ID, recs[i].Time, recs[i-1].Time)
		}
	}
}
