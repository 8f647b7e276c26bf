// Command loadbench measures what the gateway adds on top of Bedrock. In one
// process on loopback it starts the Bedrock emulator (instant answers, SigV4
// required) and the gateway in front of it, then drives, side by side:
//
//   - direct/sdk:     the emulator through the official bedrockruntime client
//   - direct/client:  the emulator through the gateway's own SigV4 client
//   - gateway:        an OpenAI chat request through the gateway
//
// non-streaming and streaming, at each concurrency, and prints throughput
// and latency percentiles. "added p50" is the gateway's p50 minus that of
// the direct path it uses internally (direct/client).
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/openai-api-convertor/convertor/gateway"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/bedrock/emulator"
	"github.com/openai-api-convertor/convertor/gateway/ratelimit"
	"github.com/openai-api-convertor/convertor/internal/envvar"
	"github.com/openai-api-convertor/convertor/internal/keygen"
	"github.com/openai-api-convertor/convertor/internal/memstore"
)

const (
	benchKey   = "sk-loadbench0123456789abcdefghijklmnopqrstuvwxyz"
	modelName  = "claude-haiku-4-5"
	modelID    = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
	promptText = "Summarise the plot of a short story about a lighthouse keeper in two sentences."
)

func main() {
	duration := flag.Duration("duration", 3*time.Second, "how long each scenario runs")
	warmup := flag.Duration("warmup", 500*time.Millisecond, "unmeasured run before each scenario")
	concs := flag.String("concurrency", "1,16", "comma-separated concurrency levels")
	only := flag.String("only", "", "run only the paths whose name contains this")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadbench:", err)
			os.Exit(2)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	levels, err := parseLevels(*concs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(2)
	}
	if err := run(*duration, *warmup, levels, *only); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

func parseLevels(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad concurrency %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// op performs one request and returns an error if it did not complete.
type op func(ctx context.Context) error

type result struct {
	name     string
	conc     int
	n        int
	errs     int64
	rps      float64
	p50, p90 time.Duration
	p99      time.Duration
	firstErr error
}

func run(duration, warmup time.Duration, levels []int, only string) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	quiet := slog.New(slog.DiscardHandler)

	eln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go emulator.Serve(ctx, eln, emulator.New(emulator.Options{RequireSigV4: true}), quiet)
	endpoint := "http://" + eln.Addr().String()

	awsCfg := aws.Config{
		Region:      "us-east-1",
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider("AKIDLOADBENCH", "secret", "")),
	}
	ccfg := bedrock.ClientConfig{Region: "us-east-1", Endpoint: endpoint, MaxRetries: -1}
	client, err := bedrock.NewClient(awsCfg, ccfg)
	if err != nil {
		return err
	}
	sdk := bedrock.NewSDKClient(awsCfg, ccfg)

	vars := map[string]string{"GATEWAY_ADDR": "127.0.0.1:0", "MASTER_API_KEY": benchKey, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": endpoint}
	gcfg, err := gateway.LoadConfig(func(k string) string { return vars[k] })
	if err != nil {
		return err
	}
	gatewayURL, stop, err := serveGateway(gcfg, gateway.Deps{Converser: client}, quiet)
	if err != nil {
		return err
	}
	defer stop()
	// The same gateway with a per-client key from a key store and a limit
	// that never refuses, so every request pays for authentication and
	// one rate-limit admission: on Redis when REDIS_URL is set, else
	// in-process.
	keys := memstore.NewAPIKeyStore()
	keySecret, key := keygen.New()
	key.Name, key.Enabled, key.CreatedAt, key.RPM, key.TPM = "loadbench", true, time.Now(), 1<<40, 1<<40
	if err := keys.CreateAPIKey(ctx, key); err != nil {
		return err
	}
	var limiter ratelimit.Limiter = ratelimit.NewMemory(ratelimit.MemoryOptions{})
	limiterName := "in-process limiter"
	if u := envvar.New(os.Getenv).String("REDIS_URL", ""); u != "" {
		rc, err := ratelimit.ParseRedisURL(u)
		if err != nil {
			return err
		}
		limiter, limiterName = ratelimit.NewLeasing(ratelimit.NewRedis(rc, ratelimit.RedisOptions{Prefix: fmt.Sprintf("loadbench:%d:", time.Now().UnixNano())})), "Redis limiter (leasing, as the gateway builds it) at "+u
	}
	limitedURL, stopLimited, err := serveGateway(gcfg, gateway.Deps{Converser: client, Keys: keys, Limiter: limiter}, quiet)
	if err != nil {
		return err
	}
	defer stopLimited()
	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxIdleConns: 256}}

	maxTokens := 256
	text := promptText
	creq := &bedrock.ConverseRequest{
		Messages:        []bedrock.Message{{Role: bedrock.RoleUser, Content: []bedrock.ContentBlock{{Text: &text}}}},
		InferenceConfig: &bedrock.InferenceConfig{MaxTokens: &maxTokens},
	}
	sdkIn := func() *bedrockruntime.ConverseInput {
		return &bedrockruntime.ConverseInput{
			ModelId:         aws.String(modelID),
			Messages:        []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: promptText}}}},
			InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(int32(maxTokens))},
		}
	}
	chatBody := func(stream bool) []byte {
		return fmt.Appendf(nil, `{"model":%q,"max_tokens":%d,"stream":%t,"messages":[{"role":"user","content":%q}]}`, modelName, maxTokens, stream, promptText)
	}

	paths := []struct {
		name   string
		stream bool
		op     op
	}{
		{"direct/sdk converse", false, func(ctx context.Context) error {
			_, err := sdk.Converse(ctx, sdkIn())
			return err
		}},
		{"direct/client converse", false, func(ctx context.Context) error {
			_, err := client.Converse(ctx, modelID, creq)
			return err
		}},
		{"gateway chat", false, gatewayOp(httpClient, gatewayURL, benchKey, chatBody(false))},
		{"gateway+keys+limits chat", false, gatewayOp(httpClient, limitedURL, keySecret, chatBody(false))},
		{"direct/sdk stream", true, func(ctx context.Context) error {
			in := sdkIn()
			out, err := sdk.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: in.ModelId, Messages: in.Messages, InferenceConfig: in.InferenceConfig})
			if err != nil {
				return err
			}
			es := out.GetStream()
			defer es.Close()
			for range es.Events() {
			}
			return es.Err()
		}},
		{"direct/client stream", true, func(ctx context.Context) error {
			s, err := client.ConverseStream(ctx, modelID, creq)
			if err != nil {
				return err
			}
			defer s.Close()
			var ev bedrock.StreamEvent
			for {
				if err := s.Next(&ev); err != nil {
					if errors.Is(err, io.EOF) {
						return nil
					}
					return err
				}
			}
		}},
		{"gateway chat stream", true, gatewayOp(httpClient, gatewayURL, benchKey, chatBody(true))},
		{"gateway+keys+limits chat stream", true, gatewayOp(httpClient, limitedURL, keySecret, chatBody(true))},
	}

	fmt.Printf("loadbench: %d CPUs, GOMAXPROCS=%d, %v per scenario, emulator latency 0, SigV4 on, %s\n\n",
		numCPU(), gomaxprocs(), duration, limiterName)
	var results []result
	for _, conc := range levels {
		for _, p := range paths {
			if !strings.Contains(p.name, only) {
				continue
			}
			measure(ctx, p.op, conc, warmup)
			r := measure(ctx, p.op, conc, duration)
			r.name = p.name
			results = append(results, r)
			// The SDK path is reported, not fatal: it is the yardstick,
			// and it is known to lose streams (see README, Performance).
			if r.errs > 0 && !strings.HasPrefix(p.name, "direct/sdk") {
				return fmt.Errorf("%s at concurrency %d: %d of %d requests failed: %v", p.name, conc, r.errs, r.n+int(r.errs), r.firstErr)
			}
		}
	}
	report(os.Stdout, results)
	return nil
}

// serveGateway starts a gateway on a loopback port and returns its chat URL.
func serveGateway(cfg gateway.Config, deps gateway.Deps, log *slog.Logger) (string, func(), error) {
	srv, err := gateway.New(cfg, deps, log)
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String() + "/v1/chat/completions", func() { srv.Shutdown(context.Background()) }, nil
}

func gatewayOp(hc *http.Client, url, key string, body []byte) op {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
}

// measure runs o from conc goroutines for d and collects latencies.
func measure(ctx context.Context, o op, conc int, d time.Duration) result {
	var (
		mu    sync.Mutex
		lat   []time.Duration
		errs  atomic.Int64
		first atomic.Pointer[error]
		wg    sync.WaitGroup
		start = time.Now()
	)
	deadline := start.Add(d)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			for time.Now().Before(deadline) {
				t0 := time.Now()
				if err := o(ctx); err != nil {
					errs.Add(1)
					first.CompareAndSwap(nil, &err)
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	r := result{conc: conc, n: len(lat), errs: errs.Load(), rps: float64(len(lat)) / elapsed.Seconds()}
	if e := first.Load(); e != nil {
		r.firstErr = *e
	}
	if len(lat) > 0 {
		r.p50, r.p90, r.p99 = pct(lat, 50), pct(lat, 90), pct(lat, 99)
	}
	return r
}

func pct(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p+99)/100 - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func report(w io.Writer, rs []result) {
	direct := map[string]result{}
	plain := map[string]result{}
	for _, r := range rs {
		k := fmt.Sprint(strings.HasSuffix(r.name, "stream"), r.conc)
		if strings.HasPrefix(r.name, "direct/client") {
			direct[k] = r
		}
		if strings.HasPrefix(r.name, "gateway chat") {
			plain[k] = r
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "path\tconc\treq/s\tp50\tp90\tp99\tfailed\tadded p50\tthroughput vs direct\tvs plain gateway\t")
	for _, r := range rs {
		added, ratio, vsPlain := "", "", ""
		k := fmt.Sprint(strings.HasSuffix(r.name, "stream"), r.conc)
		if strings.HasPrefix(r.name, "gateway") {
			d := direct[k]
			added = us(r.p50 - d.p50)
			if d.rps > 0 {
				ratio = fmt.Sprintf("%.0f%%", 100*r.rps/d.rps)
			}
		}
		if strings.HasPrefix(r.name, "gateway+") {
			p := plain[k]
			if p.rps > 0 {
				vsPlain = fmt.Sprintf("%+.1f%% req/s, p50 %+dµs, p99 %+dµs", 100*(r.rps/p.rps-1), (r.p50 - p.p50).Microseconds(), (r.p99 - p.p99).Microseconds())
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t\n", r.name, r.conc, r.rps, us(r.p50), us(r.p90), us(r.p99), r.errs, added, ratio, vsPlain)
	}
	tw.Flush()
}

func us(d time.Duration) string { return fmt.Sprintf("%dµs", d.Microseconds()) }
