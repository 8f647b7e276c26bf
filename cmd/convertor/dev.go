package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/openai-api-convertor/convertor/accountant"
	"github.com/openai-api-convertor/convertor/aggregator"
	"github.com/openai-api-convertor/convertor/events"
	"github.com/openai-api-convertor/convertor/gateway"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/bedrock/emulator"
	"github.com/openai-api-convertor/convertor/internal/devstack"
	"github.com/openai-api-convertor/convertor/internal/envvar"
	"github.com/openai-api-convertor/convertor/internal/stores"
)

// devDataDir holds what `convertor dev` keeps across restarts (DATA_DIR).
const devDataDir = "data"

// devKeyFile keeps the generated development key so that a restart of
// `make run` does not break clients already configured with it.
const devKeyFile = "dev-api-key"

// devAdminTokenFile keeps the generated admin token the same way.
const devAdminTokenFile = "dev-admin-token"

// base62 is the alphabet of generated API keys.
const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Defaults of the development stack.
const (
	// devNATSPort is NATS's own default port, which tools such as the
	// nats CLI try first.
	devNATSPort = 4222
	// devDynamoDBAddr is where docker-compose puts DynamoDB Local, so
	// commands and tools configured for one find the other.
	devDynamoDBAddr = "127.0.0.1:8001"
	// devAdminAddr is the admin API's usual port, on loopback: a
	// development stack is for the person at the machine.
	devAdminAddr = "127.0.0.1:8005"
	// devDrainTimeout bounds the wait at shutdown for the accountant and
	// the aggregator to process what the gateway emitted. What is left
	// stays in JetStream and is processed at the next start.
	devDrainTimeout = 10 * time.Second
	// devDrainPoll is the interval of that wait's polls.
	devDrainPoll = 50 * time.Millisecond
	// devEmitterCloseTimeout bounds the emitter's final publish; past it
	// the remaining events go to the spool.
	devEmitterCloseTimeout = 10 * time.Second
)

// devConfig is the configuration of the development stack itself; the
// services read theirs (gateway.LoadConfig and others) from the same
// environment.
type devConfig struct {
	DataDir string // DATA_DIR, default "data"
	// NATSPort is DEV_NATS_PORT, default 4222; 0 picks a free port. A
	// taken default falls back to a free port; a taken explicit one is
	// an error.
	NATSPort         int
	NATSPortFallback bool
	// DynamoDBAddr is DEV_DYNAMODB_ADDR, default "127.0.0.1:8001", with
	// the same fallback rule.
	DynamoDBAddr     string
	DynamoDBFallback bool
	// SnapshotInterval is DEV_SNAPSHOT_INTERVAL, default 5s: how often
	// changed tables are saved.
	SnapshotInterval time.Duration
	// NATSURL and DynamoDBEndpoint are NATS_URL and DYNAMODB_ENDPOINT_URL:
	// when set, those servers are used and none is embedded.
	NATSURL          string
	DynamoDBEndpoint string
	// Emulator is DEV_BEDROCK_EMULATOR, default false: use the built-in
	// Bedrock emulator even when AWS credentials are found, for work that
	// should cost nothing.
	Emulator bool
	// AdminAddr is ADMIN_ADDR, default "127.0.0.1:8005", with the fallback
	// rule of the other addresses.
	AdminAddr     string
	AdminFallback bool
}

// loadDevConfig reads the development stack's configuration, reporting
// every problem at once.
func loadDevConfig(getenv func(string) string) (devConfig, error) {
	r := envvar.New(getenv)
	c := devConfig{
		DataDir:          r.String("DATA_DIR", devDataDir),
		NATSPort:         r.IntRange("DEV_NATS_PORT", devNATSPort, 0, 65535),
		NATSPortFallback: !r.IsSet("DEV_NATS_PORT"),
		DynamoDBAddr:     r.String("DEV_DYNAMODB_ADDR", devDynamoDBAddr),
		DynamoDBFallback: !r.IsSet("DEV_DYNAMODB_ADDR"),
		SnapshotInterval: r.Duration("DEV_SNAPSHOT_INTERVAL", devstack.DefaultSnapshotInterval, envvar.Positive),
		NATSURL:          r.String("NATS_URL", ""),
		DynamoDBEndpoint: r.String("DYNAMODB_ENDPOINT_URL", ""),
		Emulator:         r.Bool("DEV_BEDROCK_EMULATOR", false),
		AdminAddr:        r.String("ADMIN_ADDR", devAdminAddr),
		AdminFallback:    !r.IsSet("ADMIN_ADDR"),
	}
	errs := []error{r.Err()}
	if _, _, err := net.SplitHostPort(c.DynamoDBAddr); err != nil {
		errs = append(errs, fmt.Errorf("DEV_DYNAMODB_ADDR: %q is not host:port", c.DynamoDBAddr))
	}
	if _, _, err := net.SplitHostPort(c.AdminAddr); err != nil {
		errs = append(errs, fmt.Errorf("ADMIN_ADDR: %q is not host:port", c.AdminAddr))
	}
	return c, errors.Join(errs...)
}

// devInfo is what the development stack tells the person who started it.
type devInfo struct {
	BaseURL  string // the OpenAI base URL, http://host:port/v1
	APIKey   string
	Upstream string

	DynamoDBEndpoint string
	DynamoDBEmbedded bool
	Snapshot         string // the embedded store's file, or ""
	NATSURL          string
	NATSEmbedded     bool
	DataDir          string

	AdminURL string // the admin API's base URL, http://host:port
	// AdminAuth is the admin API's mode; AdminToken its token in token
	// mode, and AdminTokenFile where it is kept when generated.
	AdminAuth      string
	AdminToken     string
	AdminTokenFile string
}

// runDev runs the whole stack in one process: the gateway, the
// accountant and the aggregator over an embedded NATS and DynamoDB, and
// the Bedrock emulator in place of Bedrock when no AWS credentials are
// found.
func runDev(ctx context.Context, env *environment, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	return runDevStack(ctx, env, func(info devInfo) { printDevBanner(env.stdout, info) })
}

// runDevStack starts the stack, calls ready once it serves, and runs until
// ctx ends or a service fails. Then it stops in the order that loses
// nothing: the gateway (finishing its streams), the usage emitter
// (publishing or spooling what it holds), the accountant and aggregator
// once they have processed it, the DynamoDB store (saving a snapshot), and
// NATS last.
func runDevStack(ctx context.Context, env *environment, ready func(devInfo)) (err error) {
	dcfg, err := loadDevConfig(env.getenv)
	if err != nil {
		return err
	}
	info := devInfo{DataDir: dcfg.DataDir}
	if err := os.MkdirAll(dcfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("DATA_DIR: %w", err)
	}
	unlock, err := devstack.LockDir(dcfg.DataDir)
	if err != nil {
		return fmt.Errorf("DATA_DIR: %w", err)
	}
	stack := cleanups{failed: make(chan error, 1)}
	stack.push(func() error { unlock(); return nil })
	defer func() {
		err = errors.Join(err, stack.run())
		env.log.Info("development stack stopped", "data_dir", dcfg.DataDir)
	}()

	var embeddedNATS *devstack.NATS // nil when NATS_URL names another server
	if info.NATSURL = dcfg.NATSURL; info.NATSURL == "" {
		n, err := devstack.StartNATS(devstack.NATSOptions{
			Port:     dcfg.NATSPort,
			Fallback: dcfg.NATSPortFallback,
			StoreDir: filepath.Join(dcfg.DataDir, "nats"),
			Log:      env.log,
		})
		if err != nil {
			return fmt.Errorf("embedded NATS (DEV_NATS_PORT, or set NATS_URL to use another server): %w", err)
		}
		stack.push(func() error { n.Shutdown(); return nil })
		if n.FellBack {
			env.log.Warn("NATS port taken, using another", "port", dcfg.NATSPort, "url", n.URL())
		}
		info.NATSURL, info.NATSEmbedded = n.URL(), true
		embeddedNATS = n
	}

	if info.DynamoDBEndpoint = dcfg.DynamoDBEndpoint; info.DynamoDBEndpoint == "" {
		info.Snapshot = filepath.Join(dcfg.DataDir, "dynamodb", "snapshot.json")
		d, err := devstack.StartDynamoDB(devstack.DynamoDBOptions{
			Addr:             dcfg.DynamoDBAddr,
			Fallback:         dcfg.DynamoDBFallback,
			SnapshotPath:     info.Snapshot,
			SnapshotInterval: dcfg.SnapshotInterval,
			Log:              env.log,
		})
		if err != nil {
			return fmt.Errorf("embedded DynamoDB (DEV_DYNAMODB_ADDR, or set DYNAMODB_ENDPOINT_URL to use another server): %w", err)
		}
		stack.push(d.Close)
		if d.FellBack {
			env.log.Warn("DynamoDB address taken, using another", "addr", dcfg.DynamoDBAddr, "endpoint", d.Endpoint())
		}
		info.DynamoDBEndpoint, info.DynamoDBEmbedded = d.Endpoint(), true
	}

	key := envvar.New(env.getenv).String("MASTER_API_KEY", "")
	if key == "" {
		if key, err = devKey(dcfg.DataDir); err != nil {
			return err
		}
	}
	info.APIKey = key
	getenv := devEnv(env.getenv, map[string]string{
		"MASTER_API_KEY":        key,
		"NATS_URL":              info.NATSURL,
		"DYNAMODB_ENDPOINT_URL": info.DynamoDBEndpoint,
		// Metrics listeners stay off unless asked for: the gateway's
		// /metrics is enough locally, and fixed ports would collide with
		// a second stack.
		"ACCOUNTANT_METRICS_ADDR": "off",
		"AGGREGATOR_METRICS_ADDR": "off",
		// Locally a request costs more than a write unit: a batch of
		// records in one transaction beats a hundred puts (see
		// BenchmarkPipeline).
		"ACCOUNTANT_TRANSACT_WRITES": "true",
	})
	denv := *env
	denv.getenv = getenv

	st, err := openStores(ctx, &denv)
	if err != nil {
		return err
	}
	if err := devTables(ctx, &denv, st, info.DynamoDBEmbedded); err != nil {
		return err
	}
	if err := startDevServices(ctx, &denv, embeddedNATS, st, &stack); err != nil {
		return err
	}
	if err := startDevAdmin(ctx, &denv, dcfg, st, &info, &stack); err != nil {
		return err
	}
	usage, usageMetrics, err := startDevEmitter(ctx, &denv, dcfg.DataDir, &stack)
	if err != nil {
		return err
	}

	cfg, err := gateway.LoadConfig(getenv)
	if err != nil {
		return err
	}
	deps, upstream, err := devBedrock(ctx, &denv, &cfg, dcfg.Emulator, &stack)
	if err != nil {
		return err
	}
	info.Upstream = upstream
	deps.Usage, deps.Gatherer = usage, usageMetrics
	deps.Ready = append(deps.Ready, usageReadiness(usage))
	// The key store, the month spend that budgets read, the admin routes
	// and the prices.
	if usesKeyStore(cfg) {
		addKeyStore(st, &deps)
		stopCatalog := addCatalog(ctx, st, cfg, &deps, env.log)
		stack.push(func() error { stopCatalog(); return nil })
	}
	if !cfg.RequireAPIKey {
		env.log.Warn("REQUIRE_API_KEY is false: the gateway serves any caller without an API key")
	}
	srv, err := gateway.New(cfg, deps, env.log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("gateway (GATEWAY_ADDR): %w", err)
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	stack.push(func() error {
		env.log.Info("gateway shutting down", "timeout", cfg.ShutdownTimeout)
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			env.log.Warn("gateway shutdown cut in-flight requests short", "err", err)
		}
		return <-serveErr
	})
	env.log.Info("gateway listening", "addr", ln.Addr().String(), "region", cfg.Region, "version", gateway.Version)
	info.BaseURL = "http://" + displayAddr(ln.Addr().String()) + "/v1"
	ready(info)

	select {
	case <-ctx.Done():
		return nil
	case err := <-stack.failed:
		return err
	}
}

// devEnv lays defaults under getenv: what the person set wins.
func devEnv(getenv func(string) string, set map[string]string) func(string) string {
	return func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return set[name]
	}
}

// devTables creates the tables (idempotent) and seeds the default prices,
// so the first request is priced.
func devTables(ctx context.Context, env *environment, st *stores.Stores, embedded bool) error {
	results, err := st.CreateTables(ctx, env.log)
	if err != nil {
		return fmt.Errorf("at %s: %w", env.getenv("DYNAMODB_ENDPOINT_URL"), err)
	}
	for _, r := range results {
		for _, w := range r.Warnings {
			// What the embedded store lacks only matters to
			// deployments; there the warning is worth reading.
			level := slog.LevelWarn
			if embedded {
				level = slog.LevelDebug
			}
			env.log.Log(ctx, level, "table warning", "table", r.Name, "warning", w)
		}
	}
	if _, err := accountant.SeedPrices(ctx, st.Prices); err != nil {
		return err
	}
	return nil
}

// startDevServices runs the accountant and the aggregator. Their stop
// first waits, bounded, until they have processed every event the stopped
// gateway emitted, so a restart finds the statistics complete.
func startDevServices(ctx context.Context, env *environment, nats *devstack.NATS, st *stores.Stores, stack *cleanups) error {
	acfg, err := accountant.LoadConfig(env.getenv)
	if err != nil {
		return err
	}
	gcfg, err := aggregator.LoadConfig(env.getenv)
	if err != nil {
		return err
	}
	// Their context is not ctx: they keep running while the gateway and
	// the emitter finish at shutdown.
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{}, 2)
	run := func(name string, fn func(context.Context) error) {
		defer func() { done <- struct{}{} }()
		if err := fn(sctx); err != nil && sctx.Err() == nil {
			stack.fail(fmt.Errorf("%s: %w", name, err))
		}
	}
	go run("accountant", func(ctx context.Context) error {
		return accountant.Run(ctx, acfg, accountant.Deps{Usage: st.Usage, Prices: st.Prices}, env.log.With("service", "accountant"))
	})
	go run("aggregator", func(ctx context.Context) error {
		return aggregator.Run(ctx, gcfg, st.Stats, env.log.With("service", "aggregator"))
	})
	stack.push(func() error {
		// Only the embedded server can be asked what is pending; events on
		// another server wait there for the next start.
		if nats != nil {
			dctx, dcancel := context.WithTimeout(context.Background(), devDrainTimeout)
			left, err := nats.WaitIdle(dctx, devDrainPoll)
			dcancel()
			if err != nil {
				env.log.Warn("usage not fully processed at shutdown; the rest is processed at the next start", "pending", left, "err", err)
			}
		}
		cancel()
		<-done
		<-done
		return nil
	})
	return nil
}

// startDevEmitter connects the gateway's usage events to the bus, with a
// spool in the data folder for when the bus cannot take them.
func startDevEmitter(ctx context.Context, env *environment, dataDir string, stack *cleanups) (*events.Emitter, prometheus.Gatherer, error) {
	ecfg, err := events.LoadConfig(env.getenv)
	if err != nil {
		return nil, nil, err
	}
	pub, err := events.NewPublisher(context.WithoutCancel(ctx), ecfg, env.log)
	if err != nil {
		return nil, nil, fmt.Errorf("usage events: %w", err)
	}
	dir := envvar.New(env.getenv).String("USAGE_SPOOL_DIR", filepath.Join(dataDir, "spool"))
	spool, err := events.OpenSpool(dir, events.SpoolOptions{Log: env.log})
	if err != nil {
		pub.Close()
		return nil, nil, fmt.Errorf("usage spool (USAGE_SPOOL_DIR): %w", err)
	}
	reg := prometheus.NewRegistry()
	em := events.NewEmitter(pub, ecfg.Topic, spool, events.EmitterOptions{Log: env.log, Metrics: events.NewMetrics(reg)})
	stack.push(func() error {
		cctx, cancel := context.WithTimeout(context.Background(), devEmitterCloseTimeout)
		defer cancel()
		return errors.Join(em.Close(cctx), spool.Close(), pub.Close())
	})
	return em, reg, nil
}

// devBedrock builds the Bedrock client: AWS when credentials are found or
// an endpoint is configured, else (or when forced) the built-in emulator,
// which stops only after the gateway so that streams in flight at shutdown
// finish.
func devBedrock(ctx context.Context, env *environment, cfg *gateway.Config, force bool, stack *cleanups) (deps gateway.Deps, upstream string, err error) {
	awsCfg, err := bedrock.LoadAWSConfig(ctx, cfg.Region)
	if err != nil {
		return deps, "", err
	}
	upstream = "AWS Bedrock in " + cfg.Region
	if force {
		cfg.BedrockEndpoint = ""
	}
	if force || cfg.BedrockEndpoint == "" && !bedrock.HasCredentials(ctx, awsCfg) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return deps, "", fmt.Errorf("start bedrock emulator: %w", err)
		}
		emu := emulator.New(emulator.Options{Log: env.log})
		ectx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan error, 1)
		go func() { done <- emulator.Serve(ectx, ln, emu, env.log) }()
		stack.push(func() error { cancel(); return <-done })
		cfg.BedrockEndpoint = "http://" + ln.Addr().String()
		// Requests are still SigV4-signed, with fixed local credentials, so
		// development exercises the same path as production.
		awsCfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider("emulator", "emulator", ""))
		upstream = "Bedrock EMULATOR at " + cfg.BedrockEndpoint
		if force {
			deps.UpstreamNote = "DEV_BEDROCK_EMULATOR is set: answers come from the built-in Bedrock emulator and are SYNTHETIC"
			env.log.Warn("DEV_BEDROCK_EMULATOR is set: using the built-in Bedrock emulator; its answers are synthetic")
		} else {
			deps.UpstreamNote = "no AWS credentials found: answers come from the built-in Bedrock emulator and are SYNTHETIC"
			env.log.Warn("NO AWS CREDENTIALS FOUND: using the built-in Bedrock emulator; its answers are synthetic")
		}
	}
	client, err := bedrock.NewClient(awsCfg, bedrock.ClientConfig{
		Region:     cfg.Region,
		Endpoint:   cfg.BedrockEndpoint,
		MaxRetries: clientRetries(cfg.MaxRetries),
	})
	if err != nil {
		return deps, "", err
	}
	deps.Converser = client
	return deps, upstream, nil
}

// cleanups stops what runDevStack started, last started first, and
// carries the first failure of a background service.
type cleanups struct {
	fns    []func() error
	failed chan error // buffered, capacity 1
}

func (c *cleanups) push(fn func() error) { c.fns = append(c.fns, fn) }

// fail reports a service's failure; only the first is kept. Safe for
// concurrent use.
func (c *cleanups) fail(err error) {
	select {
	case c.failed <- err:
	default:
	}
}

// run calls the cleanups in reverse order and joins their errors.
func (c *cleanups) run() error {
	var errs []error
	for i := len(c.fns) - 1; i >= 0; i-- {
		errs = append(errs, c.fns[i]())
	}
	c.fns = nil
	return errors.Join(errs...)
}

// printDevBanner tells the person at the terminal where everything is.
func printDevBanner(w io.Writer, info devInfo) {
	dynamoNote, natsNote := "", ""
	if info.DynamoDBEmbedded {
		dynamoNote = "  (embedded; saved to " + info.Snapshot + ")"
	}
	if info.NATSEmbedded {
		natsNote = "  (embedded JetStream; store in " + filepath.Join(info.DataDir, "nats") + ")"
	}
	fmt.Fprintf(w, `
OpenAI API Convertor (development)
  OpenAI base URL:  %s
  API key:          %s
  Upstream:         %s
  DynamoDB:         %s%s
  NATS:             %s%s
  Data folder:      %s
  Admin portal:     %s/admin/
  Admin API:        %s/api/  (OpenAPI document: %s/api/openapi.json)
%s
  Try:  curl %s/chat/completions -H "Authorization: Bearer %s" \
          -H "Content-Type: application/json" \
          -d '{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"Hello!"}]}'

`, info.BaseURL, info.APIKey, info.Upstream, info.DynamoDBEndpoint, dynamoNote, info.NATSURL, natsNote,
		info.DataDir, info.AdminURL, info.AdminURL, info.AdminURL, adminLogin(info), info.BaseURL, info.APIKey)
}

// adminLogin says how to sign in to the admin API in its mode.
func adminLogin(info devInfo) string {
	switch info.AdminAuth {
	case "token":
		kept := ""
		if info.AdminTokenFile != "" {
			kept = "  (kept in " + info.AdminTokenFile + ")"
		}
		return fmt.Sprintf(`  Admin token:      %s%s
  Create a key:     curl -X POST %s/api/keys -H "Authorization: Bearer %s" \
                      -H "Content-Type: application/json" -d '{"name":"me"}'
                    or: DYNAMODB_ENDPOINT_URL=%s ./bin/convertor keys create --name me`,
			info.AdminToken, kept, info.AdminURL, info.AdminToken, info.DynamoDBEndpoint)
	case "none":
		return "  Admin sign-in:    none (ADMIN_AUTH=none, loopback only): every request is an admin"
	default:
		return "  Admin sign-in:    a Cognito ID or access token of the admin or viewer group (ADMIN_AUTH=cognito)"
	}
}

// devKey returns the development key kept in dir, creating it on first use.
func devKey(dir string) (string, error) {
	path := filepath.Join(dir, devKeyFile)
	b, err := os.ReadFile(path)
	if err == nil && strings.HasPrefix(strings.TrimSpace(string(b)), "sk-") {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read development key: %w", err)
	}
	key := "sk-dev-" + randomBase62(40)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create data dir: %w", err)
	}
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write development key: %w", err)
	}
	return key, nil
}

// randomBase62 returns n characters drawn uniformly from base62.
func randomBase62(n int) string {
	out := make([]byte, 0, n)
	var buf [64]byte
	for len(out) < n {
		rand.Read(buf[:])
		for _, b := range buf {
			// 248 = 4*62: rejecting larger bytes keeps the draw uniform.
			if b < 248 && len(out) < n {
				out = append(out, base62[int(b)%62])
			}
		}
	}
	return string(out)
}

// displayAddr turns a listen address (":8000") into one to connect to.
func displayAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// clientRetries translates BEDROCK_MAX_RETRIES, where 0 means no retries,
// to the client's convention, where 0 means its default and -1 none.
func clientRetries(n int) int {
	if n == 0 {
		return -1
	}
	return n
}
