package storetest

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor"
)

// StatsStore runs the StatsStore contract on stores from newStore, which
// gives each parallel subtest an empty store of its own.
func StatsStore(t *testing.T, newStore func(t *testing.T) convertor.StatsStore) {
	ctx := context.Background()

	t.Run("HandComputed", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		at := func(h, m int) time.Time { return time.Date(2026, 3, 31, h, m, 0, 0, time.UTC) }
		recs := []*convertor.UsageRecord{
			NewRecord("r1", "key_a", "claude-haiku-4-5", at(10, 5), convertor.UsageOK, 100, 20, 5, 0, 1_000),
			NewRecord("r2", "key_a", "claude-haiku-4-5", at(10, 55), convertor.UsageError, 7, 0, 0, 3, 40),
			NewRecord("r3", "key_a", "claude-haiku-4-5", at(11, 0), convertor.UsageCanceled, 1, 2, 0, 0, 9),
			NewRecord("r4", "key_b", "claude-haiku-4-5", at(23, 59), convertor.UsageRefused, 0, 0, 0, 0, 0),
			NewRecord("r5", "key_a", "claude-sonnet-4-5", time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), convertor.UsageOK, 10, 10, 0, 0, 500),
		}
		mustApply(t, s, recs, 5)

		day := time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)
		april := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
		wantRollups(t, s, convertor.RollupFilter{Period: convertor.PeriodHour, KeyID: "key_a", From: day, To: april.AddDate(0, 0, 1)}, []convertor.Rollup{
			{KeyID: "key_a", Model: "claude-haiku-4-5", Period: "hour", Start: at(10, 0), Requests: 2, Errors: 1, InputTokens: 107, OutputTokens: 20, CacheReadTokens: 5, CacheWriteTokens: 3, CostMicros: 1_040},
			{KeyID: "key_a", Model: "claude-haiku-4-5", Period: "hour", Start: at(11, 0), Requests: 1, InputTokens: 1, OutputTokens: 2, CostMicros: 9},
			{KeyID: "key_a", Model: "claude-sonnet-4-5", Period: "hour", Start: april, Requests: 1, InputTokens: 10, OutputTokens: 10, CostMicros: 500},
		})
		wantRollups(t, s, convertor.RollupFilter{Period: convertor.PeriodDay, KeyID: convertor.AllKeys, From: day, To: april.AddDate(0, 0, 1)}, []convertor.Rollup{
			{KeyID: "*", Model: "claude-haiku-4-5", Period: "day", Start: day, Requests: 4, Errors: 2, InputTokens: 108, OutputTokens: 22, CacheReadTokens: 5, CacheWriteTokens: 3, CostMicros: 1_049},
			{KeyID: "*", Model: "claude-sonnet-4-5", Period: "day", Start: april, Requests: 1, InputTokens: 10, OutputTokens: 10, CostMicros: 500},
		})
		wantRollups(t, s, convertor.RollupFilter{Period: convertor.PeriodHour, KeyID: convertor.AllKeys, From: day, To: april.AddDate(0, 0, 1)}, []convertor.Rollup{
			{KeyID: "*", Model: "claude-haiku-4-5", Period: "hour", Start: at(10, 0), Requests: 2, Errors: 1, InputTokens: 107, OutputTokens: 20, CacheReadTokens: 5, CacheWriteTokens: 3, CostMicros: 1_040},
			{KeyID: "*", Model: "claude-haiku-4-5", Period: "hour", Start: at(11, 0), Requests: 1, InputTokens: 1, OutputTokens: 2, CostMicros: 9},
			{KeyID: "*", Model: "claude-haiku-4-5", Period: "hour", Start: at(23, 0), Requests: 1, Errors: 1},
			{KeyID: "*", Model: "claude-sonnet-4-5", Period: "hour", Start: april, Requests: 1, InputTokens: 10, OutputTokens: 10, CostMicros: 500},
		})
		// Every key's rows of a period, never the AllKeys ones.
		wantRollupsEventually(t, s, convertor.RollupFilter{Period: convertor.PeriodDay, From: day, To: april.AddDate(0, 0, 1)}, []convertor.Rollup{
			{KeyID: "key_a", Model: "claude-haiku-4-5", Period: "day", Start: day, Requests: 3, Errors: 1, InputTokens: 108, OutputTokens: 22, CacheReadTokens: 5, CacheWriteTokens: 3, CostMicros: 1_049},
			{KeyID: "key_b", Model: "claude-haiku-4-5", Period: "day", Start: day, Requests: 1, Errors: 1},
			{KeyID: "key_a", Model: "claude-sonnet-4-5", Period: "day", Start: april, Requests: 1, InputTokens: 10, OutputTokens: 10, CostMicros: 500},
		})
		wantRollupsEventually(t, s, convertor.RollupFilter{Period: convertor.PeriodHour, From: at(11, 0), To: april.Add(time.Hour)}, []convertor.Rollup{
			{KeyID: "key_a", Model: "claude-haiku-4-5", Period: "hour", Start: at(11, 0), Requests: 1, InputTokens: 1, OutputTokens: 2, CostMicros: 9},
			{KeyID: "key_b", Model: "claude-haiku-4-5", Period: "hour", Start: at(23, 0), Requests: 1, Errors: 1},
			{KeyID: "key_a", Model: "claude-sonnet-4-5", Period: "hour", Start: april, Requests: 1, InputTokens: 10, OutputTokens: 10, CostMicros: 500},
		})
		// Month rows: one per key and calendar month, every model together.
		march, may := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
		months := []convertor.Rollup{
			{KeyID: "key_a", Period: "month", Start: march, Requests: 3, Errors: 1, InputTokens: 108, OutputTokens: 22, CacheReadTokens: 5, CacheWriteTokens: 3, CostMicros: 1_049},
			{KeyID: "key_b", Period: "month", Start: march, Requests: 1, Errors: 1},
			{KeyID: "key_a", Period: "month", Start: april, Requests: 1, InputTokens: 10, OutputTokens: 10, CostMicros: 500},
		}
		wantRollupsEventually(t, s, convertor.RollupFilter{Period: convertor.PeriodMonth, From: march, To: may}, months)
		wantRollupsEventually(t, s, convertor.RollupFilter{Period: convertor.PeriodMonth, From: april, To: may}, months[2:])
		wantRollups(t, s, convertor.RollupFilter{Period: convertor.PeriodMonth, KeyID: "key_a", From: march, To: may}, []convertor.Rollup{months[0], months[2]})
		wantSpend(t, s, "key_a", day, 1_049)
		wantSpend(t, s, "key_a", april.Add(17*time.Hour), 500)
		wantSpend(t, s, "key_b", day, 0)
		wantSpend(t, s, "key_unknown", day, 0)
	})

	t.Run("ExactlyOnce", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		recs := Records(400, 1)
		for i := 0; i < len(recs); i += 150 {
			mustApply(t, s, recs[i:min(i+150, len(recs))], min(150, len(recs)-i))
		}
		CheckTotals(t, s, recs)

		// Redelivery of everything: nothing new.
		mustApply(t, s, recs, 0)
		// A batch of new records, each twice, shuffled among old ones.
		more := Records(60, 2)
		batch := append(append(append([]*convertor.UsageRecord{}, more...), more...), recs[:100]...)
		rand.New(rand.NewPCG(3, 4)).Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
		mustApply(t, s, batch, len(more))
		CheckTotals(t, s, append(append([]*convertor.UsageRecord{}, recs...), more...))
	})

	t.Run("Concurrent", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		recs := Records(300, 5)
		var applied atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for g := range 4 {
			wg.Go(func() {
				// Each goroutine applies three quarters of the records in
				// its own order: every record is offered three times.
				mine := make([]*convertor.UsageRecord, 0, len(recs))
				for i, r := range recs {
					if i%4 != g {
						mine = append(mine, r)
					}
				}
				rand.New(rand.NewPCG(uint64(g), 9)).Shuffle(len(mine), func(i, j int) { mine[i], mine[j] = mine[j], mine[i] })
				for i := 0; i < len(mine); i += 40 {
					n, err := s.ApplyUsage(ctx, mine[i:min(i+40, len(mine))])
					if err != nil {
						errs <- err
						return
					}
					applied.Add(int64(n))
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("ApplyUsage() error = %v", err)
		}
		if got := applied.Load(); got != int64(len(recs)) {
			t.Errorf("ApplyUsage() applied %d in all, want %d", got, len(recs))
		}
		CheckTotals(t, s, recs)
	})

	t.Run("Filters", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		recs := Records(200, 7)
		mustApply(t, s, recs, len(recs))
		want := expectRollups(recs)
		from, to := genStart.Add(5*time.Hour), genStart.Add(30*time.Hour)
		for _, f := range []convertor.RollupFilter{
			{Period: convertor.PeriodHour, KeyID: "key_1", From: from, To: to},
			{Period: convertor.PeriodHour, KeyID: "key_1", Model: "claude-haiku-4-5", From: from, To: to},
			{Period: convertor.PeriodHour, KeyID: "key_2"},
			{Period: convertor.PeriodDay, KeyID: convertor.AllKeys, From: genStart, To: genStart.AddDate(0, 0, 3)},
			{Period: convertor.PeriodDay, KeyID: convertor.AllKeys, Model: "claude-sonnet-4-5", From: from},
			{Period: convertor.PeriodHour, KeyID: convertor.AllKeys, From: from, To: to},
			{Period: convertor.PeriodHour, KeyID: convertor.AllKeys, Model: "claude-haiku-4-5"},
			{Period: convertor.PeriodHour, KeyID: "key_none", From: from, To: to},
		} {
			wantRollups(t, s, f, filterRollups(want, f))
		}
		// Every key's rows; the range need not fall on period starts.
		for _, f := range []convertor.RollupFilter{
			{Period: convertor.PeriodDay, From: genStart.AddDate(0, 0, -1), To: genStart.AddDate(0, 0, 4)},
			{Period: convertor.PeriodDay, From: genStart.Add(90 * time.Minute), To: genStart.Add(50 * time.Hour)},
			{Period: convertor.PeriodHour, From: from, To: to},
			{Period: convertor.PeriodHour, From: from.Add(-time.Minute), To: to.Add(time.Minute)},
			{Period: convertor.PeriodHour, Model: "claude-opus-4-5", From: from, To: to},
		} {
			wantRollupsEventually(t, s, f, filterRollups(want, f))
		}
		// Both stores count the periods a read over every key spans the
		// same way (RollupFilter.Validate): those starting in [From, To).
		// From a period start, MaxRollupPeriods periods and a half start
		// one period too many; from mid-period they would be allowed.
		halfHour := genStart.Add(30 * time.Minute)
		day := convertor.PeriodStart(genStart, convertor.PeriodDay)
		const most = convertor.MaxRollupPeriods
		for _, f := range []convertor.RollupFilter{
			{Period: "week", KeyID: "key_1"},
			{Period: "", KeyID: "key_1"},
			{Period: convertor.PeriodHour},
			{Period: convertor.PeriodHour, From: genStart},
			{Period: convertor.PeriodHour, From: genStart, To: genStart.AddDate(5, 0, 0)},
			{Period: convertor.PeriodHour, From: genStart, To: halfHour.Add(most * time.Hour)},
			{Period: convertor.PeriodDay, From: day, To: day.Add(most*24*time.Hour + 12*time.Hour)},
		} {
			_, err := s.Rollups(ctx, f)
			WantCode(t, fmt.Sprintf("Rollups(%+v)", f), err, convertor.EInvalid)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		good := Records(3, 11)
		bad := *good[1]
		bad.InputTokens = -1
		_, err := s.ApplyUsage(ctx, []*convertor.UsageRecord{good[0], &bad, good[2]})
		WantCode(t, "ApplyUsage(negative tokens)", err, convertor.EInvalid)
		_, err = s.ApplyUsage(ctx, []*convertor.UsageRecord{good[0], nil})
		WantCode(t, "ApplyUsage(nil)", err, convertor.EInvalid)
		for _, change := range []struct {
			what string
			set  func(r *convertor.UsageRecord)
		}{
			{"negative cost", func(r *convertor.UsageRecord) { r.CostMicros = -1 }},
			{"no key", func(r *convertor.UsageRecord) { r.KeyID = "" }},
			{"key AllKeys", func(r *convertor.UsageRecord) { r.KeyID = convertor.AllKeys }},
		} {
			bad := *good[1]
			change.set(&bad)
			_, err := s.ApplyUsage(ctx, []*convertor.UsageRecord{good[0], &bad})
			WantCode(t, "ApplyUsage("+change.what+")", err, convertor.EInvalid)
			err = s.ReplaceRollups(ctx, genStart, genStart.AddDate(0, 0, 5), []*convertor.UsageRecord{good[0], &bad})
			WantCode(t, "ReplaceRollups("+change.what+")", err, convertor.EInvalid)
		}
		CheckTotals(t, s, nil)
		for name, f := range map[string]convertor.RollupFilter{
			"week":              {Period: "week", KeyID: "key_a"},
			"month of a model":  {Period: convertor.PeriodMonth, KeyID: "key_a", Model: "claude-haiku-4-5"},
			"month of AllKeys":  {Period: convertor.PeriodMonth, KeyID: convertor.AllKeys},
			"months without to": {Period: convertor.PeriodMonth, From: genStart},
		} {
			_, err := s.Rollups(ctx, f)
			WantCode(t, "Rollups("+name+")", err, convertor.EInvalid)
		}
		mustApply(t, s, good, 3)
		err = s.ReplaceRollups(ctx, genStart, genStart, good)
		WantCode(t, "ReplaceRollups(empty range)", err, convertor.EInvalid)
		CheckTotals(t, s, good)
	})

	t.Run("ReplaceRollups", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		recs := Records(300, 13)
		// A record replay will not see (it "no longer exists"), inside
		// the replayed range, of a model nobody else used.
		gone := NewRecord("gone", "key_1", "claude-3-5-haiku", genStart.Add(26*time.Hour), convertor.UsageOK, 5, 5, 0, 0, 77)
		mustApply(t, s, append(append([]*convertor.UsageRecord{}, recs...), gone), len(recs)+1)

		// Replay days 2 and 3 of key_1 and key_2 with new prices; from
		// and to fall mid-hour, so the straddled hours stay as they are.
		from, to := genStart.Add(24*time.Hour-30*time.Minute), genStart.Add(72*time.Hour+30*time.Minute)
		var replay []*convertor.UsageRecord
		var after []*convertor.UsageRecord // what the store should hold
		for _, r := range recs {
			c := *r
			inRange := !r.Time.Before(from) && r.Time.Before(to)
			if inRange && r.KeyID != "key_3" {
				c.CostMicros = r.CostMicros*3 + 1
				replay = append(replay, &c)
			}
			after = append(after, &c)
		}
		for range 2 {
			if err := s.ReplaceRollups(ctx, from, to, replay); err != nil {
				t.Fatalf("ReplaceRollups() error = %v", err)
			}
			want := expectRollups(recs)
			// Only rows wholly inside [from, to) take the replayed values.
			replaced := expectRollups(after)
			for k, r := range replaced {
				lo, hi := from, to
				if r.KeyID != convertor.AllKeys && r.KeyID != "key_3" &&
					!r.Start.Before(lo) && !periodEnd(r).After(hi) {
					want[k] = r
				}
			}
			// key_1's "gone" day row and hour row vanish; the AllKeys
			// hour and day rows follow them, the month the day row.
			delete(want, rollupKey{"hour", "key_1", gone.Model, gone.Time.Truncate(time.Hour)})
			delete(want, rollupKey{"day", "key_1", gone.Model, convertor.PeriodStart(gone.Time, convertor.PeriodDay)})
			fixAllKeys(want)
			for _, f := range []convertor.RollupFilter{
				{Period: convertor.PeriodHour, KeyID: "key_1"},
				{Period: convertor.PeriodHour, KeyID: "key_2"},
				{Period: convertor.PeriodHour, KeyID: "key_3"},
				{Period: convertor.PeriodDay, KeyID: "key_1"},
				{Period: convertor.PeriodDay, KeyID: "key_2"},
				{Period: convertor.PeriodDay, KeyID: "key_3"},
				{Period: convertor.PeriodHour, KeyID: convertor.AllKeys},
				{Period: convertor.PeriodDay, KeyID: convertor.AllKeys},
			} {
				wantRollups(t, s, f, filterRollups(want, f))
			}
			checkEveryKey(t, s, want)
			for _, k := range []string{"key_1", "key_2", "key_3"} {
				for _, m := range []time.Time{genStart, genStart.AddDate(0, 1, 0)} {
					wantSpend(t, s, k, m, monthFromDays(want, k, m))
				}
			}
		}
		// The markers stay: the vanished record is not counted again.
		mustApply(t, s, []*convertor.UsageRecord{gone}, 0)
	})
}

// genStart is the first hour of generated records: two hours before this
// month began, so month spends split. It is recent because a store may
// let applied markers expire some time after their records' times (the
// DynamoDB store's MarkerRetention, with TTL): records older than that
// would count twice on a redelivery, as that store documents.
var genStart = func() time.Time {
	now := time.Now().UTC()
	return time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).Add(-2 * time.Hour)
}()

// Models are the models Records draws from.
var Models = []string{"claude-haiku-4-5", "claude-sonnet-4-5", "claude-opus-4-5"}

var genStatuses = []string{convertor.UsageOK, convertor.UsageOK, convertor.UsageOK, convertor.UsageError, convertor.UsageRefused, convertor.UsageCanceled}

// Records returns n valid records of 3 keys ("key_1" to "key_3") and the
// 3 Models over four days from two hours before this month began,
// reproducible from seed, with ids unique to seed.
func Records(n int, seed uint64) []*convertor.UsageRecord {
	rnd := rand.New(rand.NewPCG(seed, 42))
	out := make([]*convertor.UsageRecord, n)
	for i := range out {
		out[i] = NewRecord(
			fmt.Sprintf("r%d-%05d", seed, i),
			fmt.Sprintf("key_%d", 1+rnd.IntN(3)),
			Models[rnd.IntN(len(Models))],
			genStart.Add(time.Duration(rnd.Int64N(int64(96*time.Hour)))),
			genStatuses[rnd.IntN(len(genStatuses))],
			rnd.Int64N(5000), rnd.Int64N(2000), rnd.Int64N(3000), rnd.Int64N(100),
			rnd.Int64N(90_000),
		)
	}
	return out
}

// NewRecord returns a valid record with the given fields.
func NewRecord(id, key, model string, at time.Time, status string, in, out, cr, cw, cost int64) *convertor.UsageRecord {
	return &convertor.UsageRecord{
		UsageEvent: convertor.UsageEvent{
			Version: convertor.UsageEventVersion, ID: id, Time: at, KeyID: key, Model: model, Status: status,
			InputTokens: in, OutputTokens: out, CacheReadTokens: cr, CacheWriteTokens: cw,
		},
		CostMicros: cost,
	}
}

type rollupKey struct {
	period, keyID, model string
	start                time.Time
}

// expectRollups computes every roll-up of recs the plain way: one record at
// a time into a map.
func expectRollups(recs []*convertor.UsageRecord) map[rollupKey]convertor.Rollup {
	out := make(map[rollupKey]convertor.Rollup)
	for _, r := range recs {
		for _, k := range []rollupKey{
			{"hour", r.KeyID, r.Model, r.Time.UTC().Truncate(time.Hour)},
			{"day", r.KeyID, r.Model, convertor.PeriodStart(r.Time, convertor.PeriodDay)},
			{"hour", "*", r.Model, r.Time.UTC().Truncate(time.Hour)},
			{"day", "*", r.Model, convertor.PeriodStart(r.Time, convertor.PeriodDay)},
		} {
			row := out[k]
			row.Period, row.KeyID, row.Model, row.Start = k.period, k.keyID, k.model, k.start
			row.Requests++
			if r.Status == convertor.UsageError || r.Status == convertor.UsageRefused {
				row.Errors++
			}
			row.InputTokens += r.InputTokens
			row.OutputTokens += r.OutputTokens
			row.CacheReadTokens += r.CacheReadTokens
			row.CacheWriteTokens += r.CacheWriteTokens
			row.CostMicros += r.CostMicros
			out[k] = row
		}
	}
	return out
}

// fixAllKeys recomputes the every-key hour and day rows as sums of the
// key rows.
func fixAllKeys(rows map[rollupKey]convertor.Rollup) {
	for k := range rows {
		if k.keyID == "*" {
			delete(rows, k)
		}
	}
	maps.Copy(rows, sumKeys(rows))
}

// sumKeys returns the every-key rows of rows, key rows: their sums by
// period, model and start.
func sumKeys(rows map[rollupKey]convertor.Rollup) map[rollupKey]convertor.Rollup {
	sums := make(map[rollupKey]convertor.Rollup)
	for k, r := range rows {
		ak := rollupKey{k.period, "*", k.model, k.start}
		all := sums[ak]
		all.Period, all.KeyID, all.Model, all.Start = k.period, "*", k.model, k.start
		all.Add(r)
		sums[ak] = all
	}
	return sums
}

func periodEnd(r convertor.Rollup) time.Time {
	if r.Period == "day" {
		return r.Start.AddDate(0, 0, 1)
	}
	return r.Start.Add(time.Hour)
}

func monthFromDays(rows map[rollupKey]convertor.Rollup, keyID string, month time.Time) int64 {
	var sum int64
	for k, r := range rows {
		if k.period == "day" && k.keyID == keyID && k.start.Year() == month.Year() && k.start.Month() == month.Month() {
			sum += r.CostMicros
		}
	}
	return sum
}

// filterRollups applies f the plain way, oldest first then key and model.
func filterRollups(rows map[rollupKey]convertor.Rollup, f convertor.RollupFilter) []convertor.Rollup {
	var out []convertor.Rollup
	for k, r := range rows {
		if k.period != f.Period ||
			(f.KeyID == "" && k.keyID == "*") || (f.KeyID != "" && k.keyID != f.KeyID) ||
			(f.Model != "" && k.model != f.Model) ||
			k.start.Before(f.From) || (!f.To.IsZero() && !k.start.Before(f.To)) {
			continue
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b convertor.Rollup) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		if c := strings.Compare(a.KeyID, b.KeyID); c != 0 {
			return c
		}
		return strings.Compare(a.Model, b.Model)
	})
	return out
}

// CheckTotals compares every row and month spend of the keys Records
// draws with those computed from recs, which are records from Records.
func CheckTotals(t testing.TB, s convertor.StatsStore, recs []*convertor.UsageRecord) {
	t.Helper()
	want := expectRollups(recs)
	for _, k := range []string{"key_1", "key_2", "key_3", convertor.AllKeys} {
		for _, p := range []string{convertor.PeriodHour, convertor.PeriodDay} {
			f := convertor.RollupFilter{Period: p, KeyID: k}
			wantRollups(t, s, f, filterRollups(want, f))
		}
	}
	for _, k := range []string{"key_1", "key_2", "key_3"} {
		for _, m := range []time.Time{genStart, genStart.AddDate(0, 1, 0)} {
			wantSpend(t, s, k, m, monthFromDays(want, k, m))
		}
	}
	checkEveryKey(t, s, want)
}

// checkEveryKey reads every key's rows of the days around the generated
// records, hour and day, and compares them with want, the expected rows.
// It also compares the AllKeys rows the store holds with the sums of the
// key rows it returned, whatever want says: the store's totals must add
// up by themselves.
func checkEveryKey(t testing.TB, s convertor.StatsStore, want map[rollupKey]convertor.Rollup) {
	t.Helper()
	from, to := genStart.AddDate(0, 0, -1), genStart.AddDate(0, 0, 6)
	for _, p := range []string{convertor.PeriodHour, convertor.PeriodDay} {
		f := convertor.RollupFilter{Period: p, From: from, To: to}
		rows := wantRollupsEventually(t, s, f, filterRollups(want, f))
		keyRows := make(map[rollupKey]convertor.Rollup)
		for _, r := range rows {
			if r.KeyID == convertor.AllKeys {
				t.Errorf("Rollups(%+v) returned the AllKeys row %+v", f, r)
			}
			keyRows[rollupKey{r.Period, r.KeyID, r.Model, r.Start}] = r
		}
		f.KeyID = convertor.AllKeys
		wantRollups(t, s, f, filterRollups(sumKeys(keyRows), f))
	}
}

func wantRollups(t testing.TB, s convertor.StatsStore, f convertor.RollupFilter, want []convertor.Rollup) {
	t.Helper()
	got, err := s.Rollups(context.Background(), f)
	if err != nil {
		t.Fatalf("Rollups(%+v) error = %v", f, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Rollups(%+v) mismatch (-want +got):\n%s", f, diff)
	}
}

// wantRollupsEventually is wantRollups for reads that may lag the writes
// (every key's rows, convertor.StatsStore.Rollups): it reads again until
// the rows match or a deadline passes, and returns the last rows read.
func wantRollupsEventually(t testing.TB, s convertor.StatsStore, f convertor.RollupFilter, want []convertor.Rollup) []convertor.Rollup {
	t.Helper()
	deadline := time.Now().Add(indexLagDeadline)
	for {
		got, err := s.Rollups(context.Background(), f)
		if err != nil {
			t.Fatalf("Rollups(%+v) error = %v", f, err)
		}
		diff := cmp.Diff(want, got)
		if diff == "" {
			return got
		}
		if time.Now().After(deadline) {
			t.Errorf("Rollups(%+v) mismatch after %v (-want +got):\n%s", f, indexLagDeadline, diff)
			return got
		}
		time.Sleep(indexLagPoll)
	}
}

// How long a read over every key may lag the writes before the suite
// calls it wrong: DynamoDB's indexes typically follow within a second.
const (
	indexLagDeadline = 10 * time.Second
	indexLagPoll     = 100 * time.Millisecond
)

func wantSpend(t testing.TB, s convertor.StatsStore, keyID string, at time.Time, want int64) {
	t.Helper()
	got, err := s.MonthSpend(context.Background(), keyID, at)
	if err != nil {
		t.Fatalf("MonthSpend(%s, %s) error = %v", keyID, at.Format("2006-01"), err)
	}
	if got != want {
		t.Errorf("MonthSpend(%s, %s) = %d, want %d", keyID, at.Format("2006-01"), got, want)
	}
}

func mustApply(t testing.TB, s convertor.StatsStore, recs []*convertor.UsageRecord, want int) {
	t.Helper()
	n, err := s.ApplyUsage(context.Background(), recs)
	if err != nil {
		t.Fatalf("ApplyUsage() error = %v", err)
	}
	if n != want {
		t.Errorf("ApplyUsage() = %d applied, want %d", n, want)
	}
}
