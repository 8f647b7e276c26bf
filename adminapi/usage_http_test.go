package adminapi

import (
	"context"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor"
)

// workload is a seeded set of priced records over a few days, several
// keys and models, with errors, refusals and cache tokens, written as the
// pipeline writes them: the records through the usage store, their
// roll-ups through the stats store's ApplyUsage (the aggregator's write).
type workload struct {
	recs []*convertor.UsageRecord
}

var workloadStart = time.Date(2026, 10, 30, 0, 0, 0, 0, time.UTC)

func seedWorkload(t *testing.T, a *api, n int) *workload {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	keys := []string{"key_alpha", "key_beta", "key_gamma"}
	models := []string{"claude-haiku-4-5", "claude-sonnet-4-5"}
	statuses := []string{convertor.UsageOK, convertor.UsageOK, convertor.UsageOK, convertor.UsageError, convertor.UsageRefused, convertor.UsageCanceled}
	w := &workload{}
	for i := range n {
		// Four days from Oct 30, crossing midnights in UTC and in every
		// zone the tests use.
		at := workloadStart.Add(time.Duration(rng.Int64N(int64(96 * time.Hour))))
		r := &convertor.UsageRecord{UsageEvent: convertor.UsageEvent{
			Version: convertor.UsageEventVersion, ID: fmt.Sprintf("01JWORKLOAD%015d", i), RequestID: fmt.Sprintf("req_%d", i),
			Time: at, KeyID: keys[rng.IntN(len(keys))], Model: models[rng.IntN(len(models))],
			Status: statuses[rng.IntN(len(statuses))], HTTPStatus: 200, LatencyMs: 100,
		}}
		if r.Status != convertor.UsageRefused {
			r.InputTokens, r.OutputTokens = rng.Int64N(5000), rng.Int64N(2000)
			r.CacheReadTokens, r.CacheWriteTokens = rng.Int64N(3)*1000, rng.Int64N(2)*500
			r.CostMicros = rng.Int64N(100_000)
		}
		w.recs = append(w.recs, r)
	}
	ctx := context.Background()
	for _, r := range w.recs {
		if _, err := a.st.Usage.PutUsage(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.st.Stats.ApplyUsage(ctx, w.recs); err != nil {
		t.Fatal(err)
	}
	return w
}

// expect sums the records in [from, to) into buckets given by bucketOf
// (-1: outside), by group; computed from the records alone.
func (w *workload) expect(from, to time.Time, bucketOf func(time.Time) int, group func(*convertor.UsageRecord) string, keep func(*convertor.UsageRecord) bool) map[string]map[int]Totals {
	out := map[string]map[int]Totals{}
	for _, r := range w.recs {
		if r.Time.Before(from) || !r.Time.Before(to) || !keep(r) {
			continue
		}
		b := bucketOf(r.Time)
		g := group(r)
		if out[g] == nil {
			out[g] = map[int]Totals{}
		}
		t := out[g][b]
		t.Requests++
		if r.Status == convertor.UsageError || r.Status == convertor.UsageRefused {
			t.Errors++
		}
		t.InputTokens += r.InputTokens
		t.OutputTokens += r.OutputTokens
		t.CacheReadTokens += r.CacheReadTokens
		t.CacheWriteTokens += r.CacheWriteTokens
		t.TotalTokens += r.InputTokens + r.OutputTokens + r.CacheReadTokens + r.CacheWriteTokens
		t.CostMicros += r.CostMicros
		out[g][b] = t
	}
	return out
}

func TestUsage_SeriesByModel(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	w := seedWorkload(t, a, 400)
	for _, tz := range []string{"UTC", "Asia/Shanghai", "America/Los_Angeles", "Asia/Kolkata"} {
		for _, gran := range []string{"day", "hour"} {
			t.Run(tz+"/"+gran, func(t *testing.T) {
				t.Parallel()
				loc, _ := time.LoadLocation(tz)
				q := url.Values{"from": {"2026-10-31"}, "to": {"2026-11-02"}, "tz": {tz}, "granularity": {gran}, "group_by": {"model"}}
				var s Series
				want(t, a.do("GET", "/api/usage/series?"+q.Encode(), viewerToken, nil), 200, "series").json(t, &s)

				// Daily buckets start on the UTC hour holding each local
				// midnight; an hourly window's bounds snap outward.
				from := time.Date(2026, 10, 31, 0, 0, 0, 0, loc).UTC().Truncate(time.Hour)
				to := time.Date(2026, 11, 2, 0, 0, 0, 0, loc).UTC().Truncate(time.Hour)
				if gran == "hour" && to.Before(time.Date(2026, 11, 2, 0, 0, 0, 0, loc)) {
					to = to.Add(time.Hour)
				}
				if !s.From.Equal(from) || !s.To.Equal(to) || s.TZ != tz {
					t.Fatalf("window [%s, %s) %s, want [%s, %s)", s.From, s.To, s.TZ, from, to)
				}
				bucketOf := func(at time.Time) int {
					if gran == "hour" {
						return int(at.Sub(from) / time.Hour)
					}
					// The local day holding at, starting at the UTC hour of
					// its midnight.
					for i := range 3 {
						if at.Before(time.Date(2026, 10, 31+i+1, 0, 0, 0, 0, loc).UTC().Truncate(time.Hour)) {
							return i
						}
					}
					return -1
				}
				wantN := 2
				if gran == "hour" {
					wantN = int(to.Sub(from) / time.Hour)
				}
				if len(s.Buckets) != wantN {
					t.Fatalf("buckets = %d, want %d", len(s.Buckets), wantN)
				}
				for _, b := range s.Buckets {
					_, got := b.Zone()
					if _, want := b.In(loc).Zone(); got != want {
						t.Errorf("bucket %s reported at offset %d, want %s's %d", b, got, tz, want)
					}
				}
				exp := w.expect(from, to, bucketOf, func(r *convertor.UsageRecord) string { return r.Model }, func(*convertor.UsageRecord) bool { return true })
				got := map[string]map[int]Totals{}
				var total Totals
				for _, l := range s.Lines {
					if len(l.Points) != wantN {
						t.Errorf("line %s has %d points, want %d", l.Group, len(l.Points), wantN)
					}
					for i, p := range l.Points {
						if p != (Totals{}) {
							if got[l.Group] == nil {
								got[l.Group] = map[int]Totals{}
							}
							got[l.Group][i] = p
						}
					}
					total.addTotals(l.Totals)
				}
				if diff := cmp.Diff(exp, got); diff != "" {
					t.Errorf("series mismatch (-want +got):\n%s", diff)
				}
				if total != s.Totals {
					t.Errorf("lines sum to %+v, totals say %+v", total, s.Totals)
				}
				// The CSV holds exactly the same figures.
				csvSum := csvTotals(t, want(t, a.do("GET", "/api/usage/series.csv?"+q.Encode(), viewerToken, nil), 200, "series.csv"))
				if csvSum != s.Totals {
					t.Errorf("CSV totals %+v, JSON totals %+v", csvSum, s.Totals)
				}
			})
		}
	}
}

// csvTotals sums the totals columns of a CSV download.
func csvTotals(t *testing.T, r reply) Totals {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("Content-Type = %q", ct)
	}
	rows, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("CSV: %v\n%s", err, r.body)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	var sum Totals
	for _, row := range rows[1:] {
		n := func(name string) int64 {
			v, err := strconv.ParseInt(row[col[name]], 10, 64)
			if err != nil {
				t.Fatalf("CSV %s %q: %v", name, row[col[name]], err)
			}
			return v
		}
		if row[col["id"]] == "(others)" {
			continue
		}
		sum.addTotals(Totals{
			Requests: n("requests"), Errors: n("errors"), InputTokens: n("input_tokens"), OutputTokens: n("output_tokens"),
			CacheReadTokens: n("cache_read_tokens"), CacheWriteTokens: n("cache_write_tokens"), TotalTokens: n("total_tokens"),
			CostMicros: n("cost_micros"),
		})
		if usd := row[col["cost_usd"]]; usd != fmt.Sprintf("%d.%06d", n("cost_micros")/1e6, n("cost_micros")%1e6) {
			t.Errorf("cost_usd %s for %d micro-dollars", usd, n("cost_micros"))
		}
	}
	return sum
}

func TestUsage_SummaryAndTop(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	w := seedWorkload(t, a, 300)
	for _, tz := range []string{"UTC", "Asia/Shanghai"} {
		t.Run(tz, func(t *testing.T) {
			loc, _ := time.LoadLocation(tz)
			from, to := time.Date(2026, 10, 31, 0, 0, 0, 0, loc).UTC(), time.Date(2026, 11, 2, 0, 0, 0, 0, loc).UTC()
			q := url.Values{"from": {"2026-10-31"}, "to": {"2026-11-02"}, "tz": {tz}}
			all := func(*convertor.UsageRecord) bool { return true }
			one := func(int) func(time.Time) int { return func(time.Time) int { return 0 } }(0)

			var s Summary
			want(t, a.do("GET", "/api/usage/summary?"+q.Encode(), viewerToken, nil), 200, "summary").json(t, &s)
			cur := w.expect(from, to, one, func(*convertor.UsageRecord) string { return "" }, all)[""][0]
			prev := w.expect(from.Add(-48*time.Hour), from, one, func(*convertor.UsageRecord) string { return "" }, all)[""][0]
			if s.Current.Totals != cur || s.Previous.Totals != prev {
				t.Errorf("summary current %+v previous %+v, want %+v and %+v", s.Current.Totals, s.Previous.Totals, cur, prev)
			}
			byKey := w.expect(from, to, one, func(r *convertor.UsageRecord) string { return r.KeyID }, all)
			if s.Current.KeysWithUsage == nil || *s.Current.KeysWithUsage != len(byKey) {
				t.Errorf("keys with usage = %v, want %d", s.Current.KeysWithUsage, len(byKey))
			}
			if csvSum := csvTotals(t, want(t, a.do("GET", "/api/usage/summary.csv?"+q.Encode(), viewerToken, nil), 200, "summary.csv")); csvSum.Requests != cur.Requests+prev.Requests || csvSum.CostMicros != cur.CostMicros+prev.CostMicros {
				t.Errorf("summary CSV sums to %+v, want current + previous", csvSum)
			}

			// One key, one model.
			fq := url.Values{"from": {"2026-10-31"}, "to": {"2026-11-02"}, "tz": {tz}, "key_id": {"key_beta"}, "model": {"claude-haiku-4-5"}}
			s = Summary{}
			want(t, a.do("GET", "/api/usage/summary?"+fq.Encode(), viewerToken, nil), 200, "summary").json(t, &s)
			exp := w.expect(from, to, one, func(*convertor.UsageRecord) string { return "" }, func(r *convertor.UsageRecord) bool {
				return r.KeyID == "key_beta" && r.Model == "claude-haiku-4-5"
			})[""][0]
			if s.Current.Totals != exp || s.Current.KeysWithUsage != nil {
				t.Errorf("summary of one key and model = %+v, want %+v", s.Current, exp)
			}

			// Top keys by cost, and the CSV of the same.
			tq := url.Values{"from": {"2026-10-31"}, "to": {"2026-11-02"}, "tz": {tz}, "by": {"key"}, "metric": {"cost"}, "limit": {"2"}}
			var top Top
			want(t, a.do("GET", "/api/usage/top?"+tq.Encode(), viewerToken, nil), 200, "top").json(t, &top)
			if len(top.Items) != 2 || top.Items[0].Rank != 1 || top.Items[0].Totals.CostMicros < top.Items[1].Totals.CostMicros {
				t.Fatalf("top = %+v", top)
			}
			var listed Totals
			for _, e := range top.Items {
				if e.Totals != byKey[e.ID][0] {
					t.Errorf("top %s = %+v, want %+v", e.ID, e.Totals, byKey[e.ID][0])
				}
				listed.addTotals(e.Totals)
			}
			listed.addTotals(top.Others)
			if listed != cur || top.Totals != cur {
				t.Errorf("top items + others = %+v, totals %+v, want %+v", listed, top.Totals, cur)
			}
			csvTop := csvTotals(t, want(t, a.do("GET", "/api/usage/top.csv?"+tq.Encode(), viewerToken, nil), 200, "top.csv"))
			var items Totals
			for _, e := range top.Items {
				items.addTotals(e.Totals)
			}
			if csvTop != items {
				t.Errorf("top CSV sums to %+v, want the listed items %+v", csvTop, items)
			}
		})
	}
}

func TestUsage_Requests(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	w := seedWorkload(t, a, 200)
	ctx := context.Background()
	for _, k := range []string{"key_alpha", "key_beta", "key_gamma"} {
		if err := a.st.Keys.CreateAPIKey(ctx, &convertor.APIKey{ID: k, Hash: convertor.HashAPIKey(k), Prefix: "sk-x", Name: k, Enabled: true, CreatedAt: workloadStart}); err != nil {
			t.Fatal(err)
		}
	}
	var wantIDs []string
	for _, r := range w.recs {
		if r.KeyID == "key_alpha" {
			wantIDs = append(wantIDs, r.ID)
		}
	}
	q := url.Values{"key_id": {"key_alpha"}, "from": {"2026-10-30"}, "to": {"2026-11-05"}, "limit": {"7"}}
	var got []RequestView
	for page := 0; page < 100; page++ {
		var l RequestLog
		want(t, a.do("GET", "/api/usage/requests?"+q.Encode(), viewerToken, nil), 200, "requests").json(t, &l)
		got = append(got, l.Requests...)
		if l.NextCursor == "" {
			break
		}
		q.Set("cursor", l.NextCursor)
	}
	if len(got) != len(wantIDs) {
		t.Fatalf("request log holds %d requests, want %d", len(got), len(wantIDs))
	}
	for i := 1; i < len(got); i++ {
		if got[i].Time.After(got[i-1].Time) {
			t.Errorf("request log not newest first at %d", i)
		}
	}
	seen := map[string]bool{}
	for _, r := range got {
		if seen[r.ID] {
			t.Errorf("request %s listed twice", r.ID)
		}
		seen[r.ID] = true
	}
	q.Del("cursor")
	rows := strings.Count(string(want(t, a.do("GET", "/api/usage/requests.csv?"+q.Encode(), viewerToken, nil), 200, "requests.csv").body), "\n")
	if rows != len(wantIDs)+1 {
		t.Errorf("requests CSV has %d lines, want a header and %d rows", rows, len(wantIDs))
	}
	wantProblem(t, a.do("GET", "/api/usage/requests?from=2026-10-30", viewerToken, nil), 400, "invalid", "query.key_id")
	wantProblem(t, a.do("GET", "/api/usage/requests?key_id=key_alpha&cursor=garbage", viewerToken, nil), 400, "invalid", "query.cursor")
}

// TestUsage_ErrInvalid: bad windows and filters are 400s naming the
// parameter.
func TestUsage_ErrInvalid(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	for _, tc := range []struct{ path, location string }{
		{"/api/usage/summary?tz=Mars/Olympus", "query.tz"},
		{"/api/usage/summary?tz=Local", "query.tz"},
		{"/api/usage/summary?from=2026-11-02&to=2026-11-01", "query.from"},
		{"/api/usage/summary?from=soon", "query.from"},
		{"/api/usage/summary?from=2020-01-01&to=2026-01-01", "query.to"},
		{"/api/usage/series?granularity=week", "query.granularity"},
		{"/api/usage/series?granularity=hour&from=2026-01-01&to=2026-06-01", "query.granularity"},
		{"/api/usage/series?group_by=colour", "query.group_by"},
		{"/api/usage/top", "query.by"},
		{"/api/usage/top?by=key&metric=vibes", "query.metric"},
		{"/api/usage/top?by=key&limit=1000", "query.limit"},
		{"/api/usage/summary?model=bad%20model", "query.model"},
		{"/api/usage/summary?key_id=*", "query.key_id"},
		{"/api/usage/summary?colour=red", "query.colour"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			wantProblem(t, a.do("GET", tc.path, viewerToken, nil), 400, "invalid", tc.location)
		})
	}
}

// TestUsage_MonthRows checks windows that the planner reads as month rows
// less the days outside them: every key's figures still equal the records'.
func TestUsage_MonthRows(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	w := seedWorkload(t, a, 300)
	all := func(*convertor.UsageRecord) bool { return true }
	one := func(time.Time) int { return 0 }
	for _, tc := range []struct{ from, to, tz string }{
		{"2026-10-03", "2026-11-02", "UTC"},           // October less its 1st and 2nd, and 1 November
		{"2026-11-01", "2026-12-01", "Asia/Shanghai"}, // November less its last 8 hours, and 8 hours of October
		{"2026-10-15", "2026-11-15", "America/Los_Angeles"},
		{"2026-10-31T03:00:00Z", "2026-11-30T00:00:00Z", "UTC"},
	} {
		t.Run(tc.from+"/"+tc.tz, func(t *testing.T) {
			win, err := ParseWindow(WindowQuery{From: tc.from, To: tc.to, TZ: tc.tz}, workloadStart)
			if err != nil {
				t.Fatal(err)
			}
			q := url.Values{"from": {tc.from}, "to": {tc.to}, "tz": {tc.tz}}
			var s Summary
			want(t, a.do("GET", "/api/usage/summary?"+q.Encode(), viewerToken, nil), 200, "summary").json(t, &s)
			byKey := w.expect(win.From, win.To, one, func(r *convertor.UsageRecord) string { return r.KeyID }, all)
			var total Totals
			for _, ts := range byKey {
				total.addTotals(ts[0])
			}
			if s.Current.Totals != total || *s.Current.KeysWithUsage != len(byKey) {
				t.Errorf("summary = %+v (%d keys), want %+v (%d keys)", s.Current.Totals, *s.Current.KeysWithUsage, total, len(byKey))
			}
			q.Set("by", "key")
			var top Top
			want(t, a.do("GET", "/api/usage/top?"+q.Encode(), viewerToken, nil), 200, "top").json(t, &top)
			for _, e := range top.Items {
				if e.Totals != byKey[e.ID][0] {
					t.Errorf("top %s = %+v, want %+v", e.ID, e.Totals, byKey[e.ID][0])
				}
			}
			if len(top.Items) != len(byKey) {
				t.Errorf("top lists %d keys, want %d", len(top.Items), len(byKey))
			}
		})
	}
}
