package memstore

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/openai-api-convertor/convertor"
)

var _ convertor.PriceStore = (*PriceStore)(nil)

// PriceStore is an in-memory convertor.PriceStore, safe for concurrent use.
type PriceStore struct {
	mu     sync.Mutex
	prices map[priceKey]convertor.Price // s.mu must be held
}

// priceKey identifies a price: one per model, route and effective instant.
type priceKey struct {
	model, route string
	from         time.Time
}

// NewPriceStore returns an empty store.
func NewPriceStore() *PriceStore {
	return &PriceStore{prices: make(map[priceKey]convertor.Price)}
}

// Prices returns every price, ordered by model, route and EffectiveFrom.
func (s *PriceStore) Prices(ctx context.Context) ([]convertor.Price, error) {
	s.mu.Lock()
	out := make([]convertor.Price, 0, len(s.prices))
	for _, p := range s.prices {
		out = append(out, p)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b convertor.Price) int {
		return cmp.Or(cmp.Compare(a.Model, b.Model), cmp.Compare(a.Route, b.Route), a.EffectiveFrom.Compare(b.EffectiveFrom))
	})
	return out, nil
}

// PutPrice adds or replaces the price for (Model, Route, EffectiveFrom).
// Returns EInvalid if p does not validate.
func (s *PriceStore) PutPrice(ctx context.Context, p convertor.Price) error {
	if err := p.Validate(); err != nil {
		return err
	}
	p.EffectiveFrom = p.EffectiveFrom.UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prices[priceKey{p.Model, p.Route, p.EffectiveFrom}] = p
	return nil
}
