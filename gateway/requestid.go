package gateway

import (
	"crypto/rand"

	"github.com/oklog/ulid/v2"
)

// Request ids. The gateway always makes its own x-request-id, so the id in
// logs and usage records is unique and ours; a client that wants its own id
// correlated sends X-Client-Request-Id (as with OpenAI's API), which is
// echoed back and logged when it is sane.
const (
	headerRequestID       = "x-request-id"
	headerClientRequestID = "x-client-request-id"
	// maxClientRequestID is OpenAI's limit for X-Client-Request-Id.
	maxClientRequestID = 512
)

// newRequestID returns "req_" and a ULID, which sorts by time in logs.
func newRequestID() string {
	return "req_" + ulid.Make().String()
}

// newCompletionID returns a "chatcmpl-" id with 130 bits of randomness.
func newCompletionID() string {
	return "chatcmpl-" + rand.Text()
}

// saneClientRequestID reports whether a client-supplied id is safe to echo
// and log: short printable ASCII, no spaces or quotes.
func saneClientRequestID(b []byte) bool {
	if len(b) == 0 || len(b) > maxClientRequestID {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c > '~' || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
