// Command procbench measures the gateway as users run it: the convertor
// binary in its own process, between a closed-loop load generator (this
// process) and a zero-latency fake Bedrock in a third process that shares
// no code with the gateway. The same load is sent straight to the fake
// ("direct": a plain HTTP client, no signing) for the baseline. For each
// path it reports requests per second, latency percentiles and the CPU
// each process spent per request, read from the kernel's accounting
// (/proc/PID/stat), so nothing of the gateway's is flattered by running
// in the load generator's process. It then holds streams open to read the
// gateway's memory and goroutines per stream, and streams token-by-token
// replies to measure the cost of one event.
//
// Linux only (it reads /proc). Usage:
//
//	make build && go run ./internal/procbench [-duration 5s] [-streams 2000]
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"
)

const (
	modelName = "claude-haiku-4-5"
	modelID   = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
	prompt    = "Summarise the plot of a short story about a lighthouse keeper in two sentences."
	// clockTick is the unit of /proc/PID/stat's CPU times: USER_HZ, 100
	// on every Linux ABI Go runs on.
	clockTick = 10 * time.Millisecond
)

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "fake-bedrock" || os.Args[1] == "services") {
		os.Exit(serveMode(os.Args[1]))
	}
	o := options{}
	flag.StringVar(&o.bin, "bin", "bin/convertor", "the convertor binary to run (make build)")
	flag.DurationVar(&o.duration, "duration", 4*time.Second, "how long each measured run lasts")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured run before each measured one")
	concs := flag.String("concurrency", "1,16", "comma-separated concurrency levels")
	flag.IntVar(&o.streams, "streams", 2000, "streams held open to measure memory per stream (0 skips)")
	flag.BoolVar(&o.full, "full", false, "also measure a gateway with a DynamoDB key, Redis limits, a budget and usage events to NATS (needs redis-server)")
	flag.Parse()
	levels, err := parseLevels(*concs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "procbench:", err)
		os.Exit(2)
	}
	o.levels = levels
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "procbench:", err)
		os.Exit(1)
	}
}

type options struct {
	bin      string
	duration time.Duration
	warmup   time.Duration
	levels   []int
	streams  int
	full     bool
}

// serveMode runs one of this binary's own server modes until it is
// signalled, and returns the exit code.
func serveMode(mode string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	serve := func(ctx context.Context) error { return serveFake(ctx, "127.0.0.1:0") }
	if mode == "services" {
		serve = serveServices
	}
	if err := serve(ctx); err != nil {
		fmt.Fprintln(os.Stderr, mode+":", err)
		return 1
	}
	return 0
}

func parseLevels(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-concurrency: %q is not a positive integer", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func run(ctx context.Context, o options) error {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		return errors.New("needs Linux's /proc to read each process's CPU time and memory")
	}
	bin, err := filepath.Abs(o.bin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%s: %w (run make build first, or pass -bin)", o.bin, err)
	}
	dir, err := os.MkdirTemp("", "procbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	fake, err := startSelf(ctx, dir, "fake-bedrock")
	if err != nil {
		return err
	}
	defer fake.stop()
	gw, err := startGateway(ctx, bin, fake.addr, dir, "gateway", nil)
	if err != nil {
		return err
	}
	defer gw.stop()
	var full *target
	if o.full {
		stack, err := startFull(ctx, bin, dir)
		if err != nil {
			return err
		}
		defer stack.stop()
		fgw, err := startGateway(ctx, bin, fake.addr, dir, "gateway-full", stack.env)
		if err != nil {
			return err
		}
		defer fgw.stop()
		full = &target{name: "full", url: "http://" + fgw.addr + "/v1/chat/completions", proc: fgw.proc, fake: fake.proc, secret: stack.secret}
	}
	fmt.Printf("gateway %s (pid %d, access log to a file), fake Bedrock %s (pid %d), %d CPUs shared by all three processes\n\n",
		gw.addr, gw.cmd.Process.Pid, fake.addr, fake.cmd.Process.Pid, runtime.NumCPU())

	// Memory first, on a gateway that has served only its warm-up, so the
	// idle figure is not the heap a load run left behind.
	if o.streams > 0 {
		if err := openStreams(ctx, gw, fake, o.streams); err != nil {
			return err
		}
	}

	direct := &target{name: "direct", url: "http://" + fake.addr + "/model/" + modelID, proc: fake.proc, fake: fake.proc}
	gateway := &target{name: "gateway", url: "http://" + gw.addr + "/v1/chat/completions", proc: gw.proc, fake: fake.proc}
	var rows []row
	for _, stream := range []bool{false, true} {
		for _, c := range o.levels {
			d, err := measure(ctx, o, direct, c, stream, "")
			if err != nil {
				return err
			}
			g, err := measure(ctx, o, gateway, c, stream, "")
			if err != nil {
				return err
			}
			r := row{direct: d, gateway: g}
			if full != nil {
				if r.full, err = measure(ctx, o, full, c, stream, ""); err != nil {
					return err
				}
			}
			rows = append(rows, r)
		}
	}
	printRows(rows)
	if full != nil {
		printFullRows(rows)
	}
	for _, r := range rows {
		for _, x := range []result{r.direct, r.gateway, r.full} {
			if x.failed > 0 {
				return fmt.Errorf("%s, concurrency %d, stream %t: %d requests failed, the first: %v", x.target, x.conc, x.stream, x.failed, x.firstErr)
			}
		}
	}

	slowConc := o.levels[len(o.levels)-1]
	d, err := measure(ctx, o, direct, slowConc, true, markSlow)
	if err != nil {
		return err
	}
	g, err := measure(ctx, o, gateway, slowConc, true, markSlow)
	if err != nil {
		return err
	}
	fmt.Printf("\ntoken-by-token replies (%d deltas each), concurrency %d:\n", slowDeltas, slowConc)
	fmt.Printf("  direct:  %.0f streams/s, fake Bedrock %.2f µs CPU per event\n", d.rate(), d.fakeCPUPer()/slowDeltas)
	fmt.Printf("  gateway: %.0f streams/s, gateway %.2f µs CPU per event (%.0f µs per stream), %d failed\n",
		g.rate(), g.cpuPer()/slowDeltas, g.cpuPer(), g.failed)
	if g.failed+d.failed > 0 {
		return fmt.Errorf("token-by-token replies: %d failed, the first: %v", g.failed+d.failed, errors.Join(g.firstErr, d.firstErr))
	}
	return nil
}

// proc is a process whose CPU time and memory the kernel accounts.
type proc struct{ pid int }

// cpu returns the user plus system CPU time the process has used.
func (p proc) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces; the fields after it are fixed.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", p.pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", p.pid, len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// rss returns the process's resident memory in bytes.
func (p proc) rss() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmRSS", p.pid)
}

// child is a process this run started.
type child struct {
	cmd  *exec.Cmd
	addr string
	proc proc
}

func (c *child) stop() {
	c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
}

// startSelf runs one of this binary's modes (fake-bedrock, services) and
// reads the address line it prints.
func startSelf(ctx context.Context, dir, mode string) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, mode)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, mode+".log"))
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		log, _ := os.ReadFile(logf.Name())
		return nil, fmt.Errorf("%s did not start: %v: %s", mode, err, log)
	}
	return &child{cmd: cmd, addr: strings.TrimSpace(line), proc: proc{cmd.Process.Pid}}, nil
}

// gatewayEnv is the plain gateway: no keys, limits or usage events.
var gatewayEnv = []string{
	"AWS_REGION=us-east-1",
	"AWS_ACCESS_KEY_ID=AKIDPROCBENCH",
	"AWS_SECRET_ACCESS_KEY=procbench-secret",
	"BEDROCK_MAX_RETRIES=0",
	"REQUIRE_API_KEY=false",
	"KEY_STORE=none",
	"NATS_URL=", "SQS_QUEUE_URL=", "REDIS_URL=", "RATE_LIMIT_ENABLED=false",
}

// startGateway runs `convertor gateway` against the fake with gatewayEnv
// and then extra settings, its log written to a file as a deployment's
// would be, and waits until it answers.
func startGateway(ctx context.Context, bin, fakeAddr, dir, name string, extra []string) (*child, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, "gateway")
	// Later settings win over earlier ones of the same name.
	cmd.Env = append(os.Environ(), gatewayEnv...)
	cmd.Env = append(cmd.Env, "GATEWAY_ADDR="+addr, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME=http://"+fakeAddr)
	cmd.Env = append(cmd.Env, extra...)
	c, logName, err := startLogged(cmd, dir, name, addr)
	if err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { cmd.Process.Wait(); close(exited) }()
	for {
		if r, err := http.Get("http://" + addr + "/health"); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return c, nil
			}
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logName)
			return nil, fmt.Errorf("the gateway exited at start: %s", log)
		case <-ctx.Done():
			c.stop()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// startLogged starts cmd, listening on addr, with its output written to
// dir/name.log, whose path it returns.
func startLogged(cmd *exec.Cmd, dir, name, addr string) (*child, string, error) {
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, "", err
	}
	defer logf.Close() // the child holds its own descriptor
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	return &child{cmd: cmd, addr: addr, proc: proc{cmd.Process.Pid}}, logf.Name(), nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// target is where a run sends its requests.
type target struct {
	name   string
	url    string
	proc   proc   // what the run measures
	fake   proc   // the fake Bedrock, which every run also reports
	secret string // the API key sent, if any
}

// body is the request a run sends: a Converse request to the fake, an
// OpenAI chat request to the gateway.
func (t *target) body(stream bool, mark string) []byte {
	text := prompt
	if mark != "" {
		text = mark + " " + prompt
	}
	if t.name == "direct" {
		return fmt.Appendf(nil, `{"messages":[{"role":"user","content":[{"text":%q}]}],"inferenceConfig":{"maxTokens":1024}}`, text)
	}
	return fmt.Appendf(nil, `{"model":%q,"stream":%t,"messages":[{"role":"user","content":%q}]}`, modelName, stream, text)
}

func (t *target) endpoint(stream bool) string {
	if t.name != "direct" {
		return t.url
	}
	if stream {
		return t.url + "/converse-stream"
	}
	return t.url + "/converse"
}

// result is one measured run.
type result struct {
	target   string
	conc     int
	stream   bool
	n        int
	failed   int
	elapsed  time.Duration
	lat      []time.Duration
	cpu      time.Duration // the target's process (the gateway, or the fake when direct)
	fakeCPU  time.Duration
	loadCPU  time.Duration // this process: the load generator
	firstErr error
}

// kind names the run's path in the tables.
func (r result) kind() string {
	if r.stream {
		return "stream"
	}
	return "chat"
}

func (r result) rate() float64 { return float64(r.n) / r.elapsed.Seconds() }

// cpuPer is the target process's CPU per completed request, in µs.
func (r result) cpuPer() float64 {
	if r.n == 0 {
		return 0
	}
	return float64(r.cpu.Microseconds()) / float64(r.n)
}

func (r result) fakeCPUPer() float64 {
	if r.n == 0 {
		return 0
	}
	return float64(r.fakeCPU.Microseconds()) / float64(r.n)
}

func (r result) loadCPUPer() float64 {
	if r.n == 0 {
		return 0
	}
	return float64(r.loadCPU.Microseconds()) / float64(r.n)
}

// cpuRatio is the throughput ratio of g over direct that the CPU per
// request of every process in each run allows when both keep the machine
// equally busy: direct's load generator and fake over the same two and
// the gateway. A measured "vs direct" close to it means the cores are
// what bounds the gateway's throughput, so only less CPU per request, in
// any of the three processes, raises it.
func cpuRatio(direct, g result) float64 {
	through := g.loadCPUPer() + g.fakeCPUPer() + g.cpuPer()
	if through == 0 {
		return 0
	}
	return (direct.loadCPUPer() + direct.fakeCPUPer()) / through
}

func (r result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[min(len(r.lat)-1, int(float64(len(r.lat))*p))]
}

// measure runs a warm-up, then the closed loop for o.duration with conc
// workers, each waiting for its answer before it sends the next.
func measure(ctx context.Context, o options, t *target, conc int, stream bool, mark string) (result, error) {
	client := &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: conc, DisableCompression: true,
	}}
	defer client.CloseIdleConnections()
	body := t.body(stream, mark)
	url := t.endpoint(stream)
	one := func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		if t.secret != "" {
			req.Header.Set("Authorization", "Bearer "+t.secret)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d: %.200s", resp.StatusCode, b)
		}
		if stream && t.name != "direct" && !bytes.HasSuffix(b, []byte("data: [DONE]\n\n")) {
			return fmt.Errorf("stream without [DONE]: %.200s", b)
		}
		return nil
	}
	loop := func(d time.Duration, record bool) result {
		var (
			mu  sync.Mutex
			res = result{target: t.name, conc: conc, stream: stream}
			wg  sync.WaitGroup
		)
		deadline := time.Now().Add(d)
		for range conc {
			wg.Go(func() {
				var lat []time.Duration
				n, failed := 0, 0
				var firstErr error
				for time.Now().Before(deadline) && ctx.Err() == nil {
					start := time.Now()
					if err := one(); err != nil {
						failed++
						if firstErr == nil {
							firstErr = err
						}
						continue
					}
					n++
					if record {
						lat = append(lat, time.Since(start))
					}
				}
				mu.Lock()
				res.n += n
				res.failed += failed
				res.lat = append(res.lat, lat...)
				if res.firstErr == nil {
					res.firstErr = firstErr
				}
				mu.Unlock()
			})
		}
		wg.Wait()
		return res
	}
	loop(o.warmup, false)
	if err := ctx.Err(); err != nil {
		return result{}, err
	}
	cpu0, err := t.proc.cpu()
	if err != nil {
		return result{}, err
	}
	fake0, err := t.fake.cpu()
	if err != nil {
		return result{}, err
	}
	self := proc{os.Getpid()}
	load0, err := self.cpu()
	if err != nil {
		return result{}, err
	}
	start := time.Now()
	res := loop(o.duration, true)
	res.elapsed = time.Since(start)
	cpu1, err := t.proc.cpu()
	if err != nil {
		return result{}, err
	}
	fake1, err := t.fake.cpu()
	if err != nil {
		return result{}, err
	}
	load1, err := self.cpu()
	if err != nil {
		return result{}, err
	}
	res.cpu, res.fakeCPU, res.loadCPU = cpu1-cpu0, fake1-fake0, load1-load0
	slices.Sort(res.lat)
	if res.n == 0 {
		return res, fmt.Errorf("%s: no request succeeded: %v", t.name, res.firstErr)
	}
	return res, nil
}

// row is one path and concurrency: direct, through the plain gateway and,
// in a -full run, through the gateway with keys, limits and events.
type row struct{ direct, gateway, full result }

func printRows(rows []row) {
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "path\tconc\treq/s\tp50\tp99\tfailed\tCPU/req\tfake CPU/req\tload CPU/req\tadded p50\tvs direct\tCPU ratio\t")
	for _, r := range rows {
		kind := r.gateway.kind()
		d, g := r.direct, r.gateway
		fmt.Fprintf(w, "direct %s\t%d\t%.0f\t%s\t%s\t%d\t-\t%.0fµs\t%.0fµs\t\t\t\t\n", kind, d.conc, d.rate(), us(d.pct(0.5)), us(d.pct(0.99)), d.failed,
			d.fakeCPUPer(), d.loadCPUPer())
		fmt.Fprintf(w, "gateway %s\t%d\t%.0f\t%s\t%s\t%d\t%.0fµs\t%.0fµs\t%.0fµs\t%s\t%.2f\t%.2f\t\n", kind, g.conc, g.rate(), us(g.pct(0.5)), us(g.pct(0.99)), g.failed,
			g.cpuPer(), g.fakeCPUPer(), g.loadCPUPer(), us(g.pct(0.5)-d.pct(0.5)), g.rate()/d.rate(), cpuRatio(d, g))
	}
	w.Flush()
	fmt.Println("\nCPU/req: the gateway process's user+system CPU per request (kernel accounting); fake CPU/req: the fake Bedrock's;")
	fmt.Println("load CPU/req: the load generator's (this process); vs direct: the gateway's requests per second over the direct")
	fmt.Println("path's at the same concurrency; CPU ratio: the direct run's load and fake CPU per request over all three of the")
	fmt.Println("gateway run's, the \"vs direct\" that CPU per request allows when both runs keep the cores equally busy.")
}

// printFullRows compares the gateway with keys, limits and events with the
// plain gateway, row by row.
func printFullRows(rows []row) {
	fmt.Println("\nwith a DynamoDB key (cached), Redis request and token limits, a budget and a usage event per request to NATS:")
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "path\tconc\treq/s\tp50\tp99\tfailed\tCPU/req\tfake CPU/req\tCPU vs plain\treq/s vs plain\t")
	for _, r := range rows {
		kind := r.full.kind()
		f, g := r.full, r.gateway
		fmt.Fprintf(w, "full %s\t%d\t%.0f\t%s\t%s\t%d\t%.0fµs\t%.0fµs\t%+.0f%%\t%+.0f%%\t\n", kind, f.conc, f.rate(), us(f.pct(0.5)), us(f.pct(0.99)), f.failed,
			f.cpuPer(), f.fakeCPUPer(), 100*(f.cpuPer()/g.cpuPer()-1), 100*(f.rate()/g.rate()-1))
	}
	w.Flush()
}

func us(d time.Duration) string { return strconv.FormatInt(d.Microseconds(), 10) + "µs" }

// openStreams holds n streams open through the gateway (the fake sends
// the first delta and waits), reads the gateway's resident memory and
// goroutines, then releases them and checks every one ends whole.
func openStreams(ctx context.Context, gw, fake *child, n int) error {
	idleRSS, err := gw.proc.rss()
	if err != nil {
		return err
	}
	idleG, err := goroutines(gw.addr)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: 0, DisableCompression: true}}
	defer client.CloseIdleConnections()
	body := (&target{name: "gateway"}).body(true, markHold)
	var (
		wg            sync.WaitGroup
		whole, broken atomic.Int64
		firstErr      atomic.Value
	)
	for range n {
		wg.Go(func() {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+gw.addr+"/v1/chat/completions", bytes.NewReader(body))
			if err != nil {
				broken.Add(1)
				return
			}
			resp, err := client.Do(req)
			if err != nil {
				firstErr.CompareAndSwap(nil, err)
				broken.Add(1)
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != http.StatusOK || !bytes.HasSuffix(b, []byte("data: [DONE]\n\n")) {
				firstErr.CompareAndSwap(nil, fmt.Errorf("status %d, %v: %.200s", resp.StatusCode, err, b))
				broken.Add(1)
				return
			}
			whole.Add(1)
		})
	}
	held := func() (int64, error) {
		r, err := http.Get("http://" + fake.addr + "/held")
		if err != nil {
			return 0, err
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return strconv.ParseInt(string(b), 10, 64)
	}
	for {
		h, err := held()
		if err != nil {
			return err
		}
		if h == int64(n) {
			break
		}
		if broken.Load() > 0 {
			wg.Wait()
			return fmt.Errorf("open streams: %d of %d failed: %v", broken.Load(), n, firstErr.Load())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	rss, err := gw.proc.rss()
	if err != nil {
		return err
	}
	g, err := goroutines(gw.addr)
	if err != nil {
		return err
	}
	r, err := http.Post("http://"+fake.addr+"/release", "text/plain", nil)
	if err != nil {
		return err
	}
	r.Body.Close()
	wg.Wait()
	fmt.Printf("%d streams held open through the gateway: RSS %.1f MB (idle %.1f MB, %.1f KB per stream), goroutines %d (idle %d, %.2f per stream); released: %d whole, %d broken\n\n",
		n, mb(rss), mb(idleRSS), float64(rss-idleRSS)/1024/float64(n), g, idleG, float64(g-idleG)/float64(n), whole.Load(), broken.Load())
	if broken.Load() > 0 {
		return fmt.Errorf("open streams: %d broken: %v", broken.Load(), firstErr.Load())
	}
	return nil
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// goroutines reads go_goroutines from the gateway's /metrics.
func goroutines(addr string) (int, error) {
	r, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer r.Body.Close()
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return int(f), err
		}
	}
	return 0, errors.New("the gateway's /metrics has no go_goroutines")
}
