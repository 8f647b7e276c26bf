package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/accountant"
	"github.com/openai-api-convertor/convertor/internal/dynamo"
)

func TestReplay_ErrUsage(t *testing.T) {
	t.Parallel()
	c := &cli{t: t, env: map[string]string{"DYNAMODB_ENDPOINT_URL": "http://127.0.0.1:1"}}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"MissingFrom", []string{"replay", "--to", "2025-11-02"}, "--from is required"},
		{"MissingBoth", []string{"replay"}, "--to is required"},
		{"FromNotBeforeTo", []string{"replay", "--from", "2025-11-02", "--to", "2025-11-01T23:00:00Z"}, "is not before --to"},
		{"Equal", []string{"replay", "--from", "2025-11-02", "--to", "2025-11-02T00:00:00Z"}, "is not before --to"},
		{"BadTime", []string{"replay", "--from", "yesterday", "--to", "2025-11-02"}, `--from: "yesterday" is neither RFC 3339`},
		{"UnknownFlag", []string{"replay", "--from", "2025-11-01", "--to", "2025-11-02", "--price", "x"}, "flag provided but not defined: -price"},
		{"StrayArgument", []string{"replay", "--from", "2025-11-01", "--to", "2025-11-02", "now"}, `unexpected arguments ["now"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := c.run(tc.args...)
			if code != 2 {
				t.Errorf("exit = %d, want 2\nstderr:\n%s", code, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr does not contain %q:\n%s", tc.want, stderr)
			}
		})
	}
}

// TestReplay_Reprice stores two records priced with the default prices,
// adds a newer Sonnet price and checks the --reprice report by hand.
func TestReplay_Reprice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCLI(t)
	cfg, err := dynamo.LoadConfig(func(k string) string { return c.env[k] })
	if err != nil {
		t.Fatal(err)
	}
	db, err := dynamo.NewClient(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	prices := dynamo.NewPriceStore(db, cfg.Tables.ModelPricing)
	if _, err := accountant.SeedPrices(ctx, prices); err != nil {
		t.Fatal(err)
	}
	pt := convertor.NewPriceTable(accountant.DefaultPrices)
	usage := dynamo.NewUsageStore(db, cfg.Tables.Usage, 0)
	for _, ev := range []*convertor.UsageEvent{
		// Sonnet 4.5 global, 1000 in + 500 out: 1000×3 + 500×15 = 10,500 µ$
		// at the default price; 1000×2 + 500×10 = 7,000 at the new one.
		{ID: "01R1", KeyID: "key_a", Model: "claude-sonnet-4-5", BedrockModelID: "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
			Time: time.Date(2025, 11, 10, 10, 0, 0, 0, time.UTC), InputTokens: 1000, OutputTokens: 500},
		// Haiku 4.5 on the us. profile, 10^6 in: $1.10 at the regional
		// price, which does not change.
		{ID: "01R2", KeyID: "key_b", Model: "claude-haiku-4-5", BedrockModelID: "us.anthropic.claude-haiku-4-5-20251001-v1:0",
			Time: time.Date(2025, 11, 11, 0, 0, 0, 0, time.UTC), InputTokens: 1_000_000},
	} {
		ev.Version, ev.Status, ev.HTTPStatus = convertor.UsageEventVersion, convertor.UsageOK, 200
		if _, err := usage.PutUsage(ctx, pt.Record(ev)); err != nil {
			t.Fatal(err)
		}
	}
	if err := prices.CreatePrice(ctx, convertor.Price{
		Model: "anthropic.claude-sonnet-4-5-20250929-v1:0", Route: "global", EffectiveFrom: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		InputMicros: 2_000_000, OutputMicros: 10_000_000, CacheReadMicros: 200_000, CacheWriteMicros: 2_500_000,
	}); err != nil {
		t.Fatal(err)
	}

	want := "key_id,model,requests,errors,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,cost_micros,cost_usd,cache_write_1h_tokens,unpriced_requests,estimated_requests,rates\n" +
		"key_a,claude-sonnet-4-5,1,0,1000,500,0,0,7000,0.007000,0,0,0,2026-01-01 global base\n" +
		"key_b,claude-haiku-4-5,1,0,1000000,0,0,0,1100000,1.100000,0,0,0,2025-12-01 * base\n"
	out := filepath.Join(t.TempDir(), "report.csv")
	_, stderr := c.ok("replay", "--from", "2025-11-10", "--to", "2025-11-12", "--reprice", "--out", out)
	if !strings.Contains(stderr, "2 records read, 2 repriced, 100.0% of the period") { // haiku keeps its cost under a newer price
		t.Errorf("progress does not report the end:\n%s", stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != want {
		t.Errorf("report:\n%s\nwant:\n%s", b, want)
	}
	// Again, to standard output: the same report, nothing left to reprice.
	stdout, stderr := c.ok("replay", "--from", "2025-11-10T00:00:00Z", "--to", "2025-11-12", "--reprice")
	if stdout != want || !strings.Contains(stderr, "0 repriced") {
		t.Errorf("second run: stdout\n%s\nstderr\n%s\nwant the same report and 0 repriced", stdout, stderr)
	}
	// The stats were rebuilt with the new cost.
	rows, err := dynamo.NewStatsStore(db, cfg.Tables.UsageStats).Rollups(ctx, convertor.RollupFilter{
		Period: convertor.PeriodDay, From: time.Date(2025, 11, 10, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 11, 12, 0, 0, 0, 0, time.UTC), KeyID: "key_a",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].CostMicros != 7000 || rows[0].Requests != 1 {
		t.Errorf("key_a day roll-ups = %+v, want one with cost 7000", rows)
	}
}
