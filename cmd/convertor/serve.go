package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/events"
	"github.com/openai-api-convertor/convertor/gateway"
	"github.com/openai-api-convertor/convertor/gateway/bedrock/emulator"
	"github.com/openai-api-convertor/convertor/internal/envvar"
	"github.com/openai-api-convertor/convertor/internal/stores"
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
	if usesKeyStore(cfg) {
		st, err := openStores(ctx, env)
		if err != nil {
			return err
		}
		addKeyStore(st, &deps)
		stopCatalog := addCatalog(ctx, st, cfg, &deps, env.log)
		defer stopCatalog()
	}
	emitter, err := addUsageEmitter(ctx, env, &deps)
	if err != nil {
		return err
	}
	runErr := gateway.RunDeps(ctx, cfg, deps, env.log)
	if emitter != nil {
		// Requests have finished: drain what they emitted to the bus, or
		// to the spool when the bus cannot take it, before exiting.
		cctx, cancel := context.WithTimeout(context.Background(), emitterDrainTimeout)
		defer cancel()
		if err := emitter.Close(cctx); err != nil {
			env.log.Error("drain usage events", "err", err)
		}
	}
	return runErr
}

// emitterDrainTimeout bounds the drain at shutdown; what is left then is
// spooled, not lost.
const emitterDrainTimeout = 10 * time.Second

// defaultSpoolDir is where the gateway spools usage events while the bus
// is down (USAGE_SPOOL_DIR).
const defaultSpoolDir = "data/spool"

// addUsageEmitter makes the gateway emit usage events to the bus that
// NATS_URL or SQS_QUEUE_URL names, through a spool in USAGE_SPOOL_DIR. With
// neither set, usage is not emitted, which the log says.
func addUsageEmitter(ctx context.Context, env *environment, deps *gateway.Deps) (*events.Emitter, error) {
	ecfg, err := events.LoadConfig(env.getenv)
	if err != nil {
		return nil, err
	}
	if ecfg.NATSURL == "" && ecfg.SQSQueueURL == "" {
		env.log.Warn("neither NATS_URL nor SQS_QUEUE_URL is set: usage events are not emitted, so nothing is accounted")
		return nil, nil
	}
	pub, err := events.NewPublisher(ctx, ecfg, env.log)
	if err != nil {
		return nil, err
	}
	dir := envvar.New(env.getenv).String("USAGE_SPOOL_DIR", defaultSpoolDir)
	spool, err := events.OpenSpool(dir, events.SpoolOptions{Log: env.log})
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	emitter := events.NewEmitter(pub, ecfg.Topic, spool, events.EmitterOptions{Log: env.log, Metrics: events.NewMetrics(reg)})
	deps.Usage, deps.Gatherer = emitter, reg
	deps.Ready = append(deps.Ready, usageReadiness(emitter))
	return emitter, nil
}

// usesKeyStore reports whether the gateway looks keys up in the key store
// (KEY_STORE=dynamodb with REQUIRE_API_KEY), and so reads the stores.
func usesKeyStore(cfg gateway.Config) bool {
	return cfg.KeyStore == gateway.KeyStoreDynamoDB && cfg.RequireAPIKey
}

// addKeyStore gives the gateway the key store, the month-to-date spend
// that budgets read, and a readiness check that reads the key store.
func addKeyStore(st *stores.Stores, deps *gateway.Deps) {
	deps.Keys = st.Keys
	deps.Spend = st.Stats
	deps.Ready = append(deps.Ready, gateway.ReadinessCheck{Name: "api_key_store", Check: keyStoreCheck(st.Keys)})
}

// catalogLoadTimeout bounds the first load of the admin routes and the
// prices at start: past it the gateway serves the built-in routes (and
// does not hold budgeted keys to priced models), and the background
// refresh keeps trying.
const catalogLoadTimeout = 5 * time.Second

// addCatalog makes the gateway resolve admin routes before the built-in
// ones, and refuse budgeted keys the models that have no price, from
// caches loaded now and refreshed every ROUTES_REFRESH until stop is
// called, never per request; /ready reports the route store down while no
// load of the routes has succeeded.
func addCatalog(ctx context.Context, st *stores.Stores, cfg gateway.Config, deps *gateway.Deps, log *slog.Logger) (stop func()) {
	routes := gateway.NewRouteCache(st.Routes, cfg.RoutesRefresh, log)
	prices := gateway.NewPriceCache(st.Prices, cfg.RoutesRefresh, log)
	lctx, cancel := context.WithTimeout(ctx, catalogLoadTimeout)
	if err := routes.Refresh(lctx); err != nil {
		log.Warn("admin routes not loaded at start; serving the built-in routes until they are", "err", err)
	}
	if err := prices.Refresh(lctx); err != nil {
		log.Warn("prices not loaded at start; budgeted keys may use unpriced models until they are", "err", err)
	}
	cancel()
	deps.Routes = gateway.NewRouteTable(routes, convertor.DefaultRoutes)
	deps.Prices = prices
	deps.Ready = append(deps.Ready, gateway.ReadinessCheck{Name: "route_store", Check: routes.Check})
	rctx, rcancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { routes.Run(rctx) })
	wg.Go(func() { prices.Run(rctx) })
	return func() {
		rcancel()
		wg.Wait()
	}
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

// usageReadiness reports the gateway unready while its spool refuses usage
// events (they are then held in memory, and a crash would lose them), and
// degraded, still ready, while the bus is down or spooled events wait.
func usageReadiness(e *events.Emitter) gateway.ReadinessCheck {
	return gateway.ReadinessCheck{Name: "usage_events", Check: func(context.Context) error {
		if err := e.Ready(); err != nil {
			return err
		}
		if d := e.Degradation(); d != "" {
			return gateway.Degraded(d)
		}
		return nil
	}}
}
