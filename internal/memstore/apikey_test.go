package memstore

import (
	"context"
	"testing"
	"time"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/storetest"
)

// TestAPIKeyStore runs the APIKeyStore contract.
func TestAPIKeyStore(t *testing.T) {
	t.Parallel()
	storetest.APIKeyStore(t, func(*testing.T) convertor.APIKeyStore { return NewAPIKeyStore() })
}

// TestAPIKeyStore_Copies covers what only an in-memory store can get
// wrong, and the contract cannot see: sharing records with its callers.
func TestAPIKeyStore_Copies(t *testing.T) {
	ctx := context.Background()
	s := NewAPIKeyStore()
	k := &convertor.APIKey{
		ID: "key_1", Hash: convertor.HashAPIKey("sk-1"), Prefix: "sk-1", Name: "one", Enabled: true,
		AllowedModels: []string{"claude-haiku-4-5"}, CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	if err := s.CreateAPIKey(ctx, k); err != nil {
		t.Fatalf("CreateAPIKey() error = %v", err)
	}
	k.Name, k.AllowedModels[0] = "changed by caller", "changed by caller"

	got, err := s.APIKey(ctx, "key_1")
	if err != nil {
		t.Fatalf("APIKey() error = %v", err)
	}
	if got.Name != "one" || got.AllowedModels[0] != "claude-haiku-4-5" {
		t.Fatalf("store shares the created record: %+v", got)
	}
	got.AllowedModels[0] = "changed by reader"
	again, err := s.APIKeyByHash(ctx, k.Hash)
	if err != nil {
		t.Fatalf("APIKeyByHash() error = %v", err)
	}
	if again.AllowedModels[0] != "claude-haiku-4-5" {
		t.Errorf("store shares the returned record: %+v", again)
	}
}
