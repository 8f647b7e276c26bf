package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor"
)

// APIKeyStore runs the APIKeyStore contract on stores from newStore, which
// gives each parallel subtest an empty store of its own.
func APIKeyStore(t *testing.T, newStore func(t *testing.T) convertor.APIKeyStore) {
	ctx := context.Background()

	t.Run("CreateAndGet", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		want := NewKey(t, "alpha")
		want.Owner = "team-a"
		want.ExpiresAt = time.Date(2030, 1, 2, 3, 4, 5, 600700800, time.UTC)
		want.AllowedModels = []string{"claude-sonnet-4-5", "claude-haiku-4-5"}
		want.RPM, want.TPM, want.MonthlyBudgetMicros = 60, 100000, 12_500_000
		MustCreateKey(t, s, want)

		got, err := s.APIKey(ctx, want.ID)
		if err != nil {
			t.Fatalf("APIKey() error = %v", err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("APIKey() mismatch (-want +got):\n%s", diff)
		}
		got, err = s.APIKeyByHash(ctx, want.Hash)
		if err != nil {
			t.Fatalf("APIKeyByHash() error = %v", err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("APIKeyByHash() mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		k := NewKey(t, " ")
		WantCode(t, "CreateAPIKey()", s.CreateAPIKey(ctx, k), convertor.EInvalid)
		WantCode(t, "APIKey()", ErrOf(s.APIKey(ctx, k.ID)), convertor.ENotFound)
	})

	t.Run("ErrConflict", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		k := NewKey(t, "first")
		MustCreateKey(t, s, k)

		sameID := NewKey(t, "same id")
		sameID.ID = k.ID
		WantCode(t, "CreateAPIKey(same id)", s.CreateAPIKey(ctx, sameID), convertor.EConflict)
		if _, err := s.APIKeyByHash(ctx, sameID.Hash); convertor.ErrorCode(err) != convertor.ENotFound {
			t.Errorf("APIKeyByHash(refused key) error = %v, want not_found", err)
		}

		sameHash := NewKey(t, "same hash")
		sameHash.Hash = k.Hash
		WantCode(t, "CreateAPIKey(same hash)", s.CreateAPIKey(ctx, sameHash), convertor.EConflict)
		WantCode(t, "APIKey(refused key)", ErrOf(s.APIKey(ctx, sameHash.ID)), convertor.ENotFound)
		// The refused create must not have disturbed the existing key.
		got, err := s.APIKeyByHash(ctx, k.Hash)
		if err != nil || got.ID != k.ID {
			t.Errorf("APIKeyByHash() = %v, %v; want key %s", got, err, k.ID)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		WantCode(t, "APIKey()", ErrOf(s.APIKey(ctx, "key_missing")), convertor.ENotFound)
		WantCode(t, "APIKeyByHash()", ErrOf(s.APIKeyByHash(ctx, convertor.HashAPIKey("sk-missing"))), convertor.ENotFound)
		WantCode(t, "UpdateAPIKey()", ErrOf(s.UpdateAPIKey(ctx, "key_missing", convertor.APIKeyUpdate{})), convertor.ENotFound)
		WantCode(t, "RevokeAPIKey()", s.RevokeAPIKey(ctx, "key_missing", time.Now()), convertor.ENotFound)
		WantCode(t, "RotateAPIKey()", ErrOf(s.RotateAPIKey(ctx, "key_missing", NewRotation(t, time.Now(), time.Time{}))), convertor.ENotFound)
	})

	t.Run("List", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		var want []*convertor.APIKey
		for i := range 4 {
			k := NewKey(t, fmt.Sprintf("key %d", i))
			k.CreatedAt = base.Add(time.Duration(i) * time.Hour)
			MustCreateKey(t, s, k)
			want = append([]*convertor.APIKey{k}, want...)
		}
		revokedAt := base.Add(24 * time.Hour)
		if err := s.RevokeAPIKey(ctx, want[1].ID, revokedAt); err != nil {
			t.Fatalf("RevokeAPIKey() error = %v", err)
		}
		want[1].RevokedAt, want[1].Revision = revokedAt, 2
		got, err := s.ListAPIKeys(ctx)
		if err != nil {
			t.Fatalf("ListAPIKeys() error = %v", err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ListAPIKeys() mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("Update", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		k := NewKey(t, "before")
		k.AllowedModels = []string{"claude-haiku-4-5"}
		k.RPM = 10
		MustCreateKey(t, s, k)

		name, enabled, tpm := "after", false, int64(5000)
		expires := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
		got, err := s.UpdateAPIKey(ctx, k.ID, convertor.APIKeyUpdate{
			Name: &name, Enabled: &enabled, TPM: &tpm, ExpiresAt: &expires, AllowedModels: &[]string{},
		})
		if err != nil {
			t.Fatalf("UpdateAPIKey() error = %v", err)
		}
		want := *k
		want.Name, want.Enabled, want.TPM, want.ExpiresAt, want.AllowedModels = name, enabled, tpm, expires, nil
		want.Revision = 2
		if diff := cmp.Diff(&want, got, emptySliceIsNil); diff != "" {
			t.Errorf("UpdateAPIKey() mismatch (-want +got):\n%s", diff)
		}
		stored, err := s.APIKeyByHash(ctx, k.Hash)
		if err != nil {
			t.Fatalf("APIKeyByHash() error = %v", err)
		}
		if diff := cmp.Diff(&want, stored, emptySliceIsNil); diff != "" {
			t.Errorf("APIKeyByHash() after update mismatch (-want +got):\n%s", diff)
		}

		neg := int64(-1)
		WantCode(t, "UpdateAPIKey(rpm -1)", ErrOf(s.UpdateAPIKey(ctx, k.ID, convertor.APIKeyUpdate{RPM: &neg, Name: &name})), convertor.EInvalid)
		blank := ""
		WantCode(t, "UpdateAPIKey(name empty)", ErrOf(s.UpdateAPIKey(ctx, k.ID, convertor.APIKeyUpdate{Name: &blank})), convertor.EInvalid)
		stored, err = s.APIKey(ctx, k.ID)
		if err != nil {
			t.Fatalf("APIKey() error = %v", err)
		}
		if diff := cmp.Diff(&want, stored, emptySliceIsNil); diff != "" {
			t.Errorf("refused update changed the key (-want +got):\n%s", diff)
		}
	})

	t.Run("Revoke", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		k := NewKey(t, "doomed")
		MustCreateKey(t, s, k)
		first := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
		for _, at := range []time.Time{first, first.Add(time.Hour)} {
			if err := s.RevokeAPIKey(ctx, k.ID, at); err != nil {
				t.Fatalf("RevokeAPIKey() error = %v", err)
			}
		}
		// The request path must still find it, to say why it fails.
		got, err := s.APIKeyByHash(ctx, k.Hash)
		if err != nil {
			t.Fatalf("APIKeyByHash() error = %v", err)
		}
		if !got.RevokedAt.Equal(first) {
			t.Errorf("RevokedAt = %v, want the first revocation %v", got.RevokedAt, first)
		}
		if got.Revision != 2 {
			t.Errorf("Revision = %d, want 2: the second revocation changed nothing", got.Revision)
		}
		if ok, _ := got.Usable(first); ok {
			t.Errorf("Usable() = true for a revoked key")
		}
		rot := NewRotation(t, first, first.Add(time.Hour))
		WantCode(t, "RotateAPIKey(revoked)", ErrOf(s.RotateAPIKey(ctx, k.ID, rot)), convertor.EConflict)
		WantCode(t, "APIKeyByHash(refused rotation)", ErrOf(s.APIKeyByHash(ctx, rot.Hash)), convertor.ENotFound)
	})

	t.Run("Rotate", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		k := NewKey(t, "rotating")
		k.RPM, k.MonthlyBudgetMicros = 30, 1_000_000
		MustCreateKey(t, s, k)
		used := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
		if err := s.TouchAPIKeys(ctx, map[string]time.Time{k.ID: used}); err != nil {
			t.Fatalf("TouchAPIKeys() error = %v", err)
		}

		rot := NewRotation(t, used.Add(time.Hour), time.Time{})
		newHash := rot.Hash
		got, err := s.RotateAPIKey(ctx, k.ID, rot)
		if err != nil {
			t.Fatalf("RotateAPIKey() error = %v", err)
		}
		want := *k
		want.Hash, want.Prefix, want.LastUsedAt, want.RotatedAt, want.Revision = newHash, rot.Prefix, used, rot.At, 2
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("RotateAPIKey() mismatch (-want +got):\n%s", diff)
		}
		WantCode(t, "APIKeyByHash(old)", ErrOf(s.APIKeyByHash(ctx, k.Hash)), convertor.ENotFound)
		for name, get := range map[string]func() (*convertor.APIKey, error){
			"APIKeyByHash(new)": func() (*convertor.APIKey, error) { return s.APIKeyByHash(ctx, newHash) },
			"APIKey()":          func() (*convertor.APIKey, error) { return s.APIKey(ctx, k.ID) },
		} {
			got, err := get()
			if err != nil {
				t.Fatalf("%s error = %v", name, err)
			}
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
			}
		}
		list, err := s.ListAPIKeys(ctx)
		if err != nil {
			t.Fatalf("ListAPIKeys() error = %v", err)
		}
		if diff := cmp.Diff([]*convertor.APIKey{&want}, list); diff != "" {
			t.Errorf("ListAPIKeys() after rotation mismatch (-want +got):\n%s", diff)
		}

		other := NewKey(t, "other")
		MustCreateKey(t, s, other)
		for name, hash := range map[string]string{"taken hash": other.Hash, "own hash": newHash} {
			taken := NewRotation(t, rot.At, time.Time{})
			taken.Hash = hash
			WantCode(t, "RotateAPIKey("+name+")", ErrOf(s.RotateAPIKey(ctx, k.ID, taken)), convertor.EConflict)
		}
		bad := NewRotation(t, rot.At, time.Time{})
		bad.Hash = "abc"
		WantCode(t, "RotateAPIKey(bad hash)", ErrOf(s.RotateAPIKey(ctx, k.ID, bad)), convertor.EInvalid)
		if got, err := s.APIKey(ctx, k.ID); err != nil || got.Revision != 2 {
			t.Errorf("APIKey() after refused rotations = %v, %v; want revision 2", got, err)
		}
		if got, err := s.APIKeyByHash(ctx, newHash); err != nil || got.ID != k.ID {
			t.Errorf("APIKeyByHash(new) after refused rotations = %v, %v; want key %s", got, err, k.ID)
		}
		if got, err := s.APIKeyByHash(ctx, other.Hash); err != nil || got.ID != other.ID {
			t.Errorf("APIKeyByHash(other) = %v, %v; want key %s", got, err, other.ID)
		}
	})

	t.Run("Touch", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		a, b := NewKey(t, "a"), NewKey(t, "b")
		MustCreateKey(t, s, a)
		MustCreateKey(t, s, b)
		t1 := time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC)
		t0 := t1.Add(-time.Minute)
		if err := s.TouchAPIKeys(ctx, map[string]time.Time{a.ID: t1, b.ID: t0, "key_gone": t1}); err != nil {
			t.Fatalf("TouchAPIKeys() error = %v", err)
		}
		// A late batch with an older time must not move it back.
		if err := s.TouchAPIKeys(ctx, map[string]time.Time{a.ID: t0}); err != nil {
			t.Fatalf("TouchAPIKeys() error = %v", err)
		}
		for id, want := range map[string]time.Time{a.ID: t1, b.ID: t0} {
			got, err := s.APIKey(ctx, id)
			if err != nil {
				t.Fatalf("APIKey() error = %v", err)
			}
			if !got.LastUsedAt.Equal(want) {
				t.Errorf("LastUsedAt of %s = %v, want %v", id, got.LastUsedAt, want)
			}
		}
	})

	t.Run("ConcurrentUpdates", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		k := NewKey(t, "contended")
		MustCreateKey(t, s, k)
		// Each writer sets a different field; a lost update would show as a
		// successful write whose value is gone at the end.
		name, owner, rpm, tpm := "renamed", "owner-x", int64(7), int64(9)
		updates := []convertor.APIKeyUpdate{{Name: &name}, {Owner: &owner}, {RPM: &rpm}, {TPM: &tpm}}
		used := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
		errs := make([]error, len(updates)+1)
		var wg sync.WaitGroup
		for i, upd := range updates {
			wg.Go(func() { _, errs[i] = s.UpdateAPIKey(ctx, k.ID, upd) })
		}
		wg.Go(func() { errs[len(updates)] = s.TouchAPIKeys(ctx, map[string]time.Time{k.ID: used}) })
		wg.Wait()
		got, err := s.APIKey(ctx, k.ID)
		if err != nil {
			t.Fatalf("APIKey() error = %v", err)
		}
		checks := []bool{got.Name == name, got.Owner == owner, got.RPM == rpm, got.TPM == tpm}
		won := int64(0)
		for i, err := range errs[:len(updates)] {
			switch {
			case err != nil && convertor.ErrorCode(err) != convertor.EConflict:
				t.Errorf("UpdateAPIKey(%d) error = %v, want nil or conflict", i, err)
			case err == nil && !checks[i]:
				t.Errorf("update %d succeeded but was lost: %+v", i, got)
			case err == nil:
				won++
			}
		}
		if got.Revision != 1+won {
			t.Errorf("Revision = %d after %d successful updates, want %d", got.Revision, won, 1+won)
		}
		if errs[len(updates)] != nil {
			t.Errorf("TouchAPIKeys() error = %v", errs[len(updates)])
		}
		if !got.LastUsedAt.Equal(used) {
			t.Errorf("LastUsedAt = %v, want %v", got.LastUsedAt, used)
		}
	})

	apiKeyRevisions(t, newStore)
	apiKeyRotations(t, newStore)

	t.Run("ConcurrentCreateSameSecret", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		hash := convertor.HashAPIKey("sk-" + randomHex(t))
		const n = 4
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			k := NewKey(t, fmt.Sprintf("racer %d", i))
			k.Hash = hash
			wg.Go(func() { errs[i] = s.CreateAPIKey(ctx, k) })
		}
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch convertor.ErrorCode(err) {
			case "":
				won++
			case convertor.EConflict:
			default:
				t.Errorf("CreateAPIKey(%d) error = %v, want nil or conflict", i, err)
			}
		}
		if won != 1 {
			t.Errorf("%d creates of one secret succeeded, want 1", won)
		}
		list, err := s.ListAPIKeys(ctx)
		if err != nil {
			t.Fatalf("ListAPIKeys() error = %v", err)
		}
		if len(list) != 1 {
			t.Errorf("ListAPIKeys() has %d keys, want 1", len(list))
		}
	})
}

// emptySliceIsNil treats a cleared model list as no list: a store may
// return either.
var emptySliceIsNil = cmp.Transformer("nilSlice", func(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
})

// NewKey returns a valid, enabled key named name, with a fresh id and
// secret, not stored yet. Its Revision is 1, as a store records it.
func NewKey(t testing.TB, name string) *convertor.APIKey {
	t.Helper()
	secret := "sk-" + randomHex(t)
	return &convertor.APIKey{
		ID:        "key_" + strings.ToUpper(randomHex(t)[:26]),
		Hash:      convertor.HashAPIKey(secret),
		Prefix:    secret[:8],
		Name:      name,
		Enabled:   true,
		CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC),
		Revision:  1,
	}
}

// NewRotation returns a rotation to a fresh secret at at, keeping the
// replaced secret until until (zero: not at all).
func NewRotation(t testing.TB, at, until time.Time) convertor.APIKeyRotation {
	t.Helper()
	secret := "sk-" + randomHex(t)
	return convertor.APIKeyRotation{Hash: convertor.HashAPIKey(secret), Prefix: secret[:8], At: at, PreviousUntil: until}
}

// MustCreateKey stores k and stops t if that fails.
func MustCreateKey(t testing.TB, s convertor.APIKeyStore, k *convertor.APIKey) {
	t.Helper()
	if err := s.CreateAPIKey(context.Background(), k); err != nil {
		t.Fatalf("CreateAPIKey(%s) error = %v", k.Name, err)
	}
}
