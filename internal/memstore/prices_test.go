package memstore

import (
	"testing"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/storetest"
)

// TestPriceStore runs the PriceStore contract.
func TestPriceStore(t *testing.T) {
	t.Parallel()
	storetest.PriceStore(t, func(*testing.T) convertor.PriceStore { return NewPriceStore() })
}
