package storetest

import (
	"crypto/rand"
	"encoding/hex"
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
