package main

import (
	"context"
	"fmt"
	"text/tabwriter"
)

const routesUsage = `usage: convertor routes <subcommand> [flags]

subcommands:
  list [--json]            the routes the gateway resolves model names with:
                           admin routes, then the built-in ones they do not override
  set MODEL BEDROCK_ID     route a model name to a Bedrock model id,
                           inference-profile id or ARN (an admin route)
  delete MODEL             remove an admin route; a built-in one applies again

Gateways pick up route changes within ROUTES_REFRESH. Every change is written
to the audit log as made by "cli:$USER".
`

var routesCommands = map[string]func(context.Context, *environment, openService, []string) error{
	"list":   routesList,
	"set":    routesSet,
	"delete": routesDelete,
}

// runRoutes manages model routes through the admin service.
func runRoutes(ctx context.Context, env *environment, args []string) error {
	return runSubcommand(ctx, env, "routes", routesUsage, routesCommands, args)
}

func routesList(ctx context.Context, env *environment, open openService, args []string) error {
	fs := newFlagSet(env, "routes list")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	svc, err := open()
	if err != nil {
		return err
	}
	rs, err := svc.Routes(ctx)
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	if *asJSON {
		return printJSON(env, rs)
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tBEDROCK MODEL\tSOURCE\tPRICED\tUPDATED")
	for _, r := range rs {
		source := r.Source
		if r.DefaultBedrockModelID != "" {
			source += " (overrides built-in " + r.DefaultBedrockModelID + ")"
		}
		priced := "yes"
		if !r.Priced {
			priced = "NO PRICE"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Model, r.BedrockModelID, source, priced, formatTime(r.UpdatedAt))
	}
	return tw.Flush()
}

func routesSet(ctx context.Context, env *environment, open openService, args []string) error {
	fs := newFlagSet(env, "routes set")
	if err := parseFlags(fs, args, 2); err != nil {
		return err
	}
	svc, err := open()
	if err != nil {
		return err
	}
	v, created, err := svc.PutRoute(ctx, cliActor(env), fs.Arg(0), fs.Arg(1))
	if err != nil {
		return fmt.Errorf("set: %w", err)
	}
	verb := "Replaced"
	if created {
		verb = "Created"
	}
	fmt.Fprintf(env.stdout, "%s route %s -> %s.\n", verb, v.Model, v.BedrockModelID)
	if !v.Priced {
		fmt.Fprintf(env.stderr, "warning: %s has no price in effect: its requests are recorded with cost 0 until you add one (convertor prices set)\n", v.BedrockModelID)
	}
	return nil
}

func routesDelete(ctx context.Context, env *environment, open openService, args []string) error {
	fs := newFlagSet(env, "routes delete")
	if err := parseFlags(fs, args, 1); err != nil {
		return err
	}
	svc, err := open()
	if err != nil {
		return err
	}
	if err := svc.DeleteRoute(ctx, cliActor(env), fs.Arg(0)); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	fmt.Fprintf(env.stdout, "Deleted the admin route of %s.\n", fs.Arg(0))
	return nil
}
