package conformance

import (
	"os"
	"testing"
)

// TestDynalite runs the suite against a running dynalite, a DynamoDB clone
// that mimics DynamoDB's validation closely, so that the suite's
// expectations are checked against more than our own engine. Start it with
// `dynalite --host 127.0.0.1 --port 18001` and set
// CONFORMANCE_DYNALITE_ENDPOINT=http://127.0.0.1:18001.
func TestDynalite(t *testing.T) {
	endpoint := os.Getenv("CONFORMANCE_DYNALITE_ENDPOINT")
	if endpoint == "" {
		t.Skip("CONFORMANCE_DYNALITE_ENDPOINT is not set: start dynalite --host 127.0.0.1 --port 18001 and set CONFORMANCE_DYNALITE_ENDPOINT=http://127.0.0.1:18001")
	}
	Run(t, func(t *testing.T) Target {
		return Target{Endpoint: endpoint, Dynalite: true}
	})
}
