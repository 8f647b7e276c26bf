package testenv

import (
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"

	"github.com/truora/minidyn/server"
)

// DynamoDB returns the endpoint of a DynamoDB-compatible server for t: the
// one TEST_DYNAMODB_ENDPOINT names, or else a minidyn server started in
// process on 127.0.0.1 for t alone. Tests on a shared server must name
// their tables uniquely.
func DynamoDB(t testing.TB) string {
	t.Helper()
	if ep := os.Getenv("TEST_DYNAMODB_ENDPOINT"); ep != "" {
		return ep
	}
	h := server.NewServer()
	// minidyn's CreateTable and DescribeTable read its table map without
	// its lock; one request at a time keeps -race quiet and costs nothing
	// at test scale.
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		h.ServeHTTP(w, r)
	}))
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
		t.Skip("TEST_DYNALITE_ENDPOINT not set")
	}
	return ep
}
