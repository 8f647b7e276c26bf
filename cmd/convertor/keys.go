package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/keygen"
)

const keysUsage = `usage: convertor keys <subcommand> [flags] [ID]

subcommands:
  create --name N [--owner O] [--models a,b] [--rpm N] [--tpm N]
         [--budget-usd 12.50] [--expires 2026-12-31|720h|30d]
                   create a key and print its secret, once
  list [--json]    list every key (never a secret)
  revoke ID        revoke a key for good
  rotate ID        give a key a new secret, printed once; the old one stops working
  disable ID       stop a key until it is enabled again
  enable ID        re-enable a disabled key

Keys live in the DynamoDB table DYNAMODB_API_KEYS_TABLE (DYNAMODB_ENDPOINT_URL
for a local server); create it first with "convertor tables create".
`

// secretWarning follows every printed secret: only its hash is stored.
const secretWarning = "Store this secret now: it is shown only once and cannot be recovered (rotate the key to get a new one)."

// keysCommand is one `convertor keys` subcommand. It checks its arguments
// before it calls open, so that a typo is reported as one even when the
// store is unreachable.
type keysCommand func(ctx context.Context, env *environment, open openStore, args []string) error

// openStore connects to the key store.
type openStore func() (convertor.APIKeyStore, error)

var keysCommands = map[string]keysCommand{
	"create": keysCreate,
	"list":   keysList,
	"revoke": keysRevoke,
	"rotate": keysRotate,
	"disable": func(ctx context.Context, env *environment, open openStore, args []string) error {
		return keysSetEnabled(ctx, env, open, "disable", args, false)
	},
	"enable": func(ctx context.Context, env *environment, open openStore, args []string) error {
		return keysSetEnabled(ctx, env, open, "enable", args, true)
	},
}

// runKeys manages API keys in the key store.
func runKeys(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 {
		fmt.Fprintf(env.stderr, "convertor keys: subcommand required\n\n%s\n", keysUsage)
		return errUsage
	}
	if isHelp(args[0]) {
		fmt.Fprint(env.stdout, keysUsage)
		return nil
	}
	cmd, ok := keysCommands[args[0]]
	if !ok {
		fmt.Fprintf(env.stderr, "convertor keys: unknown subcommand %q\n\n%s\n", args[0], keysUsage)
		return errUsage
	}
	open := func() (convertor.APIKeyStore, error) {
		st, err := openStores(ctx, env)
		if err != nil {
			return nil, err
		}
		return st.Keys, nil
	}
	if err := cmd(ctx, env, open, args[1:]); !errors.Is(err, errHelp) {
		return err
	}
	return nil
}

func keysCreate(ctx context.Context, env *environment, open openStore, args []string) error {
	fs := newFlagSet(env, "create")
	name := fs.String("name", "", "a name people recognise the key by (required)")
	owner := fs.String("owner", "", "who the key belongs to")
	models := fs.String("models", "", "comma-separated model names the key may use (default: every model)")
	rpm := fs.Int64("rpm", 0, "requests per minute (default: the gateway's)")
	tpm := fs.Int64("tpm", 0, "tokens per minute (default: the gateway's)")
	budget := fs.String("budget-usd", "", "monthly budget in US dollars, such as 12.50 (default: none)")
	expires := fs.String("expires", "", "expiry: a date (2026-12-31, at 00:00 UTC), an RFC 3339 time, or a duration from now (720h, 30d)")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	secret, k := keygen.New()
	k.Name, k.Owner, k.Enabled, k.CreatedAt = strings.TrimSpace(*name), strings.TrimSpace(*owner), true, time.Now().UTC()
	k.AllowedModels, k.RPM, k.TPM = splitList(*models), *rpm, *tpm
	var err error
	switch {
	case k.Name == "":
		return flagError(fs, "--name is required")
	case k.RPM < 0 || k.TPM < 0:
		return flagError(fs, "--rpm and --tpm must not be negative")
	}
	if *budget != "" {
		if k.MonthlyBudgetMicros, err = parseDollars(*budget); err != nil {
			return flagError(fs, "--budget-usd: %v", err)
		}
	}
	if *expires != "" {
		if k.ExpiresAt, err = parseExpiry(*expires, k.CreatedAt); err != nil {
			return flagError(fs, "--expires: %v", err)
		}
	}
	store, err := open()
	if err != nil {
		return err
	}
	if err := store.CreateAPIKey(ctx, k); err != nil {
		return fmt.Errorf("create: %w", err)
	}
	fmt.Fprintf(env.stdout, "Created API key %s (%q).\n\n    %s\n\n", k.ID, k.Name, secret)
	fmt.Fprintln(env.stderr, secretWarning)
	return nil
}

func keysList(ctx context.Context, env *environment, open openStore, args []string) error {
	fs := newFlagSet(env, "list")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	store, err := open()
	if err != nil {
		return err
	}
	keys, err := store.ListAPIKeys(ctx)
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	if *asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		if keys == nil {
			keys = []*convertor.APIKey{}
		}
		return enc.Encode(keys)
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPREFIX\tNAME\tOWNER\tENABLED\tEXPIRES\tMODELS\tRPM\tTPM\tBUDGET\tLAST USED\tREVOKED")
	for _, k := range keys {
		models := "all"
		if len(k.AllowedModels) > 0 {
			models = strings.Join(k.AllowedModels, ",")
		}
		budget := "-"
		if k.MonthlyBudgetMicros > 0 {
			budget = formatDollars(k.MonthlyBudgetMicros)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%t\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			k.ID, k.Prefix, k.Name, orDash(k.Owner), k.Enabled, formatTime(k.ExpiresAt), models,
			limit(k.RPM), limit(k.TPM), budget, formatTime(k.LastUsedAt), formatTime(k.RevokedAt))
	}
	return tw.Flush()
}

func keysRevoke(ctx context.Context, env *environment, open openStore, args []string) error {
	fs := newFlagSet(env, "revoke")
	if err := parseFlags(fs, args, 1); err != nil {
		return err
	}
	id := fs.Arg(0)
	store, err := open()
	if err != nil {
		return err
	}
	if err := store.RevokeAPIKey(ctx, id, time.Now().UTC()); err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	fmt.Fprintf(env.stdout, "Revoked API key %s; it will never work again.\n", id)
	return nil
}

func keysRotate(ctx context.Context, env *environment, open openStore, args []string) error {
	fs := newFlagSet(env, "rotate")
	if err := parseFlags(fs, args, 1); err != nil {
		return err
	}
	id := fs.Arg(0)
	secret := keygen.NewSecret()
	store, err := open()
	if err != nil {
		return err
	}
	rot := convertor.APIKeyRotation{Hash: convertor.HashAPIKey(secret), Prefix: keygen.Prefix(secret), At: time.Now().UTC()}
	if _, err := store.RotateAPIKey(ctx, id, rot); err != nil {
		return fmt.Errorf("rotate: %w", err)
	}
	fmt.Fprintf(env.stdout, "Rotated API key %s; the old secret no longer works. New secret:\n\n    %s\n\n", id, secret)
	fmt.Fprintln(env.stderr, secretWarning)
	return nil
}

func keysSetEnabled(ctx context.Context, env *environment, open openStore, name string, args []string, enabled bool) error {
	fs := newFlagSet(env, name)
	if err := parseFlags(fs, args, 1); err != nil {
		return err
	}
	id := fs.Arg(0)
	store, err := open()
	if err != nil {
		return err
	}
	if _, err := store.UpdateAPIKey(ctx, id, convertor.APIKeyUpdate{Enabled: &enabled}); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	fmt.Fprintf(env.stdout, "%sd API key %s.\n", strings.ToUpper(name[:1])+name[1:], id)
	return nil
}

func newFlagSet(env *environment, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("convertor keys "+name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	return fs
}

// errHelp ends a subcommand whose help was asked for, successfully.
var errHelp = errors.New("help shown")

// parseFlags parses args and wants exactly nargs positional arguments
// (nargs 1 is the key id). The flag package has already printed its own
// complaint and the usage when it fails.
func parseFlags(fs *flag.FlagSet, args []string, nargs int) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return errUsage
	}
	switch {
	case fs.NArg() == nargs:
		return nil
	case nargs == 1 && fs.NArg() == 0:
		return flagError(fs, "a key id is required")
	default:
		return flagError(fs, "unexpected arguments %q", fs.Args()[nargs:])
	}
}

// flagError prints a usage problem and the subcommand's flags, and asks
// Main for exit code 2.
func flagError(fs *flag.FlagSet, format string, args ...any) error {
	fmt.Fprintf(fs.Output(), "%s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fs.Usage()
	return errUsage
}

// dollarsRE is a non-negative decimal amount with at most micro-dollar precision.
var dollarsRE = regexp.MustCompile(`^([0-9]+)(?:\.([0-9]{1,6}))?$`)

// parseDollars converts a decimal dollar amount to micro-dollars exactly,
// without passing through a float.
func parseDollars(s string) (int64, error) {
	m := dollarsRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%q: want a non-negative amount in dollars with at most 6 decimals, such as 12.50", s)
	}
	whole, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || whole > math.MaxInt64/1_000_000-1 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	frac := int64(0)
	if m[2] != "" {
		// Right-pad to six digits: "5" is 500000 micros.
		frac, _ = strconv.ParseInt(m[2]+strings.Repeat("0", 6-len(m[2])), 10, 64)
	}
	return whole*1_000_000 + frac, nil
}

// formatDollars prints micro-dollars as "$12.50", keeping every
// significant digit.
func formatDollars(micros int64) string {
	s := fmt.Sprintf("%d.%06d", micros/1_000_000, micros%1_000_000)
	s = strings.TrimRight(s, "0")
	if i := strings.IndexByte(s, '.'); len(s)-i < 3 {
		s += strings.Repeat("0", 3-(len(s)-i))
	}
	return "$" + s
}

// parseExpiry reads a date (midnight UTC), an RFC 3339 time, or a duration
// from now: Go's ("720h") or whole days ("30d"). It must lie after now.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	var t time.Time
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		t = d
	} else if ts, err := time.Parse(time.RFC3339, s); err == nil {
		t = ts.UTC()
	} else if days, ok := strings.CutSuffix(s, "d"); ok && days != "" && strings.Trim(days, "0123456789") == "" {
		n, err := strconv.Atoi(days)
		if err != nil || n > 100*365 {
			return time.Time{}, fmt.Errorf("%q: too many days", s)
		}
		t = now.AddDate(0, 0, n)
	} else if d, err := time.ParseDuration(s); err == nil {
		t = now.Add(d)
	} else {
		return time.Time{}, fmt.Errorf("%q: want a date (2026-12-31), an RFC 3339 time or a duration (720h, 30d)", s)
	}
	if !t.After(now) {
		return time.Time{}, fmt.Errorf("%q is not in the future", s)
	}
	return t, nil
}

func splitList(s string) []string {
	var out []string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04Z")
}

func limit(n int64) string {
	if n == 0 {
		return "default"
	}
	return strconv.FormatInt(n, 10)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
