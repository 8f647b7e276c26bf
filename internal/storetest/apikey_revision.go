package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor"
)

// apiKeyRevisions runs the part of the APIKeyStore contract about
// APIKey.Revision and the changes made conditional on it.
func apiKeyRevisions(t *testing.T, newStore func(t *testing.T) convertor.APIKeyStore) {
	ctx := context.Background()

	t.Run("Revision", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		k := NewKey(t, "counted")
		k.Revision = 42 // the store starts every key at 1, whatever it is given
		MustCreateKey(t, s, k)
		WantRevision(t, s, k.ID, 1)

		name := "renamed"
		got, err := s.UpdateAPIKey(ctx, k.ID, convertor.APIKeyUpdate{Name: &name})
		if err != nil {
			t.Fatalf("UpdateAPIKey() error = %v", err)
		}
		if got.Revision != 2 {
			t.Errorf("UpdateAPIKey().Revision = %d, want 2", got.Revision)
		}
		WantRevision(t, s, k.ID, 2)

		used := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
		if err := s.TouchAPIKeys(ctx, map[string]time.Time{k.ID: used}); err != nil {
			t.Fatalf("TouchAPIKeys() error = %v", err)
		}
		WantRevision(t, s, k.ID, 2) // last-used times are no change of the key

		got, err = s.RotateAPIKey(ctx, k.ID, NewRotation(t, used, used.Add(time.Hour)))
		if err != nil {
			t.Fatalf("RotateAPIKey() error = %v", err)
		}
		if got.Revision != 3 {
			t.Errorf("RotateAPIKey().Revision = %d, want 3", got.Revision)
		}
		WantRevision(t, s, k.ID, 3)

		for range 2 {
			if err := s.RevokeAPIKey(ctx, k.ID, used); err != nil {
				t.Fatalf("RevokeAPIKey() error = %v", err)
			}
			WantRevision(t, s, k.ID, 4) // the second revocation changes nothing
		}
		list, err := s.ListAPIKeys(ctx)
		if err != nil || len(list) != 1 || list[0].Revision != 4 {
			t.Errorf("ListAPIKeys() = %v, %v; want the key at revision 4", list, err)
		}
		byOld, err := s.APIKeyByHash(ctx, k.Hash)
		if err != nil || byOld.Revision != 4 {
			t.Errorf("APIKeyByHash(previous secret) = %v, %v; want revision 4", byOld, err)
		}
	})

	t.Run("IfRevision", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		k := NewKey(t, "guarded")
		MustCreateKey(t, s, k)
		// A last-used time written meanwhile must not fail the condition.
		if err := s.TouchAPIKeys(ctx, map[string]time.Time{k.ID: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
			t.Fatalf("TouchAPIKeys() error = %v", err)
		}
		first := "first"
		want, err := s.UpdateAPIKey(ctx, k.ID, convertor.APIKeyUpdate{Name: &first, IfRevision: 1})
		if err != nil {
			t.Fatalf("UpdateAPIKey(IfRevision 1) error = %v", err)
		}
		if want.Name != first || want.Revision != 2 {
			t.Errorf("UpdateAPIKey(IfRevision 1) = %+v, want name %q at revision 2", want, first)
		}

		// A second operator still holding revision 1 is refused.
		second, rpm := "second", int64(9)
		WantCode(t, "UpdateAPIKey(stale IfRevision)",
			ErrOf(s.UpdateAPIKey(ctx, k.ID, convertor.APIKeyUpdate{Name: &second, RPM: &rpm, IfRevision: 1})), convertor.EPrecondition)
		rot := NewRotation(t, time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC), time.Time{})
		rot.IfRevision = 1
		WantCode(t, "RotateAPIKey(stale IfRevision)", ErrOf(s.RotateAPIKey(ctx, k.ID, rot)), convertor.EPrecondition)
		got, err := s.APIKey(ctx, k.ID)
		if err != nil {
			t.Fatalf("APIKey() error = %v", err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("refused changes changed the key (-want +got):\n%s", diff)
		}
		if got, err := s.APIKeyByHash(ctx, k.Hash); err != nil || got.ID != k.ID || got.ByPrevious {
			t.Errorf("APIKeyByHash(secret) after refused rotation = %+v, %v; want the key, current", got, err)
		}
		WantCode(t, "APIKeyByHash(refused rotation)", ErrOf(s.APIKeyByHash(ctx, rot.Hash)), convertor.ENotFound)

		rot.IfRevision = 2
		rotated, err := s.RotateAPIKey(ctx, k.ID, rot)
		if err != nil {
			t.Fatalf("RotateAPIKey(IfRevision 2) error = %v", err)
		}
		if rotated.Revision != 3 {
			t.Errorf("RotateAPIKey(IfRevision 2).Revision = %d, want 3", rotated.Revision)
		}
		if _, err := s.UpdateAPIKey(ctx, k.ID, convertor.APIKeyUpdate{Name: &second, IfRevision: 3}); err != nil {
			t.Errorf("UpdateAPIKey(IfRevision 3) error = %v", err)
		}
		WantRevision(t, s, k.ID, 4)
		WantCode(t, "UpdateAPIKey(missing key, IfRevision)",
			ErrOf(s.UpdateAPIKey(ctx, "key_missing", convertor.APIKeyUpdate{Name: &second, IfRevision: 1})), convertor.ENotFound)
	})

	t.Run("ConcurrentConditionalUpdates", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		k := NewKey(t, "edited twice")
		MustCreateKey(t, s, k)
		// Operators who all read revision 1: exactly one may write.
		const n = 4
		names := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			names[i] = fmt.Sprintf("operator %d", i)
			wg.Go(func() {
				_, errs[i] = s.UpdateAPIKey(ctx, k.ID, convertor.APIKeyUpdate{Name: &names[i], IfRevision: 1})
			})
		}
		wg.Wait()
		got, err := s.APIKey(ctx, k.ID)
		if err != nil {
			t.Fatalf("APIKey() error = %v", err)
		}
		won := 0
		for i, err := range errs {
			switch convertor.ErrorCode(err) {
			case "":
				won++
				if got.Name != names[i] {
					t.Errorf("update %d succeeded but the name is %q", i, got.Name)
				}
			case convertor.EPrecondition:
			default:
				t.Errorf("UpdateAPIKey(%d) error = %v, want nil or precondition", i, err)
			}
		}
		if won != 1 {
			t.Errorf("%d conditional updates on revision 1 succeeded, want 1", won)
		}
		if got.Revision != 2 {
			t.Errorf("Revision = %d, want 2", got.Revision)
		}
	})
}

// WantRevision fails t unless the key id is stored at revision want.
func WantRevision(t testing.TB, s convertor.APIKeyStore, id string, want int64) {
	t.Helper()
	got, err := s.APIKey(context.Background(), id)
	if err != nil {
		t.Fatalf("APIKey(%s) error = %v", id, err)
	}
	if got.Revision != want {
		t.Errorf("Revision of %s = %d, want %d", id, got.Revision, want)
	}
}
