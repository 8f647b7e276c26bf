package gateway

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/ratelimit"
)

// adjustInterval is how long token corrections wait to be merged. Every
// request of a key within one bucket of its window shares a slot, so a busy
// key costs one correction per interval instead of one Redis round trip per
// request. A correction is nearly always a release (the reservation counts
// max_tokens), so the delay only keeps tokens reserved a little longer.
const adjustInterval = 20 * time.Millisecond

// adjustSlots bounds the slots waiting to be merged; past it a correction
// is sent on its own rather than dropped.
const adjustSlots = 4096

type adjustment struct {
	res    ratelimit.Reservation
	actual int64
}

// adjuster merges token corrections per slot and sends them in the
// background. add merges under a lock instead of handing each correction
// to the loop over a channel, which woke the loop's thread once per
// request. Safe for concurrent use of add.
type adjuster struct {
	lim  ratelimit.Limiter
	log  *slog.Logger
	done chan struct{}

	mu      sync.Mutex
	pending map[ratelimit.Slot]*adjustment
	stopped bool // run has sent its last batch; later corrections go alone
}

func newAdjuster(lim ratelimit.Limiter, log *slog.Logger) *adjuster {
	return &adjuster{lim: lim, log: log, done: make(chan struct{}), pending: map[ratelimit.Slot]*adjustment{}}
}

// add queues a correction; it never blocks the request.
func (a *adjuster) add(res ratelimit.Reservation, actual int64) {
	slot := res.Slot()
	a.mu.Lock()
	if p, ok := a.pending[slot]; ok && !a.stopped {
		p.res, _ = p.res.Merge(res)
		p.actual += actual
		a.mu.Unlock()
		return
	}
	if !a.stopped && len(a.pending) < adjustSlots {
		a.pending[slot] = &adjustment{res, actual}
		a.mu.Unlock()
		return
	}
	a.mu.Unlock()
	go a.send(res, actual)
}

// run sends the merged corrections every adjustInterval until ctx ends,
// then sends what is left and closes done.
func (a *adjuster) run(ctx context.Context) {
	defer close(a.done)
	t := time.NewTicker(adjustInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			a.flush(false)
		case <-ctx.Done():
			a.flush(true)
			return
		}
	}
}

// flush sends the pending corrections; last stops the merging.
func (a *adjuster) flush(last bool) {
	a.mu.Lock()
	a.stopped = a.stopped || last
	if len(a.pending) == 0 {
		a.mu.Unlock()
		return
	}
	batch := a.pending
	a.pending = make(map[ratelimit.Slot]*adjustment, len(batch))
	a.mu.Unlock()
	for _, p := range batch {
		a.send(p.res, p.actual)
	}
}

func (a *adjuster) send(res ratelimit.Reservation, actual int64) {
	if actual == res.Tokens() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := a.lim.Adjust(ctx, res, actual); err != nil && convertor.ErrorCode(err) != convertor.EUnavailable {
		a.log.Warn("adjust rate-limit reservation", "err", err)
	}
}
