package adminapi

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestParseWindow(t *testing.T) {
	now := utc("2026-11-15T10:20:00Z")
	tests := []struct {
		name       string
		q          WindowQuery
		from, to   string
		buckets    int
		firstStart string
		lastStart  string
	}{
		{"default is the last 24 hours up to the end of this hour", WindowQuery{}, "2026-11-14T11:00:00Z", "2026-11-15T11:00:00Z", 1, "2026-11-14T11:00:00Z", "2026-11-14T11:00:00Z"},
		{"hourly default", WindowQuery{Granularity: "hour"}, "2026-11-14T11:00:00Z", "2026-11-15T11:00:00Z", 24, "2026-11-14T11:00:00Z", "2026-11-15T10:00:00Z"},
		{"daily default is 7 local days", WindowQuery{Granularity: "day"}, "2026-11-09T00:00:00Z", "2026-11-16T00:00:00Z", 7, "2026-11-09T00:00:00Z", "2026-11-15T00:00:00Z"},
		{"instants round outward to hours", WindowQuery{From: "2026-11-01T10:30:00Z", To: "2026-11-01T12:10:00Z"}, "2026-11-01T10:00:00Z", "2026-11-01T13:00:00Z", 1, "2026-11-01T10:00:00Z", "2026-11-01T10:00:00Z"},
		{"dates are midnights in tz", WindowQuery{From: "2026-11-01", To: "2026-11-03", TZ: "Asia/Shanghai", Granularity: "day"}, "2026-10-31T16:00:00Z", "2026-11-02T16:00:00Z", 2, "2026-10-31T16:00:00Z", "2026-11-01T16:00:00Z"},
		{"a Shanghai day is 24 UTC hours", WindowQuery{From: "2026-11-01", To: "2026-11-02", TZ: "Asia/Shanghai", Granularity: "hour"}, "2026-10-31T16:00:00Z", "2026-11-01T16:00:00Z", 24, "2026-10-31T16:00:00Z", "2026-11-01T15:00:00Z"},
		{"daylight saving ends: a 25-hour day", WindowQuery{From: "2026-11-01", To: "2026-11-02", TZ: "America/New_York", Granularity: "hour"}, "2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z", 25, "2026-11-01T04:00:00Z", "2026-11-02T04:00:00Z"},
		{"half-hour zone: a local day starts on the UTC hour holding its midnight", WindowQuery{From: "2026-11-01", To: "2026-11-02", TZ: "Asia/Kolkata", Granularity: "day"}, "2026-10-31T18:00:00Z", "2026-11-01T18:00:00Z", 1, "2026-10-31T18:00:00Z", "2026-10-31T18:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := ParseWindow(tt.q, now)
			if err != nil {
				t.Fatalf("ParseWindow() error = %v", err)
			}
			if !w.From.Equal(utc(tt.from)) || !w.To.Equal(utc(tt.to)) {
				t.Errorf("window = [%s, %s), want [%s, %s)", w.From.Format(time.RFC3339), w.To.Format(time.RFC3339), tt.from, tt.to)
			}
			if w.Buckets() != tt.buckets {
				t.Fatalf("buckets = %d, want %d", w.Buckets(), tt.buckets)
			}
			if first, last := w.Bounds[0], w.Bounds[w.Buckets()-1]; !first.Equal(utc(tt.firstStart)) || !last.Equal(utc(tt.lastStart)) {
				t.Errorf("bucket starts %s … %s, want %s … %s", first.Format(time.RFC3339), last.Format(time.RFC3339), tt.firstStart, tt.lastStart)
			}
			if !w.Bounds[len(w.Bounds)-1].Equal(w.To) {
				t.Errorf("last bound %s is not to", w.Bounds[len(w.Bounds)-1])
			}
		})
	}
}

func TestParseWindow_ErrInvalid(t *testing.T) {
	now := utc("2026-11-15T10:20:00Z")
	tests := []struct {
		q     WindowQuery
		param string
	}{
		{WindowQuery{TZ: "Mars/Olympus"}, "query.tz"},
		{WindowQuery{TZ: "Local"}, "query.tz"},
		{WindowQuery{From: "yesterday"}, "query.from"},
		{WindowQuery{To: "2026-13-01"}, "query.to"},
		{WindowQuery{From: "2026-11-02", To: "2026-11-01"}, "query.from"},
		{WindowQuery{From: "2026-11-01", To: "2026-11-01"}, "query.from"},
		{WindowQuery{Granularity: "week"}, "query.granularity"},
		{WindowQuery{From: "2026-01-01", To: "2026-03-01", Granularity: "hour"}, "query.granularity"},
		{WindowQuery{From: "2020-01-01", To: "2026-01-01"}, "query.to"},
		{WindowQuery{From: "0001-01-01T00:00:00Z"}, "query.from"},
	}
	for _, tt := range tests {
		_, err := ParseWindow(tt.q, now)
		var ce *convertor.Error
		if err == nil || !errors.As(err, &ce) || ce.Code != convertor.EInvalid || ce.Param != tt.param {
			t.Errorf("ParseWindow(%+v) error = %v, want EInvalid on %s", tt.q, err, tt.param)
		}
	}
}

func TestPlan(t *testing.T) {
	mk := func(p, from, to string) span { return span{p, utc(from), utc(to), 1, -1} }
	minus := func(p, from, to string, bucket int) span { return span{p, utc(from), utc(to), -1, bucket} }
	month := func(from, to string, bucket int) span { return span{"month", utc(from), utc(to), 1, bucket} }
	tests := []struct {
		name   string
		q      WindowQuery
		months bool
		want   []span
	}{
		{"one UTC day as a whole", WindowQuery{From: "2026-11-01", To: "2026-11-02"}, false, []span{mk("day", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z")}},
		{"hours at the edges, days between", WindowQuery{From: "2026-11-01T20:00:00Z", To: "2026-11-04T03:00:00Z"}, false, []span{
			mk("hour", "2026-11-01T20:00:00Z", "2026-11-02T00:00:00Z"),
			mk("day", "2026-11-02T00:00:00Z", "2026-11-04T00:00:00Z"),
			mk("hour", "2026-11-04T00:00:00Z", "2026-11-04T03:00:00Z"),
		}},
		{"hourly buckets read hours", WindowQuery{From: "2026-11-01", To: "2026-11-02", Granularity: "hour"}, false, []span{mk("hour", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z")}},
		{"daily UTC buckets read days", WindowQuery{From: "2026-11-01", To: "2026-11-04", Granularity: "day"}, false, []span{mk("day", "2026-11-01T00:00:00Z", "2026-11-04T00:00:00Z")}},
		{"daily Shanghai buckets straddle UTC days: hours", WindowQuery{From: "2026-11-01", To: "2026-11-03", TZ: "Asia/Shanghai", Granularity: "day"}, false, []span{
			mk("hour", "2026-10-31T16:00:00Z", "2026-11-02T16:00:00Z"),
		}},
		{"a calendar month of keys: one month row", WindowQuery{From: "2026-11-01", To: "2026-12-01"}, true, []span{month("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", 0)}},
		{"the last 30 days of keys: a month less a day, and a day", WindowQuery{From: "2026-11-02", To: "2026-12-02"}, true, []span{
			month("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", 0),
			minus("day", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", 0),
			mk("day", "2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z"),
		}},
		{"a calendar month of models: days", WindowQuery{From: "2026-11-01", To: "2026-12-01"}, false, []span{mk("day", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")}},
		{"months inside a longer window", WindowQuery{From: "2026-10-20", To: "2026-12-03T05:00:00Z"}, true, []span{
			mk("day", "2026-10-20T00:00:00Z", "2026-11-01T00:00:00Z"),
			month("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", 0),
			mk("day", "2026-12-01T00:00:00Z", "2026-12-03T00:00:00Z"),
			mk("hour", "2026-12-03T00:00:00Z", "2026-12-03T05:00:00Z"),
		}},
		{"daily buckets never read months", WindowQuery{From: "2026-11-01", To: "2026-12-01", Granularity: "day"}, true, []span{mk("day", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")}},
		{"a Shanghai month of keys: the UTC month less its last 8 hours, and 8 hours before it", WindowQuery{From: "2026-11-01", To: "2026-12-01", TZ: "Asia/Shanghai"}, true, []span{
			mk("hour", "2026-10-31T16:00:00Z", "2026-11-01T00:00:00Z"),
			month("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", 0),
			minus("hour", "2026-11-30T16:00:00Z", "2026-12-01T00:00:00Z", 0),
		}},
		{"a Shanghai week summed: whole UTC days inside", WindowQuery{From: "2026-11-01", To: "2026-11-08", TZ: "Asia/Shanghai"}, false, []span{
			mk("hour", "2026-10-31T16:00:00Z", "2026-11-01T00:00:00Z"),
			mk("day", "2026-11-01T00:00:00Z", "2026-11-07T00:00:00Z"),
			mk("hour", "2026-11-07T00:00:00Z", "2026-11-07T16:00:00Z"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := ParseWindow(tt.q, utc("2026-11-15T00:00:00Z"))
			if err != nil {
				t.Fatal(err)
			}
			got := plan(w, tt.months)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(span{})); diff != "" {
				t.Errorf("plan() mismatch (-want +got):\n%s", diff)
			}
			// Whatever the plan, every hour of the window counts once and
			// every hour outside it not at all.
			for h := w.From.Add(-31 * 24 * time.Hour); h.Before(w.To.Add(31 * 24 * time.Hour)); h = h.Add(time.Hour) {
				var n int64
				for _, sp := range got {
					if !h.Before(sp.from) && h.Before(sp.to) {
						n += sp.sign
					}
				}
				inside := !h.Before(w.From) && h.Before(w.To)
				if inside && n != 1 || !inside && n != 0 {
					t.Errorf("hour %s counted %d times", h.Format(time.RFC3339), n)
				}
			}
		})
	}
}

func TestWindow_Previous(t *testing.T) {
	now := utc("2026-12-15T10:20:00Z")
	tests := []struct {
		name     string
		q        WindowQuery
		from, to string
	}{
		{"a calendar month: the month before", WindowQuery{From: "2026-11-01", To: "2026-12-01"}, "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z"},
		{"two months in Shanghai", WindowQuery{From: "2026-03-01", To: "2026-05-01", TZ: "Asia/Shanghai"}, "2025-12-31T16:00:00Z", "2026-02-28T16:00:00Z"},
		{"local days across a daylight-saving change", WindowQuery{From: "2026-11-02", To: "2026-11-09", TZ: "America/New_York"}, "2026-10-26T04:00:00Z", "2026-11-02T05:00:00Z"},
		{"hours: the same length", WindowQuery{From: "2026-11-01T10:00:00Z", To: "2026-11-01T16:00:00Z"}, "2026-11-01T04:00:00Z", "2026-11-01T10:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := ParseWindow(tt.q, now)
			if err != nil {
				t.Fatal(err)
			}
			p := w.Previous()
			if !p.From.Equal(utc(tt.from)) || !p.To.Equal(utc(tt.to)) {
				t.Errorf("Previous() = [%s, %s), want [%s, %s)", p.From.Format(time.RFC3339), p.To.Format(time.RFC3339), tt.from, tt.to)
			}
		})
	}
}
