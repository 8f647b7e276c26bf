// Package envvar reads settings from the environment by one rule that every
// service of the product follows:
//
//   - surrounding spaces are ignored, and an unset or empty variable keeps
//     its default;
//   - durations take Go syntax ("90s", "5m", "1h30m", "250ms") or a bare
//     whole number of seconds ("30"), never negative;
//   - integers are decimal, within a range each setting states;
//   - booleans are true, false, 1 or 0, in any case.
//
// A bad value is reported with the variable's name, the value quoted and
// what is accepted, and the default is kept; a Reader collects every
// problem so that a start reports all of them at once.
package envvar

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Positive, as the minimum of a duration, refuses zero and accepts any
// positive duration.
const Positive = time.Nanosecond

// Reader reads variables through getenv and collects what is wrong with
// them. Not safe for concurrent use.
type Reader struct {
	getenv func(string) string
	errs   []error
}

// New returns a Reader over getenv (os.Getenv, or a map lookup in tests).
func New(getenv func(string) string) *Reader { return &Reader{getenv: getenv} }

// Err returns every problem met so far, joined, or nil.
func (r *Reader) Err() error { return errors.Join(r.errs...) }

// IsSet reports whether name holds more than spaces, for settings whose
// default behaves differently from the same value given explicitly.
func (r *Reader) IsSet(name string) bool { return r.value(name) != "" }

// String returns the value of name, or def when it is unset or empty.
func (r *Reader) String(name, def string) string {
	if v := r.value(name); v != "" {
		return v
	}
	return def
}

// Bool returns name as true, false, 1 or 0 in any case, or def when it is
// unset or empty.
func (r *Reader) Bool(name string, def bool) bool {
	v := r.value(name)
	switch strings.ToLower(v) {
	case "":
		return def
	case "true", "1":
		return true
	case "false", "0":
		return false
	}
	r.fail(name, v, "is not a boolean (use true, false, 1 or 0)")
	return def
}

// Int returns name as a decimal integer of at least min, or def when it is
// unset or empty.
func (r *Reader) Int(name string, def, min int) int {
	return int(r.integer(name, int64(def), int64(min), math.MaxInt))
}

// IntRange returns name as a decimal integer from min to max, or def when it
// is unset or empty.
func (r *Reader) IntRange(name string, def, min, max int) int {
	return int(r.integer(name, int64(def), int64(min), int64(max)))
}

// Int64 returns name as a decimal integer of at least min, or def when it is
// unset or empty.
func (r *Reader) Int64(name string, def, min int64) int64 {
	return r.integer(name, def, min, math.MaxInt64)
}

func (r *Reader) integer(name string, def, min, max int64) int64 {
	v := r.value(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	below, above := n < min, n > max
	if errors.Is(err, strconv.ErrRange) {
		// For a number too long for int64 ParseInt returns the nearest
		// int64, which may equal min or max; the number lies past it.
		below, above, err = n < 0, n > 0, nil
	}
	switch {
	case err != nil:
		accepted := fmt.Sprintf("%d or more", min)
		if max < math.MaxInt {
			accepted = fmt.Sprintf("%d to %d", min, max)
		}
		r.fail(name, v, "is not an integer (use "+accepted+")")
	case below:
		r.fail(name, v, fmt.Sprintf("is below the minimum %d", min))
	case above:
		r.fail(name, v, fmt.Sprintf("is above the maximum %d", max))
	default:
		return n
	}
	return def
}

// Duration returns name as a Go duration ("90s", "5m", "1h30m", "250ms") or
// a bare whole number of seconds, or def when it is unset or empty. Values
// below min are refused, negative ones always: min 0 accepts zero, Positive
// refuses it.
func (r *Reader) Duration(name string, def, min time.Duration) time.Duration {
	v := r.value(name)
	if v == "" {
		return def
	}
	d, ok := parseDuration(v)
	switch {
	case !ok:
		r.fail(name, v, "is not a duration (use 30s, 5m or whole seconds)")
	case d < 0:
		r.fail(name, v, "is negative")
	case d < min && min == Positive:
		r.fail(name, v, "is not positive")
	case d < min:
		r.fail(name, v, "is below the minimum "+min.String())
	default:
		return d
	}
	return def
}

// parseDuration reads Go syntax or whole seconds.
func parseDuration(v string) (time.Duration, bool) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n > math.MaxInt64/int64(time.Second) || n < math.MinInt64/int64(time.Second) {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	d, err := time.ParseDuration(v)
	return d, err == nil
}

// value is name's value without surrounding spaces.
func (r *Reader) value(name string) string { return strings.TrimSpace(r.getenv(name)) }

// fail records that name's value v is wrong, in the form every message
// takes: the variable, the value quoted, the reason and what is accepted.
func (r *Reader) fail(name, v, reason string) {
	r.errs = append(r.errs, fmt.Errorf("%s: %q %s", name, v, reason))
}
