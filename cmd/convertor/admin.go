package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/openai-api-convertor/convertor/adminapi"
	"github.com/openai-api-convertor/convertor/internal/stores"
)

// openService connects the admin service the CLI's admin commands share
// with the admin API, so a change means the same and is audited the same
// either way.
type openService func() (*adminapi.Service, error)

// adminDeps are the stores the admin service works with.
func adminDeps(st *stores.Stores) adminapi.Deps {
	return adminapi.Deps{Keys: st.Keys, Usage: st.Usage, Stats: st.Stats, Prices: st.Prices, Routes: st.Routes, Audit: st.Audit}
}

// cliActor names the person at the terminal in the audit log.
func cliActor(env *environment) adminapi.Actor {
	user := env.getenv("USER")
	if user == "" {
		user = env.getenv("LOGNAME")
	}
	if user == "" {
		user = "unknown"
	}
	return adminapi.Actor{Name: "cli:" + user, Role: "admin", Mode: "cli"}
}

// runSubcommand dispatches `convertor <group> <subcommand> ...`.
func runSubcommand[C ~func(context.Context, *environment, openService, []string) error](ctx context.Context, env *environment, group, usageText string, cmds map[string]C, args []string) error {
	if len(args) == 0 {
		fmt.Fprintf(env.stderr, "convertor %s: subcommand required\n\n%s\n", group, usageText)
		return errUsage
	}
	if isHelp(args[0]) {
		fmt.Fprint(env.stdout, usageText)
		return nil
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(env.stderr, "convertor %s: unknown subcommand %q\n\n%s\n", group, args[0], usageText)
		return errUsage
	}
	open := func() (*adminapi.Service, error) {
		st, err := openStores(ctx, env)
		if err != nil {
			return nil, err
		}
		return adminapi.NewService(adminDeps(st), env.log)
	}
	if err := cmd(ctx, env, open, args[1:]); !errors.Is(err, errHelp) {
		return err
	}
	return nil
}

func printJSON(env *environment, v any) error {
	enc := json.NewEncoder(env.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// runAdminAPI serves the admin API (ADMIN_ADDR, default :8005).
func runAdminAPI(ctx context.Context, env *environment, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	cfg, err := adminapi.LoadConfig(env.getenv)
	if err != nil {
		return err
	}
	st, err := openStores(ctx, env)
	if err != nil {
		return err
	}
	return adminapi.Run(ctx, cfg, adminDeps(st), env.log)
}
