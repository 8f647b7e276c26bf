package stores

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

func TestLoadConfig(t *testing.T) {
	env := map[string]string{"USAGE_TTL_DAYS": "30", "DYNAMODB_USAGE_TABLE": "u-table"}
	cfg, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("LoadConfig() error = %v", err)
	}
	if cfg.UsageTTL != 30*24*time.Hour || cfg.Dynamo.Tables.Usage != "u-table" {
		t.Errorf("LoadConfig() = %+v", cfg)
	}
	if cfg, err := LoadConfig(func(string) string { return "" }); err != nil || cfg.UsageTTL != DefaultUsageTTLDays*24*time.Hour {
		t.Errorf("LoadConfig(empty) = %+v, %v; want the default TTL", cfg, err)
	}

	bad := map[string]string{"USAGE_TTL_DAYS": "x", "DYNAMODB_USAGE_TABLE": "no"}
	_, err = LoadConfig(func(k string) string { return bad[k] })
	for _, want := range []string{"USAGE_TTL_DAYS", "DYNAMODB_USAGE_TABLE"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadConfig(bad) error = %v, want it to name %s", err, want)
		}
	}
}

// TestOpen checks that the stores Open builds reach the tables
// CreateTables made: what is written through each store is read back.
func TestOpen(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DYNAMODB_ENDPOINT_URL": testenv.DynamoDB(t)}
	cfg, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open() error = %v", err)
	}
	results, err := st.CreateTables(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil || len(results) == 0 {
		t.Fatalf("CreateTables() = %v, %v", results, err)
	}
	for name, s := range map[string]*Stores{"dynamodb": st, "memory": Memory()} {
		k := &convertor.APIKey{ID: "key_" + name, Hash: convertor.HashAPIKey("sk-" + name), Prefix: "sk-x", Name: name, Enabled: true}
		if err := s.Keys.CreateAPIKey(ctx, k); err != nil {
			t.Fatalf("%s: CreateAPIKey() error = %v", name, err)
		}
		got, err := s.Keys.APIKey(ctx, k.ID)
		if err != nil || got.Name != name {
			t.Errorf("%s: APIKey() = %+v, %v", name, got, err)
		}
		if spend, err := s.Stats.MonthSpend(ctx, k.ID, time.Now()); err != nil || spend != 0 {
			t.Errorf("%s: MonthSpend() = %d, %v", name, spend, err)
		}
		route := convertor.Route{Model: "team-" + name, BedrockModelID: "global.anthropic.claude-haiku-4-5-20251001-v1:0"}
		if _, err := s.Routes.PutRoute(ctx, route); err != nil {
			t.Fatalf("%s: PutRoute() error = %v", name, err)
		}
		if routes, err := s.Routes.Routes(ctx); err != nil || len(routes) != 1 || routes[0].Model != route.Model {
			t.Errorf("%s: Routes() = %+v, %v", name, routes, err)
		}
		entry := &convertor.AuditEntry{ID: "01JAUDIT" + name, Time: time.Now(), Actor: "cli", AuthMode: "cli",
			Action: convertor.AuditRoutePut, Resource: "route", ResourceID: route.Model}
		if err := s.Audit.PutAudit(ctx, entry); err != nil {
			t.Fatalf("%s: PutAudit() error = %v", name, err)
		}
		if entries, _, err := s.Audit.Audit(ctx, convertor.AuditFilter{ResourceID: route.Model}); err != nil || len(entries) != 1 {
			t.Errorf("%s: Audit() = %+v, %v", name, entries, err)
		}
	}
}
