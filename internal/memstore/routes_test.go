package memstore

import (
	"testing"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/internal/storetest"
)

// TestRouteStore runs the RouteStore contract.
func TestRouteStore(t *testing.T) {
	t.Parallel()
	storetest.RouteStore(t, func(*testing.T) convertor.RouteStore { return NewRouteStore() })
}
