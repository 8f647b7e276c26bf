package testenv

import (
	"net/http/httptest"
	"os"
	"testing"

	"github.com/openai-api-convertor/convertor/internal/dynamolocal"
)

// DynamoDB returns the endpoint of a DynamoDB-compatible server for t: the
// one TEST_DYNAMODB_ENDPOINT names, or else an in-process server
// (dynamolocal) on 127.0.0.1 for t alone. Tests on a shared
// server must name their tables uniquely.
func DynamoDB(t testing.TB) string {
	t.Helper()
	if ep := os.Getenv("TEST_DYNAMODB_ENDPOINT"); ep != "" {
		return ep
	}
	srv := httptest.NewServer(dynamolocal.NewHandler())
	t.Cleanup(srv.Close)
	return srv.URL
}

// Dynalite returns the endpoint of a dynalite server (a persistent
// DynamoDB-compatible server without transactions) from
// TEST_DYNALITE_ENDPOINT, and skips t when it is not set.
func Dynalite(t testing.TB) string {
	t.Helper()
	ep := os.Getenv("TEST_DYNALITE_ENDPOINT")
	if ep == "" {
		t.Skip("TEST_DYNALITE_ENDPOINT is not set: run npm ci in internal/testenv/dynalite, start its dynalite (as .ci/run does) and set TEST_DYNALITE_ENDPOINT to its URL")
	}
	return ep
}
