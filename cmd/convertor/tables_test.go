package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor/internal/dynamo"
)

var updateDefinitions = flag.Bool("update", false, "rewrite deploy/cdk/tables.json and routes.json from the table definitions and default routes")

// cdkTablesFile is the copy of `convertor tables definitions --json` the
// AWS CDK app builds its tables from.
var cdkTablesFile = filepath.Join("..", "..", "deploy", "cdk", "tables.json")

// TestTablesDefinitions_CDKCopy fails when deploy/cdk/tables.json is not
// what the table definitions give, so AWS never gets tables the code does
// not query. After changing a definition:
//
//	go test ./cmd/convertor -run CDKCopy -update
func TestTablesDefinitions_CDKCopy(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if code := Main(context.Background(), []string{"tables", "definitions", "--json"}, func(string) string { return "" }, &stdout, &stderr); code != 0 {
		t.Fatalf("tables definitions --json: exit code %d, stderr:\n%s", code, stderr.String())
	}
	if *updateDefinitions {
		if err := os.WriteFile(cdkTablesFile, stdout.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	committed, err := os.ReadFile(cdkTablesFile)
	if err != nil {
		t.Fatalf("%v (create it with: go test ./cmd/convertor -run CDKCopy -update)", err)
	}
	if diff := cmp.Diff(string(committed), stdout.String()); diff != "" {
		t.Errorf("%s is stale; run go test ./cmd/convertor -run CDKCopy -update (-committed +definitions):\n%s", cdkTablesFile, diff)
	}
}

func TestTablesDefinitions_JSON(t *testing.T) {
	t.Parallel()
	b, err := definitionsJSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc tableDefinitions
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	defs := dynamo.Definitions(dynamo.DefaultTables())
	if len(doc.Tables) != len(defs) {
		t.Fatalf("%d tables, want %d", len(doc.Tables), len(defs))
	}
	byName := make(map[string]dynamo.TableSpec)
	for _, s := range doc.Tables {
		byName[s.Name] = s
	}
	for _, tt := range []struct {
		table, variable, ttl string
		indexes              []string
	}{
		{dynamo.DefaultAPIKeysTable, "DYNAMODB_API_KEYS_TABLE", "", nil},
		{dynamo.DefaultUsageTable, "DYNAMODB_USAGE_TABLE", "expires_at", []string{dynamo.UsageByKeyIndex, dynamo.UsageByHourIndex}},
		{dynamo.DefaultUsageStatsTable, "DYNAMODB_USAGE_STATS_TABLE", "expires_at", []string{dynamo.UsageStatsByPeriodIndex}},
		{dynamo.DefaultModelPricingTable, "DYNAMODB_MODEL_PRICING_TABLE", "", nil},
		{dynamo.DefaultModelMappingTable, "DYNAMODB_MODEL_MAPPING_TABLE", "", nil},
		{dynamo.DefaultAuditTable, "DYNAMODB_AUDIT_TABLE", "", []string{dynamo.AuditByTimeIndex, dynamo.AuditByActorIndex, dynamo.AuditByResourceIndex}},
	} {
		s, ok := byName[tt.table]
		if !ok {
			t.Errorf("table %s missing", tt.table)
			continue
		}
		var indexes []string
		for _, ix := range s.GlobalSecondaryIndexes {
			indexes = append(indexes, ix.Name)
		}
		if s.Variable != tt.variable || s.TTLAttribute != tt.ttl || s.BillingMode != "PAY_PER_REQUEST" || strings.Join(indexes, ",") != strings.Join(tt.indexes, ",") {
			t.Errorf("table %s = variable %s, ttl %q, billing %s, indexes %v; want %s, %q, PAY_PER_REQUEST, %v",
				tt.table, s.Variable, s.TTLAttribute, s.BillingMode, indexes, tt.variable, tt.ttl, tt.indexes)
		}
	}
}

func TestTables_Usage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{nil, {"drop"}, {"definitions", "--yaml"}} {
		var stdout, stderr bytes.Buffer
		if code := Main(context.Background(), append([]string{"tables"}, args...), func(string) string { return "" }, &stdout, &stderr); code != 2 {
			t.Errorf("tables %q: exit code %d, want 2", args, code)
		}
		if !strings.Contains(stderr.String(), "want create or definitions [--json]") {
			t.Errorf("tables %q: stderr = %q", args, stderr.String())
		}
	}
}
