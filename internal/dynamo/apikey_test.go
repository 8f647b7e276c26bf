package dynamo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/memstore"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// TestAPIKeyStore runs the APIKeyStore contract against every implementation:
// memory, DynamoDB (dynamolocal) with transactions and with the sequential
// path forced, and dynalite (no transactions) when TEST_DYNALITE_ENDPOINT is set.
func TestAPIKeyStore(t *testing.T) {
	t.Parallel()
	impls := []struct {
		name string
		new  func(t *testing.T) convertor.APIKeyStore
	}{
		{"memstore", func(t *testing.T) convertor.APIKeyStore { return memstore.NewAPIKeyStore() }},
		{"dynamodb", func(t *testing.T) convertor.APIKeyStore {
			return newTestStore(t, testenv.DynamoDB(t))
		}},
		{"dynamodb-sequential", func(t *testing.T) convertor.APIKeyStore {
			s := newTestStore(t, testenv.DynamoDB(t))
			s.noTx.Store(true)
			return s
		}},
		{"dynalite", func(t *testing.T) convertor.APIKeyStore {
			return newTestStore(t, testenv.Dynalite(t))
		}},
	}
	for _, impl := range impls {
		t.Run(impl.name, func(t *testing.T) {
			t.Parallel()
			runAPIKeyStoreContract(t, impl.new)
		})
	}
}

func runAPIKeyStoreContract(t *testing.T, newStore func(t *testing.T) convertor.APIKeyStore) {
	ctx := context.Background()

	t.Run("CreateAndGet", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		want := testKey(t, "alpha")
		want.Owner = "team-a"
		want.ExpiresAt = time.Date(2030, 1, 2, 3, 4, 5, 600700800, time.UTC)
		want.AllowedModels = []string{"claude-sonnet-4-5", "claude-haiku-4-5"}
		want.RPM, want.TPM, want.MonthlyBudgetMicros = 60, 100000, 12_500_000
		mustCreate(t, s, want)

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
		k := testKey(t, " ")
		wantCode(t, "CreateAPIKey()", s.CreateAPIKey(ctx, k), convertor.EInvalid)
		wantCode(t, "APIKey()", errOf(s.APIKey(ctx, k.ID)), convertor.ENotFound)
	})

	t.Run("ErrConflict", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		k := testKey(t, "first")
		mustCreate(t, s, k)

		sameID := testKey(t, "same id")
		sameID.ID = k.ID
		wantCode(t, "CreateAPIKey(same id)", s.CreateAPIKey(ctx, sameID), convertor.EConflict)
		if _, err := s.APIKeyByHash(ctx, sameID.Hash); convertor.ErrorCode(err) != convertor.ENotFound {
			t.Errorf("APIKeyByHash(refused key) error = %v, want not_found", err)
		}

		sameHash := testKey(t, "same hash")
		sameHash.Hash = k.Hash
		wantCode(t, "CreateAPIKey(same hash)", s.CreateAPIKey(ctx, sameHash), convertor.EConflict)
		wantCode(t, "APIKey(refused key)", errOf(s.APIKey(ctx, sameHash.ID)), convertor.ENotFound)
		// The refused create must not have disturbed the existing key.
		got, err := s.APIKeyByHash(ctx, k.Hash)
		if err != nil || got.ID != k.ID {
			t.Errorf("APIKeyByHash() = %v, %v; want key %s", got, err, k.ID)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		wantCode(t, "APIKey()", errOf(s.APIKey(ctx, "key_missing")), convertor.ENotFound)
		wantCode(t, "APIKeyByHash()", errOf(s.APIKeyByHash(ctx, convertor.HashAPIKey("sk-missing"))), convertor.ENotFound)
		wantCode(t, "UpdateAPIKey()", errOf(s.UpdateAPIKey(ctx, "key_missing", convertor.APIKeyUpdate{})), convertor.ENotFound)
		wantCode(t, "RevokeAPIKey()", s.RevokeAPIKey(ctx, "key_missing", time.Now()), convertor.ENotFound)
		wantCode(t, "RotateAPIKey()", errOf(s.RotateAPIKey(ctx, "key_missing", convertor.HashAPIKey("sk-x"), "sk-x")), convertor.ENotFound)
	})

	t.Run("List", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		var want []*convertor.APIKey
		for i := range 4 {
			k := testKey(t, fmt.Sprintf("key %d", i))
			k.CreatedAt = base.Add(time.Duration(i) * time.Hour)
			mustCreate(t, s, k)
			want = append([]*convertor.APIKey{k}, want...)
		}
		revokedAt := base.Add(24 * time.Hour)
		if err := s.RevokeAPIKey(ctx, want[1].ID, revokedAt); err != nil {
			t.Fatalf("RevokeAPIKey() error = %v", err)
		}
		want[1].RevokedAt = revokedAt
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
		k := testKey(t, "before")
		k.AllowedModels = []string{"claude-haiku-4-5"}
		k.RPM = 10
		mustCreate(t, s, k)

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
		wantCode(t, "UpdateAPIKey(rpm -1)", errOf(s.UpdateAPIKey(ctx, k.ID, convertor.APIKeyUpdate{RPM: &neg, Name: &name})), convertor.EInvalid)
		blank := ""
		wantCode(t, "UpdateAPIKey(name empty)", errOf(s.UpdateAPIKey(ctx, k.ID, convertor.APIKeyUpdate{Name: &blank})), convertor.EInvalid)
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
		k := testKey(t, "doomed")
		mustCreate(t, s, k)
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
		if ok, _ := got.Usable(first); ok {
			t.Errorf("Usable() = true for a revoked key")
		}
		wantCode(t, "RotateAPIKey(revoked)", errOf(s.RotateAPIKey(ctx, k.ID, convertor.HashAPIKey("sk-new"), "sk-new")), convertor.EConflict)
	})

	t.Run("Rotate", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		k := testKey(t, "rotating")
		k.RPM, k.MonthlyBudgetMicros = 30, 1_000_000
		mustCreate(t, s, k)
		used := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
		if err := s.TouchAPIKeys(ctx, map[string]time.Time{k.ID: used}); err != nil {
			t.Fatalf("TouchAPIKeys() error = %v", err)
		}

		newHash := convertor.HashAPIKey("sk-rotated-secret")
		got, err := s.RotateAPIKey(ctx, k.ID, newHash, "sk-rotat")
		if err != nil {
			t.Fatalf("RotateAPIKey() error = %v", err)
		}
		want := *k
		want.Hash, want.Prefix, want.LastUsedAt = newHash, "sk-rotat", used
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("RotateAPIKey() mismatch (-want +got):\n%s", diff)
		}
		wantCode(t, "APIKeyByHash(old)", errOf(s.APIKeyByHash(ctx, k.Hash)), convertor.ENotFound)
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

		other := testKey(t, "other")
		mustCreate(t, s, other)
		wantCode(t, "RotateAPIKey(taken hash)", errOf(s.RotateAPIKey(ctx, k.ID, other.Hash, other.Prefix)), convertor.EConflict)
		wantCode(t, "RotateAPIKey(bad hash)", errOf(s.RotateAPIKey(ctx, k.ID, "abc", "sk-abc")), convertor.EInvalid)
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
		a, b := testKey(t, "a"), testKey(t, "b")
		mustCreate(t, s, a)
		mustCreate(t, s, b)
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
		k := testKey(t, "contended")
		mustCreate(t, s, k)
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
		for i, err := range errs[:len(updates)] {
			switch {
			case err != nil && convertor.ErrorCode(err) != convertor.EConflict:
				t.Errorf("UpdateAPIKey(%d) error = %v, want nil or conflict", i, err)
			case err == nil && !checks[i]:
				t.Errorf("update %d succeeded but was lost: %+v", i, got)
			}
		}
		if errs[len(updates)] != nil {
			t.Errorf("TouchAPIKeys() error = %v", errs[len(updates)])
		}
		if !got.LastUsedAt.Equal(used) {
			t.Errorf("LastUsedAt = %v, want %v", got.LastUsedAt, used)
		}
	})

	t.Run("ConcurrentCreateSameSecret", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		hash := convertor.HashAPIKey("sk-" + randomHex(t))
		const n = 4
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			k := testKey(t, fmt.Sprintf("racer %d", i))
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

// newTestStore creates uniquely named tables for t on endpoint and returns
// the api-keys store over them.
func newTestStore(t *testing.T, endpoint string) *APIKeyStore {
	t.Helper()
	db, tables := newTestTables(t, endpoint)
	return NewAPIKeyStore(db, tables.APIKeys)
}

var unsafeTableChars = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// testTables returns table names unique to t, so tests can share a server.
func testTables(t testing.TB) Tables {
	name := unsafeTableChars.ReplaceAllString(t.Name(), "-")
	if len(name) > 80 {
		name = name[len(name)-80:]
	}
	p := "t-" + name + "-" + randomHex(t)[:8] + "-"
	return Tables{
		APIKeys:      p + "api-keys",
		Usage:        p + "usage",
		UsageStats:   p + "usage-stats",
		ModelPricing: p + "model-pricing",
		ModelMapping: p + "model-mapping",
	}
}

func newTestTables(t testing.TB, endpoint string) (*dynamodb.Client, Tables) {
	t.Helper()
	cfg := Config{Endpoint: endpoint, Region: DefaultRegion, Tables: testTables(t)}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Config.Validate() error = %v", err)
	}
	db, err := NewClient(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewClient() error = %v", err)
	}
	if _, err := CreateTables(context.Background(), db, cfg.Tables, discardLog()); err != nil {
		t.Fatalf("CreateTables() error = %v", err)
	}
	t.Cleanup(func() {
		for _, def := range Definitions(cfg.Tables) {
			// Only a shared server keeps tables after the test; ignore
			// failures there, the names are unique anyway.
			_, _ = db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: def.TableName})
		}
	})
	return db, cfg.Tables
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func testKey(t testing.TB, name string) *convertor.APIKey {
	t.Helper()
	secret := "sk-" + randomHex(t)
	return &convertor.APIKey{
		ID:        "key_" + strings.ToUpper(randomHex(t)[:26]),
		Hash:      convertor.HashAPIKey(secret),
		Prefix:    secret[:8],
		Name:      name,
		Enabled:   true,
		CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC),
	}
}

func mustCreate(t testing.TB, s convertor.APIKeyStore, k *convertor.APIKey) {
	t.Helper()
	if err := s.CreateAPIKey(context.Background(), k); err != nil {
		t.Fatalf("CreateAPIKey(%s) error = %v", k.Name, err)
	}
}

func wantCode(t testing.TB, what string, err error, code string) {
	t.Helper()
	if got := convertor.ErrorCode(err); got != code {
		t.Errorf("%s error = %v, want code %s", what, err, code)
	}
}

func errOf[T any](_ T, err error) error { return err }

func randomHex(t testing.TB) string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
