package keygen

import (
	"strings"
	"testing"

	"github.com/oklog/ulid/v2"

	"github.com/openai-api-convertor/convertor"
)

func TestNewSecret(t *testing.T) {
	seen := make(map[string]bool)
	counts := make(map[byte]int)
	const n = 2000
	for range n {
		s := NewSecret()
		if !strings.HasPrefix(s, "sk-") {
			t.Fatalf("NewSecret() = %q, want prefix sk-", s)
		}
		if len(s) != 3+SecretLength {
			t.Fatalf("len(NewSecret()) = %d, want %d", len(s), 3+SecretLength)
		}
		for i := 3; i < len(s); i++ {
			if !strings.ContainsRune(base62, rune(s[i])) {
				t.Fatalf("NewSecret() = %q: %q is not base62", s, s[i])
			}
			counts[s[i]]++
		}
		if seen[s] {
			t.Fatalf("NewSecret() repeated %q", s)
		}
		seen[s] = true
	}
	// 80,000 draws over 62 symbols: about 1290 each. A modulo bias (256 %
	// 62) would give the first 8 symbols 25% more; this bound is ~8 sigma
	// wide, so it never fails by chance yet catches that bias.
	want := n * SecretLength / 62
	for _, c := range []byte(base62) {
		if got := counts[c]; got < want*85/100 || got > want*115/100 {
			t.Errorf("symbol %q drawn %d times, want about %d", c, got, want)
		}
	}
}

func TestPrefix(t *testing.T) {
	if got, want := Prefix("sk-AbCdEfGhIj"), "sk-AbCdE"; got != want {
		t.Errorf("Prefix() = %q, want %q", got, want)
	}
	if got, want := Prefix("sk-A"), "sk-A"; got != want {
		t.Errorf("Prefix() = %q, want %q", got, want)
	}
}

func TestNewKeyID(t *testing.T) {
	a, b := NewKeyID(), NewKeyID()
	if a == b {
		t.Fatalf("NewKeyID() repeated %q", a)
	}
	for _, id := range []string{a, b} {
		rest, ok := strings.CutPrefix(id, "key_")
		if !ok {
			t.Fatalf("NewKeyID() = %q, want prefix key_", id)
		}
		if _, err := ulid.ParseStrict(rest); err != nil {
			t.Errorf("NewKeyID() = %q: %v", id, err)
		}
	}
	if a > b {
		t.Errorf("NewKeyID() ids do not sort by creation: %q > %q", a, b)
	}
}

func TestNew(t *testing.T) {
	secret, k := New()
	if k.Hash != convertor.HashAPIKey(secret) {
		t.Errorf("New() hash = %q, want hash of the secret", k.Hash)
	}
	if k.Prefix != secret[:8] {
		t.Errorf("New() prefix = %q, want %q", k.Prefix, secret[:8])
	}
	if !strings.HasPrefix(k.ID, "key_") {
		t.Errorf("New() id = %q, want prefix key_", k.ID)
	}
}
