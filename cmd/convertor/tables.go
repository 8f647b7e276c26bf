package main

import (
	"context"
	"fmt"
)

const tablesUsage = `usage: convertor tables create

Creates every DynamoDB table the product uses (DYNAMODB_*_TABLE names, at
DYNAMODB_ENDPOINT_URL or in AWS_REGION) with its keys and indexes, and
waits until they are ready. Tables that exist are left as they are, so it is
safe to run again.
`

// runTables manages the DynamoDB tables; its only subcommand is create.
func runTables(ctx context.Context, env *environment, args []string) error {
	if len(args) == 1 && isHelp(args[0]) {
		fmt.Fprint(env.stdout, tablesUsage)
		return nil
	}
	if len(args) != 1 || args[0] != "create" {
		fmt.Fprintf(env.stderr, "convertor tables: want exactly the subcommand create, have %q\n\n%s\n", args, tablesUsage)
		return errUsage
	}
	st, err := openStores(ctx, env)
	if err != nil {
		return err
	}
	results, err := st.CreateTables(ctx, env.log)
	for _, r := range results {
		state := "exists"
		if r.Created {
			state = "created"
		}
		fmt.Fprintf(env.stdout, "%-8s %s\n", state, r.Name)
		for _, ix := range r.AddedIndexes {
			fmt.Fprintf(env.stdout, "         added index %s\n", ix)
		}
		for _, w := range r.Warnings {
			fmt.Fprintf(env.stdout, "         warning: %s\n", w)
		}
	}
	return err
}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}
