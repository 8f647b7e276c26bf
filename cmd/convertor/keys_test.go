package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// cli runs Main with a fixed environment, as a person at a terminal would.
type cli struct {
	t   *testing.T
	env map[string]string
}

// newCLI points the commands at a DynamoDB-compatible test server with
// tables of t's own, and creates them.
func newCLI(t *testing.T) *cli {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	p := "cli-" + hex.EncodeToString(b[:]) + "-"
	c := &cli{t: t, env: map[string]string{
		"DYNAMODB_ENDPOINT_URL":        testenv.DynamoDB(t),
		"DYNAMODB_API_KEYS_TABLE":      p + "api-keys",
		"DYNAMODB_USAGE_TABLE":         p + "usage",
		"DYNAMODB_USAGE_STATS_TABLE":   p + "usage-stats",
		"DYNAMODB_MODEL_PRICING_TABLE": p + "model-pricing",
		"DYNAMODB_MODEL_MAPPING_TABLE": p + "model-mapping",
		"DYNAMODB_AUDIT_TABLE":         p + "audit",
		"LOG_LEVEL":                    "error",
		"USER":                         "tester",
	}}
	c.ok("tables", "create")
	return c
}

func (c *cli) run(args ...string) (code int, stdout, stderr string) {
	c.t.Helper()
	var out, errOut bytes.Buffer
	code = Main(context.Background(), args, func(k string) string { return c.env[k] }, &out, &errOut)
	return code, out.String(), errOut.String()
}

func (c *cli) ok(args ...string) (stdout, stderr string) {
	c.t.Helper()
	code, stdout, stderr := c.run(args...)
	if code != 0 {
		c.t.Fatalf("convertor %s: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout, stderr)
	}
	return stdout, stderr
}

var (
	secretRE = regexp.MustCompile(`sk-[0-9A-Za-z]{40}`)
	keyIDRE  = regexp.MustCompile(`key_[0-9A-Z]{26}`)
)

func TestKeys_Lifecycle(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	stdout, stderr := c.ok("keys", "create", "--name", "ci bot", "--owner", "platform",
		"--models", "claude-haiku-4-5, claude-sonnet-4-5", "--rpm", "60", "--tpm", "100000",
		"--budget-usd", "12.50", "--expires", "2099-12-31")
	secret, id := secretRE.FindString(stdout), keyIDRE.FindString(stdout)
	if secret == "" || id == "" {
		t.Fatalf("keys create printed no secret or id:\n%s", stdout)
	}
	if !strings.Contains(stderr, "shown only once") {
		t.Errorf("keys create stderr = %q, want a warning that the secret is shown once", stderr)
	}
	if strings.Contains(stderr, secret) {
		t.Errorf("keys create wrote the secret to stderr")
	}

	stdout, _ = c.ok("keys", "list")
	if strings.Contains(stdout, secret) {
		t.Fatalf("keys list shows the secret:\n%s", stdout)
	}
	for _, want := range []string{id, secret[:8], "ci bot", "platform", "claude-haiku-4-5,claude-sonnet-4-5", "60", "100000", "$12.50", "2099-12-31 00:00Z"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("keys list does not show %q:\n%s", want, stdout)
		}
	}

	var keys []convertor.APIKey
	stdout, _ = c.ok("keys", "list", "--json")
	if strings.Contains(stdout, secret) || strings.Contains(stdout, convertor.HashAPIKey(secret)) {
		t.Fatalf("keys list --json shows the secret or its hash:\n%s", stdout)
	}
	if err := json.Unmarshal([]byte(stdout), &keys); err != nil {
		t.Fatalf("keys list --json: %v\n%s", err, stdout)
	}
	if len(keys) != 1 || keys[0].MonthlyBudgetMicros != 12_500_000 || !keys[0].Enabled {
		t.Fatalf("keys list --json = %+v, want one enabled key with a 12500000 micro-dollar budget", keys)
	}

	c.ok("keys", "disable", id)
	if k := c.only(); k.Enabled {
		t.Errorf("after disable: enabled = true")
	}
	c.ok("keys", "enable", id)
	if k := c.only(); !k.Enabled {
		t.Errorf("after enable: enabled = false")
	}

	stdout, _ = c.ok("keys", "rotate", id)
	rotated := secretRE.FindString(stdout)
	if rotated == "" || rotated == secret {
		t.Fatalf("keys rotate printed no new secret:\n%s", stdout)
	}
	if k := c.only(); k.ID != id || k.Prefix != rotated[:8] {
		t.Errorf("after rotate: key %s prefix %s, want %s prefix %s", k.ID, k.Prefix, id, rotated[:8])
	}

	c.ok("keys", "revoke", id)
	stdout, _ = c.ok("keys", "list")
	if strings.Contains(stdout, rotated) {
		t.Fatalf("keys list shows the rotated secret:\n%s", stdout)
	}
	if k := c.only(); k.RevokedAt.IsZero() {
		t.Errorf("after revoke: revoked_at not set")
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "REVOKED") || strings.HasSuffix(strings.TrimSpace(lines[1]), " -") {
		t.Errorf("keys list after revoke does not show a revocation time:\n%s", stdout)
	}

	code, _, stderr := c.run("keys", "rotate", id)
	if code != 1 || !strings.Contains(stderr, "revoked") {
		t.Errorf("keys rotate (revoked) = exit %d, stderr %q; want 1 and a message", code, stderr)
	}
}

// only returns the one key the store holds.
func (c *cli) only() convertor.APIKey {
	c.t.Helper()
	stdout, _ := c.ok("keys", "list", "--json")
	var keys []convertor.APIKey
	if err := json.Unmarshal([]byte(stdout), &keys); err != nil || len(keys) != 1 {
		c.t.Fatalf("keys list --json = %v, %v; want one key", stdout, err)
	}
	return keys[0]
}

func TestKeys_ErrUsage(t *testing.T) {
	t.Parallel()
	// Usage errors are found before any connection: no server needed.
	c := &cli{t: t, env: map[string]string{"DYNAMODB_ENDPOINT_URL": "http://127.0.0.1:1"}}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"NoSubcommand", []string{"keys"}, "subcommand required"},
		{"UnknownSubcommand", []string{"keys", "delete"}, `unknown subcommand "delete"`},
		{"UnknownFlag", []string{"keys", "create", "--name", "x", "--colour", "red"}, "flag provided but not defined: -colour"},
		{"MissingName", []string{"keys", "create", "--rpm", "5"}, "--name is required"},
		{"BadNumber", []string{"keys", "create", "--name", "x", "--rpm", "lots"}, `invalid value "lots" for flag -rpm`},
		{"NegativeRPM", []string{"keys", "create", "--name", "x", "--tpm", "-1"}, "must not be negative"},
		{"BadBudget", []string{"keys", "create", "--name", "x", "--budget-usd", "1.2345678"}, "at most 6 decimals"},
		{"NegativeBudget", []string{"keys", "create", "--name", "x", "--budget-usd", "-5"}, "--budget-usd"},
		{"BadExpiry", []string{"keys", "create", "--name", "x", "--expires", "tomorrow"}, "want a date"},
		{"PastExpiry", []string{"keys", "create", "--name", "x", "--expires", "2001-01-01"}, "not in the future"},
		{"StrayArgument", []string{"keys", "create", "--name", "x", "extra"}, `unexpected arguments ["extra"]`},
		{"MissingID", []string{"keys", "revoke"}, "a key id is required"},
		{"TwoIDs", []string{"keys", "rotate", "key_a", "key_b"}, `unexpected arguments ["key_b"]`},
		{"TablesNoSubcommand", []string{"tables"}, "want create or definitions [--json]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := c.run(tc.args...)
			if code != 2 {
				t.Errorf("exit = %d, want 2\nstderr:\n%s", code, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr does not contain %q:\n%s", tc.want, stderr)
			}
			if secretRE.MatchString(stdout) {
				t.Errorf("a refused command printed a secret:\n%s", stdout)
			}
		})
	}
}

func TestKeys_ErrNotFound(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	for _, sub := range []string{"revoke", "rotate", "disable", "enable"} {
		code, stdout, stderr := c.run("keys", sub, "key_01JNOTTHERE0000000000000000")
		if code != 1 || !strings.Contains(stderr, "not found") {
			t.Errorf("keys %s (missing) = exit %d, stderr %q; want 1 and not found", sub, code, stderr)
		}
		if secretRE.MatchString(stdout) {
			t.Errorf("keys %s (missing) printed a secret:\n%s", sub, stdout)
		}
	}
}

func TestTables_Create(t *testing.T) {
	t.Parallel()
	c := newCLI(t) // created them once
	stdout, _ := c.ok("tables", "create")
	for _, name := range []string{"api-keys", "usage", "usage-stats", "model-pricing", "model-mapping", "audit"} {
		if !regexp.MustCompile(`(?m)^exists\s+cli-[0-9a-f]+-` + name + `$`).MatchString(stdout) {
			t.Errorf("tables create (again) does not report %s as existing:\n%s", name, stdout)
		}
	}
}

func TestParseDollars(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"0", 0},
		{"12.50", 12_500_000},
		{"12.5", 12_500_000},
		{"0.000001", 1},
		{"1000000", 1_000_000_000_000},
		{"0.1", 100_000}, // 0.1 is inexact as a float; here it is exact
		{"9223372036853.999999", 9223372036853_999999},
	} {
		got, err := parseDollars(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseDollars(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "-1", "1.", ".5", "1.2345678", "1e3", "$5", "12,50", "9223372036854"} {
		if got, err := parseDollars(in); err == nil {
			t.Errorf("parseDollars(%q) = %d, want an error", in, got)
		}
	}
}

func TestParseExpiry(t *testing.T) {
	now := time.Date(2026, 1, 10, 8, 30, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2026-12-31":           time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC),
		"2026-02-01T10:00:00Z": time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC),
		"720h":                 now.Add(720 * time.Hour),
		"30d":                  now.AddDate(0, 0, 30),
	} {
		got, err := parseExpiry(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseExpiry(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"2026-01-10", "-1h", "0d", "d", "soon"} {
		if got, err := parseExpiry(in, now); err == nil {
			t.Errorf("parseExpiry(%q) = %v, want an error", in, got)
		}
	}
}

// TestKeys_Revoked shows a revoked key as revoked and off everywhere, and
// refuses to switch it back on.
func TestKeys_Revoked(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	stdout, _ := c.ok("keys", "create", "--name", "gone", "--budget-usd", "0.0002")
	id := keyIDRE.FindString(stdout)
	c.ok("keys", "revoke", id)

	stdout, _ = c.ok("keys", "list")
	if !regexp.MustCompile(id + `\s+sk-\S+\s+gone\s+-\s+revoked\s`).MatchString(stdout) {
		t.Errorf("keys list does not show the key as revoked:\n%s", stdout)
	}
	if !strings.Contains(stdout, "$0.0002") {
		t.Errorf("keys list does not show the budget exactly:\n%s", stdout)
	}
	var keys []struct {
		Status  string `json:"status"`
		Enabled bool   `json:"enabled"`
	}
	stdout, _ = c.ok("keys", "list", "--json")
	if err := json.Unmarshal([]byte(stdout), &keys); err != nil || len(keys) != 1 {
		t.Fatalf("keys list --json = %s, %v", stdout, err)
	}
	if keys[0].Status != "revoked" || keys[0].Enabled {
		t.Errorf("keys list --json: status %q, enabled %v; want revoked and false", keys[0].Status, keys[0].Enabled)
	}

	for _, sub := range []string{"enable", "disable"} {
		code, stdout, stderr := c.run("keys", sub, id)
		if code != 1 || !strings.Contains(stderr, "is revoked") || stdout != "" {
			t.Errorf("keys %s (revoked) = exit %d, stdout %q, stderr %q; want 1, nothing done and a message", sub, code, stdout, stderr)
		}
	}
	if k := c.only(); k.Enabled || k.RevokedAt.IsZero() {
		t.Errorf("after enable: %+v, want it still revoked and off", k)
	}
}

// TestKeys_NoStoreHint runs the commands with no DynamoDB to reach: the
// error comes with a hint at the two ways to give them one.
func TestKeys_NoStoreHint(t *testing.T) {
	// Nothing of the machine's own AWS setup may leak in: no credentials
	// anywhere, and no instance metadata service to ask.
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": t.TempDir() + "/none", "AWS_SHARED_CREDENTIALS_FILE": t.TempDir() + "/none",
		"AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
	c := &cli{t: t, env: map[string]string{"LOG_LEVEL": "error", "USER": "tester"}}
	for _, args := range [][]string{{"keys", "list"}, {"tables", "create"}} {
		code, _, stderr := c.run(args...)
		if code != 1 || !strings.Contains(stderr, "no AWS credentials were found") ||
			!strings.Contains(stderr, "DYNAMODB_ENDPOINT_URL=http://127.0.0.1:8001") {
			t.Errorf("convertor %s = exit %d, stderr:\n%s\nwant 1 and the hint", strings.Join(args, " "), code, stderr)
		}
	}

	c.env["DYNAMODB_ENDPOINT_URL"] = "http://127.0.0.1:1"
	code, _, stderr := c.run("keys", "list")
	if code != 1 || !strings.Contains(stderr, "nothing answers at DYNAMODB_ENDPOINT_URL=http://127.0.0.1:1") {
		t.Errorf("keys list (store down) = exit %d, stderr:\n%s\nwant 1 and the hint", code, stderr)
	}
}

func TestStoreHint(t *testing.T) {
	getenv := func(string) string { return "" }
	if h := storeHint("gateway", getenv, convertor.Errorf(convertor.EUnavailable, "down")); h != "" {
		t.Errorf("hint for a service command = %q, want none", h)
	}
	if h := storeHint("keys", getenv, convertor.Errorf(convertor.ENotFound, "api key key_x not found")); h != "" {
		t.Errorf("hint for a missing key = %q, want none", h)
	}
	if h := storeHint("keys", getenv, convertor.Errorf(convertor.EUnavailable, "timeout")); !strings.Contains(h, "no DynamoDB could be reached") {
		t.Errorf("hint for an unreachable store = %q", h)
	}
}
