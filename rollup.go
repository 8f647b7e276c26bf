package convertor

import (
	"context"
	"time"
)

// Roll-up periods. Rollups are kept per hour and per day; PeriodMonth is
// the period of a key's month-spend row, which MonthSpend reads and
// Rollups does not return.
const (
	PeriodHour  = "hour"
	PeriodDay   = "day"
	PeriodMonth = "month"
)

// AllKeys is the KeyID of the per-model roll-ups over every key.
const AllKeys = "*"

// Rollup is one aggregate row: a key × model × period, or a model × period
// over all keys (KeyID "*").
type Rollup struct {
	KeyID string `json:"key_id"`
	Model string `json:"model"`
	// Period is "hour" or "day" ("month" for a key's month spend, whose
	// Model is empty); Start the period's start in UTC.
	Period           string    `json:"period"`
	Start            time.Time `json:"start"`
	Requests         int64     `json:"requests"`
	Errors           int64     `json:"errors"`
	InputTokens      int64     `json:"input_tokens"`
	OutputTokens     int64     `json:"output_tokens"`
	CacheReadTokens  int64     `json:"cache_read_tokens"`
	CacheWriteTokens int64     `json:"cache_write_tokens"`
	CostMicros       int64     `json:"cost_micros"`
}

// RollupKey identifies a roll-up row: the fields of Rollup that describe it
// rather than count.
type RollupKey struct {
	Period string
	KeyID  string
	// Model is empty for a month-spend row.
	Model string
	// Start is the period's start in UTC, as PeriodStart returns it, so
	// that equal keys compare equal with ==.
	Start time.Time
}

// Rollup returns the empty row of k.
func (k RollupKey) Rollup() Rollup {
	return Rollup{KeyID: k.KeyID, Model: k.Model, Period: k.Period, Start: k.Start}
}

// Key returns the key of row r.
func (r *Rollup) Key() RollupKey {
	return RollupKey{Period: r.Period, KeyID: r.KeyID, Model: r.Model, Start: r.Start}
}

// Add adds d's counts to r's; the fields describing r stay.
func (r *Rollup) Add(d Rollup) { r.addSigned(d, 1) }

// Sub subtracts d's counts from r's; the fields describing r stay.
func (r *Rollup) Sub(d Rollup) { r.addSigned(d, -1) }

func (r *Rollup) addSigned(d Rollup, sign int64) {
	r.Requests += sign * d.Requests
	r.Errors += sign * d.Errors
	r.InputTokens += sign * d.InputTokens
	r.OutputTokens += sign * d.OutputTokens
	r.CacheReadTokens += sign * d.CacheReadTokens
	r.CacheWriteTokens += sign * d.CacheWriteTokens
	r.CostMicros += sign * d.CostMicros
}

// SameCounts reports whether r and o hold the same counts, whatever rows
// they describe; r.SameCounts(Rollup{}) reports an empty row.
func (r *Rollup) SameCounts(o Rollup) bool {
	o.KeyID, o.Model, o.Period, o.Start = r.KeyID, r.Model, r.Period, r.Start
	return *r == o
}

// Delta is what one record adds to each of its roll-ups. A request that
// failed or was refused by a limit counts as an error; one the client
// canceled does not (its tokens were served and are billed).
func (r *UsageRecord) Delta() Rollup {
	d := Rollup{
		Requests:         1,
		InputTokens:      r.InputTokens,
		OutputTokens:     r.OutputTokens,
		CacheReadTokens:  r.CacheReadTokens,
		CacheWriteTokens: r.CacheWriteTokens,
		CostMicros:       r.CostMicros,
	}
	if r.Status == UsageError || r.Status == UsageRefused {
		d.Errors = 1
	}
	return d
}

// RollupKeys returns the keys of every row r adds its Delta to, in this
// order: its key × model × hour, its key × model × day, its model × hour
// and model × day over every key (AllKeys), and its key's month spend.
// Periods are those of r.Time in UTC.
func (r *UsageRecord) RollupKeys() [5]RollupKey {
	hour := RollupKey{PeriodHour, r.KeyID, r.Model, PeriodStart(r.Time, PeriodHour)}
	day := RollupKey{PeriodDay, r.KeyID, r.Model, PeriodStart(r.Time, PeriodDay)}
	return [5]RollupKey{hour, day, hour.allKeys(), day.allKeys(), MonthSpendKey(r.KeyID, r.Time)}
}

// Totals returns the keys of the rows that sum k, a key × model × hour or
// day row, with the same rows of the other keys: the model's row of k's
// period over every key (AllKeys) and, for a day row only, the key's month
// spend (it sums the day rows; counting the hour rows too would count
// every record twice). A store keeps each equal to the sum of the key rows
// it covers, so a change to k (ReplaceRollups) moves them by as much.
func (k RollupKey) Totals() []RollupKey {
	if k.Period == PeriodDay {
		return []RollupKey{k.allKeys(), MonthSpendKey(k.KeyID, k.Start)}
	}
	return []RollupKey{k.allKeys()}
}

// allKeys returns the key of k's row over every key.
func (k RollupKey) allKeys() RollupKey {
	return RollupKey{Period: k.Period, KeyID: AllKeys, Model: k.Model, Start: k.Start}
}

// MonthSpendKey returns the key of keyID's month-spend row for the
// calendar month (UTC) containing t.
func MonthSpendKey(keyID string, t time.Time) RollupKey {
	return RollupKey{Period: PeriodMonth, KeyID: keyID, Start: PeriodStart(t, PeriodMonth)}
}

// PeriodStart returns the start, in UTC, of the hour, day or calendar
// month (PeriodHour, PeriodDay, PeriodMonth) containing t. Any other
// period is taken as an hour.
func PeriodStart(t time.Time, period string) time.Time {
	t = t.UTC()
	switch period {
	case PeriodDay:
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	case PeriodMonth:
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return t.Truncate(time.Hour)
}

// NextPeriod returns the start of the period after the one starting at
// start, a start as PeriodStart returns it.
func NextPeriod(start time.Time, period string) time.Time {
	switch period {
	case PeriodDay:
		return start.AddDate(0, 0, 1)
	case PeriodMonth:
		return start.AddDate(0, 1, 0)
	}
	return start.Add(time.Hour)
}

// CoveredPeriods returns the starts [lo, hi) of the periods lying wholly
// inside [from, to): a period that straddles from or to is left out,
// since records outside [from, to) also count in it. lo equals hi when
// there is none.
func CoveredPeriods(from, to time.Time, period string) (lo, hi time.Time) {
	lo = PeriodStart(from, period)
	if lo.Before(from) {
		lo = NextPeriod(lo, period)
	}
	hi = PeriodStart(to, period)
	if hi.Before(lo) {
		hi = lo
	}
	return lo, hi
}

// Within reports whether k's period lies wholly inside [from, to), the
// rows ReplaceRollups may rewrite from the records of [from, to).
func (k RollupKey) Within(from, to time.Time) bool {
	lo, hi := CoveredPeriods(from, to, k.Period)
	return !k.Start.Before(lo) && k.Start.Before(hi)
}

// RollupFilter selects roll-ups: one period kind, Start in [From, To),
// optionally one key (AllKeys for the per-model totals) and one model.
// PeriodMonth reads the keys' month rows, which hold every model of the
// month together: it takes no model and no AllKeys, and is what makes a
// calendar month of every key one read instead of one per day.
type RollupFilter struct {
	Period string
	From   time.Time
	To     time.Time
	KeyID  string
	Model  string
}

// MaxRollupPeriods is the most hours or days a RollupFilter without a key
// may cover: a store reads every key's rows one period at a time.
const MaxRollupPeriods = 10_000

// Validate checks f as every StatsStore does. Returns EInvalid for a
// period other than hour, day or month, a month filter with a model or
// AllKeys and, without a key, for a missing From or To or more than
// MaxRollupPeriods periods starting in [From, To).
func (f RollupFilter) Validate() error {
	switch f.Period {
	case PeriodHour, PeriodDay:
	case PeriodMonth:
		if f.Model != "" || f.KeyID == AllKeys {
			return Errorf(EInvalid, "month roll-ups hold every model of one key: no model filter and no %q", AllKeys)
		}
	default:
		return Errorf(EInvalid, "roll-up period %q: want %q, %q or %q", f.Period, PeriodHour, PeriodDay, PeriodMonth)
	}
	if f.KeyID != "" {
		return nil
	}
	if f.From.IsZero() || f.To.IsZero() {
		return Errorf(EInvalid, "roll-ups of every key need a time range")
	}
	if n := f.periods(); n > MaxRollupPeriods {
		return Errorf(EInvalid, "roll-ups of every key over %d %ss: name a key or narrow the range to %d", n, f.Period, MaxRollupPeriods)
	}
	return nil
}

// Starts returns the starts of the periods that begin in [f.From, f.To),
// oldest first: the periods whose rows f selects, one read each for a
// filter without a key. f must be valid and have a range.
func (f RollupFilter) Starts() []time.Time {
	out := make([]time.Time, 0, f.periods())
	for t := f.first(); t.Before(f.To); t = NextPeriod(t, f.Period) {
		out = append(out, t)
	}
	return out
}

// first returns the start of the first period beginning at or after From.
func (f RollupFilter) first() time.Time {
	first := PeriodStart(f.From, f.Period)
	if first.Before(f.From) {
		first = NextPeriod(first, f.Period)
	}
	return first
}

// periods counts the starts in [From, To) without listing them, since an
// unbounded range must be refused, not walked. UTC hours and days have a
// fixed length.
func (f RollupFilter) periods() int64 {
	if f.Period == PeriodMonth {
		first := f.first()
		if !first.Before(f.To) {
			return 0
		}
		to := f.To.UTC()
		n := int64(to.Year()-first.Year())*12 + int64(to.Month()-first.Month())
		if PeriodStart(to, PeriodMonth).Before(to) {
			n++
		}
		return n
	}
	step := time.Hour
	if f.Period == PeriodDay {
		step = 24 * time.Hour
	}
	first := f.first()
	if !first.Before(f.To) {
		return 0
	}
	d := f.To.Sub(first) // saturates rather than overflows
	n := int64(d / step)
	if d%step != 0 {
		n++
	}
	return n
}

// ValidateForRollups checks what a StatsStore relies on in a record: a
// valid event (UsageEvent.Validate), a key id that names one key (neither
// empty nor AllKeys, whose rows sum the others) and a cost that is not
// negative. A nil r is invalid too. Returns EInvalid.
func (r *UsageRecord) ValidateForRollups() error {
	if r == nil {
		return Errorf(EInvalid, "nil usage record")
	}
	if err := r.Validate(); err != nil {
		return err
	}
	switch {
	case r.KeyID == "" || r.KeyID == AllKeys:
		return Errorf(EInvalid, "usage record %s: key id %q names no key", r.ID, r.KeyID)
	case r.CostMicros < 0:
		return Errorf(EInvalid, "usage record %s: negative cost", r.ID)
	}
	return nil
}

// StatsStore keeps the roll-ups and the month-to-date spend per key.
type StatsStore interface {
	// ApplyUsage adds each record's Delta to the rows of its RollupKeys
	// (key × model × hour and day, model × hour and day over all keys, the
	// key's month-to-date spend), exactly once per record ID whatever the
	// redeliveries, duplicates and crashes. It returns how many records
	// were newly applied. Returns EInvalid, and applies nothing, if a
	// record fails UsageRecord.ValidateForRollups.
	ApplyUsage(ctx context.Context, recs []*UsageRecord) (applied int, err error)
	// Rollups returns the rows matching f, oldest first (then by key and
	// model). f.KeyID AllKeys reads the per-model totals over every key;
	// an empty f.KeyID reads every key's own rows (never the AllKeys
	// ones), which needs a time range and costs one query per period
	// (RollupFilter.Starts). Those may lag the latest ApplyUsage by a
	// moment (a store may read them from an eventually consistent index);
	// rows of one key or of AllKeys, and MonthSpend, do not. Returns
	// EInvalid for a filter RollupFilter.Validate refuses.
	Rollups(ctx context.Context, f RollupFilter) ([]Rollup, error)
	// MonthSpend returns the key's spend in micro-dollars in the calendar
	// month (UTC) containing t; 0 when there is none.
	MonthSpend(ctx context.Context, keyID string, t time.Time) (int64, error)
	// ReplaceRollups overwrites the roll-ups and month spends derived from
	// recs for the period [from, to) with values computed from recs alone,
	// for replay: running it twice gives the same rows. Only rows of
	// periods lying wholly inside [from, to) (RollupKey.Within) are
	// rewritten; their Totals move by the difference. Records outside
	// [from, to), and nil ones, are ignored. Returns EInvalid if from is
	// not before to or a record fails UsageRecord.ValidateForRollups.
	ReplaceRollups(ctx context.Context, from, to time.Time, recs []*UsageRecord) error
}
