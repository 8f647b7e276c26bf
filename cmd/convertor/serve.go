package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway"
	"github.com/openai-api-convertor/convertor/gateway/bedrock/emulator"
	"github.com/openai-api-convertor/convertor/internal/dynamo"
)

func runGateway(ctx context.Context, env *environment, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	cfg, err := gateway.LoadConfig(env.getenv)
	if err != nil {
		return err
	}
	deps, err := gateway.BedrockDeps(ctx, cfg)
	if err != nil {
		return err
	}
	if err := addKeyStore(ctx, env, cfg, &deps); err != nil {
		return err
	}
	return gateway.RunDeps(ctx, cfg, deps, env.log)
}

// addKeyStore connects the DynamoDB key store when KEY_STORE=dynamodb and
// adds a readiness check that reads it.
func addKeyStore(ctx context.Context, env *environment, cfg gateway.Config, deps *gateway.Deps) error {
	if cfg.KeyStore != gateway.KeyStoreDynamoDB || !cfg.RequireAPIKey {
		return nil
	}
	dcfg, err := dynamo.LoadConfig(env.getenv)
	if err != nil {
		return err
	}
	db, err := dynamo.NewClient(ctx, dcfg)
	if err != nil {
		return err
	}
	store := dynamo.NewAPIKeyStore(db, dcfg.Tables.APIKeys)
	deps.Keys = store
	deps.Ready = append(deps.Ready, gateway.ReadinessCheck{Name: "api_key_store", Check: keyStoreCheck(store)})
	return nil
}

// keyStoreCheck looks up a key that cannot exist: ENotFound proves the
// table answers.
func keyStoreCheck(store convertor.APIKeyStore) func(context.Context) error {
	probe := sha256.Sum256([]byte("readiness probe"))
	hash := hex.EncodeToString(probe[:])
	return func(ctx context.Context) error {
		_, err := store.APIKeyByHash(ctx, hash)
		if err == nil || convertor.ErrorCode(err) == convertor.ENotFound {
			return nil
		}
		var ce *convertor.Error
		if errors.As(err, &ce) {
			return fmt.Errorf("api key table: %s", ce.Message)
		}
		return fmt.Errorf("api key table: %w", err)
	}
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
