package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor"
)

// apiKeyRotations runs the part of the APIKeyStore contract about
// rotations that keep the replaced secret working for a while, and the
// status operators see.
func apiKeyRotations(t *testing.T, newStore func(t *testing.T) convertor.APIKeyStore) {
	ctx := context.Background()
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

	t.Run("RotateWithGrace", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		k := NewKey(t, "graceful")
		k.RPM, k.AllowedModels = 30, []string{"claude-haiku-4-5"}
		MustCreateKey(t, s, k)

		until := at.Add(24 * time.Hour)
		rot := NewRotation(t, at, until)
		got, err := s.RotateAPIKey(ctx, k.ID, rot)
		if err != nil {
			t.Fatalf("RotateAPIKey() error = %v", err)
		}
		want := *k
		want.Hash, want.Prefix, want.RotatedAt, want.Revision = rot.Hash, rot.Prefix, at, 2
		want.PreviousPrefix, want.PreviousUntil = k.Prefix, until
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("RotateAPIKey() mismatch (-want +got):\n%s", diff)
		}
		WantKey(t, s, rot.Hash, &want, "new secret")
		old := WantKey(t, s, k.Hash, byPrevious(&want), "previous secret")
		if ok, why := old.Usable(until.Add(-time.Nanosecond)); !ok {
			t.Errorf("previous secret Usable(before PreviousUntil) = false, %q", why)
		}
		if ok, _ := old.Usable(until); ok {
			t.Errorf("previous secret Usable(PreviousUntil) = true, want false")
		}
		if ok, why := got.Usable(until); !ok {
			t.Errorf("new secret Usable(PreviousUntil) = false, %q", why)
		}
		WantList(t, s, &want)

		// The previous secret opens the key as it is now, not as it was.
		enabled, rpm := false, int64(5)
		updated, err := s.UpdateAPIKey(ctx, k.ID, convertor.APIKeyUpdate{Enabled: &enabled, RPM: &rpm})
		if err != nil {
			t.Fatalf("UpdateAPIKey() error = %v", err)
		}
		old = WantKey(t, s, k.Hash, byPrevious(updated), "previous secret after update")
		if ok, why := old.Usable(at); ok || why != "This API key is disabled." {
			t.Errorf("previous secret of a disabled key: Usable() = %t, %q", ok, why)
		}

		revokedAt := at.Add(time.Hour)
		if err := s.RevokeAPIKey(ctx, k.ID, revokedAt); err != nil {
			t.Fatalf("RevokeAPIKey() error = %v", err)
		}
		revoked, err := s.APIKey(ctx, k.ID)
		if err != nil {
			t.Fatalf("APIKey() error = %v", err)
		}
		if !revoked.RevokedAt.Equal(revokedAt) {
			t.Fatalf("RevokedAt = %v, want %v", revoked.RevokedAt, revokedAt)
		}
		old = WantKey(t, s, k.Hash, byPrevious(revoked), "previous secret after revocation")
		if ok, _ := old.Usable(at); ok {
			t.Errorf("previous secret of a revoked key: Usable() = true")
		}
		WantList(t, s, revoked)
	})

	t.Run("RotateTwice", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		k := NewKey(t, "twice")
		MustCreateKey(t, s, k)
		first := NewRotation(t, at, at.Add(time.Hour))
		if _, err := s.RotateAPIKey(ctx, k.ID, first); err != nil {
			t.Fatalf("RotateAPIKey(first) error = %v", err)
		}
		second := NewRotation(t, at.Add(time.Minute), at.Add(2*time.Hour))
		want, err := s.RotateAPIKey(ctx, k.ID, second)
		if err != nil {
			t.Fatalf("RotateAPIKey(second) error = %v", err)
		}
		if want.PreviousPrefix != first.Prefix || !want.PreviousUntil.Equal(second.PreviousUntil) || want.Revision != 3 {
			t.Errorf("RotateAPIKey(second) = %+v, want previous %s until %v at revision 3", want, first.Prefix, second.PreviousUntil)
		}
		// A key has one previous secret: the first one ended at once,
		// though its own grace period had not.
		WantCode(t, "APIKeyByHash(first secret)", ErrOf(s.APIKeyByHash(ctx, k.Hash)), convertor.ENotFound)
		WantKey(t, s, first.Hash, byPrevious(want), "second secret")
		WantKey(t, s, second.Hash, want, "third secret")
		WantList(t, s, want)

		// Going back to the previous secret is taking a hash in use.
		back := NewRotation(t, at.Add(2*time.Minute), time.Time{})
		back.Hash = first.Hash
		WantCode(t, "RotateAPIKey(previous secret)", ErrOf(s.RotateAPIKey(ctx, k.ID, back)), convertor.EConflict)
		WantKey(t, s, first.Hash, byPrevious(want), "second secret after refused rotation")

		// Without a grace period, no secret but the new one works.
		third := NewRotation(t, at.Add(3*time.Minute), time.Time{})
		got, err := s.RotateAPIKey(ctx, k.ID, third)
		if err != nil {
			t.Fatalf("RotateAPIKey(third) error = %v", err)
		}
		if got.PreviousPrefix != "" || !got.PreviousUntil.IsZero() || got.Revision != 4 || !got.RotatedAt.Equal(third.At) {
			t.Errorf("RotateAPIKey(third) = %+v, want no previous secret, rotated at %v, revision 4", got, third.At)
		}
		for name, hash := range map[string]string{"first": k.Hash, "second": first.Hash, "third": second.Hash} {
			WantCode(t, "APIKeyByHash("+name+" secret)", ErrOf(s.APIKeyByHash(ctx, hash)), convertor.ENotFound)
		}
		WantKey(t, s, third.Hash, got, "fourth secret")
		WantList(t, s, got)
	})

	t.Run("ConcurrentRotations", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		k := NewKey(t, "contended rotations")
		MustCreateKey(t, s, k)
		const n = 3
		rots := make([]convertor.APIKeyRotation, n)
		errs := make([]error, n+2)
		name, rpm := "renamed meanwhile", int64(11)
		var wg sync.WaitGroup
		for i := range n {
			rots[i] = NewRotation(t, at, at.Add(time.Duration(i+1)*time.Hour))
			wg.Go(func() { _, errs[i] = s.RotateAPIKey(ctx, k.ID, rots[i]) })
		}
		wg.Go(func() { _, errs[n] = s.UpdateAPIKey(ctx, k.ID, convertor.APIKeyUpdate{Name: &name}) })
		wg.Go(func() { _, errs[n+1] = s.UpdateAPIKey(ctx, k.ID, convertor.APIKeyUpdate{RPM: &rpm}) })
		wg.Wait()

		got, err := s.APIKey(ctx, k.ID)
		if err != nil {
			t.Fatalf("APIKey() error = %v", err)
		}
		won := int64(0)
		hashes := []string{k.Hash}
		for i, err := range errs {
			switch convertor.ErrorCode(err) {
			case "":
				won++
			case convertor.EConflict:
			default:
				t.Errorf("change %d error = %v, want nil or conflict", i, err)
			}
			if i < n {
				hashes = append(hashes, rots[i].Hash)
			}
		}
		if errs[n] == nil && got.Name != name || errs[n+1] == nil && got.RPM != rpm {
			t.Errorf("an update succeeded but was lost: %+v", got)
		}
		if got.Revision != 1+won {
			t.Errorf("Revision = %d after %d successful changes, want %d", got.Revision, won, 1+won)
		}
		// The current secret and at most one previous one open the key;
		// every other secret it had stopped.
		current, previous := 0, 0
		for _, h := range hashes {
			byHash, err := s.APIKeyByHash(ctx, h)
			switch {
			case convertor.ErrorCode(err) == convertor.ENotFound:
			case err != nil:
				t.Fatalf("APIKeyByHash() error = %v", err)
			case byHash.ByPrevious:
				previous++
				if byHash.PreviousPrefix == "" || h == got.Hash {
					t.Errorf("a previous secret opens %+v", byHash)
				}
			default:
				current++
				if h != got.Hash {
					t.Errorf("a replaced secret opens the key as current")
				}
			}
		}
		if current != 1 || previous != min(1, len(got.PreviousPrefix)) {
			t.Errorf("%d current and %d previous secrets open the key, want 1 and %d", current, previous, min(1, len(got.PreviousPrefix)))
		}
		WantList(t, s, got)
	})

	t.Run("Status", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		k := NewKey(t, "watched")
		MustCreateKey(t, s, k)
		status := func(hash string) string {
			t.Helper()
			got, err := s.APIKeyByHash(ctx, hash)
			if err != nil {
				t.Fatalf("APIKeyByHash() error = %v", err)
			}
			return got.Status(at)
		}
		rot := NewRotation(t, at, at.Add(time.Hour))
		if _, err := s.RotateAPIKey(ctx, k.ID, rot); err != nil {
			t.Fatalf("RotateAPIKey() error = %v", err)
		}
		expired, enabled := at.Add(-time.Second), false
		steps := []struct {
			name   string
			change func() error
			want   string
		}{
			{"created", func() error { return nil }, convertor.KeyActive},
			{"expired", func() error {
				_, err := s.UpdateAPIKey(ctx, k.ID, convertor.APIKeyUpdate{ExpiresAt: &expired})
				return err
			}, convertor.KeyExpired},
			{"disabled", func() error {
				_, err := s.UpdateAPIKey(ctx, k.ID, convertor.APIKeyUpdate{Enabled: &enabled})
				return err
			}, convertor.KeyDisabled},
			{"revoked", func() error { return s.RevokeAPIKey(ctx, k.ID, at) }, convertor.KeyRevoked},
		}
		for _, step := range steps {
			if err := step.change(); err != nil {
				t.Fatalf("%s: error = %v", step.name, err)
			}
			// The status is the key's, whichever secret opened it.
			for name, hash := range map[string]string{"new": rot.Hash, "previous": k.Hash} {
				if got := status(hash); got != step.want {
					t.Errorf("%s: Status() through the %s secret = %q, want %q", step.name, name, got, step.want)
				}
			}
		}
	})
}

// byPrevious returns k as its previous secret opens it.
func byPrevious(k *convertor.APIKey) *convertor.APIKey {
	c := *k
	c.ByPrevious = true
	return &c
}

// WantKey fails t unless the secret hashing to hash opens want; what names
// the secret in messages. It returns the key found.
func WantKey(t testing.TB, s convertor.APIKeyStore, hash string, want *convertor.APIKey, what string) *convertor.APIKey {
	t.Helper()
	got, err := s.APIKeyByHash(context.Background(), hash)
	if err != nil {
		t.Fatalf("APIKeyByHash(%s) error = %v", what, err)
	}
	if diff := cmp.Diff(want, got, emptySliceIsNil); diff != "" {
		t.Errorf("APIKeyByHash(%s) mismatch (-want +got):\n%s", what, diff)
	}
	return got
}

// WantList fails t unless ListAPIKeys returns exactly want: no alias of a
// previous secret, and each key once.
func WantList(t testing.TB, s convertor.APIKeyStore, want ...*convertor.APIKey) {
	t.Helper()
	got, err := s.ListAPIKeys(context.Background())
	if err != nil {
		t.Fatalf("ListAPIKeys() error = %v", err)
	}
	if diff := cmp.Diff(want, got, emptySliceIsNil); diff != "" {
		t.Errorf("ListAPIKeys() mismatch (-want +got):\n%s", diff)
	}
}
