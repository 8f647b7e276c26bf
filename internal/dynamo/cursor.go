package dynamo

import (
	"encoding/base64"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/openai-api-convertor/convertor"
)

// Lists with page cursors; a cursor names its list, so one list's cursor
// is refused by another.
const (
	requestLogCursor = "log"
	auditCursor      = "audit"
)

// maxCursorLen bounds a cursor before decoding it: ours are below 200
// bytes for any id the product issues.
const maxCursorLen = 4096

// maxKeyValueLen is what the stores allow in a string that becomes a key
// attribute, under DynamoDB's limits (2048 bytes for a partition key, 1024
// for a sort key), so client input never meets them as a
// ValidationException.
const maxKeyValueLen = 1000

// encodeCursor returns the cursor of list after the entry with time ts (a
// timeLayout string) and id: every paged list here is newest first by
// time, then id. It is base64url so that callers treat it as opaque.
func encodeCursor(list, ts, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(list + "|" + ts + "|" + id))
}

// decodeCursor checks a cursor of list and returns its position. A cursor
// is client input: anything this store could not have issued is EInvalid,
// so it never reaches DynamoDB as a malformed key.
func decodeCursor(list, cursor string) (ts, id string, err error) {
	bad := convertor.ParamErrorf("cursor", "cursor is not one this list issued; start again without it")
	if len(cursor) > maxCursorLen {
		return "", "", bad
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return "", "", bad
	}
	rest, ok := strings.CutPrefix(string(b), list+"|")
	if !ok {
		return "", "", bad
	}
	ts, id, ok = strings.Cut(rest, "|")
	if !ok || !validTimeString(ts) || id == "" || len(id) > maxKeyValueLen || !utf8.ValidString(id) {
		return "", "", bad
	}
	return ts, id, nil
}

// validTimeString reports whether s is a time as the stores write it.
func validTimeString(s string) bool {
	t, err := time.Parse(timeLayout, s)
	return err == nil && t.Format(timeLayout) == s
}

// Bounds of time strings: every stored time (years 1 to 9999) sorts
// between them.
const (
	timeStringMin = "0"
	timeStringMax = "~"
)

// timeRange returns the inclusive string bounds of [from, to) over time
// attributes written with timeLayout; a zero time leaves its side open.
// Times outside the years the layout writes in fixed width clamp to the
// open bounds.
func timeRange(from, to time.Time) (lo, hi string) {
	lo, hi = timeStringMin, timeStringMax
	if !from.IsZero() {
		lo = timeBound(from)
	}
	if !to.IsZero() {
		// BETWEEN is inclusive; the last instant before to makes it half-open.
		hi = timeBound(to.Add(-time.Nanosecond))
	}
	return lo, hi
}

// timeBound writes t as a bound: before year 1 sorts below every stored
// time, after year 9999 above.
func timeBound(t time.Time) string {
	t = t.UTC()
	switch {
	case t.Year() < 1:
		return timeStringMin
	case t.Year() > 9999:
		return timeStringMax
	}
	return t.Format(timeLayout)
}
