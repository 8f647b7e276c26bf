package memstore

import (
	"testing"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/storetest"
)

// TestUsageStore runs the UsageStore contract.
func TestUsageStore(t *testing.T) {
	t.Parallel()
	storetest.UsageStore(t, func(*testing.T) convertor.UsageStore { return NewUsageStore() })
}
