// Package replay re-prices a period's stored usage records, rebuilds its
// roll-ups from them and produces a per-key, per-model billing report. It
// is idempotent, so a run that was interrupted is completed by running it
// again, and two runs give the same records, roll-ups and report.
package replay

import (
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openai-api-convertor/convertor"
)

// DefaultProgressEvery is how often progress is written.
const DefaultProgressEvery = time.Second

// Options says what to replay and where.
type Options struct {
	// From and To bound the period [From, To) of event times.
	From, To time.Time
	// KeyID narrows re-pricing and the report to one key; roll-ups are
	// still rebuilt from every key's records, because the per-model totals
	// over all keys depend on them all.
	KeyID string
	// Reprice prices every record with the newest price of its model and
	// route instead of the price in effect at its time. Without it, a
	// record that an earlier Reprice priced with a price dated after the
	// record keeps that price: a plain replay (to rebuild roll-ups, say)
	// must not silently undo a re-pricing.
	Reprice bool
	// AtEventTime prices every record with the price in effect at its
	// time, also a record an earlier Reprice priced with a newer price:
	// the explicit way back from a re-pricing.
	AtEventTime bool
	// DryRun prices the records and reports what would change, writing
	// nothing: neither records nor roll-ups.
	DryRun bool
	// ExtraPrices are priced with as if they were in the pricing table, for
	// a dry run that previews a price before it is added.
	ExtraPrices []convertor.Price

	Usage  convertor.UsageStore
	Prices convertor.PriceStore
	Stats  convertor.StatsStore

	// Progress receives a line every ProgressEvery (nil: none).
	Progress      io.Writer
	ProgressEvery time.Duration
}

// Line is one row of the billing report: a key × model over the period,
// counted as its roll-ups are (convertor.UsageRecord.Delta).
type Line struct {
	KeyID            string
	Model            string
	Requests         int64
	Errors           int64
	InputTokens      int64
	OutputTokens     int64
	CacheReadTokens  int64
	CacheWriteTokens int64
	// CacheWrite1hTokens are the cache writes of CacheWriteTokens made
	// with a 1-hour TTL, priced higher.
	CacheWrite1hTokens int64
	// Unpriced counts the records no price matched (cost 0), Estimated
	// those whose tokens were estimated because Bedrock's count never
	// came (a stream its client left).
	Unpriced, Estimated int64
	// Rates names the prices the line's records were priced with, each
	// as "<effective date> <route, * for any> <tier>", sorted.
	Rates []string
	// CostMicros is the cost after the replay, CostBeforeMicros what the
	// records held before it; Repriced counts the records whose cost
	// changed.
	CostMicros       int64
	CostBeforeMicros int64
	Repriced         int64
}

// Report is what a replay found and did.
type Report struct {
	// Lines are ordered by key and model.
	Lines []Line
	// Records is how many records of the period (and key) were read,
	// Repriced how many of them changed cost, Unpriced how many still have
	// no price.
	Records, Repriced, Unpriced int
}

// Run replays [o.From, o.To). Roll-ups are rebuilt one UTC day at a time
// over whole days (a partial first or last day is read whole, so its day
// roll-up stays right), and only after that day's records are re-priced:
// an interruption leaves every finished day consistent, and running again
// redoes the rest. Returns EInvalid for an empty period.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Reprice && o.AtEventTime {
		return nil, convertor.Errorf(convertor.EInvalid, "reprice and at-event-time exclude each other")
	}
	if !o.From.Before(o.To) {
		return nil, convertor.Errorf(convertor.EInvalid, "from %s is not before to %s", o.From.Format(time.RFC3339), o.To.Format(time.RFC3339))
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = DefaultProgressEvery
	}
	prices, err := o.Prices.Prices(ctx)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	prices = append(prices, o.ExtraPrices...)
	r := &runner{o: o, pt: convertor.NewPriceTable(prices), lines: make(map[[2]string]*line), lastProgress: time.Now()}
	for day := convertor.PeriodStart(o.From, convertor.PeriodDay); day.Before(o.To); day = convertor.NextPeriod(day, convertor.PeriodDay) {
		if err := r.day(ctx, day); err != nil {
			return nil, err
		}
	}
	r.progress(true)
	return r.report(), nil
}

// runner is the state of one Run; not safe for concurrent use.
type runner struct {
	o  Options
	pt *convertor.PriceTable
	// lines sums the report's lines by key id and model.
	lines map[[2]string]*line

	records, repriced, unpriced int
	lastProgress                time.Time
	position                    time.Time // the event time reached
}

// line is a report line being summed: its roll-up counts (Period and
// Start unset), the cost before the replay and how many records changed.
type line struct {
	convertor.Rollup
	before, repriced             int64
	write1h, unpriced, estimated int64
	rates                        map[string]bool
}

// day re-prices the records of [day, day+24h) that lie in the period and
// match the key, then rebuilds that day's roll-ups from all its records.
// A dry run reads only the selected key's records and rebuilds nothing.
func (r *runner) day(ctx context.Context, day time.Time) error {
	end := convertor.NextPeriod(day, convertor.PeriodDay)
	var recs []*convertor.UsageRecord
	key := ""
	if r.o.DryRun {
		key = r.o.KeyID
	}
	err := r.o.Usage.Usage(ctx, day, end, key, func(page []*convertor.UsageRecord) error {
		for _, rec := range page {
			if r.selected(rec) {
				before := rec.CostMicros
				changed, rate, err := r.reprice(ctx, rec)
				if err != nil {
					return err
				}
				r.add(rec, before, changed, rate)
			}
			if !r.o.DryRun {
				recs = append(recs, rec)
			}
			r.position = rec.Time
		}
		r.progress(false)
		return ctx.Err()
	})
	if err != nil {
		return fmt.Errorf("replay %s: %w", day.Format(time.DateOnly), err)
	}
	if r.o.DryRun {
		r.position = end
		return nil
	}
	if err := r.o.Stats.ReplaceRollups(ctx, day, end, recs); err != nil {
		return fmt.Errorf("replay %s: rebuild roll-ups: %w", day.Format(time.DateOnly), err)
	}
	r.position = end
	return nil
}

func (r *runner) selected(rec *convertor.UsageRecord) bool {
	return !rec.Time.Before(r.o.From) && rec.Time.Before(r.o.To) && (r.o.KeyID == "" || rec.KeyID == r.o.KeyID)
}

// reprice prices rec again and, when the cost changed, stores the new one
// (unless dry) and updates rec, so the roll-ups are built from what is
// stored. It reports whether the cost changed, and the rate it used
// ("" when none).
func (r *runner) reprice(ctx context.Context, rec *convertor.UsageRecord) (changed bool, rate string, err error) {
	at := rec.Time
	switch {
	case r.o.Reprice:
		at = convertor.Latest
	case !r.o.AtEventTime && rec.PriceFrom.After(rec.Time):
		// An earlier --reprice priced it with a newer price: pricing at
		// PriceFrom finds that price again, so the record keeps it.
		at = rec.PriceFrom
	}
	nr := r.pt.RecordAt(&rec.UsageEvent, at)
	if p, ok := r.pt.PriceFor(&rec.UsageEvent, at); ok && !nr.PriceFrom.IsZero() {
		rate = p.EffectiveFrom.UTC().Format(time.DateOnly) + " " + cmp.Or(p.Route, "*") + " " + p.TierName(&rec.UsageEvent)
	}
	r.records++
	if nr.Unpriced {
		r.unpriced++
	}
	if nr.CostMicros == rec.CostMicros && nr.PriceFrom.Equal(rec.PriceFrom) && nr.Unpriced == rec.Unpriced {
		return false, rate, nil
	}
	if !r.o.DryRun {
		if err := r.o.Usage.RepriceUsage(ctx, nr); err != nil {
			return false, "", err
		}
	}
	changed = nr.CostMicros != rec.CostMicros
	rec.CostMicros, rec.PriceFrom, rec.Unpriced = nr.CostMicros, nr.PriceFrom, nr.Unpriced
	r.repriced++
	return changed, rate, nil
}

func (r *runner) add(rec *convertor.UsageRecord, before int64, changed bool, rate string) {
	k := [2]string{rec.KeyID, rec.Model}
	l := r.lines[k]
	if l == nil {
		l = &line{Rollup: convertor.Rollup{KeyID: rec.KeyID, Model: rec.Model}, rates: map[string]bool{}}
		r.lines[k] = l
	}
	l.write1h += rec.CacheWrite1hTokens
	if rec.Unpriced {
		l.unpriced++
	}
	if rec.Estimated {
		l.estimated++
	}
	if rate != "" {
		l.rates[rate] = true
	}
	// The report counts what the roll-ups count.
	l.Add(rec.Delta())
	l.before += before
	if changed {
		l.repriced++
	}
}

// progress writes a line when ProgressEvery has passed, or always when final.
func (r *runner) progress(final bool) {
	if r.o.Progress == nil || (!final && time.Since(r.lastProgress) < r.o.ProgressEvery) {
		return
	}
	r.lastProgress = time.Now()
	span := r.o.To.Sub(r.o.From)
	done := min(max(r.position.Sub(r.o.From), 0), span)
	pct := float64(done) / float64(span) * 100
	if final {
		pct = 100
	}
	fmt.Fprintf(r.o.Progress, "replay: %d records read, %d repriced, %.1f%% of the period\n", r.records, r.repriced, pct)
}

func (r *runner) report() *Report {
	rep := &Report{Records: r.records, Repriced: r.repriced, Unpriced: r.unpriced}
	for _, l := range r.lines {
		rep.Lines = append(rep.Lines, Line{
			KeyID: l.KeyID, Model: l.Model,
			Requests: l.Requests, Errors: l.Errors,
			InputTokens: l.InputTokens, OutputTokens: l.OutputTokens,
			CacheReadTokens: l.CacheReadTokens, CacheWriteTokens: l.CacheWriteTokens,
			CacheWrite1hTokens: l.write1h, Unpriced: l.unpriced, Estimated: l.estimated,
			Rates:      slices.Sorted(maps.Keys(l.rates)),
			CostMicros: l.CostMicros, CostBeforeMicros: l.before, Repriced: l.repriced,
		})
	}
	slices.SortFunc(rep.Lines, func(a, b Line) int {
		return cmp.Or(cmp.Compare(a.KeyID, b.KeyID), cmp.Compare(a.Model, b.Model))
	})
	return rep
}

// csvHeader is the billing report's header row.
var csvHeader = []string{
	"key_id", "model", "requests", "errors", "input_tokens", "output_tokens",
	"cache_read_tokens", "cache_write_tokens", "cost_micros", "cost_usd",
	"cache_write_1h_tokens", "unpriced_requests", "estimated_requests", "rates",
}

// WriteCSV writes the report as CSV, one row per key and model, with the
// cost in micro-dollars and in dollars with exactly six decimals.
func (rep *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	for _, l := range rep.Lines {
		row := []string{
			l.KeyID, l.Model,
			strconv.FormatInt(l.Requests, 10), strconv.FormatInt(l.Errors, 10),
			strconv.FormatInt(l.InputTokens, 10), strconv.FormatInt(l.OutputTokens, 10),
			strconv.FormatInt(l.CacheReadTokens, 10), strconv.FormatInt(l.CacheWriteTokens, 10),
			strconv.FormatInt(l.CostMicros, 10), USD(l.CostMicros),
			// New columns go last, so readers of the older columns by
			// position keep working.
			strconv.FormatInt(l.CacheWrite1hTokens, 10),
			strconv.FormatInt(l.Unpriced, 10), strconv.FormatInt(l.Estimated, 10),
			strings.Join(l.Rates, "; "),
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// USD formats micro-dollars as dollars with exactly six decimals, by
// integer arithmetic: 1234567 → "1.234567", -5 → "-0.000005".
func USD(micros int64) string {
	sign := ""
	u := uint64(micros)
	if micros < 0 {
		sign, u = "-", uint64(-(micros+1))+1 // no overflow at MinInt64
	}
	return fmt.Sprintf("%s%d.%06d", sign, u/1_000_000, u%1_000_000)
}
