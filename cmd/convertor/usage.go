package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/adminapi"
)

const usageCommandUsage = `usage: convertor usage [--from T] [--to T] [--tz ZONE] [--key ID] [--model M]
                       [--by key|model] [--metric cost|tokens|requests] [--limit N] [--json]

Prints the usage of a period from the roll-ups, as the admin API's summary:
requests, errors, tokens by kind and cost, next to the period before it. With
--by it also ranks the period's keys or models. T is an RFC 3339 time or a date
in the time zone; the default period is the last 24 hours.

flags:
`

// runUsage prints a usage summary (and a ranking) through the admin service.
func runUsage(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("convertor usage", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		from   = fs.String("from", "", "start of the period, inclusive")
		to     = fs.String("to", "", "end of the period, exclusive")
		tz     = fs.String("tz", "", "IANA time zone of dates and of the output (default UTC)")
		key    = fs.String("key", "", "only this key id")
		model  = fs.String("model", "", "only this model")
		by     = fs.String("by", "", "also rank keys or models: key or model")
		metric = fs.String("metric", "cost", "rank by cost, tokens or requests")
		limit  = fs.Int("limit", 10, "how many to rank")
		asJSON = fs.Bool("json", false, "print JSON")
	)
	usageErr := func(msg string) error {
		fmt.Fprintf(env.stderr, "convertor usage: %s\n\n%s", msg, usageCommandUsage)
		fs.SetOutput(env.stderr)
		fs.PrintDefaults()
		return errUsage
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(env.stdout, usageCommandUsage)
			fs.SetOutput(env.stdout)
			fs.PrintDefaults()
			return nil
		}
		return usageErr(err.Error())
	}
	if fs.NArg() > 0 {
		return usageErr(fmt.Sprintf("unexpected arguments %q", fs.Args()))
	}
	if *by != "" && *by != adminapi.GroupKey && *by != adminapi.GroupModel {
		return usageErr(fmt.Sprintf("--by %q: want key or model", *by))
	}
	w, err := adminapi.ParseWindow(adminapi.WindowQuery{From: *from, To: *to, TZ: *tz}, time.Now())
	if err != nil {
		return usageErr(err.Error())
	}
	st, err := openStores(ctx, env)
	if err != nil {
		return err
	}
	svc, err := adminapi.NewService(adminDeps(st), env.log)
	if err != nil {
		return err
	}
	f := adminapi.UsageFilter{KeyID: *key, Model: *model}
	sum, err := svc.Summary(ctx, w, f)
	if err != nil {
		return err
	}
	var top *adminapi.Top
	if *by != "" {
		if top, err = svc.Top(ctx, w, f, *by, *metric, *limit); err != nil {
			return err
		}
	}
	if *asJSON {
		return printJSON(env, struct {
			Summary *adminapi.Summary `json:"summary"`
			Top     *adminapi.Top     `json:"top,omitempty"`
		}{sum, top})
	}
	printSummary(env, sum)
	if top != nil {
		printTop(env, top)
	}
	return nil
}

func printSummary(env *environment, s *adminapi.Summary) {
	fmt.Fprintf(env.stdout, "Usage %s to %s (%s)", s.Current.From.Format(time.RFC3339), s.Current.To.Format(time.RFC3339), s.TZ)
	if s.KeyID != "" {
		fmt.Fprintf(env.stdout, ", key %s", s.KeyID)
	}
	if s.Model != "" {
		fmt.Fprintf(env.stdout, ", model %s", s.Model)
	}
	fmt.Fprintln(env.stdout)
	tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tthis period\tperiod before\t")
	c, p := s.Current.Totals, s.Previous.Totals
	for _, r := range []struct {
		name   string
		cv, pv string
	}{
		{"requests", itoa(c.Requests), itoa(p.Requests)},
		{"errors", itoa(c.Errors), itoa(p.Errors)},
		{"input tokens", itoa(c.InputTokens), itoa(p.InputTokens)},
		{"output tokens", itoa(c.OutputTokens), itoa(p.OutputTokens)},
		{"cache read tokens", itoa(c.CacheReadTokens), itoa(p.CacheReadTokens)},
		{"cache write tokens", itoa(c.CacheWriteTokens), itoa(p.CacheWriteTokens)},
		{"cost", convertor.FormatUSD(c.CostMicros), convertor.FormatUSD(p.CostMicros)},
	} {
		fmt.Fprintf(tw, "%s\t%s\t%s\t\n", r.name, r.cv, r.pv)
	}
	if s.Current.KeysWithUsage != nil && s.Previous.KeysWithUsage != nil {
		fmt.Fprintf(tw, "keys with usage\t%d\t%d\t\n", *s.Current.KeysWithUsage, *s.Previous.KeysWithUsage)
	}
	tw.Flush()
}

func printTop(env *environment, t *adminapi.Top) {
	fmt.Fprintf(env.stdout, "\nTop %ss by %s\n", t.By, t.Metric)
	tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tID\tNAME\tREQUESTS\tTOKENS\tCOST\tSHARE")
	for _, e := range t.Items {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%s\t%s%%\n", e.Rank, e.ID, orDash(e.Name), e.Totals.Requests, e.Totals.TotalTokens,
			convertor.FormatUSD(e.Totals.CostMicros), strconv.FormatFloat(e.Share*100, 'f', 1, 64))
	}
	if t.Others.Requests > 0 {
		fmt.Fprintf(tw, "\t(others)\t\t%d\t%d\t%s\t\n", t.Others.Requests, t.Others.TotalTokens, convertor.FormatUSD(t.Others.CostMicros))
	}
	tw.Flush()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
