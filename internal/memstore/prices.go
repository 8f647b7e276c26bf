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

// CreatePrice adds p; prices are never rewritten. Returns EInvalid if p
// does not validate and EConflict if a price of the same model, route and
// effective instant exists.
func (s *PriceStore) CreatePrice(ctx context.Context, p convertor.Price) error {
	if err := p.Validate(); err != nil {
		return err
	}
	p.EffectiveFrom = p.EffectiveFrom.UTC()
	k := priceKey{p.Model, p.Route, p.EffectiveFrom}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.prices[k]; ok {
		route := p.Route
		if route == "" {
			route = "(every route)"
		}
		return convertor.Errorf(convertor.EConflict, "a price for %s %s from %s exists; prices are never rewritten",
			p.Model, route, p.EffectiveFrom.Format(time.RFC3339Nano))
	}
	s.prices[k] = p
	return nil
}
