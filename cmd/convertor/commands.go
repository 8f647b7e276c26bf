package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/openai-api-convertor/convertor/internal/envvar"
	"github.com/openai-api-convertor/convertor/internal/logbuf"
)

// command is one subcommand: it gets the remaining arguments and returns an
// error to print, or nil.
type command struct {
	summary string
	run     func(ctx context.Context, env *environment, args []string) error
}

// environment is what a subcommand may touch of the outside world; tests
// pass their own.
type environment struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
}

var commands = map[string]command{
	"aggregator":       {"roll priced usage into per-key, per-model stats and month spend", runAggregator},
	"gateway":          {"serve the OpenAI-compatible API (GATEWAY_ADDR, default :8000)", runGateway},
	"bedrock-emulator": {"serve a Bedrock Runtime emulator that speaks the real wire protocol", runEmulator},
	"dev":              {"run the whole stack in one process on embedded defaults", runDev},
	"keys":             {"create, list, update, revoke, rotate, disable and enable API keys", runKeys},
	"tables":           {"create the DynamoDB tables (idempotent), or print their definitions", runTables},
	"accountant":       {"price usage events into usage records (NATS_URL or SQS_QUEUE_URL)", runAccountant},
	"adminapi":         {"serve the admin API (ADMIN_ADDR, default :8005; ADMIN_AUTH required)", runAdminAPI},
	"routes":           {"list, set and delete model routes", runRoutes},
	"prices":           {"list prices and add new ones", runPrices},
	"usage":            {"print the usage and cost of a period, per key or model", runUsage},
	"replay":           {"re-price a period's usage, rebuild its stats and write a billing report", runReplay},
	"healthcheck":      {"GET a URL and exit 0 when it answers 2xx (container health checks)", runHealthcheck},
}

// errUsage makes Main exit 2. A bare errUsage means the subcommand already
// printed its own usage; wrapped, Main prints the message and the command list.
var errUsage = errors.New("usage")

// logLinger is how long a log line may wait for others to share its
// write: long enough that a busy gateway writes its access lines in
// batches of dozens, short enough that nobody watching the log sees it.
const logLinger = 10 * time.Millisecond

// Main runs the subcommand named by args[0] and returns the process exit code.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "convertor: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	// Log lines are written in batches, each at most logLinger late (see
	// logbuf); every one is out before Main returns or prints an error of
	// its own.
	logw := logbuf.New(stderr, logLinger)
	log, err := newLogger(getenv, logw)
	if err != nil {
		logw.Close()
		fmt.Fprintf(stderr, "convertor: %v\n", err)
		return 2
	}
	env := &environment{getenv: getenv, stdout: stdout, stderr: stderr, log: log}
	err = cmd.run(ctx, env, args[1:])
	logw.Close()
	if err != nil {
		if errors.Is(err, errUsage) {
			if err != errUsage {
				fmt.Fprintf(stderr, "convertor %s: %s\n\n", args[0], strings.TrimSuffix(err.Error(), ": "+errUsage.Error()))
				usage(stderr)
			}
			return 2
		}
		fmt.Fprintf(stderr, "convertor %s: %v\n", args[0], err)
		if hint := storeHint(args[0], getenv, err); hint != "" {
			fmt.Fprintln(stderr, hint)
		}
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: convertor <command> [arguments]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-18s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nConfiguration comes from environment variables; see README.md.")
}

// newLogger builds the process logger: text for people at a terminal, JSON
// for log pipelines (LOG_FORMAT), at LOG_LEVEL (default info).
func newLogger(getenv func(string) string, w io.Writer) (*slog.Logger, error) {
	r := envvar.New(getenv)
	var level slog.Level
	if s := r.String("LOG_LEVEL", "info"); level.UnmarshalText([]byte(s)) != nil {
		return nil, fmt.Errorf("LOG_LEVEL: %q is not a level (use debug, info, warn or error)", s)
	}
	opts := &slog.HandlerOptions{Level: level}
	f := r.String("LOG_FORMAT", "text")
	switch strings.ToLower(f) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("LOG_FORMAT: %q is not a format (use text or json)", f)
	}
}

func noArgs(args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected arguments %q (configuration comes from environment variables): %w", args, errUsage)
	}
	return nil
}
