package convertor

import (
	"testing"
	"time"
)

var keyNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// testKey returns an active key changed by edit.
func testKey(edit func(k *APIKey)) *APIKey {
	k := &APIKey{ID: "key_1", Name: "test", Enabled: true, Revision: 1}
	if edit != nil {
		edit(k)
	}
	return k
}

func TestAPIKey_Status(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		edit func(k *APIKey)
		want string
	}{
		{"Active", nil, KeyActive},
		{"ExpiresLater", func(k *APIKey) { k.ExpiresAt = keyNow.Add(time.Nanosecond) }, KeyActive},
		{"ExpiresNow", func(k *APIKey) { k.ExpiresAt = keyNow }, KeyExpired},
		{"Disabled", func(k *APIKey) { k.Enabled = false }, KeyDisabled},
		{"DisabledAndExpired", func(k *APIKey) {
			k.Enabled, k.ExpiresAt = false, keyNow.Add(-time.Hour)
		}, KeyDisabled},
		{"Revoked", func(k *APIKey) { k.RevokedAt = keyNow.Add(-time.Hour) }, KeyRevoked},
		{"RevokedDisabledExpired", func(k *APIKey) {
			k.RevokedAt, k.Enabled, k.ExpiresAt = keyNow, false, keyNow.Add(-time.Hour)
		}, KeyRevoked},
		// The status is the key's: opened by a previous secret past its
		// time, the key itself is still active.
		{"ByPreviousPastGrace", func(k *APIKey) {
			k.ByPrevious, k.PreviousUntil = true, keyNow.Add(-time.Hour)
		}, KeyActive},
		{"ByPreviousDisabled", func(k *APIKey) {
			k.ByPrevious, k.PreviousUntil, k.Enabled = true, keyNow.Add(time.Hour), false
		}, KeyDisabled},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := testKey(tt.edit).Status(keyNow); got != tt.want {
				t.Errorf("Status() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAPIKey_Usable(t *testing.T) {
	t.Parallel()
	const rotated = "This API key was rotated: its previous secret no longer works; use the new one."
	for _, tt := range []struct {
		name    string
		edit    func(k *APIKey)
		wantOK  bool
		wantWhy string
	}{
		{"Active", nil, true, ""},
		{"Expired", func(k *APIKey) { k.ExpiresAt = keyNow }, false, "This API key has expired."},
		{"Disabled", func(k *APIKey) { k.Enabled = false }, false, "This API key is disabled."},
		{"Revoked", func(k *APIKey) { k.RevokedAt = keyNow }, false, "This API key has been revoked."},
		// The current secret of a rotated key ignores the previous one's end.
		{"CurrentPastGrace", func(k *APIKey) {
			k.PreviousPrefix, k.PreviousUntil = "sk-old", keyNow.Add(-time.Hour)
		}, true, ""},
		{"ByPreviousInGrace", func(k *APIKey) {
			k.ByPrevious, k.PreviousUntil = true, keyNow.Add(time.Nanosecond)
		}, true, ""},
		{"ByPreviousAtEnd", func(k *APIKey) { k.ByPrevious, k.PreviousUntil = true, keyNow }, false, rotated},
		{"ByPreviousPastGrace", func(k *APIKey) {
			k.ByPrevious, k.PreviousUntil = true, keyNow.Add(-time.Hour)
		}, false, rotated},
		// A previous secret without an end never works: the store sets
		// ByPrevious only for a grace period, so this is a broken record.
		{"ByPreviousWithoutEnd", func(k *APIKey) { k.ByPrevious = true }, false, rotated},
		// What a revoked or disabled key answers wins over the rotation.
		{"ByPreviousRevoked", func(k *APIKey) {
			k.ByPrevious, k.PreviousUntil, k.RevokedAt = true, keyNow.Add(-time.Hour), keyNow
		}, false, "This API key has been revoked."},
		{"ByPreviousDisabled", func(k *APIKey) {
			k.ByPrevious, k.PreviousUntil, k.Enabled = true, keyNow.Add(time.Hour), false
		}, false, "This API key is disabled."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ok, why := testKey(tt.edit).Usable(keyNow)
			if ok != tt.wantOK || why != tt.wantWhy {
				t.Errorf("Usable() = %t, %q; want %t, %q", ok, why, tt.wantOK, tt.wantWhy)
			}
		})
	}
}
