package main

import (
	"context"

	"github.com/openai-api-convertor/convertor/accountant"
)

// runAccountant serves the accountant: usage events in, priced usage
// records out to DynamoDB and the priced topic.
func runAccountant(ctx context.Context, env *environment, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	cfg, err := accountant.LoadConfig(env.getenv)
	if err != nil {
		return err
	}
	st, err := openStores(ctx, env)
	if err != nil {
		return err
	}
	return accountant.Run(ctx, cfg, accountant.Deps{Usage: st.Usage, Prices: st.Prices}, env.log)
}
