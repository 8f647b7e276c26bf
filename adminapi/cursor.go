package adminapi

import (
	"encoding/base64"
	"strings"

	"github.com/openai-api-convertor/convertor"
)

// Cursors are opaque to clients: base64url of a kind letter and the
// position's fields. The kind keeps a cursor of one list from being taken
// for another's; a cursor that does not decode is a 400, never a 500.

// maxCursorLen bounds what is decoded from a query parameter.
const maxCursorLen = 2048

func encodeCursor(kind string, fields ...string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + "\x00" + strings.Join(fields, "\x00")))
}

func decodeCursor(s, kind string, n int) ([]string, error) {
	if len(s) > maxCursorLen {
		return nil, errBadCursor()
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, errBadCursor()
	}
	f := strings.Split(string(b), "\x00")
	if len(f) != n+1 || f[0] != kind {
		return nil, errBadCursor()
	}
	return f[1:], nil
}

func errBadCursor() error {
	return convertor.ParamErrorf("query.cursor", "cursor is not valid: pass the next_cursor of the previous page unchanged")
}

// pageLimit checks a page size: 0 means the default.
func pageLimit(param string, n int) (int, error) {
	switch {
	case n == 0:
		return convertor.DefaultPageSize, nil
	case n < 0 || n > convertor.MaxPageSize:
		return 0, convertor.ParamErrorf("query."+param, "%s must be between 1 and %d", param, convertor.MaxPageSize)
	}
	return n, nil
}
