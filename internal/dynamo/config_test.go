package dynamo

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadConfig(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		cfg, err := LoadConfig(func(string) string { return "" })
		if err != nil {
			t.Fatalf("LoadConfig() error = %v", err)
		}
		want := Config{Region: DefaultRegion, Tables: DefaultTables()}
		if diff := cmp.Diff(want, cfg); diff != "" {
			t.Errorf("LoadConfig() mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("Overrides", func(t *testing.T) {
		env := map[string]string{
			"DYNAMODB_ENDPOINT_URL":        "http://127.0.0.1:8001",
			"AWS_REGION":                   "eu-west-1",
			"DYNAMODB_API_KEYS_TABLE":      "keys",
			"DYNAMODB_USAGE_TABLE":         "usage",
			"DYNAMODB_USAGE_STATS_TABLE":   "stats",
			"DYNAMODB_MODEL_PRICING_TABLE": "prices",
			"DYNAMODB_MODEL_MAPPING_TABLE": "routes",
			"DYNAMODB_AUDIT_TABLE":         "audit",
		}
		cfg, err := LoadConfig(func(k string) string { return env[k] })
		if err != nil {
			t.Fatalf("LoadConfig() error = %v", err)
		}
		want := Config{
			Endpoint: "http://127.0.0.1:8001",
			Region:   "eu-west-1",
			Tables:   Tables{APIKeys: "keys", Usage: "usage", UsageStats: "stats", ModelPricing: "prices", ModelMapping: "routes", Audit: "audit"},
		}
		if diff := cmp.Diff(want, cfg); diff != "" {
			t.Errorf("LoadConfig() mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("EmptyKeepsDefault", func(t *testing.T) {
		env := map[string]string{
			"AWS_REGION":             " eu-west-1 ",
			"DYNAMODB_USAGE_TABLE":   "  ",
			"DYNAMODB_PRICING_TABLE": "old-prices",
		}
		cfg, err := LoadConfig(func(k string) string { return env[k] })
		if err != nil {
			t.Fatalf("LoadConfig() error = %v", err)
		}
		want := Config{Region: "eu-west-1", Tables: DefaultTables()}
		want.Tables.ModelPricing = "old-prices"
		if diff := cmp.Diff(want, cfg); diff != "" {
			t.Errorf("LoadConfig() mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("ErrEveryProblem", func(t *testing.T) {
		env := map[string]string{
			"DYNAMODB_ENDPOINT_URL":   "127.0.0.1:8001",
			"DYNAMODB_API_KEYS_TABLE": "x",
			"DYNAMODB_USAGE_TABLE":    DefaultUsageStatsTable,
		}
		_, err := LoadConfig(func(k string) string { return env[k] })
		if err == nil {
			t.Fatal("LoadConfig() error = nil")
		}
		for _, want := range []string{"DYNAMODB_ENDPOINT_URL", "DYNAMODB_API_KEYS_TABLE", "both name table"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("LoadConfig() error = %q, want it to mention %q", err, want)
			}
		}
	})
}
