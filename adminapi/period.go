package adminapi

import (
	"fmt"
	"math"
	"strings"
	"time"
	_ "time/tzdata" // IANA names resolve on hosts and images without a zoneinfo database

	"github.com/openai-api-convertor/convertor"
)

// Usage windows are built on the hourly UTC roll-ups, which are the truth:
// every bound is on a UTC hour, and a day in a time zone is the 24 (23 or
// 25 across a daylight-saving change) hourly roll-ups from its local
// midnight on. In the few zones whose offset is not a whole number of hours
// (Asia/Kolkata, +05:30) a local day starts at the UTC hour that holds its
// midnight; bucket starts are reported as the instants they really begin.

// Limits of usage windows.
const (
	maxHourBuckets = 31 * 24
	maxDayBuckets  = 400
	maxWindow      = maxDayBuckets * 24 * time.Hour
)

// Granularities of series.
const (
	GranularityHour = "hour"
	GranularityDay  = "day"
)

// WindowQuery is a window as a caller gives it; empty fields take
// defaults.
type WindowQuery struct {
	// From and To are RFC 3339 instants or dates (2026-11-01, midnight in
	// TZ); To is exclusive.
	From, To string
	// TZ is an IANA time-zone name; empty means UTC.
	TZ string
	// Granularity is GranularityHour or GranularityDay; empty means the
	// window is one bucket (summaries, top lists).
	Granularity string
}

// Window is a validated usage window: [From, To) in UTC on hour bounds,
// cut into Buckets.
type Window struct {
	From, To    time.Time
	Loc         *time.Location
	Granularity string
	// Bounds are the bucket starts followed by To: bucket i is
	// [Bounds[i], Bounds[i+1]).
	Bounds []time.Time
}

// TZ returns the window's time-zone name.
func (w *Window) TZ() string { return w.Loc.String() }

// Buckets is the number of buckets.
func (w *Window) Buckets() int { return len(w.Bounds) - 1 }

// bucket returns the index of the bucket holding t, -1 when none does.
func (w *Window) bucket(t time.Time) int {
	if t.Before(w.From) || !t.Before(w.To) {
		return -1
	}
	lo, hi := 0, len(w.Bounds)-1
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if t.Before(w.Bounds[mid]) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return lo
}

// Previous returns the window just before w, for comparisons: as many
// calendar months when w is whole months in its time zone, as many local
// days when it is whole days, else the same number of hours.
func (w *Window) Previous() *Window {
	from := w.From.Add(-w.To.Sub(w.From))
	lf, lt := w.From.In(w.Loc), w.To.In(w.Loc)
	if midnight(lf) && midnight(lt) {
		if lf.Day() == 1 && lt.Day() == 1 {
			months := (lt.Year()-lf.Year())*12 + int(lt.Month()-lf.Month())
			from = hourFloor(time.Date(lf.Year(), lf.Month()-time.Month(months), 1, 0, 0, 0, 0, w.Loc))
		} else {
			days := int(math.Round(lt.Sub(lf).Hours() / 24))
			from = hourFloor(localDayAdd(w.From, w.Loc, -days))
		}
	}
	p := &Window{From: from, To: w.From, Loc: w.Loc, Granularity: w.Granularity}
	p.Bounds = []time.Time{p.From, p.To}
	return p
}

// midnight reports whether t is a midnight of its location. In the zones
// whose offset is not whole hours a window's bounds are not, and its
// previous window is the same number of hours.
func midnight(t time.Time) bool { return t.Hour() == 0 && t.Minute() == 0 }

// ParseWindow validates q at now. Without From and To the window is the
// last 24 hours (hour granularity or none) or the last 7 days (day
// granularity), up to the end of the current hour or day, so that what is
// happening now is in it. Returns EInvalid naming the parameter.
func ParseWindow(q WindowQuery, now time.Time) (*Window, error) {
	loc, err := parseTZ(q.TZ)
	if err != nil {
		return nil, err
	}
	switch q.Granularity {
	case "", GranularityHour, GranularityDay:
	default:
		return nil, convertor.ParamErrorf("query.granularity", "granularity %q: want hour or day", q.Granularity)
	}
	day := q.Granularity == GranularityDay
	from, err := parseInstant("from", q.From, loc)
	if err != nil {
		return nil, err
	}
	to, err := parseInstant("to", q.To, loc)
	if err != nil {
		return nil, err
	}
	if to.IsZero() {
		to = hourCeil(now)
		if day {
			to = localMidnightCeil(now, loc)
		}
	}
	if from.IsZero() {
		from = to.Add(-24 * time.Hour)
		if day {
			from = localDayAdd(to, loc, -7)
		}
	}
	if !from.Before(to) {
		return nil, convertor.ParamErrorf("query.from", "from %s is not before to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	w := &Window{Loc: loc, Granularity: q.Granularity}
	if day {
		w.From, w.To = hourFloor(localMidnightFloor(from, loc)), hourFloor(localMidnightCeil(to, loc))
	} else {
		w.From, w.To = hourFloor(from), hourCeil(to)
	}
	if w.To.Sub(w.From) > maxWindow {
		return nil, convertor.ParamErrorf("query.to", "the window spans more than %d days", maxDayBuckets)
	}
	switch q.Granularity {
	case GranularityHour:
		if n := int(w.To.Sub(w.From) / time.Hour); n > maxHourBuckets {
			return nil, convertor.ParamErrorf("query.granularity", "%d hourly buckets: at most %d (31 days); use granularity=day", n, maxHourBuckets)
		}
		for t := w.From; t.Before(w.To); t = t.Add(time.Hour) {
			w.Bounds = append(w.Bounds, t)
		}
	case GranularityDay:
		for t := localMidnightFloor(from, loc); hourFloor(t).Before(w.To); t = localDayAdd(t, loc, 1) {
			w.Bounds = append(w.Bounds, hourFloor(t))
		}
	default:
		w.Bounds = []time.Time{w.From}
	}
	w.Bounds = append(w.Bounds, w.To)
	return w, nil
}

// parseTZ loads an IANA zone; "" is UTC. "Local" is refused: the server's
// zone means nothing to a caller.
func parseTZ(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	if name == "Local" || len(name) > 64 || strings.ContainsAny(name, " \t\\") {
		return nil, convertor.ParamErrorf("query.tz", "tz %q is not an IANA time-zone name such as Europe/Berlin", truncate(name, 64))
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, convertor.ParamErrorf("query.tz", "tz %q is not an IANA time-zone name such as Europe/Berlin", truncate(name, 64))
	}
	return loc, nil
}

// parseInstant reads an RFC 3339 instant or a date (midnight in loc); ""
// is the zero time.
func parseInstant(param, s string, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() < 2000 || t.Year() > 9000 {
		return time.Time{}, convertor.ParamErrorf("query."+param, "%s %q: want an RFC 3339 time (2026-11-01T00:00:00Z) or a date (2026-11-01)", param, truncate(s, 64))
	}
	return t.UTC(), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func hourFloor(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }

func hourCeil(t time.Time) time.Time {
	f := hourFloor(t)
	if f.Before(t) {
		return f.Add(time.Hour)
	}
	return f
}

func localMidnightFloor(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc).UTC()
}

func localMidnightCeil(t time.Time, loc *time.Location) time.Time {
	f := localMidnightFloor(t, loc)
	if f.Before(t.UTC()) {
		return localDayAdd(f, loc, 1)
	}
	return f
}

// localDayAdd moves a local midnight by n days in loc (23 or 25 hours
// across daylight-saving changes).
func localDayAdd(t time.Time, loc *time.Location, n int) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day()+n, 0, 0, 0, 0, loc).UTC()
}

// span is a range of roll-up periods of one kind to read, added or
// subtracted (sign), into the bucket holding each row's start or, when
// bucket is not -1, into that bucket.
type span struct {
	period   string
	from, to time.Time
	sign     int64
	bucket   int
}

func (s span) String() string {
	op := "+"
	if s.sign < 0 {
		op = "-"
	}
	return fmt.Sprintf("%s%s %s..%s", op, s.period, s.from.Format(time.RFC3339), s.to.Format(time.RFC3339))
}

// plan lists the roll-up reads that sum to w exactly. Where months may be
// read (a view of keys without a model: a key's month row holds every
// model), a calendar month (UTC) whose part inside w lies in one bucket
// and is longer than the part outside is read as its month row minus the
// rows of that outside part: a month, or the last 30 days, of every key's
// figures is then one month read and a day or two, not thirty days. A
// key's month row is the sum of its day rows, so the difference is exact.
// The rest is read as UTC day rows where a whole day lies in one bucket,
// and hour rows elsewhere. Consecutive periods of one kind form one span.
func plan(w *Window, months bool) []span {
	var out []span
	add := func(period string, from, to time.Time, sign int64, bucket int) {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if last.period == period && last.to.Equal(from) && last.sign == sign && last.bucket == bucket {
				last.to = to
				return
			}
		}
		out = append(out, span{period, from, to, sign, bucket})
	}
	// days adds [from, to) as day rows where a whole UTC day lies in one
	// bucket of w (or, with a bucket given, anywhere), hour rows elsewhere.
	days := func(from, to time.Time, sign int64, bucket int) {
		for d := convertor.PeriodStart(from, convertor.PeriodDay); d.Before(to); d = d.Add(24 * time.Hour) {
			end := d.Add(24 * time.Hour)
			whole := !d.Before(from) && !end.After(to) && (bucket >= 0 || w.bucket(d) == w.bucket(end.Add(-time.Hour)))
			if whole {
				add(convertor.PeriodDay, d, end, sign, bucket)
			} else {
				add(convertor.PeriodHour, maxTime(d, from), minTime(end, to), sign, bucket)
			}
		}
	}
	for m := convertor.PeriodStart(w.From, convertor.PeriodMonth); m.Before(w.To); {
		next := convertor.NextPeriod(m, convertor.PeriodMonth)
		in, inEnd := maxTime(m, w.From), minTime(next, w.To)
		b := w.bucket(in)
		if months && b == w.bucket(inEnd.Add(-time.Hour)) && 2*inEnd.Sub(in) > next.Sub(m) {
			add(convertor.PeriodMonth, m, next, 1, b)
			days(m, in, -1, b)
			days(inEnd, next, -1, b)
		} else {
			days(in, inEnd, 1, -1)
		}
		m = next
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
