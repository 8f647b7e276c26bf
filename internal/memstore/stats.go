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

// StatsStore is an in-memory convertor.StatsStore, safe for concurrent
// use. One mutex makes each ApplyUsage and ReplaceRollups atomic, which
// gives the same guarantees as the DynamoDB store's transactions.
type StatsStore struct {
	mu      sync.Mutex
	applied map[string]bool                           // record ids; s.mu must be held
	rows    map[convertor.RollupKey]*convertor.Rollup // hour and day; s.mu must be held
	months  map[convertor.RollupKey]*convertor.Rollup // key × month; s.mu must be held
}

// NewStatsStore returns an empty store.
func NewStatsStore() *StatsStore {
	return &StatsStore{
		applied: make(map[string]bool),
		rows:    make(map[convertor.RollupKey]*convertor.Rollup),
		months:  make(map[convertor.RollupKey]*convertor.Rollup),
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
		for _, k := range r.RollupKeys() {
			s.addRow(k, d)
		}
	}
	return n, nil
}

func validateStatsRecords(recs []*convertor.UsageRecord) error {
	for _, r := range recs {
		if err := r.ValidateForRollups(); err != nil {
			return err
		}
	}
	return nil
}

// addRow adds d to row k, creating it. s.mu must be held.
func (s *StatsStore) addRow(k convertor.RollupKey, d convertor.Rollup) {
	m := s.rows
	if k.Period == convertor.PeriodMonth {
		m = s.months
	}
	row := m[k]
	if row == nil {
		r := k.Rollup()
		row = &r
		m[k] = row
	}
	row.Add(d)
}

// Rollups returns the rows matching f, oldest first, then by key and
// model; rows whose counts are all zero are left out. Without a key it
// returns every key's rows except the AllKeys totals, at once (nothing
// here lags). Returns EInvalid for a filter f.Validate refuses, as the
// DynamoDB store does.
func (s *StatsStore) Rollups(ctx context.Context, f convertor.RollupFilter) ([]convertor.Rollup, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	var out []convertor.Rollup
	rows := s.rows
	if f.Period == convertor.PeriodMonth {
		rows = s.months
	}
	for k, r := range rows {
		switch {
		case k.Period != f.Period,
			f.KeyID == "" && k.KeyID == convertor.AllKeys,
			f.KeyID != "" && k.KeyID != f.KeyID,
			f.Model != "" && k.Model != f.Model,
			k.Start.Before(f.From),
			!f.To.IsZero() && !k.Start.Before(f.To),
			r.SameCounts(convertor.Rollup{}):
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
	if row := s.months[convertor.MonthSpendKey(keyID, t)]; row != nil {
		return row.CostMicros, nil
	}
	return 0, nil
}

// ReplaceRollups rewrites from recs alone the key hour and day rows of the
// keys recs name, for the periods lying wholly inside [from, to), as the
// DynamoDB store does: every-key hour and day rows and month spends change
// by the difference, rows recs no longer produce are removed, applied ids
// stay. Returns EInvalid if from is not before to or a record is invalid.
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
	want := make(map[convertor.RollupKey]*convertor.Rollup)
	keys := make(map[string]bool)
	for _, r := range in {
		keys[r.KeyID] = true
		d := r.Delta()
		rowKeys := r.RollupKeys()
		for _, k := range rowKeys[:2] { // key hour and day rows
			if !k.Within(from, to) {
				continue
			}
			row := want[k]
			if row == nil {
				empty := k.Rollup()
				row = &empty
				want[k] = row
			}
			row.Add(d)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, old := range s.rows {
		if keys[k.KeyID] && k.KeyID != convertor.AllKeys && k.Within(from, to) {
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
// rows of its Totals by the difference. s.mu must be held.
func (s *StatsStore) replaceRow(k convertor.RollupKey, old, want *convertor.Rollup) {
	var d convertor.Rollup
	if want != nil {
		d.Add(*want)
		s.rows[k] = want
	} else {
		delete(s.rows, k)
	}
	if old != nil {
		d.Sub(*old)
	}
	for _, t := range k.Totals() {
		s.addRow(t, d)
	}
}
