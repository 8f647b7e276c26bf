package testenv

import (
	"os"
	"testing"
)

// SQS returns the endpoint of an SQS-compatible server from
// TEST_SQS_ENDPOINT (for example http://127.0.0.1:9324, started with
// `node internal/testenv/sqsserver/server.mjs 9324` after `npm ci` there).
// It skips the test when unset, and fails it when CI is set, so CI cannot
// pass without the server. Tests own their queues: use unique names.
func SQS(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("TEST_SQS_ENDPOINT"); u != "" {
		return u
	}
	unavailable(t, "TEST_SQS_ENDPOINT is not set: run npm ci in internal/testenv/sqsserver, start node internal/testenv/sqsserver/server.mjs 9324 and set TEST_SQS_ENDPOINT=http://127.0.0.1:9324")
	return ""
}
