package main

import (
	"context"

	"github.com/openai-api-convertor/convertor/gateway"
	"github.com/openai-api-convertor/convertor/gateway/bedrock/emulator"
)

func runGateway(ctx context.Context, env *environment, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	cfg, err := gateway.LoadConfig(env.getenv)
	if err != nil {
		return err
	}
	return gateway.Run(ctx, cfg, env.log)
}

func runEmulator(ctx context.Context, env *environment, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	cfg, err := emulator.LoadConfig(env.getenv)
	if err != nil {
		return err
	}
	return emulator.Run(ctx, cfg, env.log)
}
