package events_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/events"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// fakePublisher records what it is given; it can fail or hold publishes.
type fakePublisher struct {
	mu    sync.Mutex
	ids   map[string]int
	sizes []int // of each Publish that succeeded
	fail  atomic.Bool
	hold  chan struct{} // when non-nil, Publish waits for it to close
}

func newFakePublisher() *fakePublisher { return &fakePublisher{ids: make(map[string]int)} }

func (p *fakePublisher) Publish(_ string, msgs ...*message.Message) error {
	if p.hold != nil {
		<-p.hold
	}
	if p.fail.Load() {
		return errors.New("bus down")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range msgs {
		if _, err := events.Unmarshal(m.Payload); err != nil {
			return err
		}
		p.ids[m.UUID]++
	}
	p.sizes = append(p.sizes, len(msgs))
	return nil
}

func (p *fakePublisher) published() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.sizes)
}

func (p *fakePublisher) Close() error { return nil }

func (p *fakePublisher) missing(evs []*convertor.UsageEvent) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, ev := range evs {
		if p.ids[ev.ID] == 0 {
			n++
		}
	}
	return n
}

func checkNoneDropped(t *testing.T, m *events.Metrics) {
	t.Helper()
	if got := value(m.Dropped); got != 0 {
		t.Errorf("dropped = %v, want 0", got)
	}
}

func TestEmitter_CloseDrains(t *testing.T) {
	t.Parallel()
	pub := newFakePublisher()
	m := events.NewMetrics(nil)
	spool := openSpool(t, t.TempDir(), events.SpoolOptions{})
	// A flush interval far beyond the test: only Close can send these.
	e := events.NewEmitter(pub, events.DefaultTopic, spool, events.EmitterOptions{
		BatchSize: 1000, FlushInterval: time.Hour, Metrics: m,
	})
	evs := testEvents(t, 250)
	for _, ev := range evs {
		e.Emit(ev)
	}
	if err := e.Close(t.Context()); err != nil {
		t.Fatalf("Close() error = %v", err)
	}
	if n := pub.missing(evs); n != 0 {
		t.Errorf("%d events not published after Close", n)
	}
	if got := value(m.Sent); got != float64(len(evs)) {
		t.Errorf("sent = %v, want %d", got, len(evs))
	}
	checkNoneDropped(t, m)

	// After Close, Emit still keeps the event: in the spool.
	late := testEvent(t, 999)
	e.Emit(late)
	if got := spool.Len(); got != 1 {
		t.Errorf("spool Len() after a late Emit = %d, want 1", got)
	}
}

// TestEmitter_PublishesWholeBatches: the queue is published a whole batch
// at a time as soon as it holds one; the events short of a batch wait in
// the queue for the flush tick (here: for Close).
func TestEmitter_PublishesWholeBatches(t *testing.T) {
	t.Parallel()
	pub := newFakePublisher()
	m := events.NewMetrics(nil)
	e := events.NewEmitter(pub, events.DefaultTopic, openSpool(t, t.TempDir(), events.SpoolOptions{}), events.EmitterOptions{
		BatchSize: 10, FlushInterval: time.Hour, Metrics: m,
	})
	evs := testEvents(t, 25)
	for _, ev := range evs {
		e.Emit(ev)
	}
	waitFor(t, deliveryTimeout, "two batches", func() bool { return len(pub.published()) == 2 })
	if got := pub.published(); !slices.Equal(got, []int{10, 10}) {
		t.Errorf("published batches = %v, want [10 10]", got)
	}
	if got := e.Pending(); got != 5 {
		t.Errorf("Pending() = %d, want the 5 short of a batch", got)
	}
	if err := e.Close(t.Context()); err != nil {
		t.Fatalf("Close() error = %v", err)
	}
	if got := pub.published(); !slices.Equal(got, []int{10, 10, 5}) {
		t.Errorf("published batches after Close = %v, want [10 10 5]", got)
	}
	if n := pub.missing(evs); n != 0 {
		t.Errorf("%d events not published", n)
	}
	checkNoneDropped(t, m)
}

// TestEmitter_TickPublishesWhatIsQueued: events short of a batch go out
// at the next flush tick.
func TestEmitter_TickPublishesWhatIsQueued(t *testing.T) {
	t.Parallel()
	pub := newFakePublisher()
	e := events.NewEmitter(pub, events.DefaultTopic, openSpool(t, t.TempDir(), events.SpoolOptions{}), events.EmitterOptions{
		BatchSize: 100, FlushInterval: 10 * time.Millisecond,
	})
	t.Cleanup(func() { e.Close(context.Background()) })
	evs := testEvents(t, 3)
	for _, ev := range evs {
		e.Emit(ev)
	}
	waitFor(t, deliveryTimeout, "the tick to publish", func() bool { return pub.missing(evs) == 0 })
	if got := e.Pending(); got != 0 {
		t.Errorf("Pending() = %d after the tick published everything, want 0", got)
	}
}

func TestEmitter_CloseSpoolsWhenBusDown(t *testing.T) {
	t.Parallel()
	pub := newFakePublisher()
	pub.fail.Store(true)
	m := events.NewMetrics(nil)
	spool := openSpool(t, t.TempDir(), events.SpoolOptions{})
	e := events.NewEmitter(pub, events.DefaultTopic, spool, events.EmitterOptions{FlushInterval: time.Hour, Metrics: m})
	evs := testEvents(t, 30)
	for _, ev := range evs {
		e.Emit(ev)
	}
	if err := e.Close(t.Context()); err != nil {
		t.Fatalf("Close() error = %v", err)
	}
	if got := spool.Len(); got != len(evs) {
		t.Errorf("spool Len() = %d, want every unsent event (%d)", got, len(evs))
	}
	checkNoneDropped(t, m)
}

func TestEmitter_QueueFullSpools(t *testing.T) {
	t.Parallel()
	pub := newFakePublisher()
	pub.hold = make(chan struct{})
	m := events.NewMetrics(nil)
	spool := openSpool(t, t.TempDir(), events.SpoolOptions{})
	e := events.NewEmitter(pub, events.DefaultTopic, spool, events.EmitterOptions{
		QueueSize: 4, BatchSize: 1, FlushInterval: 5 * time.Millisecond, RetryMax: 50 * time.Millisecond, Metrics: m,
	})
	// The loop is stuck in a publish; Emit must still return, spooling
	// what the queue cannot take.
	evs := testEvents(t, 50)
	for _, ev := range evs {
		e.Emit(ev)
	}
	if got := value(m.Spooled); got == 0 {
		t.Fatal("spooled = 0 with a full queue, want Emit to spool")
	}
	close(pub.hold)
	waitFor(t, deliveryTimeout, "spooled events replayed", func() bool { return pub.missing(evs) == 0 })
	if err := e.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := value(m.Sent)+value(m.Replayed), float64(len(evs)); got < want {
		t.Errorf("sent+replayed = %v, want at least %v", got, want)
	}
	checkNoneDropped(t, m)
}

// TestEmitter_BusDown stops the NATS server under load: events go to the
// spool, and once the server is back every event reaches the consumer.
func TestEmitter_BusDown(t *testing.T) {
	t.Parallel()
	srv := testenv.StartNATS(t)
	cfg := jetStreamConfig(t, srv.URL())
	pub := openPublisher(t, cfg)
	sub := openSubscriber(t, cfg, "busdown")
	got := newSeen()
	consume(t, sub, cfg.Topic, func(_ context.Context, evs []*convertor.UsageEvent) error {
		got.add(evs)
		return nil
	}, events.ConsumeOptions{BatchSize: 50, BatchWait: 20 * time.Millisecond, Log: testLog(t)})

	m := events.NewMetrics(nil)
	spool := openSpool(t, t.TempDir(), events.SpoolOptions{})
	e := events.NewEmitter(pub, cfg.Topic, spool, events.EmitterOptions{
		BatchSize: 20, FlushInterval: 10 * time.Millisecond, RetryMax: 500 * time.Millisecond,
		Metrics: m, Log: testLog(t),
	})
	evs := testEvents(t, 600)
	phase := func(evs []*convertor.UsageEvent) {
		for _, ev := range evs {
			e.Emit(ev)
		}
	}

	phase(evs[:200])
	waitFor(t, deliveryTimeout, "events before the outage", func() bool { return got.missing(evs[:200]) == 0 })
	if d := e.Degradation(); d != "" {
		t.Errorf("Degradation() with the bus up = %q, want empty", d)
	}

	srv.Stop()
	phase(evs[200:400])
	waitFor(t, deliveryTimeout, "events spooled during the outage", func() bool {
		return value(m.Spooled) >= 200
	})
	// Readiness names the outage, and spooled events are not at risk.
	if d := e.Degradation(); !strings.HasPrefix(d, "events bus unavailable; ") || !strings.Contains(d, " usage events spooled") {
		t.Errorf("Degradation() during the outage = %q, want the bus named unavailable with the spooled count", d)
	}
	if err := e.Ready(); err != nil {
		t.Errorf("Ready() while spooling = %v, want nil", err)
	}

	srv.Start()
	phase(evs[400:])
	waitFor(t, deliveryTimeout, "every event after the restart", func() bool { return got.missing(evs) == 0 })
	waitFor(t, deliveryTimeout, "the degradation to clear once the spool is replayed", func() bool { return e.Degradation() == "" })
	if err := e.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := got.distinct(); n != len(evs) {
		t.Errorf("consumer saw %d distinct ids, want %d", n, len(evs))
	}
	if got := value(m.Replayed); got < 200 {
		t.Errorf("replayed = %v, want at least the 200 spooled", got)
	}
	checkNoneDropped(t, m)
	t.Logf("sent %v, spooled %v, replayed %v", value(m.Sent), value(m.Spooled), value(m.Replayed))
}

// BenchmarkEmitter_Emit measures what a request pays: queueing one event.
// The timer stops while the background loop catches up, so the queue never
// overflows into the spool (that path is BenchmarkEmitter_EmitQueueFull).
func BenchmarkEmitter_Emit(b *testing.B) {
	e, pub, m := benchEmitter(b, 1<<12)
	ev := testEvent(b, 1)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e.Emit(ev)
		if i++; i%(1<<11) == 0 {
			b.StopTimer()
			// What is short of a batch waits for the flush tick.
			waitFor(b, deliveryTimeout, "the queue to drain", func() bool { return e.Pending() < events.DefaultEmitBatchSize })
			b.StartTimer()
		}
	}
	b.StopTimer()
	closeBench(b, e, pub, m, ev)
}

// BenchmarkEmitter_EmitQueueFull measures Emit when the bus cannot keep up
// and every event is spooled synchronously (one fsync each).
func BenchmarkEmitter_EmitQueueFull(b *testing.B) {
	e, pub, m := benchEmitter(b, 1)
	pub.hold = make(chan struct{})
	ev := testEvent(b, 1)
	e.Emit(ev)
	b.ReportAllocs()
	for b.Loop() {
		e.Emit(ev)
	}
	b.StopTimer()
	close(pub.hold)
	closeBench(b, e, pub, m, ev)
}

func benchEmitter(b *testing.B, queue int) (*events.Emitter, *fakePublisher, *events.Metrics) {
	pub := newFakePublisher()
	spool, err := events.OpenSpool(b.TempDir(), events.SpoolOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { spool.Close() })
	m := events.NewMetrics(nil)
	return events.NewEmitter(pub, events.DefaultTopic, spool, events.EmitterOptions{QueueSize: queue, Metrics: m}), pub, m
}

// closeBench checks the output once: the emitted event reached the
// publisher and nothing was dropped.
func closeBench(b *testing.B, e *events.Emitter, pub *fakePublisher, m *events.Metrics, ev *convertor.UsageEvent) {
	waitFor(b, deliveryTimeout, "the event published or replayed", func() bool { return pub.missing([]*convertor.UsageEvent{ev}) == 0 })
	if err := e.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	checkNoneDroppedB(b, m)
}

func checkNoneDroppedB(b *testing.B, m *events.Metrics) {
	if got := value(m.Dropped); got != 0 {
		b.Errorf("dropped = %v, want 0", got)
	}
}

// value reads a counter.
func value(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// TestEmitter_SpoolRefuses: while the bus is down and the spool refuses
// every write (a full disk), no event is lost: they are held in memory,
// readiness says so, and all reach the bus once it is back.
func TestEmitter_SpoolRefuses(t *testing.T) {
	t.Parallel()
	srv := testenv.StartNATS(t)
	cfg := jetStreamConfig(t, srv.URL())
	pub := openPublisher(t, cfg)
	sub := openSubscriber(t, cfg, "spoolrefuses")
	got := newSeen()
	consume(t, sub, cfg.Topic, func(_ context.Context, evs []*convertor.UsageEvent) error {
		got.add(evs)
		return nil
	}, events.ConsumeOptions{BatchSize: 50, BatchWait: 20 * time.Millisecond, Log: testLog(t)})

	m := events.NewMetrics(nil)
	// A spool that holds nothing: every Append fails as on a full disk.
	spool := openSpool(t, t.TempDir(), events.SpoolOptions{MaxBytes: 1})
	e := events.NewEmitter(pub, cfg.Topic, spool, events.EmitterOptions{
		QueueSize: 50, BatchSize: 20, FlushInterval: 10 * time.Millisecond, RetryMax: 200 * time.Millisecond,
		Metrics: m, Log: testLog(t),
	})
	if err := e.Ready(); err != nil {
		t.Fatalf("Ready() before any refusal = %v", err)
	}
	evs := testEvents(t, 500)
	srv.Stop()
	for _, ev := range evs[:300] {
		e.Emit(ev)
	}
	waitFor(t, deliveryTimeout, "events held while the bus is down and the spool refuses", func() bool {
		return testutil.ToFloat64(m.Held) > 0 && e.Ready() != nil
	})
	srv.Start()
	for _, ev := range evs[300:] {
		e.Emit(ev)
	}
	waitFor(t, deliveryTimeout, "every event after the bus returned", func() bool { return got.missing(evs) == 0 })
	waitFor(t, deliveryTimeout, "nothing held any more", func() bool { return e.Ready() == nil && testutil.ToFloat64(m.Held) == 0 })
	if err := e.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if d := value(m.Dropped); d != 0 {
		t.Errorf("dropped = %v, want 0", d)
	}
}

// hangingPublisher's Publish blocks until release is closed, as a bus that
// accepts the connection and never answers.
type hangingPublisher struct {
	message.Publisher
	release chan struct{}
}

func (h *hangingPublisher) Publish(topic string, msgs ...*message.Message) error {
	<-h.release
	return h.Publisher.Publish(topic, msgs...)
}

// TestEmitter_HungBus: while a publish hangs, events emitted once it has
// taken HungAfter go to the spool at once instead of queueing behind it,
// so a process killed then would lose only what was queued before; when
// the bus answers again every event arrives.
func TestEmitter_HungBus(t *testing.T) {
	t.Parallel()
	cfg := jetStreamConfig(t, testenv.NATS(t))
	pub := openPublisher(t, cfg)
	hang := &hangingPublisher{Publisher: pub, release: make(chan struct{})}
	sub := openSubscriber(t, cfg, "hung")
	got := newSeen()
	consume(t, sub, cfg.Topic, func(_ context.Context, evs []*convertor.UsageEvent) error {
		got.add(evs)
		return nil
	}, events.ConsumeOptions{BatchSize: 50, BatchWait: 20 * time.Millisecond, Log: testLog(t)})

	m := events.NewMetrics(nil)
	e := events.NewEmitter(hang, cfg.Topic, openSpool(t, t.TempDir(), events.SpoolOptions{}), events.EmitterOptions{
		BatchSize: 10, FlushInterval: 5 * time.Millisecond, HungAfter: 50 * time.Millisecond, Metrics: m, Log: testLog(t),
	})
	evs := testEvents(t, 200)
	for _, ev := range evs[:10] { // a full batch: its publish hangs
		e.Emit(ev)
	}
	waitFor(t, deliveryTimeout, "the publish to hang past HungAfter", func() bool {
		probe := testEvent(t, 10_000)
		before := value(m.Spooled)
		e.Emit(probe)
		evs = append(evs, probe)
		return value(m.Spooled) > before
	})
	for _, ev := range evs[10:200] {
		e.Emit(ev)
	}
	// Everything emitted after the hang was noticed is on disk already.
	if spooled := value(m.Spooled); spooled < 190 {
		t.Errorf("spooled %v events during the hang, want at least the 190 emitted after it", spooled)
	}
	close(hang.release)
	waitFor(t, deliveryTimeout, "every event once the bus answers", func() bool { return got.missing(evs) == 0 })
	if err := e.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if d := value(m.Dropped); d != 0 {
		t.Errorf("dropped = %v, want 0", d)
	}
}

// failThenHang fails its first publish, as a bus going away does, and
// holds every later one until release is closed.
type failThenHang struct {
	message.Publisher
	calls   atomic.Int64
	release chan struct{}
}

func (f *failThenHang) Publish(topic string, msgs ...*message.Message) error {
	if f.calls.Add(1) == 1 {
		return errors.New("nats: connection closed")
	}
	<-f.release
	return f.Publisher.Publish(topic, msgs...)
}

// TestEmitter_RetryOfDownBusSpools: once the bus has failed, a retry that
// hangs is not given HungAfter again: what is emitted meanwhile goes to
// the spool at once, so a bus that keeps hanging never has events waiting
// in memory.
func TestEmitter_RetryOfDownBusSpools(t *testing.T) {
	t.Parallel()
	cfg := jetStreamConfig(t, testenv.NATS(t))
	pub := openPublisher(t, cfg)
	bus := &failThenHang{Publisher: pub, release: make(chan struct{})}
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(bus.release) }) }
	sub := openSubscriber(t, cfg, "retry")
	got := newSeen()
	consume(t, sub, cfg.Topic, func(_ context.Context, evs []*convertor.UsageEvent) error {
		got.add(evs)
		return nil
	}, events.ConsumeOptions{BatchSize: 50, BatchWait: 20 * time.Millisecond, Log: testLog(t)})

	m := events.NewMetrics(nil)
	e := events.NewEmitter(bus, cfg.Topic, openSpool(t, t.TempDir(), events.SpoolOptions{}), events.EmitterOptions{
		BatchSize: 1, FlushInterval: 5 * time.Millisecond, HungAfter: time.Hour, Metrics: m, Log: testLog(t),
	})
	t.Cleanup(release) // runs first: a failed check must not leave the spool's replay hanging
	evs := testEvents(t, 20)
	e.Emit(evs[0]) // its publish fails: the bus is down, the event spooled
	waitFor(t, deliveryTimeout, "the retry of the spool to hang", func() bool { return bus.calls.Load() >= 2 })
	for i, ev := range evs[1:] {
		before := value(m.Spooled)
		e.Emit(ev)
		if value(m.Spooled) != before+1 {
			t.Fatalf("event %d emitted during the retry was not spooled at once (spooled %v, was %v)", i+1, value(m.Spooled), before)
		}
	}
	release()
	waitFor(t, deliveryTimeout, "every event once the bus answers", func() bool { return got.missing(evs) == 0 })
	if err := e.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if d := value(m.Dropped); d != 0 {
		t.Errorf("dropped = %v, want 0", d)
	}
}
