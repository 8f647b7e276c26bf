package pipeline

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/events"
	"github.com/openai-api-convertor/convertor/gateway"
	"github.com/openai-api-convertor/convertor/gateway/bedrock/emulator"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// Shape of the gateway-kill drills. The kill points are counts of answered
// requests, not times, so that a slow machine moves the kill, not the
// outcome.
const (
	drillWorkers = 8
	// drillLoadCap bounds the requests a drill may send; the kill comes
	// long before on any machine.
	drillLoadCap = 6000
	// healthyKillAfter is how many requests the gateway answers on a
	// healthy bus before it is killed.
	healthyKillAfter = 400
	// hungFreezeAfter is how many requests are answered before the bus
	// hangs, and hungKillAfter how many more once the gateway has noticed
	// (spooled its first event), before it is killed.
	hungFreezeAfter = 200
	hungKillAfter   = 300
	// afterRestart requests go to the restarted gateway: all of them must
	// be recorded.
	afterRestart = 40
)

// TestPipeline_GatewayKilled kills the gateway process with SIGKILL in the
// middle of a load and measures what that loses: the requests answered
// with a 200 whose usage is never recorded. The gateway queues usage events
// in memory for the next batch, so a kill may lose what is queued; the
// design bounds that by the queue and one batch, and on a healthy bus it
// is what awaits the next flush or its acknowledgement, a fraction of a
// second of traffic. When the bus hangs rather than
// refuses, the emitter notices after HungAfter and spools every event from
// then on, so a kill loses about HungAfter's worth of traffic, not the
// whole hang. After the kill the gateway starts again on the same spool,
// which it replays; nothing may be counted twice, and everything spooled
// before the kill must be recorded.
func TestPipeline_GatewayKilled(t *testing.T) {
	t.Parallel()
	t.Run("HealthyBus", func(t *testing.T) {
		t.Parallel()
		natsURL := testenv.NATS(t)
		p := newPipeline(t, natsVars(t, natsURL), false)
		p.runConsumers()
		gw := p.startGatewayProcess(natsURL)
		l := startDrillLoad(t, gw)
		l.waitAnswered(t, "requests before the kill", healthyKillAfter)
		l.kill(t, gw)
		m := p.measureKill(t, gw, l)
		span := ""
		if first, last := m.lostSpan(l); len(m.lost) > 0 {
			span = fmt.Sprintf(", of the %d answered %+.0f to %+.0f ms from the kill",
				l.answeredBetween(first, last), ms(first.Sub(l.killAt)), ms(last.Sub(l.killAt)))
		}
		t.Logf("healthy bus: answered %d in %.1fs (%.0f/s), %d in flight at the kill, %d of these recorded; lost %d (%.0f ms of traffic)%s",
			m.answered, l.elapsed().Seconds(), m.rate, m.cut, m.cutStored, len(m.lost), ms(m.lostFor(m.rate)), span)
	})
	t.Run("HungBus", func(t *testing.T) {
		t.Parallel()
		natsURL := testenv.NATS(t)
		p := newPipeline(t, natsVars(t, natsURL), false)
		p.runConsumers()
		proxy := startHangingProxy(t, hostPort(t, natsURL))
		gw := p.startGatewayProcess("nats://" + proxy.addr())
		l := startDrillLoad(t, gw)
		l.waitAnswered(t, "requests before the bus hangs", hungFreezeAfter)
		// A slow publish spools too (it looks hung), so the hang shows as
		// spooling beyond what was spooled before it.
		atFreezeEvents := gw.emitterMetrics()
		spooledBefore := atFreezeEvents.spooled
		proxy.freeze()
		frozeAt, atFreeze := time.Now(), l.answered.Load()
		waitUntil(t, "the gateway to spool events while the bus hangs", func() bool {
			return gw.metric("convertor_events_spooled_total") > spooledBefore || l.over()
		})
		require(t, !l.over(), "the load ran out before the gateway spooled an event")
		spoolingSeen := time.Now()
		l.waitAnswered(t, "requests while the bus hangs", l.answered.Load()+hungKillAfter)
		l.kill(t, gw)
		proxy.thaw()
		// What the dead gateway had sent into the hung connection reaches
		// the bus now, or never; either way, before the restart.
		waitUntil(t, "the killed gateway's connections to close", func() bool { return proxy.active() == 0 })
		m := p.measureKill(t, gw, l)
		hung := l.killAt.Sub(frozeAt)
		first, _ := m.lostSpan(l)
		if first.IsZero() || first.After(frozeAt) {
			first = frozeAt
		}
		late := m.lostAfter(l, spoolingSeen)
		t.Logf("usage events just before the freeze: %s", atFreezeEvents)
		t.Logf("hung bus: answered %d in %.1fs (%.0f/s), %d of them in the %.1fs of the hang (%.0f/s), %d in flight at the kill, %d of these recorded; lost %d: %d of the %d answered from %+.0f ms of the freeze until spooling was seen at %+.0f ms, and %d answered later %q",
			m.answered, l.elapsed().Seconds(), m.rate, m.answered-int(atFreeze), hung.Seconds(), float64(m.answered-int(atFreeze))/hung.Seconds(),
			m.cut, m.cutStored, len(m.lost), len(m.lost)-len(late), l.answeredBetween(first, spoolingSeen), ms(first.Sub(frozeAt)), ms(spoolingSeen.Sub(frozeAt)),
			len(late), late)
	})
}

// ms is d in milliseconds, for the drills' figures.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// hostPort is the host:port of a nats:// URL.
func hostPort(t testing.TB, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// gatewayProcess is `convertor gateway` run as a process in front of a
// Bedrock emulator in the test, on an address and a spool directory of
// its own that stay the same across restarts: a gateway started again
// after a kill serves where the killed one did and replays its spool.
type gatewayProcess struct {
	*service
	addr     string // the API, /health and /metrics
	spoolDir string
}

// startGatewayProcess starts the gateway process with the pipeline's bus
// settings but for natsURL, accepting the master key only (its usage is
// recorded under gateway.MasterKeyID), and waits until it serves.
func (p *pipeline) startGatewayProcess(natsURL string) *gatewayProcess {
	t := p.t
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	eln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go emulator.Serve(ctx, eln, emulator.New(emulator.Options{RequireSigV4: true}), slog.New(slog.DiscardHandler))

	g := &gatewayProcess{addr: unusedLoopbackAddr(t), spoolDir: filepath.Join(t.TempDir(), "spool")}
	g.service = p.startServiceWith("gateway", map[string]string{
		"GATEWAY_ADDR":                     g.addr,
		"MASTER_API_KEY":                   masterKey,
		"KEY_STORE":                        gateway.KeyStoreNone,
		"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "http://" + eln.Addr().String(),
		// Static credentials, so that the SDK signs with SigV4 as against
		// Bedrock, without looking for a profile or instance metadata.
		"AWS_REGION":            "us-east-1",
		"AWS_ACCESS_KEY_ID":     "AKIDPIPELINE",
		"AWS_SECRET_ACCESS_KEY": "secret",
		"NATS_URL":              natsURL,
		"USAGE_SPOOL_DIR":       g.spoolDir,
	})
	g.waitServing(t)
	return g
}

// unusedLoopbackAddr returns a loopback address nothing listens on, its
// port below the kernel's ephemeral range (as .ci/run picks them): while a
// killed gateway is down, no outgoing connection can take its port, so the
// restarted one listens there again.
func unusedLoopbackAddr(t testing.TB) string {
	t.Helper()
	for range 100 {
		addr := fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(12000))
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			ln.Close()
			return addr
		}
	}
	t.Fatal("no unused loopback port in 100 tries")
	return ""
}

// restart starts the gateway again after a kill and waits until it serves.
func (g *gatewayProcess) restart(t testing.TB) {
	t.Helper()
	g.start()
	g.waitServing(t)
}

// waitServing waits until /health answers; a process that exits first
// fails the test (its output is shown at cleanup).
func (g *gatewayProcess) waitServing(t testing.TB) {
	t.Helper()
	waitUntil(t, "the gateway process to serve", func() bool {
		require(t, g.running(), "convertor gateway exited on its own")
		resp, err := http.Get("http://" + g.addr + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// client returns an SDK client aimed at the gateway with connections of its
// own, so that none is left over from a killed process; retries are off,
// so each request is sent exactly once.
func (g *gatewayProcess) client() openai.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = drillWorkers
	return openai.NewClient(
		option.WithBaseURL("http://"+g.addr+"/v1"),
		option.WithAPIKey(masterKey),
		option.WithMaxRetries(0),
		option.WithHTTPClient(&http.Client{Timeout: 2 * time.Minute, Transport: tr}),
	)
}

// metrics reads the counters and gauges without labels from the gateway's
// /metrics, in one scrape; nil when the gateway does not answer.
func (g *gatewayProcess) metrics() map[string]float64 {
	resp, err := http.Get("http://" + g.addr + "/metrics")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") || strings.Contains(name, "{") {
			continue
		}
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			m[name] = f
		}
	}
	return m
}

// metric reads one counter or gauge without labels; -1 when the gateway
// does not answer or has no such metric.
func (g *gatewayProcess) metric(name string) float64 {
	if v, ok := g.metrics()[name]; ok {
		return v
	}
	return -1
}

// emitterMetrics are the gateway's usage-event counters of one scrape.
type emitterMetrics struct {
	emitted, sent, spooled, replayed, dropped float64
}

// String says what the counters imply the emitter holds in memory.
func (m emitterMetrics) String() string {
	return fmt.Sprintf("%.0f emitted, %.0f sent, %.0f spooled, %.0f replayed, %.0f dropped; so %.0f queued or publishing",
		m.emitted, m.sent, m.spooled, m.replayed, m.dropped, m.emitted-m.sent-m.spooled-m.dropped)
}

func (g *gatewayProcess) emitterMetrics() emitterMetrics {
	all := g.metrics()
	m := func(name string) float64 { return all["convertor_events_"+name+"_total"] }
	return emitterMetrics{emitted: m("emitted"), sent: m("sent"), spooled: m("spooled"), replayed: m("replayed"), dropped: m("dropped")}
}

// drillLoad returns up to n requests of makeLoad's variety, without its
// failures (a 400 records no tokens to tell it by) and each with an input
// count of its own, which finds its usage record.
func drillLoad(n int) []request {
	reqs := makeLoad(n)
	out := reqs[:0]
	for i, r := range reqs {
		if r.fail {
			continue
		}
		r.in = int64(100 + i)
		out = append(out, r)
	}
	return out
}

// outcome is what became of one request of a drill.
type outcome uint8

const (
	notSent              outcome = iota
	answered                     // answered as asked before the kill: a 200 with its usage
	cut                          // sent, but cut by the kill: its usage may or may not be recorded
	answeredAfterRestart         // answered by the restarted gateway: must be recorded
)

// drill drives requests at a gateway process that the test kills,
// drillWorkers at a time, and keeps what became of each. Unlike driver.send,
// it takes a request that fails once the kill has begun for one cut by it,
// not for a failure of the test.
type drill struct {
	d       *driver
	reqs    []request
	w       window
	started time.Time
	killAt  time.Time
	before  emitterMetrics // the gateway's counters just before the kill

	next     atomic.Int64 // index of the next request to send
	answered atomic.Int64
	killing  atomic.Bool
	// outcomes and answeredAt have one entry per request, written by the
	// worker that sent it and read after done is closed.
	outcomes   []outcome
	answeredAt []time.Time
	done       chan struct{} // closed when every worker has returned
}

// startDrillLoad starts the load on gw in the background.
func startDrillLoad(t *testing.T, gw *gatewayProcess) *drill {
	l := &drill{
		d:    &driver{client: gw.client(), secret: masterKey},
		reqs: drillLoad(drillLoadCap), w: newWindow(), started: time.Now(),
		done: make(chan struct{}),
	}
	l.outcomes = make([]outcome, len(l.reqs))
	l.answeredAt = make([]time.Time, len(l.reqs))
	var wg sync.WaitGroup
	for range drillWorkers {
		wg.Go(func() { l.work(t) })
	}
	go func() {
		wg.Wait()
		close(l.done)
	}()
	return l
}

// work sends requests until the kill begins or the load runs out.
func (l *drill) work(t *testing.T) {
	for !l.killing.Load() {
		i := int(l.next.Add(1) - 1)
		if i >= len(l.reqs) {
			return
		}
		err := l.d.do(l.reqs[i])
		switch {
		case err == nil:
			l.outcomes[i], l.answeredAt[i] = answered, time.Now()
			l.answered.Add(1)
		case l.killing.Load():
			l.outcomes[i] = cut
		default:
			t.Errorf("request %d %+v before the kill: %v", i, l.reqs[i], err)
			l.outcomes[i] = cut
		}
	}
}

// over reports whether every worker has returned.
func (l *drill) over() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// waitAnswered waits until n requests have been answered; the load running
// out first fails the test, as the kill would then find no load.
func (l *drill) waitAnswered(t *testing.T, what string, n int64) {
	t.Helper()
	waitUntil(t, what, func() bool { return l.answered.Load() >= n || l.over() })
	require(t, l.answered.Load() >= n, "the load ran out after %d answered requests, before %d", l.answered.Load(), n)
}

// kill stops handing out requests, kills the gateway with SIGKILL, as a
// crash or an OOM kill would end it, and waits for the requests in flight
// to end, answered or cut.
func (l *drill) kill(t *testing.T, gw *gatewayProcess) {
	t.Helper()
	l.before = gw.emitterMetrics()
	l.killing.Store(true)
	l.killAt = time.Now()
	gw.kill()
	<-l.done
}

// answeredBetween counts the requests answered from from to to, both
// included; call it after the kill.
func (l *drill) answeredBetween(from, to time.Time) int {
	n := 0
	for i, o := range l.outcomes {
		if o == answered && !l.answeredAt[i].Before(from) && !l.answeredAt[i].After(to) {
			n++
		}
	}
	return n
}

// elapsed is how long the load ran until the kill.
func (l *drill) elapsed() time.Duration { return l.killAt.Sub(l.started) }

// sendRest sends n requests never sent so far to the restarted gateway,
// with a client of its own; each must be answered.
func (l *drill) sendRest(t *testing.T, gw *gatewayProcess, n int) {
	t.Helper()
	from := int(l.next.Load())
	require(t, from+n <= len(l.reqs), "no %d requests left to send after the restart", n)
	d := &driver{client: gw.client(), secret: masterKey, workers: drillWorkers}
	d.send(t, l.reqs[from:from+n])
	for i := from; i < from+n; i++ {
		l.outcomes[i] = answeredAfterRestart
	}
	l.next.Store(int64(from + n))
}

// killMeasure is what a gateway kill lost.
type killMeasure struct {
	answered  int     // answered with a 200 before the kill
	rate      float64 // answered per second until the kill
	cut       int     // in flight at the kill
	cutStored int     // of those, recorded
	lost      []int   // the requests answered but never recorded
	spooled   int     // events in the spool at the kill
}

// lostFor is the loss in time at rate requests a second.
func (m killMeasure) lostFor(rate float64) time.Duration {
	return time.Duration(float64(len(m.lost)) / rate * float64(time.Second))
}

// lostSpan returns when the first and the last lost request was answered,
// as the client saw it.
func (m killMeasure) lostSpan(l *drill) (first, last time.Time) {
	for _, i := range m.lost {
		at := l.answeredAt[i]
		if first.IsZero() || at.Before(first) {
			first = at
		}
		if at.After(last) {
			last = at
		}
	}
	return first, last
}

// lostAfter lists the lost requests answered after at: when, and whether
// streamed.
func (m killMeasure) lostAfter(l *drill, at time.Time) []string {
	var late []string
	for _, i := range m.lost {
		if d := l.answeredAt[i].Sub(at); d > 0 {
			kind := "not streamed"
			if l.reqs[i].stream {
				kind = "streamed"
			}
			late = append(late, fmt.Sprintf("%+.0f ms %s", ms(d), kind))
		}
	}
	return late
}

// measureKill restarts the killed gateway on its spool, sends it a few
// requests, waits until the pipeline has recorded all it will, and
// compares the records with the requests: no request or event recorded
// twice, none recorded that was never sent, every spooled event recorded,
// the restarted gateway's requests all recorded, and the answered requests
// lost within the emitter's bound. The roll-ups and month spend must then
// equal the records.
func (p *pipeline) measureKill(t *testing.T, gw *gatewayProcess, l *drill) killMeasure {
	t.Helper()
	spooled := spooledEvents(t, gw.spoolDir)
	gw.restart(t)
	l.sendRest(t, gw, afterRestart)
	l.w.close()

	ctx := context.Background()
	records := func() []*convertor.UsageRecord {
		var all []*convertor.UsageRecord
		err := p.usage.Usage(ctx, l.w.from, l.w.to, gateway.MasterKeyID, func(recs []*convertor.UsageRecord) error {
			all = append(all, recs...)
			return nil
		})
		if err != nil {
			t.Logf("read usage records: %v", err)
			return nil
		}
		return all
	}
	byIn := make(map[int64]int, len(l.reqs))
	for i, r := range l.reqs {
		byIn[r.in] = i
	}
	waitUntil(t, "every request of the restarted gateway to be recorded", func() bool {
		n := 0
		for _, r := range records() {
			if i, ok := byIn[r.InputTokens]; ok && l.outcomes[i] == answeredAfterRestart {
				n++
			}
		}
		return n >= afterRestart
	})
	waitUntil(t, "the restarted gateway to replay its spool", func() bool {
		return gw.metric("convertor_events_replayed_total") >= float64(len(spooled))
	})
	quiet := p.natsQuiet()
	waitUntil(t, "the consumers to drain the bus", func() bool { return quiet() == nil })

	m := killMeasure{spooled: len(spooled)}
	recs := records()
	perReq := make([]int, len(l.reqs))
	perID := make(map[string]int, len(recs))
	for _, r := range recs {
		perID[r.ID]++
		i, ok := byIn[r.InputTokens]
		if !ok || l.outcomes[i] == notSent {
			t.Errorf("record %s (%s, %d input tokens) is of no request sent", r.ID, r.Model, r.InputTokens)
			continue
		}
		perReq[i]++
		q := l.reqs[i]
		if r.Model != q.model || r.OutputTokens != q.out || r.CacheReadTokens != q.cacheR || r.CacheWriteTokens != q.cacheW {
			t.Errorf("record %s = %s, %d out, %d+%d cache; request %d asked for %s, %d out, %d+%d cache",
				r.ID, r.Model, r.OutputTokens, r.CacheReadTokens, r.CacheWriteTokens, i, q.model, q.out, q.cacheR, q.cacheW)
		}
	}
	for id, n := range perID {
		if n > 1 {
			t.Errorf("event %s recorded %d times", id, n)
		}
	}
	var stored []request
	for i, n := range perReq {
		if n > 1 {
			t.Errorf("request %d (%d input tokens, %s) recorded %d times", i, l.reqs[i].in, l.outcomes[i], n)
		}
		if n > 0 {
			stored = append(stored, l.reqs[i])
		}
		switch l.outcomes[i] {
		case answered:
			m.answered++
			if n == 0 {
				m.lost = append(m.lost, i)
			}
		case cut:
			m.cut++
			if n > 0 {
				m.cutStored++
			}
		case answeredAfterRestart:
			if n == 0 {
				t.Errorf("request %d, answered by the restarted gateway, not recorded", i)
			}
		}
	}
	var unrecorded []string
	for _, ev := range spooled {
		if perID[ev.ID] == 0 {
			unrecorded = append(unrecorded, ev.ID)
		}
	}
	if len(unrecorded) > 0 {
		t.Errorf("%d of the %d events spooled before the kill not recorded after the restart, first %q",
			len(unrecorded), len(spooled), unrecorded[0])
	}
	// Only the emitter's memory is lost: its queue and the batch it is
	// filling or publishing, and the events of requests whose answer left
	// before they emitted it (a stream's [DONE] is flushed first), at most
	// one per worker.
	if bound := events.DefaultQueueSize + events.DefaultEmitBatchSize + drillWorkers; len(m.lost) > bound {
		t.Errorf("lost %d of %d answered requests, more than the emitter can hold (%d)", len(m.lost), m.answered, bound)
	}
	m.rate = float64(m.answered) / l.elapsed().Seconds()
	t.Logf("usage events just before the kill: %s; %d in the spool at the kill, all recorded after the restart", l.before, m.spooled)

	p.converge(gateway.MasterKeyID, l.w, truthOf(t, stored...), quiet)
	return m
}

// spooledEvents returns the events in a killed gateway's spool, read from
// a copy, so that the restarted gateway finds its spool as the kill left
// it. A record torn by the kill is cut as the gateway would cut it.
func spooledEvents(t testing.TB, dir string) []*convertor.UsageEvent {
	t.Helper()
	cp := filepath.Join(t.TempDir(), "spool")
	if err := os.CopyFS(cp, os.DirFS(dir)); err != nil {
		t.Fatalf("copy the spool: %v", err)
	}
	s, err := events.OpenSpool(cp, events.SpoolOptions{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var evs []*convertor.UsageEvent
	if _, err := s.Replay(func(chunk []*convertor.UsageEvent) error {
		evs = append(evs, chunk...)
		return nil
	}); err != nil {
		t.Fatalf("read the spool: %v", err)
	}
	return evs
}

func (o outcome) String() string {
	switch o {
	case notSent:
		return "not sent"
	case answered:
		return "answered"
	case cut:
		return "cut by the kill"
	case answeredAfterRestart:
		return "answered after the restart"
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}
