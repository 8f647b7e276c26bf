package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/openai-api-convertor/convertor/replay"
)

const replayUsage = `usage: convertor replay --from T --to T [--key K] [--reprice | --at-event-time] [--out report.csv]

Re-prices the stored usage records with event times in [from, to), rebuilds
that period's roll-ups from them and writes a per-key, per-model billing
report as CSV (to --out, or standard output). T is RFC 3339
(2025-11-01T00:00:00Z) or a UTC date (2025-11-01). Without --reprice each
record gets the price in effect at its time; with it, the current price of
its model and route. A record a --reprice priced with a newer price keeps
it on a later run without --reprice; --at-event-time takes it back to the
price of its time. Records whose cost changes are rewritten. The report
names the rates used (effective date, route, tier) and counts unpriced
and estimated requests per line. Progress goes
to standard error. Running it twice gives the same result, and an
interrupted run is completed by running it again.

flags:
`

// runReplay parses the flags, connects the stores and runs replay.Run.
func runReplay(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		fromS   = fs.String("from", "", "start of the period, inclusive (required)")
		toS     = fs.String("to", "", "end of the period, exclusive (required)")
		key     = fs.String("key", "", "re-price and report only this key id")
		reprice = fs.Bool("reprice", false, "use the current prices instead of those in effect at each event")
		atTime  = fs.Bool("at-event-time", false, "use the prices in effect at each event, also for records an earlier --reprice priced with newer ones")
		out     = fs.String("out", "", "write the CSV report to this file instead of standard output")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printReplayUsage(env.stdout, fs)
			return nil
		}
		return replayUsageError(env, fs, err.Error())
	}
	if fs.NArg() > 0 {
		return replayUsageError(env, fs, fmt.Sprintf("unexpected arguments %q", fs.Args()))
	}
	from, to, err := replayPeriod(*fromS, *toS)
	if err != nil {
		return replayUsageError(env, fs, err.Error())
	}

	st, err := openStores(ctx, env)
	if err != nil {
		return err
	}
	rep, err := replay.Run(ctx, replay.Options{
		From: from, To: to, KeyID: *key, Reprice: *reprice, AtEventTime: *atTime,
		Usage:    st.Usage,
		Prices:   st.Prices,
		Stats:    st.Stats,
		Progress: env.stderr,
	})
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted; the days finished are consistent, run again to complete: %w", err)
		}
		return err
	}
	if rep.Unpriced > 0 {
		env.log.Warn("records without a price; add prices and run again with --reprice", "records", rep.Unpriced)
	}
	if *out == "" {
		return rep.WriteCSV(env.stdout)
	}
	return writeReportFile(*out, rep)
}

// replayPeriod parses and checks --from and --to.
func replayPeriod(fromS, toS string) (from, to time.Time, err error) {
	var errs []error
	if fromS == "" {
		errs = append(errs, errors.New("--from is required"))
	} else if from, err = parseReplayTime(fromS); err != nil {
		errs = append(errs, fmt.Errorf("--from: %w", err))
	}
	if toS == "" {
		errs = append(errs, errors.New("--to is required"))
	} else if to, err = parseReplayTime(toS); err != nil {
		errs = append(errs, fmt.Errorf("--to: %w", err))
	}
	if len(errs) == 0 && !from.Before(to) {
		errs = append(errs, fmt.Errorf("--from %s is not before --to %s", from.Format(time.RFC3339), to.Format(time.RFC3339)))
	}
	return from, to, errors.Join(errs...)
}

// parseReplayTime reads RFC 3339 or a date, which means its midnight UTC.
func parseReplayTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2025-11-01T00:00:00Z) nor a date (2025-11-01)", s)
	}
	return t.UTC(), nil
}

// writeReportFile writes the report next to path and renames it into
// place, so an interrupted write never leaves half a report behind.
func writeReportFile(path string, rep *replay.Report) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	defer os.Remove(f.Name()) // after a successful rename there is nothing to remove
	if err := rep.WriteCSV(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

func replayUsageError(env *environment, fs *flag.FlagSet, msg string) error {
	fmt.Fprintf(env.stderr, "convertor replay: %s\n\n", msg)
	printReplayUsage(env.stderr, fs)
	return errUsage
}

func printReplayUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, replayUsage)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}
