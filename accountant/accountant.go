package accountant

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/events"
	"github.com/openai-api-convertor/convertor/internal/metricsserver"
)

// Metrics counts what the accountant does with events.
type Metrics struct {
	Stored     prometheus.Counter // records written
	Duplicates prometheus.Counter // events whose record existed (redeliveries)
	Unpriced   prometheus.Counter // records stored with no matching price
	Published  prometheus.Counter // records published on the priced topic
	CostMicros prometheus.Counter // micro-dollars of the records written
}

// NewMetrics creates the counters and registers them on reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "convertor", Subsystem: "accountant", Name: name, Help: help})
		if reg != nil {
			reg.MustRegister(c)
		}
		return c
	}
	return &Metrics{
		Stored:     counter("records_stored_total", "Usage records written."),
		Duplicates: counter("duplicates_total", "Usage events whose record existed already (redeliveries)."),
		Unpriced:   counter("unpriced_total", "Usage records stored without a matching price (cost 0 until repriced)."),
		Published:  counter("published_total", "Priced usage records published for the aggregator."),
		CostMicros: counter("cost_micros_total", "Micro-dollars of the usage records written."),
	}
}

// Accountant prices batches of usage events, stores their records and
// publishes them. It is safe for concurrent use.
type Accountant struct {
	usage       convertor.UsageStore
	prices      convertor.PriceStore
	pub         message.Publisher
	pricedTopic string
	log         *slog.Logger
	m           *Metrics
	concurrency int
	transact    bool
	refresh     time.Duration

	mu       sync.Mutex
	table    *convertor.PriceTable // a.mu must be held
	loadedAt time.Time             // a.mu must be held
}

// Options tunes an Accountant; zero fields take the defaults of Config.
type Options struct {
	WriteConcurrency int
	// TransactWrites writes each batch in one request when the store
	// can (see Config.TransactWrites).
	TransactWrites bool
	PriceRefresh   time.Duration
	Log            *slog.Logger
	Metrics        *Metrics
}

// New returns an Accountant writing to usage, pricing from prices and
// publishing priced records on pricedTopic of pub.
func New(usage convertor.UsageStore, prices convertor.PriceStore, pub message.Publisher, pricedTopic string, opts Options) *Accountant {
	if usage == nil || prices == nil || pub == nil || pricedTopic == "" {
		panic("accountant: New needs stores, a publisher and a topic")
	}
	a := &Accountant{
		usage: usage, prices: prices, pub: pub, pricedTopic: pricedTopic,
		log: opts.Log, m: opts.Metrics, concurrency: opts.WriteConcurrency, transact: opts.TransactWrites, refresh: opts.PriceRefresh,
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.m == nil {
		a.m = NewMetrics(nil)
	}
	if a.concurrency <= 0 {
		a.concurrency = DefaultWriteConcurrency
	}
	if a.refresh <= 0 {
		a.refresh = DefaultPriceRefresh
	}
	return a
}

// priceTable returns the cached price table, reloading it when older than
// a.refresh. A failed reload keeps the old table (prices rarely change; the
// store being down shows up on the writes anyway); without any table it is
// an error, since pricing everything as unpriced would be wrong.
func (a *Accountant) priceTable(ctx context.Context) (*convertor.PriceTable, error) {
	return a.loadPrices(ctx, a.refresh)
}

// unpricedReload is how old the price table must be before an event it
// cannot price makes it reload: a price just added then prices the event
// at once, while a model that truly has no price costs a reload only
// this often.
const unpricedReload = 5 * time.Second

// loadPrices returns the cached price table, reloading it when older than
// maxAge.
func (a *Accountant) loadPrices(ctx context.Context, maxAge time.Duration) (*convertor.PriceTable, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.table != nil && time.Since(a.loadedAt) < maxAge {
		return a.table, nil
	}
	ps, err := a.prices.Prices(ctx)
	if err != nil {
		if a.table != nil {
			a.log.Warn("reload prices failed; pricing with the previous table", "error", err)
			return a.table, nil
		}
		return nil, fmt.Errorf("load prices: %w", err)
	}
	a.table, a.loadedAt = convertor.NewPriceTable(ps), time.Now()
	return a.table, nil
}

// Handle prices evs, writes one record per distinct event id and then
// publishes every record; it returns nil only when all are stored and
// published, so the caller may ack the batch. Records that exist already
// (a redelivery) are not rewritten but are published again, because the
// first delivery may have died between its write and its publish; the
// aggregator applies each id once.
func (a *Accountant) Handle(ctx context.Context, evs []*convertor.UsageEvent) error {
	pt, err := a.priceTable(ctx)
	if err != nil {
		return err
	}
	recs := priceBatch(pt, evs)
	if slices.ContainsFunc(recs, func(r *convertor.UsageRecord) bool { return r.Unpriced }) {
		// A price added since the last load must not miss these events.
		if fresh, err := a.loadPrices(ctx, unpricedReload); err == nil && fresh != pt {
			recs = priceBatch(fresh, evs)
		}
	}
	if err := a.write(ctx, recs); err != nil {
		return err
	}
	msgs := make([]*message.Message, len(recs))
	for i, r := range recs {
		if msgs[i], err = events.NewRecordMessage(r); err != nil {
			return fmt.Errorf("publish record: %w", err)
		}
	}
	if err := a.pub.Publish(a.pricedTopic, msgs...); err != nil {
		return fmt.Errorf("publish %d records: %w", len(msgs), err)
	}
	a.m.Published.Add(float64(len(msgs)))
	return nil
}

// priceBatch prices each distinct event of evs once.
func priceBatch(pt *convertor.PriceTable, evs []*convertor.UsageEvent) []*convertor.UsageRecord {
	seen := make(map[string]bool, len(evs))
	recs := make([]*convertor.UsageRecord, 0, len(evs))
	for _, ev := range evs {
		if seen[ev.ID] {
			continue
		}
		seen[ev.ID] = true
		recs = append(recs, pt.Record(ev))
	}
	return recs
}

// batchPutter is a UsageStore that writes many records per request
// (dynamo.UsageStore, through TransactWriteItems).
type batchPutter interface {
	PutUsages(ctx context.Context, recs []*convertor.UsageRecord) (stored []bool, err error)
}

// write stores recs: in one batch call when a.transact and the store has
// one, else with at most a.concurrency puts in flight, returning the first
// failure after all have finished.
func (a *Accountant) write(ctx context.Context, recs []*convertor.UsageRecord) error {
	if bp, ok := a.usage.(batchPutter); ok && a.transact {
		stored, err := bp.PutUsages(ctx, recs)
		if err != nil {
			return fmt.Errorf("write %d records: %w", len(recs), err)
		}
		for i, r := range recs {
			a.count(r, stored[i])
		}
		return nil
	}
	sem := make(chan struct{}, a.concurrency)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, r := range recs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			stored, err := a.usage.PutUsage(ctx, r)
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			a.count(r, stored)
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("write %d of %d records failed: %w", len(errs), len(recs), errs[0])
	}
	return nil
}

func (a *Accountant) count(r *convertor.UsageRecord, stored bool) {
	if !stored {
		a.m.Duplicates.Inc()
		return
	}
	a.m.Stored.Inc()
	a.m.CostMicros.Add(float64(r.CostMicros))
	if r.Unpriced {
		a.m.Unpriced.Inc()
		a.log.Error("usage record stored without a price; add one and run replay --reprice",
			"event_id", r.ID, "model", r.Model, "bedrock_model_id", r.BedrockModelID, "time", r.Time)
	}
}

// Deps are the stores the accountant works with.
type Deps struct {
	// Usage receives one record per event.
	Usage convertor.UsageStore
	// Prices is the pricing table.
	Prices convertor.PriceStore
}

// Run serves the accountant until ctx ends: it seeds the default prices
// (when cfg.SeedPrices), then consumes usage events in batches, each
// written and published before it is acked. When ctx ends it returns nil
// after the batch in hand, whose messages are redelivered if unfinished.
func Run(ctx context.Context, cfg Config, deps Deps, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if deps.Usage == nil || deps.Prices == nil {
		return errors.New("accountant: Deps.Usage and Deps.Prices are required")
	}
	if cfg.SeedPrices {
		added, err := SeedPrices(ctx, deps.Prices)
		if err != nil {
			return err
		}
		if added > 0 {
			log.Info("default prices seeded", "prices", added)
		}
	}

	reg := metricsserver.NewRegistry()
	em := events.NewMetrics(reg)
	stopMetrics, err := metricsserver.Serve(cfg.MetricsAddr, reg, log, em.Ready)
	if err != nil {
		return err
	}
	defer stopMetrics()

	priced := events.PricedConfig(cfg.Events)
	pricedPub, err := events.NewPublisher(ctx, priced, log)
	if err != nil {
		return fmt.Errorf("priced publisher: %w", err)
	}
	defer pricedPub.Close()
	dlPub, err := events.NewPublisher(ctx, cfg.Events, log)
	if err != nil {
		return fmt.Errorf("dead-letter publisher: %w", err)
	}
	defer dlPub.Close()
	sub, err := events.NewSubscriber(ctx, cfg.Events, cfg.ConsumerName, log)
	if err != nil {
		return fmt.Errorf("subscriber: %w", err)
	}
	defer sub.Close()

	a := New(deps.Usage, deps.Prices, pricedPub, priced.Topic, Options{
		WriteConcurrency: cfg.WriteConcurrency,
		TransactWrites:   cfg.TransactWrites,
		PriceRefresh:     cfg.PriceRefresh,
		Log:              log,
		Metrics:          NewMetrics(reg),
	})
	cfg.Events.WarnInFlight(log, cfg.BatchSize, cfg.Concurrency)
	log.Info("accountant consuming", "topic", cfg.Events.Topic, "consumer", cfg.ConsumerName, "priced_topic", priced.Topic)
	// The handler's context is not ctx: a shutdown lets the batch in hand
	// finish its writes and publish instead of failing them half-way.
	handlerCtx := context.WithoutCancel(ctx)
	err = events.Consume(ctx, sub, cfg.Events.Topic, func(_ context.Context, evs []*convertor.UsageEvent) error {
		return a.Handle(handlerCtx, evs)
	}, events.ConsumeOptions{
		BatchSize:   cfg.BatchSize,
		BatchWait:   cfg.BatchWait,
		Concurrency: cfg.Concurrency,
		DeadLetter:  events.NewDeadLetter(dlPub, cfg.Events.DeadLetterTopic),
		Log:         log,
		Metrics:     em,
	})
	if err != nil {
		return fmt.Errorf("accountant: %w", err)
	}
	log.Info("accountant stopped")
	return nil
}
