package main

import (
	"context"

	"github.com/openai-api-convertor/convertor/aggregator"
)

// runAggregator serves the aggregator: priced records in, roll-ups and
// month spend out to the stats store.
func runAggregator(ctx context.Context, env *environment, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	cfg, err := aggregator.LoadConfig(env.getenv)
	if err != nil {
		return err
	}
	st, err := openStores(ctx, env)
	if err != nil {
		return err
	}
	return aggregator.Run(ctx, cfg, st.Stats, env.log)
}
