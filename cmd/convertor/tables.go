package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/openai-api-convertor/convertor/internal/dynamo"
)

const tablesUsage = `usage: convertor tables create
       convertor tables definitions [--json]

create       creates every DynamoDB table the product uses (DYNAMODB_*_TABLE
             names, at DYNAMODB_ENDPOINT_URL or in AWS_REGION) with its keys
             and indexes, and waits until they are ready. Tables that exist
             are left as they are, so it is safe to run again.
definitions  prints the tables' definitions (default names): keys, indexes,
             billing mode and time to live; with --json in the form the AWS
             CDK app reads (deploy/cdk/tables.json is this output).
`

// runTables manages the DynamoDB tables: create them, or print their
// definitions.
func runTables(ctx context.Context, env *environment, args []string) error {
	if len(args) == 1 && isHelp(args[0]) {
		fmt.Fprint(env.stdout, tablesUsage)
		return nil
	}
	switch {
	case len(args) == 1 && args[0] == "create":
		return createTables(ctx, env)
	case len(args) == 1 && args[0] == "definitions":
		return printDefinitions(env, false)
	case len(args) == 2 && args[0] == "definitions" && (args[1] == "--json" || args[1] == "-json"):
		return printDefinitions(env, true)
	}
	fmt.Fprintf(env.stderr, "convertor tables: want create or definitions [--json], have %q\n\n%s\n", args, tablesUsage)
	return errUsage
}

func createTables(ctx context.Context, env *environment) error {
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

// tableDefinitions is the JSON document of `tables definitions --json`.
type tableDefinitions struct {
	// GeneratedBy says where the document comes from, for readers of the
	// committed copy.
	GeneratedBy string             `json:"generated_by"`
	Tables      []dynamo.TableSpec `json:"tables"`
}

// definitionsJSON is the output of `tables definitions --json`: the
// definitions of the default tables, the names being the CDK app's to
// choose.
func definitionsJSON() ([]byte, error) {
	specs, err := dynamo.Specs(dynamo.DefaultTables())
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(tableDefinitions{
		GeneratedBy: "convertor tables definitions --json (internal/dynamo/tables.go); do not edit",
		Tables:      specs,
	}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode definitions: %w", err)
	}
	return append(b, '\n'), nil
}

func printDefinitions(env *environment, asJSON bool) error {
	if asJSON {
		b, err := definitionsJSON()
		if err != nil {
			return err
		}
		_, err = env.stdout.Write(b)
		return err
	}
	specs, err := dynamo.Specs(dynamo.DefaultTables())
	if err != nil {
		return err
	}
	for _, s := range specs {
		fmt.Fprintf(env.stdout, "%s (%s)\n  key %s, %s", s.Name, s.Variable, keyString(s.PartitionKey, s.SortKey), s.BillingMode)
		if s.TTLAttribute != "" {
			fmt.Fprintf(env.stdout, ", time to live on %s", s.TTLAttribute)
		}
		fmt.Fprintln(env.stdout)
		for _, ix := range s.GlobalSecondaryIndexes {
			fmt.Fprintf(env.stdout, "  index %s: %s, projection %s\n", ix.Name, keyString(ix.PartitionKey, ix.SortKey), ix.Projection)
		}
	}
	return nil
}

func keyString(pk dynamo.KeyAttribute, sk *dynamo.KeyAttribute) string {
	parts := []string{pk.Name + " " + pk.Type}
	if sk != nil {
		parts = append(parts, sk.Name+" "+sk.Type)
	}
	return strings.Join(parts, " + ")
}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}
