package main

import (
	"context"
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
	"github.com/openai-api-convertor/convertor/adminapi"
)

const keysUsage = `usage: convertor keys <subcommand> [flags] [ID]

subcommands:
  create --name N [--owner O] [--models a,b] [--rpm N] [--tpm N]
         [--budget-usd 12.50] [--expires 2026-12-31|720h|30d]
                   create a key and print its secret, once
  list [--json] [--status S] [--search TEXT]
                   list keys (never a secret)
  update ID [--name N] [--owner O] [--models a,b | --all-models]
         [--rpm N] [--tpm N] [--budget-usd X | --no-budget]
         [--expires T | --no-expiry] [--if-revision N]
                   change a key's fields; the others stay
  revoke ID        revoke a key for good
  rotate ID [--grace 24h]
                   give a key a new secret, printed once; the old one stops
                   working at once, or after the grace period
  disable ID       stop a key until it is enabled again
  enable ID        re-enable a disabled key (a revoked key stays revoked)

Every change is written to the audit log as made by "cli:$USER". Keys live
in the DynamoDB table DYNAMODB_API_KEYS_TABLE (DYNAMODB_ENDPOINT_URL for a
local server); create the tables first with "convertor tables create".
`

// secretWarning follows every printed secret: only its hash is stored.
const secretWarning = "Store this secret now: it is shown only once and cannot be recovered (rotate the key to get a new one)."

// keysCommand is one `convertor keys` subcommand. It checks its arguments
// before it calls open, so that a typo is reported as one even when the
// store is unreachable.
type keysCommand func(ctx context.Context, env *environment, open openService, args []string) error

var keysCommands = map[string]keysCommand{
	"create": keysCreate,
	"list":   keysList,
	"update": keysUpdate,
	"revoke": keysRevoke,
	"rotate": keysRotate,
	"disable": func(ctx context.Context, env *environment, open openService, args []string) error {
		return keysSetEnabled(ctx, env, open, "disable", args, false)
	},
	"enable": func(ctx context.Context, env *environment, open openService, args []string) error {
		return keysSetEnabled(ctx, env, open, "enable", args, true)
	},
}

// runKeys manages API keys through the admin service.
func runKeys(ctx context.Context, env *environment, args []string) error {
	return runSubcommand(ctx, env, "keys", keysUsage, keysCommands, args)
}

func keysCreate(ctx context.Context, env *environment, open openService, args []string) error {
	fs := newFlagSet(env, "keys create")
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
	in := adminapi.KeyInput{
		Name: strings.TrimSpace(*name), Owner: strings.TrimSpace(*owner), Enabled: true,
		AllowedModels: splitList(*models), RPM: *rpm, TPM: *tpm,
	}
	var err error
	switch {
	case in.Name == "":
		return flagError(fs, "--name is required")
	case in.RPM < 0 || in.TPM < 0:
		return flagError(fs, "--rpm and --tpm must not be negative")
	}
	if *budget != "" {
		if in.MonthlyBudgetMicros, err = parseDollars(*budget); err != nil {
			return flagError(fs, "--budget-usd: %v", err)
		}
	}
	if *expires != "" {
		if in.ExpiresAt, err = parseExpiry(*expires, time.Now().UTC()); err != nil {
			return flagError(fs, "--expires: %v", err)
		}
	}
	svc, err := open()
	if err != nil {
		return err
	}
	secret, k, err := svc.CreateKey(ctx, cliActor(env), in)
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	fmt.Fprintf(env.stdout, "Created API key %s (%q).\n\n    %s\n\n", k.ID, k.Name, secret)
	fmt.Fprintln(env.stderr, secretWarning)
	return nil
}

func keysList(ctx context.Context, env *environment, open openService, args []string) error {
	fs := newFlagSet(env, "keys list")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	status := fs.String("status", "", "only keys in this status: active, disabled, expired or revoked")
	search := fs.String("search", "", "only keys whose name, owner, prefix or id contains this")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	switch *status {
	case "", convertor.KeyActive, convertor.KeyDisabled, convertor.KeyExpired, convertor.KeyRevoked:
	default:
		return flagError(fs, "--status %q: want active, disabled, expired or revoked", *status)
	}
	svc, err := open()
	if err != nil {
		return err
	}
	var keys []*adminapi.KeyView
	for cursor := ""; ; {
		page, next, err := svc.Keys(ctx, adminapi.KeyQuery{Search: *search, Status: *status, Limit: convertor.MaxPageSize, Cursor: cursor})
		if err != nil {
			return fmt.Errorf("list: %w", err)
		}
		keys = append(keys, page...)
		if cursor = next; cursor == "" {
			break
		}
	}
	if *asJSON {
		if keys == nil {
			keys = []*adminapi.KeyView{}
		}
		return printJSON(env, keys)
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPREFIX\tNAME\tOWNER\tSTATUS\tEXPIRES\tMODELS\tRPM\tTPM\tBUDGET\tSPENT\tLAST USED\tREVOKED")
	for _, k := range keys {
		models := "all"
		if len(k.AllowedModels) > 0 {
			models = strings.Join(k.AllowedModels, ",")
		}
		budget, spent := "-", "-"
		if k.MonthlyBudgetMicros > 0 {
			budget = convertor.FormatUSD(k.MonthlyBudgetMicros)
		}
		if k.MonthSpendMicros != nil {
			spent = convertor.FormatUSD(*k.MonthSpendMicros)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			k.ID, k.Prefix, k.Name, orDash(k.Owner), k.Status, formatTime(k.ExpiresAt), models,
			limit(k.RPM), limit(k.TPM), budget, spent, formatTime(k.LastUsedAt), formatTime(k.RevokedAt))
	}
	return tw.Flush()
}

func keysUpdate(ctx context.Context, env *environment, open openService, args []string) error {
	fs := newFlagSet(env, "keys update")
	var c adminapi.KeyChange
	set := map[string]bool{}
	name := fs.String("name", "", "new name")
	owner := fs.String("owner", "", "new owner (empty clears it)")
	models := fs.String("models", "", "comma-separated model names the key may use")
	allModels := fs.Bool("all-models", false, "let the key use every model")
	rpm := fs.Int64("rpm", 0, "requests per minute (0: the gateway's default)")
	tpm := fs.Int64("tpm", 0, "tokens per minute (0: the gateway's default)")
	budget := fs.String("budget-usd", "", "monthly budget in US dollars")
	noBudget := fs.Bool("no-budget", false, "remove the monthly budget")
	expires := fs.String("expires", "", "expiry: a date, an RFC 3339 time or a duration from now")
	noExpiry := fs.Bool("no-expiry", false, "the key never expires")
	ifRevision := fs.Int64("if-revision", 0, "change the key only if it is still at this revision (as `keys list --json` shows)")
	if err := parseFlags(fs, args, 1); err != nil {
		return err
	}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case set["models"] && set["all-models"]:
		return flagError(fs, "--models and --all-models contradict each other")
	case set["budget-usd"] && set["no-budget"]:
		return flagError(fs, "--budget-usd and --no-budget contradict each other")
	case set["expires"] && set["no-expiry"]:
		return flagError(fs, "--expires and --no-expiry contradict each other")
	case *rpm < 0 || *tpm < 0:
		return flagError(fs, "--rpm and --tpm must not be negative")
	}
	if set["name"] {
		c.Name = name
	}
	if set["owner"] {
		c.Owner = owner
	}
	if set["models"] || *allModels {
		m := splitList(*models)
		c.AllowedModels = &m
	}
	if set["rpm"] {
		c.RPM = rpm
	}
	if set["tpm"] {
		c.TPM = tpm
	}
	if set["budget-usd"] || *noBudget {
		var micros int64
		if set["budget-usd"] {
			var err error
			if micros, err = parseDollars(*budget); err != nil {
				return flagError(fs, "--budget-usd: %v", err)
			}
		}
		c.MonthlyBudgetMicros = &micros
	}
	if set["expires"] || *noExpiry {
		var t time.Time
		if set["expires"] {
			var err error
			if t, err = parseExpiry(*expires, time.Now().UTC()); err != nil {
				return flagError(fs, "--expires: %v", err)
			}
		}
		c.ExpiresAt = &t
	}
	c.IfRevision = *ifRevision
	id := fs.Arg(0)
	svc, err := open()
	if err != nil {
		return err
	}
	k, err := svc.UpdateKey(ctx, cliActor(env), id, c)
	if err != nil {
		return fmt.Errorf("update: %w", err)
	}
	fmt.Fprintf(env.stdout, "Updated API key %s (revision %d).\n", k.ID, k.Revision)
	return nil
}

func keysRevoke(ctx context.Context, env *environment, open openService, args []string) error {
	fs := newFlagSet(env, "keys revoke")
	if err := parseFlags(fs, args, 1); err != nil {
		return err
	}
	id := fs.Arg(0)
	svc, err := open()
	if err != nil {
		return err
	}
	if _, err := svc.RevokeKey(ctx, cliActor(env), id, 0); err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	fmt.Fprintf(env.stdout, "Revoked API key %s; it will never work again.\n", id)
	return nil
}

func keysRotate(ctx context.Context, env *environment, open openService, args []string) error {
	fs := newFlagSet(env, "keys rotate")
	grace := fs.Duration("grace", 0, "how long the old secret keeps working (at most 168h); default: it stops at once")
	if err := parseFlags(fs, args, 1); err != nil {
		return err
	}
	if *grace < 0 || *grace > 7*24*time.Hour {
		return flagError(fs, "--grace must be between 0 and 168h")
	}
	id := fs.Arg(0)
	svc, err := open()
	if err != nil {
		return err
	}
	secret, k, err := svc.RotateKey(ctx, cliActor(env), id, *grace, 0)
	if err != nil {
		return fmt.Errorf("rotate: %w", err)
	}
	old := "the old secret no longer works"
	if !k.PreviousUntil.IsZero() {
		old = "the old secret works until " + formatTime(k.PreviousUntil)
	}
	fmt.Fprintf(env.stdout, "Rotated API key %s; %s. New secret:\n\n    %s\n\n", id, old, secret)
	fmt.Fprintln(env.stderr, secretWarning)
	return nil
}

func keysSetEnabled(ctx context.Context, env *environment, open openService, name string, args []string, enabled bool) error {
	fs := newFlagSet(env, "keys "+name)
	if err := parseFlags(fs, args, 1); err != nil {
		return err
	}
	id := fs.Arg(0)
	svc, err := open()
	if err != nil {
		return err
	}
	if _, err := svc.UpdateKey(ctx, cliActor(env), id, adminapi.KeyChange{Enabled: &enabled}); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	fmt.Fprintf(env.stdout, "%sd API key %s.\n", strings.ToUpper(name[:1])+name[1:], id)
	return nil
}

func newFlagSet(env *environment, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("convertor "+name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	return fs
}

// errHelp ends a subcommand whose help was asked for, successfully.
var errHelp = errors.New("help shown")

// parseFlags parses args and wants exactly nargs positional arguments
// (nargs 1 is the key id). The flag package has already printed its own
// complaint and the usage when it fails.
func parseFlags(fs *flag.FlagSet, args []string, nargs int) error {
	if err := fs.Parse(flagsFirst(fs, args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return errUsage
	}
	switch {
	case fs.NArg() == nargs:
		return nil
	case nargs == 1 && fs.NArg() == 0 && strings.HasPrefix(fs.Name(), "convertor keys"):
		return flagError(fs, "a key id is required")
	case fs.NArg() < nargs:
		return flagError(fs, "%d arguments required, have %d", nargs, fs.NArg())
	default:
		return flagError(fs, "unexpected arguments %q", fs.Args()[nargs:])
	}
}

// flagsFirst moves the positional arguments after the flags, so that
// "keys update ID --rpm 5" reads as "keys update --rpm 5 ID" does: the
// flag package stops at the first positional argument.
func flagsFirst(fs *flag.FlagSet, args []string) []string {
	var flags, positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		// A flag that takes a value takes the next argument.
		if f := fs.Lookup(name); f != nil && i+1 < len(args) {
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
				i++
				flags = append(flags, args[i])
			}
		}
	}
	if len(positional) == 0 {
		return flags
	}
	return append(append(flags, "--"), positional...)
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
