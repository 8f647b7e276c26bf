package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/adminapi"
	"github.com/openai-api-convertor/convertor/internal/stores"
)

// stores opens the CLI's stores, to check what the commands did.
func (c *cli) stores() *stores.Stores {
	c.t.Helper()
	cfg, err := stores.LoadConfig(func(k string) string { return c.env[k] })
	if err != nil {
		c.t.Fatal(err)
	}
	st, err := stores.Open(context.Background(), cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	return st
}

// audit returns the audit log, newest first.
func (c *cli) audit() []*convertor.AuditEntry {
	c.t.Helper()
	es, _, err := c.stores().Audit.Audit(context.Background(), convertor.AuditFilter{Limit: convertor.MaxPageSize})
	if err != nil {
		c.t.Fatal(err)
	}
	return es
}

func TestKeys_UpdateAndRefusals(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	stdout, _ := c.ok("keys", "create", "--name", "svc", "--rpm", "10", "--budget-usd", "5")
	id := keyIDRE.FindString(stdout)
	c.ok("keys", "update", id, "--rpm", "20", "--models", "claude-haiku-4-5", "--no-budget", "--expires", "30d")
	k := c.only()
	if k.RPM != 20 || k.MonthlyBudgetMicros != 0 || len(k.AllowedModels) != 1 || k.ExpiresAt.IsZero() {
		t.Errorf("after update: %+v", k)
	}
	c.ok("keys", "update", id, "--all-models", "--no-expiry")
	if k := c.only(); len(k.AllowedModels) != 0 || !k.ExpiresAt.IsZero() {
		t.Errorf("after --all-models --no-expiry: %+v", k)
	}
	// A stale revision is refused and changes nothing.
	code, _, stderr := c.run("keys", "update", id, "--rpm", "99", "--if-revision", "1")
	if code != 1 || !strings.Contains(stderr, "revision") {
		t.Errorf("stale --if-revision = exit %d, %q", code, stderr)
	}
	for _, args := range [][]string{
		{"keys", "update", id},
		{"keys", "update", id, "--models", "a", "--all-models"},
		{"keys", "update", id, "--rpm", "-1"},
		{"keys", "update", id, "--budget-usd", "1.1234567"},
		{"keys", "rotate", id, "--grace", "400h"},
	} {
		code, stdout, stderr := c.run(args...)
		if code == 0 || stderr == "" || secretRE.MatchString(stdout) {
			t.Errorf("convertor %s = exit %d, stderr %q; want a refusal", strings.Join(args, " "), code, stderr)
		}
	}
	// A revoked key cannot be enabled again.
	c.ok("keys", "revoke", id)
	code, _, stderr = c.run("keys", "enable", id)
	if code != 1 || !strings.Contains(stderr, "revoked") {
		t.Errorf("keys enable (revoked) = exit %d, %q; want 1 and a message", code, stderr)
	}
	stdout, _ = c.ok("keys", "list")
	if !strings.Contains(stdout, "revoked") {
		t.Errorf("keys list does not show the key as revoked:\n%s", stdout)
	}
	// Every change is audited as the person at the terminal.
	es := c.audit()
	if len(es) != 4 {
		t.Fatalf("audit entries = %d, want 4 (create, 2 updates, revoke)", len(es))
	}
	for _, e := range es {
		if e.Actor != "cli:tester" || e.AuthMode != "cli" {
			t.Errorf("audit entry by %q (%s), want cli:tester (cli)", e.Actor, e.AuthMode)
		}
	}
}

func TestKeys_RotateWithGrace(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	stdout, _ := c.ok("keys", "create", "--name", "svc")
	id, old := keyIDRE.FindString(stdout), secretRE.FindString(stdout)
	stdout, _ = c.ok("keys", "rotate", id, "--grace", "1h")
	if !strings.Contains(stdout, "works until") || secretRE.FindString(stdout) == old {
		t.Errorf("keys rotate --grace printed:\n%s", stdout)
	}
	k, err := c.stores().Keys.APIKeyByHash(context.Background(), convertor.HashAPIKey(old))
	if err != nil || !k.ByPrevious {
		t.Fatalf("old secret = %+v, %v", k, err)
	}
	if ok, _ := k.Usable(time.Now()); !ok {
		t.Errorf("old secret refused during the grace period")
	}
}

func TestRoutes_CLI(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	stdout, _ := c.ok("routes", "list")
	if !strings.Contains(stdout, "claude-sonnet-4-5") || !strings.Contains(stdout, "default") {
		t.Errorf("routes list:\n%s", stdout)
	}
	_, stderr := c.ok("routes", "set", "team-model", "us.anthropic.claude-sonnet-4-5-20250929-v1:0")
	if !strings.Contains(stderr, "no price") {
		t.Errorf("routes set of an unpriced model does not warn: %q", stderr)
	}
	var rs []adminapi.RouteView
	stdout, _ = c.ok("routes", "list", "--json")
	if err := json.Unmarshal([]byte(stdout), &rs); err != nil || rs[0].Model != "team-model" || rs[0].Source != "admin" {
		t.Errorf("routes list --json = %s, %v", stdout, err)
	}
	c.ok("routes", "delete", "team-model")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"routes", "set", "x", "gpt-4o"}, 1, "not a Bedrock model id"},
		{[]string{"routes", "delete", "claude-sonnet-4-5"}, 1, "built-in"},
		{[]string{"routes", "set", "only-one"}, 2, "2 arguments required"},
		{[]string{"routes", "rename"}, 2, "unknown subcommand"},
	} {
		code, _, stderr := c.run(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("convertor %s = exit %d, %q; want %d and %q", strings.Join(tc.args, " "), code, stderr, tc.code, tc.want)
		}
	}
	if n := len(c.audit()); n != 2 {
		t.Errorf("audit entries = %d, want 2", n)
	}
}

func TestPrices_CLI(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("prices", "set", "--model", "global.anthropic.claude-haiku-4-5-20251001-v1:0", "--input", "1", "--output", "5",
		"--cache-read", "0.10", "--cache-write", "1.25", "--from", "2025-01-01")
	var v adminapi.PricesView
	stdout, _ := c.ok("prices", "list", "--json")
	if err := json.Unmarshal([]byte(stdout), &v); err != nil || len(v.Prices) != 1 {
		t.Fatalf("prices list --json = %s, %v", stdout, err)
	}
	p := v.Prices[0]
	if p.Model != "anthropic.claude-haiku-4-5-20251001-v1:0" || p.Route != "global" || p.InputMicros != 1_000_000 || p.CacheReadMicros != 100_000 || p.CacheWriteMicros != 1_250_000 {
		t.Errorf("stored price = %+v", p)
	}
	stdout, _ = c.ok("prices", "list")
	if !strings.Contains(stdout, "$1.00") || !strings.Contains(stdout, "without a price") {
		t.Errorf("prices list:\n%s", stdout)
	}
	code, _, stderr := c.run("prices", "set", "--model", "global.anthropic.claude-haiku-4-5-20251001-v1:0", "--input", "2", "--output", "5", "--from", "2025-01-01")
	if code != 1 || !strings.Contains(stderr, "never rewritten") {
		t.Errorf("prices set (same start) = exit %d, %q", code, stderr)
	}
	for _, args := range [][]string{
		{"prices", "set", "--input", "1", "--output", "1"},
		{"prices", "set", "--model", "anthropic.x", "--input", "1"},
		{"prices", "set", "--model", "anthropic.x", "--input", "-1", "--output", "1"},
		{"prices", "set", "--model", "anthropic.x", "--input", "1", "--output", "1", "--from", "someday"},
	} {
		if code, _, stderr := c.run(args...); code != 2 || stderr == "" {
			t.Errorf("convertor %s = exit %d, %q; want 2", strings.Join(args, " "), code, stderr)
		}
	}
}

func TestUsage_CLI(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	st := c.stores()
	at := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	var recs []*convertor.UsageRecord
	for i, key := range []string{"key_a", "key_a", "key_b"} {
		recs = append(recs, &convertor.UsageRecord{
			UsageEvent: convertor.UsageEvent{Version: convertor.UsageEventVersion, ID: "01JCLIUSAGE00000000000000" + string(rune('A'+i)),
				Time: at.Add(time.Duration(i) * time.Minute), KeyID: key, Model: "claude-haiku-4-5", Status: convertor.UsageOK, InputTokens: 100, OutputTokens: 10},
			CostMicros: 150,
		})
	}
	if _, err := st.Stats.ApplyUsage(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	stdout, _ := c.ok("usage", "--from", "2026-11-03", "--to", "2026-11-04", "--by", "key")
	for _, want := range []string{"requests", "3", "$0.00045", "key_a", "key_b", "keys with usage"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("usage output lacks %q:\n%s", want, stdout)
		}
	}
	var out struct {
		Summary adminapi.Summary `json:"summary"`
	}
	stdout, _ = c.ok("usage", "--from", "2026-11-03", "--to", "2026-11-04", "--key", "key_a", "--json")
	if err := json.Unmarshal([]byte(stdout), &out); err != nil || out.Summary.Current.Totals.Requests != 2 || out.Summary.Current.Totals.CostMicros != 300 {
		t.Errorf("usage --json = %s, %v", stdout, err)
	}
	for _, args := range [][]string{{"usage", "--tz", "Mars/Base"}, {"usage", "--by", "colour"}, {"usage", "--from", "2026-11-04", "--to", "2026-11-03"}, {"usage", "extra"}} {
		if code, _, stderr := c.run(args...); code != 2 || stderr == "" {
			t.Errorf("convertor %s = exit %d, %q; want 2", strings.Join(args, " "), code, stderr)
		}
	}
}
