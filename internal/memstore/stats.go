package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/openai-api-convertor/convertor"
)

var _ convertor.StatsStore = (*StatsStore)(nil)

// statsMaxPartitions mirrors the DynamoDB store's limit on a query over
// every key, so both refuse the same filters.
const statsMaxPartitions = 10_000

// statsKey identifies a roll-up row; Period "month" marks a month-spend row.
type statsKey struct {
	period, keyID, model string
	start                time.Time
}

// StatsStore is an in-memory convertor.StatsStore, safe for concurrent
// use. One mutex makes each ApplyUsage and ReplaceRollups atomic, which
// gives the same guarantees as the DynamoDB store's transactions.
type StatsStore struct {
	mu      sync.Mutex
	applied map[string]bool                // record ids; s.mu must be held
	rows    map[statsKey]*convertor.Rollup // s.mu must be held
	months  map[statsKey]*convertor.Rollup // key × month; s.mu must be held
}

// NewStatsStore returns an empty store.
func NewStatsStore() *StatsStore {
	return &StatsStore{
		applied: make(map[string]bool),
		rows:    make(map[statsKey]*convertor.Rollup),
		months:  make(map[statsKey]*convertor.Rollup),
	}
}

// ApplyUsage adds each record not applied before to its rows. Returns
// EInvalid for an invalid record, in which case nothing is applied.
func (s *StatsStore) ApplyUsage(ctx context.Context, recs []*convertor.UsageRecord) (int, error) {
	if err := validateStatsRecords(recs); err != nil {
		return 0, fmt.Errorf("apply usage: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range recs {
		if s.applied[r.ID] {
			continue
		}
		s.applied[r.ID] = true
		n++
		d := r.Delta()
		for _, k := range statsRowKeys(r) {
			s.addRow(k, d, 1)
		}
	}
	return n, nil
}

func validateStatsRecords(recs []*convertor.UsageRecord) error {
	for _, r := range recs {
		if r == nil {
			return convertor.Errorf(convertor.EInvalid, "nil record")
		}
		if err := r.Validate(); err != nil {
			return err
		}
		if r.CostMicros < 0 {
			return convertor.Errorf(convertor.EInvalid, "record %s: negative cost", r.ID)
		}
	}
	return nil
}

// statsRowKeys returns a record's key hour and day rows, its every-key day
// row and its key's month row.
func statsRowKeys(r *convertor.UsageRecord) [4]statsKey {
	t := r.Time.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return [4]statsKey{
		{convertor.PeriodHour, r.KeyID, r.Model, t.Truncate(time.Hour)},
		{convertor.PeriodDay, r.KeyID, r.Model, day},
		{convertor.PeriodDay, convertor.AllKeys, r.Model, day},
		statsMonthKey(r.KeyID, t),
	}
}

func statsMonthKey(keyID string, t time.Time) statsKey {
	t = t.UTC()
	return statsKey{"month", keyID, "", time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)}
}

func statsAdd(dst *convertor.Rollup, d convertor.Rollup, sign int64) {
	dst.Requests += sign * d.Requests
	dst.Errors += sign * d.Errors
	dst.InputTokens += sign * d.InputTokens
	dst.OutputTokens += sign * d.OutputTokens
	dst.CacheReadTokens += sign * d.CacheReadTokens
	dst.CacheWriteTokens += sign * d.CacheWriteTokens
	dst.CostMicros += sign * d.CostMicros
}

// addRow adds sign × d to row k, creating it. s.mu must be held.
func (s *StatsStore) addRow(k statsKey, d convertor.Rollup, sign int64) {
	m := s.rows
	if k.period == "month" {
		m = s.months
	}
	row := m[k]
	if row == nil {
		row = &convertor.Rollup{KeyID: k.keyID, Model: k.model, Period: k.period, Start: k.start}
		m[k] = row
	}
	statsAdd(row, d, sign)
}

// Rollups returns the rows matching f, oldest first, then by key and
// model; rows whose counts are all zero are left out. Without a key it
// returns every key's rows except the AllKeys totals. Returns EInvalid as
// the DynamoDB store does.
func (s *StatsStore) Rollups(ctx context.Context, f convertor.RollupFilter) ([]convertor.Rollup, error) {
	if f.Period != convertor.PeriodHour && f.Period != convertor.PeriodDay {
		return nil, convertor.Errorf(convertor.EInvalid, "roll-up period %q: want %q or %q", f.Period, convertor.PeriodHour, convertor.PeriodDay)
	}
	if f.KeyID == "" {
		if f.From.IsZero() || f.To.IsZero() {
			return nil, convertor.Errorf(convertor.EInvalid, "roll-ups of every key need a time range")
		}
		step := time.Hour
		if f.Period == convertor.PeriodDay {
			step = 24 * time.Hour
		}
		if n := f.To.Sub(f.From) / step; n > statsMaxPartitions {
			return nil, convertor.Errorf(convertor.EInvalid, "roll-ups of every key over %d %ss: name a key or narrow the range to %d", n, f.Period, statsMaxPartitions)
		}
	}
	s.mu.Lock()
	var out []convertor.Rollup
	for k, r := range s.rows {
		switch {
		case k.period != f.Period,
			f.KeyID == "" && k.keyID == convertor.AllKeys,
			f.KeyID != "" && k.keyID != f.KeyID,
			f.Model != "" && k.model != f.Model,
			k.start.Before(f.From),
			!f.To.IsZero() && !k.start.Before(f.To),
			*r == (convertor.Rollup{KeyID: r.KeyID, Model: r.Model, Period: r.Period, Start: r.Start}):
			continue
		}
		out = append(out, *r)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b convertor.Rollup) int {
		return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.KeyID, b.KeyID), cmp.Compare(a.Model, b.Model))
	})
	return out, nil
}

// MonthSpend returns the key's spend in the UTC calendar month of t.
func (s *StatsStore) MonthSpend(ctx context.Context, keyID string, t time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if row := s.months[statsMonthKey(keyID, t)]; row != nil {
		return row.CostMicros, nil
	}
	return 0, nil
}

// ReplaceRollups rewrites from recs alone the key hour and day rows of the
// keys recs name, for the periods lying wholly inside [from, to), as the
// DynamoDB store does: every-key day rows and month spends change by the
// difference, rows recs no longer produce are removed, applied ids stay.
// Returns EInvalid if from is not before to or a record is invalid.
func (s *StatsStore) ReplaceRollups(ctx context.Context, from, to time.Time, recs []*convertor.UsageRecord) error {
	if !from.Before(to) {
		return convertor.Errorf(convertor.EInvalid, "replace roll-ups: from %s is not before to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	var in []*convertor.UsageRecord
	seen := make(map[string]bool)
	for _, r := range recs {
		if r == nil || r.Time.Before(from) || !r.Time.Before(to) || seen[r.ID] {
			continue
		}
		seen[r.ID] = true
		in = append(in, r)
	}
	if err := validateStatsRecords(in); err != nil {
		return fmt.Errorf("replace roll-ups: %w", err)
	}
	covered := func(k statsKey) bool {
		lo, hi := statsCovered(from, to, k.period)
		return !k.start.Before(lo) && k.start.Before(hi)
	}
	want := make(map[statsKey]*convertor.Rollup)
	keys := make(map[string]bool)
	for _, r := range in {
		keys[r.KeyID] = true
		d := r.Delta()
		rowKeys := statsRowKeys(r)
		for _, k := range rowKeys[:2] { // key hour and day rows
			if !covered(k) {
				continue
			}
			row := want[k]
			if row == nil {
				row = &convertor.Rollup{KeyID: k.keyID, Model: k.model, Period: k.period, Start: k.start}
				want[k] = row
			}
			statsAdd(row, d, 1)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, old := range s.rows {
		if keys[k.keyID] && k.keyID != convertor.AllKeys && covered(k) {
			if _, ok := want[k]; !ok {
				s.replaceRow(k, old, nil)
			}
		}
	}
	for k, row := range want {
		s.replaceRow(k, s.rows[k], row)
	}
	return nil
}

// replaceRow sets key row k from old to want (nil removes it), moving the
// every-key day row and the month by the difference. s.mu must be held.
func (s *StatsStore) replaceRow(k statsKey, old, want *convertor.Rollup) {
	var d convertor.Rollup
	if want != nil {
		statsAdd(&d, *want, 1)
		s.rows[k] = want
	} else {
		delete(s.rows, k)
	}
	if old != nil {
		statsAdd(&d, *old, -1)
	}
	if k.period == convertor.PeriodDay {
		s.addRow(statsKey{convertor.PeriodDay, convertor.AllKeys, k.model, k.start}, d, 1)
		s.addRow(statsMonthKey(k.keyID, k.start), d, 1)
	}
}

// statsCovered returns the starts [lo, hi) of the periods lying wholly
// inside [from, to).
func statsCovered(from, to time.Time, period string) (lo, hi time.Time) {
	start := func(t time.Time) time.Time {
		t = t.UTC()
		if period == convertor.PeriodDay {
			return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		}
		return t.Truncate(time.Hour)
	}
	lo = start(from)
	if lo.Before(from) {
		if period == convertor.PeriodDay {
			lo = lo.AddDate(0, 0, 1)
		} else {
			lo = lo.Add(time.Hour)
		}
	}
	hi = start(to)
	if hi.Before(lo) {
		hi = lo
	}
	return lo, hi
}
