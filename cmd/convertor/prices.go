package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/openai-api-convertor/convertor"
)

const pricesUsage = `usage: convertor prices <subcommand> [flags]

subcommands:
  list [--json]     the price in effect of every model and route, prices
                    scheduled for later, and models routed or used without one
  set --model M [--route R] --input USD --output USD [--cache-read USD]
      [--cache-write USD] [--from T] [--source S]
                    add a price, in US dollars per million tokens, from T on
                    (default now; a date is midnight UTC). Prices are never
                    rewritten: the same model, route and start again is refused.
                    Records priced before keep their cost until
                    "convertor replay --reprice".

Every change is written to the audit log as made by "cli:$USER".
`

var pricesCommands = map[string]func(context.Context, *environment, openService, []string) error{
	"list": pricesList,
	"set":  pricesSet,
}

// runPrices manages the pricing table through the admin service.
func runPrices(ctx context.Context, env *environment, args []string) error {
	return runSubcommand(ctx, env, "prices", pricesUsage, pricesCommands, args)
}

func pricesList(ctx context.Context, env *environment, open openService, args []string) error {
	fs := newFlagSet(env, "prices list")
	asJSON := fs.Bool("json", false, "print JSON instead of tables")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	svc, err := open()
	if err != nil {
		return err
	}
	v, err := svc.Prices(ctx)
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	if *asJSON {
		return printJSON(env, v)
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tROUTE\tFROM\tINPUT\tOUTPUT\tCACHE READ\tCACHE WRITE\tWRITE 1H\t(USD per million tokens)")
	row := func(p convertor.Price, note string) {
		route := p.Route
		if route == "" {
			route = "*"
		}
		w1h := "2x input"
		if p.CacheWrite1hMicros > 0 {
			w1h = convertor.FormatUSD(p.CacheWrite1hMicros)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Model, route, formatTime(p.EffectiveFrom),
			convertor.FormatUSD(p.InputMicros), convertor.FormatUSD(p.OutputMicros), convertor.FormatUSD(p.CacheReadMicros), convertor.FormatUSD(p.CacheWriteMicros), w1h, note)
		// A tier is a row of its own under its price, its rates for
		// requests above its prompt size.
		for _, t := range p.Tiers {
			w1h := "2x input"
			if t.CacheWrite1hMicros > 0 {
				w1h = convertor.FormatUSD(t.CacheWrite1hMicros)
			}
			fmt.Fprintf(tw, "\t\t  prompt > %d\t%s\t%s\t%s\t%s\t%s\t\n", t.AboveTokens,
				convertor.FormatUSD(t.InputMicros), convertor.FormatUSD(t.OutputMicros), convertor.FormatUSD(t.CacheReadMicros), convertor.FormatUSD(t.CacheWriteMicros), w1h)
		}
	}
	for _, p := range v.Prices {
		row(p, "")
	}
	for _, p := range v.Scheduled {
		row(p, "scheduled")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(v.Unpriced) > 0 {
		fmt.Fprintln(env.stdout, "\nModels without a price (their requests are recorded with cost 0):")
		for _, u := range v.Unpriced {
			fmt.Fprintf(env.stdout, "  %s -> %s (%d requests in the last 30 days)\n", u.Model, orDash(u.BedrockModelID), u.Requests)
		}
	}
	return nil
}

func pricesSet(ctx context.Context, env *environment, open openService, args []string) error {
	fs := newFlagSet(env, "prices set")
	model := fs.String("model", "", "Bedrock model id (anthropic.claude-…); an inference-profile id sets the route (required)")
	route := fs.String("route", "", "inference-profile geography (global, us, eu, …); empty: every route without its own price")
	from := fs.String("from", "", "when the price applies from: a date (midnight UTC) or an RFC 3339 time (default: now)")
	source := fs.String("source", "", "where the figures come from")
	rates := map[string]*string{}
	for _, n := range []string{"input", "output", "cache-read", "cache-write", "cache-write-1h"} {
		rates[n] = fs.String(n, "", "US dollars per million "+strings.ReplaceAll(n, "-", " ")+" tokens")
	}
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *model == "" {
		return flagError(fs, "--model is required")
	}
	if *rates["input"] == "" || *rates["output"] == "" {
		return flagError(fs, "--input and --output are required")
	}
	p := convertor.Price{Model: *model, Route: *route, Source: *source, EffectiveFrom: time.Now().UTC()}
	for name, dst := range map[string]*int64{"input": &p.InputMicros, "output": &p.OutputMicros, "cache-read": &p.CacheReadMicros, "cache-write": &p.CacheWriteMicros, "cache-write-1h": &p.CacheWrite1hMicros} {
		if *rates[name] == "" {
			continue
		}
		micros, err := parseDollars(*rates[name])
		if err != nil {
			return flagError(fs, "--%s: %v", name, err)
		}
		*dst = micros
	}
	if *from != "" {
		t, err := time.Parse(time.DateOnly, *from)
		if err != nil {
			if t, err = time.Parse(time.RFC3339, *from); err != nil {
				return flagError(fs, "--from %q: want a date (2026-12-01) or an RFC 3339 time", *from)
			}
		}
		p.EffectiveFrom = t.UTC()
	}
	svc, err := open()
	if err != nil {
		return err
	}
	saved, err := svc.CreatePrice(ctx, cliActor(env), p)
	if err != nil {
		return fmt.Errorf("set: %w", err)
	}
	route = &saved.Route
	if *route == "" {
		*route = "every route"
	}
	fmt.Fprintf(env.stdout, "Added the price of %s (%s) from %s: input %s, output %s, cache read %s, cache write %s per million tokens.\n",
		saved.Model, *route, saved.EffectiveFrom.Format(time.RFC3339), convertor.FormatUSD(saved.InputMicros), convertor.FormatUSD(saved.OutputMicros),
		convertor.FormatUSD(saved.CacheReadMicros), convertor.FormatUSD(saved.CacheWriteMicros))
	return nil
}
