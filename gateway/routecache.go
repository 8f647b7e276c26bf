package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openai-api-convertor/convertor"
)

// DefaultRoutesRefresh is how often the route cache reloads the admin
// routes: an admin's change reaches every replica within seconds, for one
// Scan of a table of tens of items per replica per interval.
const DefaultRoutesRefresh = 5 * time.Second

// RouteCache serves the admin routes of a convertor.RouteStore from
// memory, so that resolving a model never reads the store. It is the admin
// layer of a RouteTable: NewRouteTable(cache, convertor.DefaultRoutes).
// Refresh loads every route; Run refreshes them periodically. When the
// store cannot be read the cache keeps serving the last routes it loaded:
// an outage of the route table must not reroute traffic to the defaults.
// Safe for concurrent use.
type RouteCache struct {
	store convertor.RouteStore
	every time.Duration
	log   *slog.Logger

	// set is what requests read: nil until the first load succeeds.
	set atomic.Pointer[routeSet]

	// refresh serializes Refresh, so that an older answer of the store
	// never replaces a newer one.
	refresh sync.Mutex
}

// routeSet is one load of the admin routes; never changed once built.
type routeSet struct {
	byModel map[string]convertor.Route
	list    []convertor.Route // ordered by model, as the store lists them
}

var _ convertor.RouteResolver = (*RouteCache)(nil)

// NewRouteCache returns a cache over store that Run refreshes every
// interval (DefaultRoutesRefresh when interval <= 0). It holds no routes
// until Refresh first succeeds.
func NewRouteCache(store convertor.RouteStore, interval time.Duration, log *slog.Logger) *RouteCache {
	if store == nil || log == nil {
		panic("gateway: NewRouteCache needs a store and a logger")
	}
	if interval <= 0 {
		interval = DefaultRoutesRefresh
	}
	return &RouteCache{store: store, every: interval, log: log}
}

// Refresh loads every admin route and serves them from then on. When the
// store fails it keeps the routes it had and returns the error.
func (c *RouteCache) Refresh(ctx context.Context) error {
	c.refresh.Lock()
	defer c.refresh.Unlock()
	routes, err := c.store.Routes(ctx)
	if err != nil {
		return fmt.Errorf("load admin routes: %w", err)
	}
	old := c.set.Load()
	next := &routeSet{byModel: make(map[string]convertor.Route, len(routes)), list: routes}
	for _, r := range routes {
		next.byModel[r.Model] = r
	}
	c.set.Store(next)
	if old == nil || !slices.EqualFunc(old.list, routes, sameRoute) {
		c.log.Info("admin routes loaded", "routes", len(routes))
	}
	return nil
}

func sameRoute(a, b convertor.Route) bool {
	return a.Model == b.Model && a.BedrockModelID == b.BedrockModelID && a.UpdatedAt.Equal(b.UpdatedAt)
}

// Run calls Refresh every interval until ctx ends. A failure is logged
// once at Warn when it begins (every later one at Debug) and the recovery
// at Info, so an outage does not flood the log. Call Refresh once before
// serving, so that the first requests see the admin routes.
func (c *RouteCache) Run(ctx context.Context) {
	refreshEvery(ctx, c.every, c.set.Load() == nil, c.Refresh, c.log, "admin routes")
}

// Check is a readiness check: it fails only while no load has ever
// succeeded, trying one then, since the last routes loaded keep serving
// through a later outage.
func (c *RouteCache) Check(ctx context.Context) error {
	if c.set.Load() != nil {
		return nil
	}
	err := c.Refresh(ctx)
	if err == nil {
		return nil
	}
	var ce *convertor.Error
	if errors.As(err, &ce) {
		return fmt.Errorf("admin routes never loaded: %s", ce.Message)
	}
	return fmt.Errorf("admin routes never loaded: %w", err)
}

// ResolveRoute implements convertor.RouteResolver from memory. Returns
// ENotFound if model has no admin route (or none was loaded yet), so a
// RouteTable goes on to the defaults.
func (c *RouteCache) ResolveRoute(_ context.Context, model string) (convertor.Route, error) {
	if r, ok := c.lookupRoute(model); ok {
		return r, nil
	}
	return convertor.Route{}, convertor.Errorf(convertor.ENotFound, "no admin route for model %q", model)
}

// lookupRoute is ResolveRoute without the error: a RouteTable asks it on
// every request, and most requests name a default model, which would
// format a not-found error each time only for it to be dropped.
func (c *RouteCache) lookupRoute(model string) (convertor.Route, bool) {
	if set := c.set.Load(); set != nil {
		r, ok := set.byModel[model]
		return r, ok
	}
	return convertor.Route{}, false
}

// ListRoutes implements convertor.RouteResolver: the admin routes loaded
// last, ordered by model.
func (c *RouteCache) ListRoutes(context.Context) ([]convertor.Route, error) {
	set := c.set.Load()
	if set == nil {
		return nil, nil
	}
	return slices.Clone(set.list), nil
}
