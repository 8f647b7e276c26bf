// Package pipeline tests the usage-accounting pipeline end to end, against
// real servers: the official OpenAI Go SDK sends requests to the gateway in
// front of the Bedrock emulator, the gateway's emitter publishes one usage
// event per request on NATS JetStream or an SQS-compatible server, the
// accountant prices and stores them and the aggregator rolls them up in a
// DynamoDB-compatible store. Every test ends the same way: the stored usage
// records, every roll-up and the month-to-date spend equal the ground truth,
// what the requests asked the emulator for, priced with the default prices.
// Some tests break a part of the pipeline on the way (a bus restart,
// consumers killed with SIGKILL, every event delivered twice, the store
// unavailable for a while).
package pipeline

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/accountant"
	"github.com/openai-api-convertor/convertor/aggregator"
	"github.com/openai-api-convertor/convertor/events"
	"github.com/openai-api-convertor/convertor/gateway"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/bedrock/emulator"
	"github.com/openai-api-convertor/convertor/internal/dynamo"
	"github.com/openai-api-convertor/convertor/internal/dynamolocal"
	"github.com/openai-api-convertor/convertor/internal/keygen"
	"github.com/openai-api-convertor/convertor/internal/stores"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// masterKey is the gateway's master key; the tests use stored keys.
const masterKey = "sk-pipelineMasterKey0123456789abcdefghijklmnop"

// ackWait is the bus's redelivery delay for a message whose consumer died
// holding it: short, so that a test of a crash converges soon.
const ackWait = "2s"

// uniqueName returns a name no other test or run uses, for tables,
// streams, subjects and queues on shared servers: letters, digits and '_'.
func uniqueName(t testing.TB) string {
	t.Helper()
	var b [4]byte
	rand.Read(b[:])
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, strings.TrimPrefix(t.Name(), "TestPipeline_"))
	if len(name) > 32 {
		name = name[len(name)-32:]
	}
	return name + "_" + hex.EncodeToString(b[:])
}

// natsVars configures the events bus on the JetStream server at url, with
// a stream and subjects of the test's own.
func natsVars(t testing.TB, url string) map[string]string {
	t.Helper()
	u := uniqueName(t)
	return map[string]string{
		"NATS_URL":                  url,
		"EVENTS_STREAM":             u,
		"EVENTS_SUBJECT":            u + ".events",
		"EVENTS_DEADLETTER_SUBJECT": u + ".deadletter",
		"EVENTS_ACK_WAIT":           ackWait,
	}
}

// sqsVars configures the events bus on the SQS-compatible server at
// endpoint, with queues of the test's own.
func sqsVars(t testing.TB, endpoint string) map[string]string {
	t.Helper()
	u := strings.ReplaceAll(uniqueName(t), "_", "-")
	return map[string]string{
		"AWS_ENDPOINT_URL_SQS": endpoint,
		"SQS_QUEUE_URL":        endpoint + "/123456789012/" + u,
		"SQS_DLQ_URL":          endpoint + "/123456789012/" + u + "-dlq",
		// A nacked or abandoned message comes back after this.
		"EVENTS_SQS_VISIBILITY_TIMEOUT": "3s",
	}
}

// dynamoServer is an in-process DynamoDB-compatible server that a test can make
// unavailable: while down it answers every request with a 503 or by
// closing the connection, as a store in trouble does.
type dynamoServer struct {
	URL string

	down    atomic.Bool
	refused atomic.Int64 // requests refused while down
}

// startDynamo serves a fresh dynamolocal on a loopback port for t; it outlives
// every service of the test (they are stopped by earlier cleanups).
func startDynamo(t testing.TB) *dynamoServer {
	t.Helper()
	h := dynamolocal.NewHandler()
	ds := &dynamoServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ds.down.Load() {
			ds.refuse(w)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	ds.URL = srv.URL
	return ds
}

// refuse answers a request while the server is down: every other one with
// DynamoDB's 503, the rest by dropping the connection without an answer.
func (ds *dynamoServer) refuse(w http.ResponseWriter) {
	if ds.refused.Add(1)%2 == 0 {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"__type":"com.amazonaws.dynamodb.v20120810#ServiceUnavailable","message":"the store is down for this test"}`)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		conn.Close()
	}
}

// syncBuffer is a log destination shared by goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// tail returns the last n lines written.
func (s *syncBuffer) tail(n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return lastLines(s.b.String(), n)
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// pipeline is one test's accounting pipeline: its store, tables, bus
// configuration and the services started on them.
type pipeline struct {
	t      testing.TB
	vars   map[string]string // the configuration every service of the pipeline reads
	dynamo *dynamoServer
	bus    events.Config
	db     *dynamodb.Client // the accounting store's client
	tables dynamo.Tables
	usage  *dynamo.UsageStore
	stats  *dynamo.StatsStore
	keys   convertor.APIKeyStore
	routes convertor.RouteStore
	log    *slog.Logger // in-process services' warnings and errors
	logBuf *syncBuffer

	// Set by runDoubledConsumers.
	accountantMetrics *accountant.Metrics
	aggregatorMetrics *aggregator.Metrics

	// Set by startGateway.
	metrics *events.Metrics
	emitter *events.Emitter
}

// newPipeline creates the tables on a fresh store and configures the bus
// from busVars. With keysApart the API keys live on a store of their own,
// so that a test can take the accounting store down without the gateway
// losing its keys.
func newPipeline(t testing.TB, busVars map[string]string, keysApart bool) *pipeline {
	t.Helper()
	p := &pipeline{t: t, dynamo: startDynamo(t), logBuf: &syncBuffer{}}
	p.log = slog.New(slog.NewTextHandler(p.logBuf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	t.Cleanup(func() {
		if tail := p.logBuf.tail(60); t.Failed() && tail != "" {
			t.Logf("in-process services' log (last lines):\n%s", tail)
		}
	})
	u := strings.ReplaceAll(uniqueName(t), "_", "-")
	p.vars = map[string]string{
		"DYNAMODB_ENDPOINT_URL":        p.dynamo.URL,
		"DYNAMODB_API_KEYS_TABLE":      u + "-keys",
		"DYNAMODB_USAGE_TABLE":         u + "-usage",
		"DYNAMODB_USAGE_STATS_TABLE":   u + "-stats",
		"DYNAMODB_MODEL_PRICING_TABLE": u + "-pricing",
		"DYNAMODB_MODEL_MAPPING_TABLE": u + "-mapping",
		"DYNAMODB_AUDIT_TABLE":         u + "-audit",
		"ACCOUNTANT_METRICS_ADDR":      "off",
		"AGGREGATOR_METRICS_ADDR":      "off",
	}
	maps.Copy(p.vars, busVars)
	bus, err := events.LoadConfig(p.getenv)
	if err != nil {
		t.Fatal(err)
	}
	p.bus = bus
	cfg, db := p.dynamoClient(p.dynamo.URL)
	p.db, p.tables = db, cfg.Tables
	p.usage = dynamo.NewUsageStore(db, cfg.Tables.Usage, stores.DefaultUsageTTLDays*24*time.Hour)
	p.stats = dynamo.NewStatsStore(db, cfg.Tables.UsageStats)
	p.keys = dynamo.NewAPIKeyStore(db, cfg.Tables.APIKeys)
	p.routes = dynamo.NewRouteStore(db, cfg.Tables.ModelMapping)
	if keysApart {
		_, kdb := p.dynamoClient(testenv.DynamoDB(t))
		p.keys = dynamo.NewAPIKeyStore(kdb, cfg.Tables.APIKeys)
	}
	return p
}

func (p *pipeline) getenv(k string) string { return p.vars[k] }

// dynamoClient connects the pipeline's tables on the server at endpoint,
// creating them.
func (p *pipeline) dynamoClient(endpoint string) (dynamo.Config, *dynamodb.Client) {
	p.t.Helper()
	vars := maps.Clone(p.vars)
	vars["DYNAMODB_ENDPOINT_URL"] = endpoint
	cfg, err := dynamo.LoadConfig(func(k string) string { return vars[k] })
	if err != nil {
		p.t.Fatal(err)
	}
	ctx := context.Background()
	db, err := dynamo.NewClient(ctx, cfg)
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := dynamo.CreateTables(ctx, db, cfg.Tables, slog.New(slog.DiscardHandler)); err != nil {
		p.t.Fatal(err)
	}
	return cfg, db
}

// newKey stores a fresh enabled key changed by mod and returns its secret.
func (p *pipeline) newKey(mod func(*convertor.APIKey)) (string, *convertor.APIKey) {
	p.t.Helper()
	secret, k := keygen.New()
	k.Name, k.Enabled, k.CreatedAt = p.t.Name(), true, time.Now().UTC()
	if mod != nil {
		mod(k)
	}
	if err := p.keys.CreateAPIKey(context.Background(), k); err != nil {
		p.t.Fatal(err)
	}
	return secret, k
}

// gatewayOptions changes how startGateway wires the gateway.
type gatewayOptions struct {
	// wrap, when set, wraps the emitter's publisher.
	wrap func(message.Publisher) message.Publisher
	// spend enables budgets, read from the pipeline's stats store.
	spend bool
	// routes makes the gateway resolve admin routes from the pipeline's
	// route store, refreshed every 100ms.
	routes bool
	// vars are more gateway settings (KEY_CACHE_TTL, ...).
	vars map[string]string
}

// startGateway starts a Bedrock emulator and a gateway in front of it
// whose usage events go through an emitter (with a spool of its own) onto
// the pipeline's bus, and returns an SDK client aimed at the gateway. The
// SDK's retries are off: each request is sent exactly once. At cleanup the
// gateway stops and the emitter drains, before the bus goes away.
func (p *pipeline) startGateway(opts gatewayOptions) openai.Client {
	t := p.t
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	eln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go emulator.Serve(ctx, eln, emulator.New(emulator.Options{RequireSigV4: true}), slog.New(slog.DiscardHandler))

	vars := map[string]string{
		"GATEWAY_ADDR":                     "127.0.0.1:0",
		"MASTER_API_KEY":                   masterKey,
		"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "http://" + eln.Addr().String(),
		"BEDROCK_MAX_RETRIES":              "2",
		"KEY_STORE":                        "none",
	}
	maps.Copy(vars, opts.vars)
	cfg, err := gateway.LoadConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	client, err := bedrock.NewClient(aws.Config{
		Region:      cfg.Region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider("AKIDPIPELINE", "secret", "")),
	}, bedrock.ClientConfig{
		Region:         cfg.Region,
		Endpoint:       cfg.BedrockEndpoint,
		MaxRetries:     cfg.MaxRetries,
		RetryBaseDelay: time.Millisecond,
		RetryMaxDelay:  5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}

	pub, err := events.NewPublisher(ctx, p.bus, p.log)
	if err != nil {
		t.Fatal(err)
	}
	if opts.wrap != nil {
		pub = opts.wrap(pub)
	}
	spool, err := events.OpenSpool(t.TempDir(), events.SpoolOptions{Log: p.log})
	if err != nil {
		t.Fatal(err)
	}
	p.metrics = events.NewMetrics(nil)
	// A bus that comes back is retried within half a second, so a test
	// of an outage converges soon after it ends.
	p.emitter = events.NewEmitter(pub, p.bus.Topic, spool, events.EmitterOptions{
		RetryMax: 500 * time.Millisecond,
		Log:      p.log,
		Metrics:  p.metrics,
	})
	deps := gateway.Deps{Converser: client, Keys: p.keys, Usage: p.emitter}
	if opts.spend {
		deps.Spend = p.stats
	}
	if opts.routes {
		cache := gateway.NewRouteCache(p.routes, 100*time.Millisecond, p.log)
		go cache.Run(ctx)
		deps.Routes = gateway.NewRouteTable(cache, convertor.DefaultRoutes)
	}
	srv, err := gateway.New(cfg, deps, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	gln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(gln)
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		srv.Shutdown(sctx)
		p.emitter.Close(sctx)
		spool.Close()
		pub.Close()
	})
	return openai.NewClient(
		option.WithBaseURL("http://"+gln.Addr().String()+"/v1"),
		option.WithAPIKey(masterKey),
		option.WithMaxRetries(0),
		option.WithHTTPClient(&http.Client{Timeout: 2 * time.Minute}),
	)
}

// runConsumers runs the accountant and the aggregator in process, through
// their Run functions, until the test ends.
func (p *pipeline) runConsumers() {
	t := p.t
	t.Helper()
	acfg, err := accountant.LoadConfig(p.getenv)
	if err != nil {
		t.Fatal(err)
	}
	gcfg, err := aggregator.LoadConfig(p.getenv)
	if err != nil {
		t.Fatal(err)
	}
	// Their own stores, as the binary opens them from the settings.
	scfg, err := stores.LoadConfig(p.getenv)
	if err != nil {
		t.Fatal(err)
	}
	st, err := stores.Open(context.Background(), scfg)
	if err != nil {
		t.Fatal(err)
	}
	p.run("accountant", func(ctx context.Context) error {
		return accountant.Run(ctx, acfg, accountant.Deps{Usage: st.Usage, Prices: st.Prices}, p.log)
	})
	p.run("aggregator", func(ctx context.Context) error { return aggregator.Run(ctx, gcfg, st.Stats, p.log) })
	if acfg.SeedPrices {
		// The accountant consumes only once it has seeded the default
		// prices; a fault test that broke the store before then would
		// fail the seeding, not test the consumers.
		waitUntil(t, "the accountant's default prices", func() bool { return holdsDefaultPrices(st.Prices) })
	}
}

// holdsDefaultPrices reports whether store holds every default price.
func holdsDefaultPrices(store convertor.PriceStore) bool {
	have, err := store.Prices(context.Background())
	if err != nil {
		return false
	}
	for _, d := range accountant.DefaultPrices {
		if !slices.ContainsFunc(have, func(p convertor.Price) bool {
			return p.Model == d.Model && p.Route == d.Route && p.EffectiveFrom.Equal(d.EffectiveFrom)
		}) {
			return false
		}
	}
	return true
}

// run runs fn in a goroutine until the test's cleanup cancels it and waits
// for it; an error it returns before then fails the test.
func (p *pipeline) run(name string, fn func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	p.t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				p.t.Errorf("%s: %v", name, err)
			}
		case <-time.After(30 * time.Second):
			p.t.Errorf("%s did not stop within 30s of its cancel", name)
		}
	})
}

// checkNoDrops fails the test if the emitter lost an event.
func (p *pipeline) checkNoDrops() {
	p.t.Helper()
	if n := counterValue(p.metrics.Dropped); n != 0 {
		p.t.Errorf("emitter dropped %v events, want 0", n)
	}
}

// require fails t at once when cond does not hold: for setup steps whose
// failure makes the rest meaningless.
func require(t testing.TB, cond bool, format string, args ...any) {
	t.Helper()
	if !cond {
		t.Fatalf(format, args...)
	}
}
