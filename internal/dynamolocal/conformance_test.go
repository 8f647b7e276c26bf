package dynamolocal_test

import (
	"net/http/httptest"
	"testing"

	"github.com/openai-api-convertor/convertor/internal/dynamolocal"
	"github.com/openai-api-convertor/convertor/internal/dynamolocal/conformance"
)

// TestConformance runs the DynamoDB conformance suite, through the AWS
// SDK's client, against a fresh Handler per group.
func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T) conformance.Target {
		srv := httptest.NewServer(dynamolocal.NewHandler())
		t.Cleanup(srv.Close)
		return conformance.Target{Endpoint: srv.URL, Transactions: true}
	})
}
