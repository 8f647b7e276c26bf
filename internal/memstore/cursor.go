package memstore

import (
	"encoding/base64"
	"strings"
	"time"

	"github.com/openai-api-convertor/convertor"
)

// Lists with page cursors; a cursor names its list, so one list's cursor
// is refused by another.
const (
	requestLogCursor = "log"
	auditCursor      = "audit"
)

// position is where a newest-first page ended: the time and id of its
// last entry. The next page holds what sorts after it.
type position struct {
	t  time.Time
	id string
}

// after reports whether an entry at (t, id) comes after p in newest-first
// order (time descending, then id descending).
func (p *position) after(t time.Time, id string) bool {
	if p == nil {
		return true
	}
	return t.Before(p.t) || t.Equal(p.t) && id < p.id
}

func encodeCursor(list string, t time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(list + "|" + t.UTC().Format(time.RFC3339Nano) + "|" + id))
}

// decodeCursor returns the position of a cursor of list, nil for "", and
// EInvalid for anything this store could not have issued.
func decodeCursor(list, cursor string) (*position, error) {
	if cursor == "" {
		return nil, nil
	}
	bad := convertor.ParamErrorf("cursor", "cursor is not one this list issued; start again without it")
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, bad
	}
	rest, ok := strings.CutPrefix(string(b), list+"|")
	if !ok {
		return nil, bad
	}
	ts, id, ok := strings.Cut(rest, "|")
	if !ok || id == "" {
		return nil, bad
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return nil, bad
	}
	return &position{t: t, id: id}, nil
}

// inRange reports whether t is in [from, to), a zero bound leaving its
// side open.
func inRange(t, from, to time.Time) bool {
	return (from.IsZero() || !t.Before(from)) && (to.IsZero() || t.Before(to))
}
