package memstore

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/openai-api-convertor/convertor"
)

var _ convertor.RouteStore = (*RouteStore)(nil)

// RouteStore is an in-memory convertor.RouteStore, safe for concurrent use.
type RouteStore struct {
	mu     sync.Mutex
	routes map[string]convertor.Route // by model; s.mu must be held
}

// NewRouteStore returns an empty store.
func NewRouteStore() *RouteStore {
	return &RouteStore{routes: make(map[string]convertor.Route)}
}

// Routes returns every admin route, ordered by model.
func (s *RouteStore) Routes(ctx context.Context) ([]convertor.Route, error) {
	s.mu.Lock()
	out := make([]convertor.Route, 0, len(s.routes))
	for _, r := range s.routes {
		out = append(out, r)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b convertor.Route) int { return cmp.Compare(a.Model, b.Model) })
	return out, nil
}

// PutRoute creates or replaces the route of r.Model as an admin route
// updated now. Returns EInvalid if r does not validate.
func (s *RouteStore) PutRoute(ctx context.Context, r convertor.Route) (replaced bool, err error) {
	if err := r.Validate(); err != nil {
		return false, err
	}
	r.Source, r.UpdatedAt = convertor.RouteSourceAdmin, time.Now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	_, replaced = s.routes[r.Model]
	s.routes[r.Model] = r
	return replaced, nil
}

// DeleteRoute removes the route of model. Returns ENotFound if there is none.
func (s *RouteStore) DeleteRoute(ctx context.Context, model string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.routes[model]; !ok {
		return convertor.Errorf(convertor.ENotFound, "no admin route for model %q", model)
	}
	delete(s.routes, model)
	return nil
}
