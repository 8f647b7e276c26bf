package gateway

import (
	"context"
	"log/slog"
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

// adjustQueue bounds the corrections waiting to be merged; past it a
// correction is sent on its own rather than dropped.
const adjustQueue = 4096

type adjustment struct {
	res    ratelimit.Reservation
	actual int64
}

// adjuster merges token corrections per slot and sends them in the
// background. Safe for concurrent use of add.
type adjuster struct {
	lim  ratelimit.Limiter
	log  *slog.Logger
	ch   chan adjustment
	done chan struct{}
}

func newAdjuster(lim ratelimit.Limiter, log *slog.Logger) *adjuster {
	return &adjuster{lim: lim, log: log, ch: make(chan adjustment, adjustQueue), done: make(chan struct{})}
}

// add queues a correction; it never blocks the request.
func (a *adjuster) add(res ratelimit.Reservation, actual int64) {
	select {
	case a.ch <- adjustment{res, actual}:
	default:
		go a.send(res, actual)
	}
}

// run merges and sends corrections until ctx ends, then sends what is
// left and closes done.
func (a *adjuster) run(ctx context.Context) {
	defer close(a.done)
	pending := map[ratelimit.Slot]*adjustment{}
	t := time.NewTicker(adjustInterval)
	defer t.Stop()
	merge := func(adj adjustment) {
		slot := adj.res.Slot()
		if p, ok := pending[slot]; ok {
			p.res, _ = p.res.Merge(adj.res)
			p.actual += adj.actual
		} else {
			pending[slot] = &adj
		}
	}
	flush := func() {
		for slot, p := range pending {
			a.send(p.res, p.actual)
			delete(pending, slot)
		}
	}
	for {
		select {
		case adj := <-a.ch:
			merge(adj)
		case <-t.C:
			flush()
		case <-ctx.Done():
			for {
				select {
				case adj := <-a.ch:
					merge(adj)
				default:
					flush()
					return
				}
			}
		}
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
