package storetest

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/openai-api-convertor/convertor"
)

// WantCode fails t unless err carries the domain error code code; what
// names the call in the message.
func WantCode(t testing.TB, what string, err error, code string) {
	t.Helper()
	if got := convertor.ErrorCode(err); got != code {
		t.Errorf("%s error = %v, want code %s", what, err, code)
	}
}

// ErrOf returns the error of a call that returns a value too, for
// WantCode(t, "APIKey()", ErrOf(s.APIKey(ctx, id)), convertor.ENotFound).
func ErrOf[T any](_ T, err error) error { return err }

func randomHex(t testing.TB) string {
	t.Helper()
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// readPages calls list with each cursor it returns, from "" to the end,
// and returns every item and the number of pages; what names the call.
// It stops t unless every page but the last holds limit items (under the
// page-size rule) and the last has no cursor.
func readPages[T any](t testing.TB, what string, limit int, list func(cursor string) ([]T, string, error)) (all []T, pages int) {
	t.Helper()
	limit, err := convertor.PageLimit(limit)
	if err != nil {
		t.Fatal(err)
	}
	cursor := ""
	for {
		page, next, err := list(cursor)
		if err != nil {
			t.Fatalf("%s(page %d) error = %v", what, pages+1, err)
		}
		pages++
		all = append(all, page...)
		if next == "" {
			return all, pages
		}
		if len(page) != limit {
			t.Fatalf("%s(page %d) = %d items with a cursor, want a full page of %d", what, pages, len(page), limit)
		}
		if pages > 1000 {
			t.Fatalf("%s() cursors never end", what)
		}
		cursor = next
	}
}

// BadCursors returns cursors no store issues: text that is not a cursor,
// and good (a cursor the store issued) spoiled.
func BadCursors(good string) []string {
	return []string{
		"not a cursor",
		"bm90IGEgY3Vyc29y", // base64 of "not a cursor"
		good + "!",
		good[:len(good)/2] + "%" + good[len(good)/2:],
		strings.Repeat("A", 10000),
	}
}

// ErrOf2 returns the error of a call that returns two values too.
func ErrOf2[T, U any](_ T, _ U, err error) error { return err }
