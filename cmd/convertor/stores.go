package main

import (
	"context"

	"github.com/openai-api-convertor/convertor/internal/stores"
)

// openStores connects the stores the settings name (DYNAMODB_*,
// USAGE_TTL_DAYS): the one place a command builds them.
func openStores(ctx context.Context, env *environment) (*stores.Stores, error) {
	cfg, err := stores.LoadConfig(env.getenv)
	if err != nil {
		return nil, err
	}
	return stores.Open(ctx, cfg)
}
