package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/openai-api-convertor/convertor"
)

// AuditStore runs the AuditStore contract on stores from newStore, which
// gives each parallel subtest an empty store of its own.
func AuditStore(t *testing.T, newStore func(t *testing.T) convertor.AuditStore) {
	ctx := context.Background()
	base := time.Date(2026, 12, 2, 7, 0, 0, 0, time.UTC)

	t.Run("PutAndRead", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		update := NewAuditEntry(1, base.Add(123456789))
		update.ActorRole, update.RequestID = "admin", "req_01JREQ"
		// Odd spacing, escapes and number forms must come back as written.
		update.Before = json.RawMessage("{\"name\": \"caf\\u00e9\",  \"rpm\":60, \"models\":[ ]}")
		update.After = json.RawMessage("{\n  \"name\":\"café\", \"rpm\": 6.0e1, \"models\":[\"a\"]\n}\n")
		create := NewAuditEntry(2, base.Add(time.Second))
		create.Action, create.Before = convertor.AuditKeyCreate, nil
		del := NewAuditEntry(3, base.Add(2*time.Second))
		del.Action, del.Resource, del.ResourceID, del.After = convertor.AuditRouteDelete, "route", "team-sonnet", nil
		for _, e := range []*convertor.AuditEntry{update, create, del} {
			MustPutAudit(t, s, e)
		}
		got, _ := ReadAudit(t, s, convertor.AuditFilter{})
		want := []*convertor.AuditEntry{del, create, update}
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("Audit() mismatch (-want +got):\n%s", diff)
		}
		if len(got) == 3 && (!bytes.Equal(got[2].Before, update.Before) || !bytes.Equal(got[2].After, update.After)) {
			t.Errorf("Audit() before/after = %q, %q; want them byte for byte as stored", got[2].Before, got[2].After)
		}
	})

	t.Run("PutAgainChangesNothing", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		e := NewAuditEntry(1, base)
		MustPutAudit(t, s, e)
		// A retry of the same id, even carrying other fields and time.
		again := NewAuditEntry(1, base.Add(time.Hour))
		again.Actor, again.After = "mallory", json.RawMessage(`{"other":true}`)
		MustPutAudit(t, s, again)
		got, _ := ReadAudit(t, s, convertor.AuditFilter{})
		if diff := cmp.Diff([]*convertor.AuditEntry{e}, got); diff != "" {
			t.Errorf("Audit() after a second put mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for name, edit := range map[string]func(*convertor.AuditEntry){
			"NoID":        func(e *convertor.AuditEntry) { e.ID = "" },
			"NoTime":      func(e *convertor.AuditEntry) { e.Time = time.Time{} },
			"NoActor":     func(e *convertor.AuditEntry) { e.Actor = "" },
			"NoAuthMode":  func(e *convertor.AuditEntry) { e.AuthMode = "" },
			"NoAction":    func(e *convertor.AuditEntry) { e.Action = "" },
			"NoResource":  func(e *convertor.AuditEntry) { e.ResourceID = "" },
			"BeforeNotJS": func(e *convertor.AuditEntry) { e.Before = json.RawMessage(`{"a":`) },
			"AfterNotJS":  func(e *convertor.AuditEntry) { e.After = json.RawMessage(`not json`) },
		} {
			e := NewAuditEntry(1, base)
			edit(e)
			WantCode(t, "PutAudit("+name+")", s.PutAudit(ctx, e), convertor.EInvalid)
		}
		if got, _ := ReadAudit(t, s, convertor.AuditFilter{}); len(got) != 0 {
			t.Errorf("Audit() after invalid puts = %v, want none", auditIDs(got))
		}
	})

	t.Run("NewestFirstInPages", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		var all []*convertor.AuditEntry
		for i := range 23 {
			all = append(all, NewAuditEntry(i, base.Add(time.Duration(i)*time.Minute)))
		}
		// Two entries share one instant.
		all = append(all, NewAuditEntry(23, all[7].Time))
		for _, i := range rand.New(rand.NewPCG(1, 2)).Perm(len(all)) {
			MustPutAudit(t, s, all[i])
		}
		got, pages := ReadAudit(t, s, convertor.AuditFilter{Limit: 5})
		if pages != 5 {
			t.Errorf("Audit() took %d pages of 5 for 24 entries, want 5", pages)
		}
		want := slices.Clone(all)
		slices.SortFunc(want, func(a, b *convertor.AuditEntry) int { return b.Time.Compare(a.Time) })
		// Same-instant entries may come in either order.
		sameInstant := cmpopts.SortSlices(func(a, b string) bool { return a < b })
		if len(got) != len(want) {
			t.Fatalf("Audit() = %d entries, want %d", len(got), len(want))
		}
		for i := range want {
			if !want[i].Time.Equal(got[i].Time) {
				t.Errorf("Audit()[%d] time = %v, want %v (newest first)", i, got[i].Time, want[i].Time)
			}
		}
		if diff := cmp.Diff(auditIDs(want), auditIDs(got), sameInstant); diff != "" {
			t.Errorf("Audit() ids mismatch, duplicates or gaps (-want +got):\n%s", diff)
		}
		if page, next, err := s.Audit(ctx, convertor.AuditFilter{Limit: len(all)}); err != nil || len(page) != len(all) || next != "" {
			t.Errorf("Audit(limit %d) = %d entries, next %q, %v; want all and no cursor", len(all), len(page), next, err)
		}
	})

	t.Run("TimeRange", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		from, to := base, base.Add(time.Hour)
		for i, at := range []time.Time{from.Add(-time.Nanosecond), from, from.Add(30 * time.Minute), to.Add(-time.Nanosecond), to} {
			MustPutAudit(t, s, NewAuditEntry(i, at))
		}
		for _, tt := range []struct {
			name     string
			from, to time.Time
			want     []int
		}{
			{"Both", from, to, []int{3, 2, 1}},
			{"FromOnly", from, time.Time{}, []int{4, 3, 2, 1}},
			{"ToOnly", time.Time{}, from, []int{0}},
			{"Empty", to, from, nil},
		} {
			got, _ := ReadAudit(t, s, convertor.AuditFilter{From: tt.from, To: tt.to, Limit: 2})
			if diff := cmp.Diff(entryIDs(tt.want), auditIDs(got)); diff != "" {
				t.Errorf("%s: Audit() ids mismatch (-want +got):\n%s", tt.name, diff)
			}
		}
	})

	t.Run("Filters", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		// 90 entries; each filter matches a few of them, spread out, so
		// that pages fill only after many entries were passed over.
		actors := []string{"alice", "bob", "carol", "dave", "erin"}
		actions := []string{convertor.AuditKeyUpdate, convertor.AuditKeyRevoke, convertor.AuditRoutePut, convertor.AuditPriceCreate}
		var all []*convertor.AuditEntry
		for i := range 90 {
			e := NewAuditEntry(i, base.Add(time.Duration(i)*time.Minute))
			e.Actor, e.Action = actors[i%len(actors)], actions[i%len(actions)]
			switch e.Action {
			case convertor.AuditRoutePut:
				e.Resource, e.ResourceID = "route", fmt.Sprintf("model-%d", i%3)
			case convertor.AuditPriceCreate:
				e.Resource, e.ResourceID = "price", fmt.Sprintf("anthropic.m#global#%d", i%2)
			default:
				e.Resource, e.ResourceID = "key", fmt.Sprintf("key_%d", i%7)
			}
			all = append(all, e)
			MustPutAudit(t, s, e)
		}
		from, to := base.Add(20*time.Minute), base.Add(70*time.Minute)
		for _, f := range []convertor.AuditFilter{
			{Actor: "bob"},
			{Action: convertor.AuditKeyRevoke},
			{Resource: "route"},
			{ResourceID: "key_3"},
			{Actor: "alice", Action: convertor.AuditKeyUpdate},
			{ResourceID: "key_3", Actor: "carol"},
			{Resource: "price", ResourceID: "anthropic.m#global#1", Actor: "dave", Action: convertor.AuditPriceCreate},
			{Actor: "erin", From: from, To: to},
			{Resource: "key", From: from, To: to},
			{Actor: "nobody"},
			{ResourceID: "key_3", Resource: "route"},
		} {
			var want []string
			for i := len(all) - 1; i >= 0; i-- {
				if auditMatches(all[i], f) {
					want = append(want, all[i].ID)
				}
			}
			for _, limit := range []int{1, 3} {
				f.Limit = limit
				got, _ := ReadAudit(t, s, f)
				if diff := cmp.Diff(want, auditIDs(got)); diff != "" {
					t.Errorf("Audit(%+v) ids mismatch (-want +got):\n%s", f, diff)
				}
			}
		}
	})

	t.Run("CursorWithOtherFilter", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for i := range 10 {
			MustPutAudit(t, s, NewAuditEntry(i, base.Add(time.Duration(i)*time.Minute)))
		}
		page, next, err := s.Audit(ctx, convertor.AuditFilter{Limit: 3})
		if err != nil || len(page) != 3 || next == "" {
			t.Fatalf("Audit(limit 3) = %v, %q, %v", auditIDs(page), next, err)
		}
		// The cursor sits at entry 7; a later page may narrow the range.
		for _, tt := range []struct {
			name     string
			from, to time.Time
			want     []int
		}{
			{"EndsBefore", time.Time{}, base.Add(3 * time.Minute), []int{2, 1, 0}},
			{"StartsAfter", base.Add(8 * time.Minute), time.Time{}, nil},
			{"Around", base.Add(5 * time.Minute), base.Add(9 * time.Minute), []int{6, 5}},
		} {
			got, next2, err := s.Audit(ctx, convertor.AuditFilter{From: tt.from, To: tt.to, Cursor: next})
			if err != nil || next2 != "" {
				t.Errorf("%s: Audit() next %q, error %v; want no cursor, no error", tt.name, next2, err)
			}
			if diff := cmp.Diff(entryIDs(tt.want), auditIDs(got)); diff != "" {
				t.Errorf("%s: Audit() ids mismatch (-want +got):\n%s", tt.name, diff)
			}
		}
	})

	t.Run("Limits", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for i := range convertor.DefaultPageSize + 5 {
			MustPutAudit(t, s, NewAuditEntry(i, base.Add(time.Duration(i)*time.Second)))
		}
		page, next, err := s.Audit(ctx, convertor.AuditFilter{})
		if err != nil || len(page) != convertor.DefaultPageSize || next == "" {
			t.Errorf("Audit(limit 0) = %d entries, next %q, %v; want %d and a cursor", len(page), next, err, convertor.DefaultPageSize)
		}
		page, next, err = s.Audit(ctx, convertor.AuditFilter{Limit: convertor.MaxPageSize})
		if err != nil || len(page) != convertor.DefaultPageSize+5 || next != "" {
			t.Errorf("Audit(limit max) = %d entries, next %q, %v; want all and no cursor", len(page), next, err)
		}
		for _, limit := range []int{-1, convertor.MaxPageSize + 1} {
			WantCode(t, fmt.Sprintf("Audit(limit %d)", limit), ErrOf2(s.Audit(ctx, convertor.AuditFilter{Limit: limit})), convertor.EInvalid)
		}
	})

	t.Run("ErrCursor", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for i := range 3 {
			MustPutAudit(t, s, NewAuditEntry(i, base.Add(time.Duration(i)*time.Second)))
		}
		_, next, err := s.Audit(ctx, convertor.AuditFilter{Limit: 1})
		if err != nil || next == "" {
			t.Fatalf("Audit(limit 1) next %q, error %v", next, err)
		}
		for _, c := range BadCursors(next) {
			WantCode(t, "Audit(cursor "+c+")", ErrOf2(s.Audit(ctx, convertor.AuditFilter{Cursor: c})), convertor.EInvalid)
		}
	})
}

// NewAuditEntry returns entry i (its id and resource derive from i) at
// at: alice updating a key.
func NewAuditEntry(i int, at time.Time) *convertor.AuditEntry {
	return &convertor.AuditEntry{
		ID:         fmt.Sprintf("01JAUDIT%018d", i),
		Time:       at,
		Actor:      "alice",
		AuthMode:   "cognito",
		Action:     convertor.AuditKeyUpdate,
		Resource:   "key",
		ResourceID: fmt.Sprintf("key_%d", i),
		Before:     json.RawMessage(`{"rpm":60}`),
		After:      json.RawMessage(`{"rpm":120}`),
	}
}

// MustPutAudit stores e, stopping t on an error.
func MustPutAudit(t testing.TB, s convertor.AuditStore, e *convertor.AuditEntry) {
	t.Helper()
	if err := s.PutAudit(context.Background(), e); err != nil {
		t.Fatalf("PutAudit(%s) error = %v", e.ID, err)
	}
}

// ReadAudit follows f's cursors to the end and returns every entry and the
// number of pages. It stops t unless every page but the last is full and
// the last has no cursor.
func ReadAudit(t testing.TB, s convertor.AuditStore, f convertor.AuditFilter) (entries []*convertor.AuditEntry, pages int) {
	t.Helper()
	return readPages(t, fmt.Sprintf("Audit(%+v)", f), f.Limit, func(cursor string) ([]*convertor.AuditEntry, string, error) {
		f.Cursor = cursor
		return s.Audit(context.Background(), f)
	})
}

func auditMatches(e *convertor.AuditEntry, f convertor.AuditFilter) bool {
	eq := func(filter, v string) bool { return filter == "" || filter == v }
	return (f.From.IsZero() || !e.Time.Before(f.From)) && (f.To.IsZero() || e.Time.Before(f.To)) &&
		eq(f.Actor, e.Actor) && eq(f.Action, e.Action) && eq(f.Resource, e.Resource) && eq(f.ResourceID, e.ResourceID)
}

func auditIDs(es []*convertor.AuditEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

// entryIDs returns the ids of NewAuditEntry(i) for each i.
func entryIDs(is []int) []string {
	var out []string
	for _, i := range is {
		out = append(out, NewAuditEntry(i, time.Time{}).ID)
	}
	return out
}
