package main

import (
	"context"

	"github.com/openai-api-convertor/convertor/aggregator"
)

func runAggregator(ctx context.Context, env *environment, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	cfg, err := aggregator.LoadConfig(env.getenv)
	if err != nil {
		return err
	}
	return aggregator.Run(ctx, cfg, env.log)
}
