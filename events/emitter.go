package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/openai-api-convertor/convertor"
)

// Emitter defaults.
const (
	// DefaultQueueSize absorbs a few seconds of peak traffic while a
	// publish is slow, before Emit falls back to the spool.
	DefaultQueueSize     = 8192
	DefaultEmitBatchSize = 100
	// DefaultFlushInterval is the longest an event waits in the queue
	// for its batch to fill.
	DefaultFlushInterval = 100 * time.Millisecond
	// DefaultRetryMax caps the wait between attempts to reach a bus that
	// is down; the first wait is retryMin.
	DefaultRetryMax = 30 * time.Second
	retryMin        = 100 * time.Millisecond
	// DefaultHungAfter is how long a publish may take before the bus
	// counts as hung: from then on Emit spools each event itself instead
	// of queueing it behind the stuck publish, so a process killed while
	// the bus hangs loses at most what was queued in this time.
	DefaultHungAfter = time.Second
	// DefaultHoldMax bounds the events held in memory while the spool
	// refuses them (a full disk): about 50 MB, minutes of heavy traffic.
	DefaultHoldMax = 100_000
)

// EmitterOptions tunes an Emitter. Zero fields take their defaults.
type EmitterOptions struct {
	QueueSize     int
	BatchSize     int
	FlushInterval time.Duration
	RetryMax      time.Duration
	// HoldMax bounds the events kept in memory while the spool refuses
	// them; past it they are dropped, counted and logged.
	HoldMax int
	// HungAfter is how long a publish may take before Emit spools
	// instead of queueing (DefaultHungAfter).
	HungAfter time.Duration
	Log       *slog.Logger
	// Metrics, nil for unregistered ones.
	Metrics *Metrics
}

// Emitter sends usage events from the request path to the bus without
// making a request wait: Emit only queues, a background loop publishes in
// batches. When the queue is full, Emit spools the event itself; when a
// publish fails, the batch is spooled and the bus retried with backoff,
// the spool replayed in order once it answers. Spooled events keep their
// ids, so consumers (and JetStream's duplicate window) dedupe replays.
// Safe for concurrent use.
type Emitter struct {
	pub   message.Publisher
	topic string
	spool *Spool
	opts  EmitterOptions
	log   *slog.Logger
	m     *Metrics

	queue chan *convertor.UsageEvent
	// ready wakes the loop when the queue holds a batch (wakeAt events):
	// the loop takes events from the queue a batch at a time, woken once
	// per batch or by the flush tick, not once per event.
	ready  chan struct{}
	wakeAt int

	mu      sync.RWMutex // Emit holds it for reading while queueing; Close for writing
	closed  bool
	stop    chan struct{} // closed by Close: drain and return
	abandon chan struct{} // closed when Close's ctx ends: spool, do not publish
	done    chan struct{} // closed when the loop has returned
	once    sync.Once

	// held are events the spool refused (a full or failing disk), kept
	// in memory until the bus or the spool takes them; e.heldMu guards it.
	heldMu sync.Mutex
	held   []*convertor.UsageEvent
	// refusing is set from the spool's first refusal until it or the bus
	// takes events again, so the refusal is logged once, not per try.
	refusing bool

	// publishing is when the publish in progress started, in Unix
	// nanoseconds; 0 when none is.
	publishing atomic.Int64
	// down is set from a failed publish until one succeeds. Only the loop
	// writes it; Emit reads it too: a publish that starts while the bus
	// is known to be down counts as hung at once, so each retry of a bus
	// that keeps hanging does not reopen a HungAfter window of queueing.
	down atomic.Bool

	// Loop state, touched only by the loop goroutine.
	backoff time.Duration
	retryAt time.Time
}

// NewEmitter starts an emitter publishing to topic, falling back to spool.
// It panics on a nil publisher or spool: without them nothing can be kept.
func NewEmitter(pub message.Publisher, topic string, spool *Spool, opts EmitterOptions) *Emitter {
	if pub == nil || spool == nil {
		panic("events: NewEmitter needs a publisher and a spool")
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultEmitBatchSize
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = DefaultRetryMax
	}
	if opts.HoldMax <= 0 {
		opts.HoldMax = DefaultHoldMax
	}
	if opts.HungAfter <= 0 {
		opts.HungAfter = DefaultHungAfter
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(nil)
	}
	e := &Emitter{
		pub: pub, topic: topic, spool: spool, opts: opts,
		log:   orDiscard(opts.Log).With("topic", topic),
		m:     opts.Metrics,
		queue: make(chan *convertor.UsageEvent, opts.QueueSize),
		ready: make(chan struct{}, 1),
		// Half a queue at most, so a queue smaller than a batch still
		// wakes the loop well before Emit must spool.
		wakeAt:  max(min(opts.BatchSize, opts.QueueSize/2), 1),
		stop:    make(chan struct{}),
		abandon: make(chan struct{}),
		done:    make(chan struct{}),
	}
	go e.loop()
	return e
}

// Emit hands ev over for publishing and returns at once; the caller must
// not change ev afterwards. A zero Version or empty ID is filled in. When
// the queue is full, or after Close, ev is spooled synchronously (one
// fsync) rather than dropped. An event that fails Validate is a bug of the
// caller: it is logged and counted as dropped, since no consumer could
// accept it.
func (e *Emitter) Emit(ev *convertor.UsageEvent) {
	e.m.Emitted.Inc()
	if ev.Version == 0 {
		ev.Version = convertor.UsageEventVersion
	}
	if ev.ID == "" {
		ev.ID = NewID(ev.Time)
	}
	if err := ev.Validate(); err != nil {
		e.m.Dropped.Inc()
		e.log.Error("usage event invalid; dropped", "event_id", ev.ID, "request_id", ev.RequestID, "error", err)
		return
	}
	e.mu.RLock()
	if !e.closed && !e.hung() {
		select {
		case e.queue <- ev:
			e.mu.RUnlock()
			if len(e.queue) >= e.wakeAt {
				select {
				case e.ready <- struct{}{}:
				default: // already signalled
				}
			}
			return
		default:
		}
	}
	e.mu.RUnlock()
	e.toSpool([]*convertor.UsageEvent{ev})
}

// hung reports whether the publish in progress has taken longer than
// HungAfter (the bus neither answers nor refuses), or is a retry of a bus
// that last failed.
func (e *Emitter) hung() bool {
	since := e.publishing.Load()
	if since == 0 {
		return false
	}
	return e.down.Load() || time.Since(time.Unix(0, since)) > e.opts.HungAfter
}

// Pending returns how many events wait in the queue.
func (e *Emitter) Pending() int {
	return len(e.queue)
}

// Close stops accepting events into the queue and drains it: published
// when the bus takes them, spooled otherwise. When ctx ends first, what is
// left is spooled without trying the bus; Close then returns ctx's error
// once the loop is done (after at most one publish in progress). Later
// Emit calls spool synchronously. Close does not close the spool.
func (e *Emitter) Close(ctx context.Context) error {
	e.once.Do(func() {
		e.mu.Lock()
		e.closed = true
		e.mu.Unlock()
		close(e.stop)
	})
	select {
	case <-e.done:
		return nil
	case <-ctx.Done():
	}
	select {
	case <-e.abandon:
	default:
		close(e.abandon)
	}
	<-e.done
	return ctx.Err()
}

func (e *Emitter) loop() {
	defer close(e.done)
	tick := time.NewTicker(e.opts.FlushInterval)
	defer tick.Stop()
	batch := make([]*convertor.UsageEvent, 0, e.opts.BatchSize)
	for {
		select {
		case <-e.ready:
			e.flushQueued(batch, false)
		case <-tick.C:
			e.flushQueued(batch, true)
			e.replay()
			e.release()
		case <-e.stop:
			e.drain(batch)
			return
		}
	}
}

// flushQueued flushes the queue's events in batches of BatchSize while it
// holds a batch (wakeAt events), and with all set also a last, partial
// batch. Only the loop takes from the queue, so what len reports is there
// to take. batch is the loop's buffer, with room for a batch.
func (e *Emitter) flushQueued(batch []*convertor.UsageEvent, all bool) {
	for {
		n := len(e.queue)
		if n == 0 || !all && n < e.wakeAt {
			return
		}
		take := min(n, e.opts.BatchSize)
		batch = batch[:0]
		for range take {
			batch = append(batch, <-e.queue)
		}
		e.flush(batch)
		if take < e.opts.BatchSize {
			// The queue held no more when counted; what came since waits
			// for its own batch or the next tick.
			return
		}
	}
}

// drain empties the queue after Close. No Emit queues any more (closed is
// set under e.mu), so an empty queue stays empty.
func (e *Emitter) drain(batch []*convertor.UsageEvent) {
	e.flushQueued(batch, true)
	e.releaseAtClose()
}

// flush publishes batch, or spools it when the bus is down, the spool
// holds older events (they go first) or Close gave up on the bus.
func (e *Emitter) flush(batch []*convertor.UsageEvent) {
	if len(batch) == 0 {
		return
	}
	// Spooled events go first, keeping the order, unless the spool is
	// refusing writes: then a bus that answers takes the batch at once
	// (consumers do not need the order; they need every event).
	if e.abandoned() || e.down.Load() || e.spool.Len() > 0 && !e.holding() {
		e.toSpool(batch)
		e.replay()
		return
	}
	if err := e.publish(batch); err != nil {
		e.markDown(err)
		e.toSpool(batch)
		return
	}
	e.m.Sent.Add(float64(len(batch)))
}

// replay sends the spool to the bus when it holds events and the backoff
// allows a try.
func (e *Emitter) replay() {
	if e.abandoned() || e.spool.Len() == 0 || (e.down.Load() && time.Now().Before(e.retryAt)) {
		return
	}
	n, err := e.spool.Replay(func(evs []*convertor.UsageEvent) error {
		if err := e.publish(evs); err != nil {
			return err
		}
		e.m.Replayed.Add(float64(len(evs)))
		return nil
	})
	if err != nil {
		e.markDown(err)
		return
	}
	if e.down.Load() {
		e.log.Info("events bus is back; spool replayed", "events", n)
	}
	e.down.Store(false)
	e.backoff = 0
}

func (e *Emitter) publish(evs []*convertor.UsageEvent) error {
	msgs := make([]*message.Message, 0, len(evs))
	for _, ev := range evs {
		msg, err := NewMessage(ev)
		if err != nil {
			// Emit validated it, and the spool only holds what Marshal
			// wrote; publishing the rest beats blocking them all.
			e.m.Dropped.Inc()
			e.log.Error("usage event cannot be encoded; dropped", "event_id", ev.ID, "error", err)
			continue
		}
		msgs = append(msgs, msg)
	}
	e.publishing.Store(time.Now().UnixNano())
	defer e.publishing.Store(0)
	if e.down.Load() {
		e.spoolQueued()
	}
	return e.pub.Publish(e.topic, msgs...)
}

// spoolQueued moves the queued events to the spool before a retry of a
// bus that last failed: should the retry hang, they would otherwise wait
// in memory behind it. Taking e.mu waits out any Emit that queued before
// the retry was marked in progress; later ones see hung and spool
// themselves, so no event is left queued behind a hanging retry.
func (e *Emitter) spoolQueued() {
	e.mu.Lock()
	e.mu.Unlock() //nolint:staticcheck // empty on purpose: only the wait matters
	var evs []*convertor.UsageEvent
	for {
		select {
		case ev := <-e.queue:
			evs = append(evs, ev)
			continue
		default:
		}
		break
	}
	if len(evs) > 0 {
		e.toSpool(evs)
	}
}

// markDown records a failed publish and schedules the next try with
// exponential backoff and jitter.
func (e *Emitter) markDown(err error) {
	if !e.down.Load() {
		e.log.Warn("events bus unavailable; spooling usage events", "error", err)
		e.backoff = retryMin
	} else {
		e.backoff = min(2*e.backoff, e.opts.RetryMax)
	}
	e.down.Store(true)
	jitter := time.Duration(rand.Int64N(int64(e.backoff)/2 + 1))
	e.retryAt = time.Now().Add(e.backoff/2 + jitter)
}

func (e *Emitter) abandoned() bool {
	select {
	case <-e.abandon:
		return true
	default:
		return false
	}
}

// toSpool writes evs to the spool; what the spool refuses is held in
// memory (hold) until the bus or the spool takes it.
func (e *Emitter) toSpool(evs []*convertor.UsageEvent) {
	if err := e.spool.Append(evs); err != nil {
		e.hold(evs, err)
		return
	}
	e.m.Spooled.Add(float64(len(evs)))
	e.heldMu.Lock()
	if e.refusing {
		e.refusing = false
		e.log.Info("usage spool takes events again")
	}
	e.heldMu.Unlock()
}

// hold keeps events the spool refused, up to HoldMax; only past that are
// events lost, counted and logged with their ids.
func (e *Emitter) hold(evs []*convertor.UsageEvent, err error) {
	e.heldMu.Lock()
	defer e.heldMu.Unlock()
	if !e.refusing {
		e.refusing = true
		attrs := []any{"events", len(evs), "error", err}
		if errors.Is(err, ErrSpoolFull) {
			attrs = append(attrs, "hint", "the bus has been down long enough to fill the spool")
		}
		e.log.Error("usage spool refuses events; holding them in memory until the bus or the spool takes them", attrs...)
	}
	room := max(e.opts.HoldMax-len(e.held), 0)
	if room < len(evs) {
		lost := evs[room:]
		ids := make([]string, 0, min(len(lost), 100))
		for _, ev := range lost[:min(len(lost), 100)] {
			ids = append(ids, ev.ID)
		}
		e.m.Dropped.Add(float64(len(lost)))
		e.log.Error("usage events dropped: the spool refuses them and memory holds its limit", "events", len(lost),
			"hold_max", e.opts.HoldMax, "first_event_ids", ids, "error", err)
		evs = evs[:room]
	}
	e.held = append(e.held, evs...)
	e.m.Held.Set(float64(len(e.held)))
}

func (e *Emitter) holding() bool {
	e.heldMu.Lock()
	defer e.heldMu.Unlock()
	return len(e.held) > 0
}

// take removes and returns the held events.
func (e *Emitter) take() []*convertor.UsageEvent {
	e.heldMu.Lock()
	defer e.heldMu.Unlock()
	evs := e.held
	e.held = nil
	e.m.Held.Set(0)
	return evs
}

// release sends the held events to the bus when it answers, else back to
// the spool, which may take them again (disk space freed); what neither
// takes is held again.
func (e *Emitter) release() {
	evs := e.take()
	if len(evs) == 0 {
		return
	}
	if !e.down.Load() || !time.Now().Before(e.retryAt) {
		sent := 0
		for chunk := range slices.Chunk(evs, e.opts.BatchSize) {
			if err := e.publish(chunk); err != nil {
				e.markDown(err)
				break
			}
			sent += len(chunk)
			e.m.Sent.Add(float64(len(chunk)))
		}
		if sent > 0 {
			e.log.Info("held usage events published", "events", sent)
		}
		evs = evs[sent:]
		if len(evs) == 0 {
			return
		}
	}
	e.toSpool(evs)
}

// releaseAtClose gives the held events a last chance at Close: the bus,
// else the spool; what is left is logged with every id, the last record an
// operator has of them.
func (e *Emitter) releaseAtClose() {
	if !e.holding() {
		return
	}
	if !e.abandoned() {
		e.down.Store(false)
		e.release()
	}
	if evs := e.take(); len(evs) > 0 {
		if err := e.spool.Append(evs); err == nil {
			e.m.Spooled.Add(float64(len(evs)))
			return
		}
		ids := make([]string, len(evs))
		for i, ev := range evs {
			ids[i] = ev.ID
		}
		e.m.Dropped.Add(float64(len(evs)))
		e.log.Error("usage events dropped at shutdown: neither the bus nor the spool took them", "events", len(evs), "event_ids", ids)
	}
}

// Degradation says what delays usage events while nothing is at risk of
// loss: the bus unavailable and how many events wait in the spool, or
// the spool still being replayed. It is empty when the bus takes events
// and the spool is empty. The gateway's readiness names it without
// turning unready: a gateway that spools still serves.
func (e *Emitter) Degradation() string {
	n := e.spool.Len()
	switch {
	case e.down.Load():
		return fmt.Sprintf("events bus unavailable; %d usage events spooled, sent when it is back", n)
	case n > 0:
		return fmt.Sprintf("%d spooled usage events not yet sent to the events bus", n)
	}
	return ""
}

// Ready returns nil unless the spool refuses events (they are then held in
// memory, and lost if the process dies): the gateway's readiness reports it
// so that an operator frees the disk or fixes the bus.
func (e *Emitter) Ready() error {
	e.heldMu.Lock()
	defer e.heldMu.Unlock()
	if n := len(e.held); n > 0 {
		return fmt.Errorf("usage spool refuses writes; %d usage events held in memory", n)
	}
	return nil
}
