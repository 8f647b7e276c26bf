package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openai-api-convertor/convertor"
)

// PriceCache serves the prices of a convertor.PriceStore from memory, so
// that the gateway can tell whether a request's cost will be known without
// reading the store per request. The gateway needs that for budgets: a
// request the accountant cannot price would be recorded at $0, and a
// budgeted key could spend without limit on an unpriced model. Refresh
// loads every price; Run refreshes them periodically and keeps serving the
// last table loaded while the store cannot be read. Safe for concurrent
// use.
type PriceCache struct {
	store convertor.PriceStore
	every time.Duration
	log   *slog.Logger

	// table is nil until the first load succeeds.
	table atomic.Pointer[priceSet]
	// refresh serializes Refresh, so that an older answer of the store
	// never replaces a newer one.
	refresh sync.Mutex
}

// priceSet is one load of the prices; never changed once built.
type priceSet struct {
	table *convertor.PriceTable
	list  []convertor.Price
}

// NewPriceCache returns a cache over store that Run refreshes every
// interval (DefaultRoutesRefresh when interval <= 0). It knows no prices
// until Refresh first succeeds.
func NewPriceCache(store convertor.PriceStore, interval time.Duration, log *slog.Logger) *PriceCache {
	if store == nil || log == nil {
		panic("gateway: NewPriceCache needs a store and a logger")
	}
	if interval <= 0 {
		interval = DefaultRoutesRefresh
	}
	return &PriceCache{store: store, every: interval, log: log}
}

// Refresh loads every price and serves them from then on. When the store
// fails it keeps the prices it had and returns the error.
func (c *PriceCache) Refresh(ctx context.Context) error {
	c.refresh.Lock()
	defer c.refresh.Unlock()
	prices, err := c.store.Prices(ctx)
	if err != nil {
		return fmt.Errorf("load prices: %w", err)
	}
	old := c.table.Load()
	c.table.Store(&priceSet{table: convertor.NewPriceTable(prices), list: prices})
	if old == nil || !slices.EqualFunc(old.list, prices, samePrice) {
		c.log.Info("prices loaded", "prices", len(prices))
	}
	return nil
}

func samePrice(a, b convertor.Price) bool {
	return a.Model == b.Model && a.Route == b.Route && a.EffectiveFrom.Equal(b.EffectiveFrom)
}

// Run calls Refresh every interval until ctx ends, logging a failure once
// when it begins and the recovery when it ends.
func (c *PriceCache) Run(ctx context.Context) {
	refreshEvery(ctx, c.every, c.table.Load() == nil, c.Refresh, c.log, "prices")
}

// Priced reports whether a request to bedrockModelID at t will have a
// price. known is false while no load has succeeded: then nothing can be
// said, and the caller decides.
func (c *PriceCache) Priced(bedrockModelID string, t time.Time) (priced, known bool) {
	set := c.table.Load()
	if set == nil {
		return false, false
	}
	_, ok := set.table.Lookup(bedrockModelID, t)
	return ok, true
}

// refreshEvery calls refresh every interval until ctx ends. A failure is
// logged once at Warn when it begins (every later one at Debug) and the
// recovery at Info, so an outage does not flood the log. failing says
// whether the loads so far have failed.
func refreshEvery(ctx context.Context, every time.Duration, failing bool, refresh func(context.Context) error, log *slog.Logger, what string) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := refresh(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil && !failing:
			log.Warn(what+" not refreshed; serving the last ones loaded", "err", err, "every", every)
		case err != nil:
			log.Debug(what+" not refreshed", "err", err)
		case failing:
			log.Info(what + " refreshed again")
		}
		failing = err != nil
	}
}
