package openai

import (
	"encoding/json"
	"testing"
)

// plainStringCases are JSON strings plainString must take or leave to
// encoding/json: escapes, control characters, invalid UTF-8 and broken
// quoting among them.
var plainStringCases = []string{
	`""`, `"Hello!"`, `"héllo, 世界 🙂"`, `"a\"b"`, `"a\\b"`, `"line\nbreak"`, `"\u00e9"`,
	"\"tab\there\"", "\"nul\x00\"", "\"bad \xff utf-8\"", "\"half \xe4\xb8\"", `"`, `"unterminated`,
	`x"`, `"a"b"`, `"surrogate \ud83d"`, "\"\x7f del\"",
}

// A string content decodes to what encoding/json makes of it, on the
// fast path or not, and the fast path takes nothing that is not JSON.
func TestContent_StringAsEncodingJSON(t *testing.T) {
	for _, in := range plainStringCases {
		checkPlainString(t, []byte(in))
	}
}

func FuzzPlainString(f *testing.F) {
	for _, in := range plainStringCases {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkPlainString(t, b) })
}

func checkPlainString(t *testing.T, b []byte) {
	t.Helper()
	if !json.Valid(b) {
		// A decoder hands UnmarshalJSON only valid JSON; the fast path
		// must still never take what is not.
		if s, ok := plainString(b); ok {
			t.Fatalf("%q is not JSON, yet the fast path read %q", b, s)
		}
		return
	}
	if b[0] != '"' {
		return // an array, or a type error tested with the request
	}
	var want string
	wantErr := json.Unmarshal(b, &want)
	var c Content
	err := c.UnmarshalJSON(b)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%q: error %v, encoding/json says %v", b, err, wantErr)
	}
	if err != nil {
		if err.Error() != wantErr.Error() {
			t.Fatalf("%q: error %q, encoding/json says %q", b, err, wantErr)
		}
		return
	}
	if c.Text != want || c.IsParts {
		t.Fatalf("%q: decoded %q (parts %v), encoding/json says %q", b, c.Text, c.IsParts, want)
	}
	if s, ok := plainString(b); ok && s != want {
		t.Fatalf("%q: fast path %q, encoding/json says %q", b, s, want)
	}
}
