package convertor

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func utc(y int, mo time.Month, d, h, mi int) time.Time {
	return time.Date(y, mo, d, h, mi, 0, 0, time.UTC)
}

func TestPeriodStart(t *testing.T) {
	// 01:30 on 1 April in UTC+2 is 23:30 on 31 March in UTC.
	plus2 := time.FixedZone("UTC+2", 2*60*60)
	tests := []struct {
		name   string
		t      time.Time
		period string
		want   time.Time
	}{
		{"Hour", utc(2026, 3, 31, 10, 59), PeriodHour, utc(2026, 3, 31, 10, 0)},
		{"HourAtStart", utc(2026, 3, 31, 10, 0), PeriodHour, utc(2026, 3, 31, 10, 0)},
		{"HourInUTC", time.Date(2026, 4, 1, 1, 30, 0, 0, plus2), PeriodHour, utc(2026, 3, 31, 23, 0)},
		{"Day", utc(2026, 3, 31, 23, 59), PeriodDay, utc(2026, 3, 31, 0, 0)},
		{"DayInUTC", time.Date(2026, 4, 1, 1, 30, 0, 0, plus2), PeriodDay, utc(2026, 3, 31, 0, 0)},
		{"Month", utc(2026, 3, 31, 23, 59), PeriodMonth, utc(2026, 3, 1, 0, 0)},
		{"MonthInUTC", time.Date(2026, 4, 1, 1, 30, 0, 0, plus2), PeriodMonth, utc(2026, 3, 1, 0, 0)},
		{"MonthAtStart", utc(2026, 4, 1, 0, 0), PeriodMonth, utc(2026, 4, 1, 0, 0)},
		{"UnknownIsHour", utc(2026, 3, 31, 10, 59), "week", utc(2026, 3, 31, 10, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PeriodStart(tt.t, tt.period)
			// == rather than Equal: starts are map keys in the stores.
			if got != tt.want {
				t.Errorf("PeriodStart(%v, %s) = %v, want %v", tt.t, tt.period, got, tt.want)
			}
		})
	}
}

func TestNextPeriod(t *testing.T) {
	tests := []struct {
		start  time.Time
		period string
		want   time.Time
	}{
		{utc(2026, 3, 31, 23, 0), PeriodHour, utc(2026, 4, 1, 0, 0)},
		{utc(2026, 2, 28, 0, 0), PeriodDay, utc(2026, 3, 1, 0, 0)},
		{utc(2028, 2, 28, 0, 0), PeriodDay, utc(2028, 2, 29, 0, 0)},
		{utc(2026, 1, 1, 0, 0), PeriodMonth, utc(2026, 2, 1, 0, 0)},
		{utc(2026, 12, 1, 0, 0), PeriodMonth, utc(2027, 1, 1, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.period+"/"+tt.start.Format(time.RFC3339), func(t *testing.T) {
			if got := NextPeriod(tt.start, tt.period); got != tt.want {
				t.Errorf("NextPeriod(%v, %s) = %v, want %v", tt.start, tt.period, got, tt.want)
			}
		})
	}
}

func TestCoveredPeriods(t *testing.T) {
	tests := []struct {
		name           string
		from, to       time.Time
		period         string
		wantLo, wantHi time.Time
	}{
		{"AlignedHours", utc(2026, 3, 31, 10, 0), utc(2026, 3, 31, 12, 0), PeriodHour, utc(2026, 3, 31, 10, 0), utc(2026, 3, 31, 12, 0)},
		{"StraddledHoursLeftOut", utc(2026, 3, 31, 9, 30), utc(2026, 3, 31, 12, 30), PeriodHour, utc(2026, 3, 31, 10, 0), utc(2026, 3, 31, 12, 0)},
		{"InsideOneHour", utc(2026, 3, 31, 10, 10), utc(2026, 3, 31, 10, 50), PeriodHour, utc(2026, 3, 31, 11, 0), utc(2026, 3, 31, 11, 0)},
		{"Days", utc(2026, 3, 30, 23, 30), utc(2026, 4, 2, 0, 30), PeriodDay, utc(2026, 3, 31, 0, 0), utc(2026, 4, 2, 0, 0)},
		{"NoWholeDay", utc(2026, 3, 31, 1, 0), utc(2026, 4, 1, 1, 0), PeriodDay, utc(2026, 4, 1, 0, 0), utc(2026, 4, 1, 0, 0)},
		{"Months", utc(2026, 1, 1, 0, 0), utc(2026, 3, 15, 0, 0), PeriodMonth, utc(2026, 1, 1, 0, 0), utc(2026, 3, 1, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lo, hi := CoveredPeriods(tt.from, tt.to, tt.period)
			if lo != tt.wantLo || hi != tt.wantHi {
				t.Errorf("CoveredPeriods() = [%v, %v), want [%v, %v)", lo, hi, tt.wantLo, tt.wantHi)
			}
		})
	}
}

func TestRollupKey_Within(t *testing.T) {
	from, to := utc(2026, 3, 30, 23, 30), utc(2026, 4, 2, 0, 30)
	tests := []struct {
		name string
		k    RollupKey
		want bool
	}{
		{"HourStraddlingFrom", RollupKey{Period: PeriodHour, Start: utc(2026, 3, 30, 23, 0)}, false},
		{"FirstWholeHour", RollupKey{Period: PeriodHour, Start: utc(2026, 3, 31, 0, 0)}, true},
		{"LastWholeHour", RollupKey{Period: PeriodHour, Start: utc(2026, 4, 1, 23, 0)}, true},
		{"HourStraddlingTo", RollupKey{Period: PeriodHour, Start: utc(2026, 4, 2, 0, 0)}, false},
		{"DayStraddlingFrom", RollupKey{Period: PeriodDay, Start: utc(2026, 3, 30, 0, 0)}, false},
		{"WholeDay", RollupKey{Period: PeriodDay, Start: utc(2026, 4, 1, 0, 0)}, true},
		{"DayStraddlingTo", RollupKey{Period: PeriodDay, Start: utc(2026, 4, 2, 0, 0)}, false},
		{"Month", RollupKey{Period: PeriodMonth, Start: utc(2026, 4, 1, 0, 0)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.k.Within(from, to); got != tt.want {
				t.Errorf("Within() = %t, want %t", got, tt.want)
			}
		})
	}
}

func TestUsageRecord_RollupKeys(t *testing.T) {
	// 01:30 on 1 April in UTC+2: the last hour of March in UTC.
	r := &UsageRecord{UsageEvent: UsageEvent{
		KeyID: "key_a", Model: "claude-haiku-4-5",
		Time: time.Date(2026, 4, 1, 1, 30, 0, 0, time.FixedZone("UTC+2", 2*60*60)),
	}}
	want := [5]RollupKey{
		{Period: PeriodHour, KeyID: "key_a", Model: "claude-haiku-4-5", Start: utc(2026, 3, 31, 23, 0)},
		{Period: PeriodDay, KeyID: "key_a", Model: "claude-haiku-4-5", Start: utc(2026, 3, 31, 0, 0)},
		{Period: PeriodHour, KeyID: AllKeys, Model: "claude-haiku-4-5", Start: utc(2026, 3, 31, 23, 0)},
		{Period: PeriodDay, KeyID: AllKeys, Model: "claude-haiku-4-5", Start: utc(2026, 3, 31, 0, 0)},
		{Period: PeriodMonth, KeyID: "key_a", Start: utc(2026, 3, 1, 0, 0)},
	}
	got := r.RollupKeys()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RollupKeys() mismatch (-want +got):\n%s", diff)
	}
	for i, k := range got {
		if k != want[i] {
			t.Errorf("RollupKeys()[%d] = %+v, not == %+v", i, k, want[i])
		}
	}
	if diff := cmp.Diff([]RollupKey{want[2]}, got[0].Totals()); diff != "" {
		t.Errorf("Totals() of the hour row mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[3:], got[1].Totals()); diff != "" {
		t.Errorf("Totals() of the day row mismatch (-want +got):\n%s", diff)
	}
	if k := MonthSpendKey("key_a", utc(2026, 3, 1, 0, 0)); k != want[4] {
		t.Errorf("MonthSpendKey() = %+v, want %+v", k, want[4])
	}
}

func TestRollupFilter_Validate(t *testing.T) {
	// 10,000 hours from 00:30 cover the starts 01:00 to 10,000 hours
	// later: exactly the limit. From 00:00 the same span starts 10,001.
	half := utc(2026, 1, 1, 0, 30)
	tests := []struct {
		name string
		f    RollupFilter
		want int // periods Starts lists without a key; -1: invalid
	}{
		{"OneKeyNoRange", RollupFilter{Period: PeriodHour, KeyID: "key_a"}, 0},
		{"AllKeysNoRange", RollupFilter{Period: PeriodDay, KeyID: AllKeys}, 0},
		{"OneKeyMonths", RollupFilter{Period: PeriodMonth, KeyID: "key_a"}, 0},
		{"MonthOfAModel", RollupFilter{Period: PeriodMonth, KeyID: "key_a", Model: "m"}, -1},
		{"MonthOfAllKeys", RollupFilter{Period: PeriodMonth, KeyID: AllKeys}, -1},
		{"Week", RollupFilter{Period: "week", KeyID: "key_a"}, -1},
		// Every key's months: those starting from 1 February up to the
		// one To falls in, April.
		{"EveryKeyMonths", RollupFilter{Period: PeriodMonth, From: utc(2026, 1, 31, 12, 0), To: utc(2026, 4, 10, 0, 0)}, 3},
		{"EveryKeyMonthsAligned", RollupFilter{Period: PeriodMonth, From: utc(2026, 1, 1, 0, 0), To: utc(2026, 4, 1, 0, 0)}, 3},
		{"NoPeriod", RollupFilter{KeyID: "key_a"}, -1},
		{"EveryKeyNoRange", RollupFilter{Period: PeriodHour}, -1},
		{"EveryKeyNoTo", RollupFilter{Period: PeriodHour, From: half}, -1},
		{"EveryKeyNoFrom", RollupFilter{Period: PeriodHour, To: half}, -1},
		{"InsideOneHour", RollupFilter{Period: PeriodHour, From: half, To: half.Add(10 * time.Minute)}, 0},
		{"StraddlingHours", RollupFilter{Period: PeriodHour, From: half, To: half.Add(90 * time.Minute)}, 1},
		{"AlignedHours", RollupFilter{Period: PeriodHour, From: utc(2026, 1, 1, 0, 0), To: utc(2026, 1, 1, 3, 0)}, 3},
		{"ToBeforeFrom", RollupFilter{Period: PeriodHour, From: half, To: half.Add(-5 * time.Hour)}, 0},
		// 1 February to 1 March 2026: 28 days and the one To falls in.
		{"Days", RollupFilter{Period: PeriodDay, From: utc(2026, 1, 31, 12, 0), To: utc(2026, 3, 1, 0, 1)}, 29},
		{"MostHours", RollupFilter{Period: PeriodHour, From: half, To: half.Add(10_000 * time.Hour)}, 10_000},
		{"TooManyHours", RollupFilter{Period: PeriodHour, From: utc(2026, 1, 1, 0, 0), To: half.Add(10_000 * time.Hour)}, -1},
		{"TooManyDays", RollupFilter{Period: PeriodDay, From: utc(2000, 1, 1, 0, 0), To: utc(2030, 1, 1, 0, 0)}, -1},
		{"Centuries", RollupFilter{Period: PeriodDay, From: utc(1, 1, 1, 0, 0), To: utc(9999, 1, 1, 0, 0)}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.f.Validate()
			if tt.want < 0 {
				if ErrorCode(err) != EInvalid {
					t.Errorf("Validate() = %v, want code invalid", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
			if tt.f.KeyID != "" {
				return
			}
			starts := tt.f.Starts()
			if len(starts) != tt.want {
				t.Fatalf("Starts() = %d periods, want %d", len(starts), tt.want)
			}
			for i, s := range starts {
				if s != PeriodStart(s, tt.f.Period) || s.Before(tt.f.From) || !s.Before(tt.f.To) || i > 0 && s != NextPeriod(starts[i-1], tt.f.Period) {
					t.Fatalf("Starts()[%d] = %v: not the next period start in [From, To)", i, s)
				}
			}
		})
	}
}

func TestUsageRecord_ValidateForRollups(t *testing.T) {
	good := func() *UsageRecord {
		return &UsageRecord{
			UsageEvent: UsageEvent{Version: UsageEventVersion, ID: "r1", Time: utc(2026, 3, 31, 10, 0), KeyID: "key_a", Model: "m", Status: UsageOK},
			CostMicros: 5,
		}
	}
	if err := good().ValidateForRollups(); err != nil {
		t.Fatalf("ValidateForRollups() = %v, want nil", err)
	}
	tests := []struct {
		name   string
		change func(r *UsageRecord) *UsageRecord
	}{
		{"Nil", func(*UsageRecord) *UsageRecord { return nil }},
		{"InvalidEvent", func(r *UsageRecord) *UsageRecord { r.InputTokens = -1; return r }},
		{"NoKey", func(r *UsageRecord) *UsageRecord { r.KeyID = ""; return r }},
		{"AllKeys", func(r *UsageRecord) *UsageRecord { r.KeyID = AllKeys; return r }},
		{"NegativeCost", func(r *UsageRecord) *UsageRecord { r.CostMicros = -1; return r }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.change(good()).ValidateForRollups(); ErrorCode(err) != EInvalid {
				t.Errorf("ValidateForRollups() = %v, want code invalid", err)
			}
		})
	}
}

func TestUsageRecord_Delta(t *testing.T) {
	tests := []struct {
		status     string
		wantErrors int64
	}{
		{UsageOK, 0},
		{UsageError, 1},
		{UsageRefused, 1},
		// The client left, but what was served is billed and not a failure.
		{UsageCanceled, 0},
	}
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			r := &UsageRecord{
				UsageEvent: UsageEvent{KeyID: "key_a", Model: "m", Time: utc(2026, 3, 31, 10, 0), Status: tt.status,
					InputTokens: 1, OutputTokens: 2, CacheReadTokens: 3, CacheWriteTokens: 4},
				CostMicros: 5,
			}
			want := Rollup{Requests: 1, Errors: tt.wantErrors, InputTokens: 1, OutputTokens: 2, CacheReadTokens: 3, CacheWriteTokens: 4, CostMicros: 5}
			if diff := cmp.Diff(want, r.Delta()); diff != "" {
				t.Errorf("Delta() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRollup_Add(t *testing.T) {
	k := RollupKey{Period: PeriodDay, KeyID: "key_a", Model: "m", Start: utc(2026, 3, 31, 0, 0)}
	d := Rollup{KeyID: "other", Period: PeriodHour, Requests: 1, Errors: 2, InputTokens: 3, OutputTokens: 4, CacheReadTokens: 5, CacheWriteTokens: 6, CostMicros: 7}
	r := k.Rollup()
	r.Add(d)
	r.Add(d)
	want := Rollup{KeyID: "key_a", Model: "m", Period: PeriodDay, Start: k.Start, Requests: 2, Errors: 4, InputTokens: 6, OutputTokens: 8, CacheReadTokens: 10, CacheWriteTokens: 12, CostMicros: 14}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("Add() mismatch (-want +got):\n%s", diff)
	}
	if r.Key() != k {
		t.Errorf("Key() = %+v, want %+v", r.Key(), k)
	}
	r.Sub(d)
	r.Sub(d)
	if diff := cmp.Diff(k.Rollup(), r); diff != "" {
		t.Errorf("Sub() mismatch (-want +got):\n%s", diff)
	}
	r.Sub(d)
	want = Rollup{KeyID: "key_a", Model: "m", Period: PeriodDay, Start: k.Start, Requests: -1, Errors: -2, InputTokens: -3, OutputTokens: -4, CacheReadTokens: -5, CacheWriteTokens: -6, CostMicros: -7}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("Sub() below zero mismatch (-want +got):\n%s", diff)
	}
}

func TestRollup_SameCounts(t *testing.T) {
	a := Rollup{KeyID: "key_a", Model: "m", Period: PeriodHour, Start: utc(2026, 3, 31, 10, 0), Requests: 1, CostMicros: 7}
	tests := []struct {
		name string
		o    Rollup
		want bool
	}{
		{"Same", a, true},
		{"OtherRow", Rollup{KeyID: AllKeys, Period: PeriodDay, Requests: 1, CostMicros: 7}, true},
		{"Empty", Rollup{}, false},
		{"Requests", Rollup{Requests: 2, CostMicros: 7}, false},
		{"Errors", Rollup{Requests: 1, Errors: 1, CostMicros: 7}, false},
		{"InputTokens", Rollup{Requests: 1, InputTokens: 1, CostMicros: 7}, false},
		{"OutputTokens", Rollup{Requests: 1, OutputTokens: 1, CostMicros: 7}, false},
		{"CacheReadTokens", Rollup{Requests: 1, CacheReadTokens: 1, CostMicros: 7}, false},
		{"CacheWriteTokens", Rollup{Requests: 1, CacheWriteTokens: 1, CostMicros: 7}, false},
		{"CostMicros", Rollup{Requests: 1, CostMicros: 8}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := a.SameCounts(tt.o); got != tt.want {
				t.Errorf("SameCounts() = %t, want %t", got, tt.want)
			}
		})
	}
	empty := RollupKey{Period: PeriodDay, KeyID: "key_a", Start: utc(2026, 3, 31, 0, 0)}.Rollup()
	if !empty.SameCounts(Rollup{}) {
		t.Errorf("SameCounts(Rollup{}) = false for the empty row %+v", empty)
	}
}
