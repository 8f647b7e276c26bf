package memstore

import (
	"testing"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/storetest"
)

// TestAuditStore runs the AuditStore contract.
func TestAuditStore(t *testing.T) {
	t.Parallel()
	storetest.AuditStore(t, func(*testing.T) convertor.AuditStore { return NewAuditStore() })
}
