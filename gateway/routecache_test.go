package gateway

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/openai"
	"github.com/openai-api-convertor/convertor/internal/memstore"
)

// Bedrock targets of the admin routes in these tests.
const (
	sonnetEU   = "eu.anthropic.claude-sonnet-4-5-20250929-v1:0"
	llamaUS    = "us.meta.llama3-2-90b-instruct-v1:0"
	haikuARN   = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"
	haikuGlobe = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
)

// flakyRoutes is a route store that fails while err is set and counts
// the listings it is asked for.
type flakyRoutes struct {
	convertor.RouteStore
	mu    sync.Mutex
	err   error
	reads int
}

func (f *flakyRoutes) Routes(ctx context.Context) ([]convertor.Route, error) {
	f.mu.Lock()
	f.reads++
	err := f.err
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return f.RouteStore.Routes(ctx)
}

func (f *flakyRoutes) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *flakyRoutes) readCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

func putRoute(t testing.TB, s convertor.RouteStore, model, target string) {
	t.Helper()
	if _, err := s.PutRoute(context.Background(), convertor.Route{Model: model, BedrockModelID: target}); err != nil {
		t.Fatalf("PutRoute(%s) error = %v", model, err)
	}
}

// wantTarget fails t unless r resolves model to target from source.
func wantTarget(t testing.TB, r convertor.RouteResolver, model, target, source string) {
	t.Helper()
	got, err := r.ResolveRoute(context.Background(), model)
	if err != nil || got.BedrockModelID != target || got.Source != source {
		t.Errorf("ResolveRoute(%s) = %s (%s), %v; want %s (%s)", model, got.BedrockModelID, got.Source, err, target, source)
	}
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestRouteCache_Refresh(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := &flakyRoutes{RouteStore: memstore.NewRouteStore()}
	putRoute(t, store, "team-sonnet", sonnetEU)
	putRoute(t, store, "claude-haiku-4-5", llamaUS) // overrides a default
	cache := NewRouteCache(store, time.Hour, discardLog())
	rt := NewRouteTable(cache, convertor.DefaultRoutes)

	// Nothing loaded yet: the defaults and pass-through only.
	wantTarget(t, rt, "claude-haiku-4-5", convertor.DefaultRoutes[3].BedrockModelID, convertor.RouteSourceDefault)
	if _, err := rt.ResolveRoute(ctx, "team-sonnet"); convertor.ErrorCode(err) != convertor.ENotFound {
		t.Errorf("ResolveRoute(team-sonnet) before loading error = %v, want not_found", err)
	}

	if err := cache.Refresh(ctx); err != nil {
		t.Fatalf("Refresh() error = %v", err)
	}
	wantTarget(t, rt, "team-sonnet", sonnetEU, convertor.RouteSourceAdmin)
	wantTarget(t, rt, "claude-haiku-4-5", llamaUS, convertor.RouteSourceAdmin)
	wantTarget(t, rt, "claude-opus-4-5", convertor.DefaultRoutes[0].BedrockModelID, convertor.RouteSourceDefault)
	wantTarget(t, rt, haikuGlobe, haikuGlobe, convertor.RouteSourcePassthrough)

	// Requests never read the store.
	reads := store.readCount()
	for range 100 {
		_, _ = rt.ResolveRoute(ctx, "team-sonnet")
		_, _ = rt.ListRoutes(ctx)
	}
	if got := store.readCount(); got != reads {
		t.Errorf("resolving read the store %d times, want 0", got-reads)
	}

	// A route changed, one deleted and one added are used after the next
	// refresh, not before.
	putRoute(t, store, "team-sonnet", haikuARN)
	if err := store.DeleteRoute(ctx, "claude-haiku-4-5"); err != nil {
		t.Fatal(err)
	}
	putRoute(t, store, "team-new", haikuGlobe)
	wantTarget(t, rt, "team-sonnet", sonnetEU, convertor.RouteSourceAdmin)
	if err := cache.Refresh(ctx); err != nil {
		t.Fatalf("Refresh() error = %v", err)
	}
	wantTarget(t, rt, "team-sonnet", haikuARN, convertor.RouteSourceAdmin)
	wantTarget(t, rt, "claude-haiku-4-5", convertor.DefaultRoutes[3].BedrockModelID, convertor.RouteSourceDefault)
	wantTarget(t, rt, "team-new", haikuGlobe, convertor.RouteSourceAdmin)
}

// Resolving allocates nothing, for an admin route or for a default one
// past the cache: no not-found error is made only to be dropped.
func TestRouteTable_ResolveDoesNotAllocate(t *testing.T) {
	ctx := context.Background()
	store := memstore.NewRouteStore()
	putRoute(t, store, "team-sonnet", sonnetEU)
	cache := NewRouteCache(store, time.Hour, discardLog())
	if err := cache.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	rt := NewRouteTable(cache, convertor.DefaultRoutes)
	for _, model := range []string{"team-sonnet", "claude-opus-4-5"} {
		if n := testing.AllocsPerRun(100, func() { _, _ = rt.ResolveRoute(ctx, model) }); n != 0 {
			t.Errorf("ResolveRoute(%s) allocates %.0f times, want 0", model, n)
		}
	}
}

func TestRouteCache_StoreDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	down := convertor.Errorf(convertor.EUnavailable, "the store is unavailable")

	t.Run("KeepsTheLastRoutes", func(t *testing.T) {
		t.Parallel()
		store := &flakyRoutes{RouteStore: memstore.NewRouteStore()}
		putRoute(t, store, "team-sonnet", sonnetEU)
		cache := NewRouteCache(store, time.Hour, discardLog())
		if err := cache.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		store.fail(down)
		if err := cache.Refresh(ctx); convertor.ErrorCode(err) != convertor.EUnavailable {
			t.Errorf("Refresh(store down) error = %v, want unavailable", err)
		}
		wantTarget(t, NewRouteTable(cache, convertor.DefaultRoutes), "team-sonnet", sonnetEU, convertor.RouteSourceAdmin)
		if list, err := cache.ListRoutes(ctx); err != nil || len(list) != 1 {
			t.Errorf("ListRoutes(store down) = %+v, %v; want the last route loaded", list, err)
		}
		if err := cache.Check(ctx); err != nil {
			t.Errorf("Check(loaded once, store down) = %v, want ready", err)
		}
	})

	t.Run("NeverLoaded", func(t *testing.T) {
		t.Parallel()
		store := &flakyRoutes{RouteStore: memstore.NewRouteStore()}
		putRoute(t, store, "team-sonnet", sonnetEU)
		store.fail(down)
		cache := NewRouteCache(store, time.Hour, discardLog())
		rt := NewRouteTable(cache, convertor.DefaultRoutes)
		if err := cache.Check(ctx); err == nil || !strings.Contains(err.Error(), "never loaded: the store is unavailable") {
			t.Errorf("Check(never loaded) = %v, want the route store reported down", err)
		}
		// The defaults keep serving meanwhile.
		wantTarget(t, rt, "claude-haiku-4-5", convertor.DefaultRoutes[3].BedrockModelID, convertor.RouteSourceDefault)
		if list, err := rt.ListRoutes(ctx); err != nil || len(list) != len(convertor.DefaultRoutes) {
			t.Errorf("ListRoutes(never loaded) = %d routes, %v; want the defaults", len(list), err)
		}
		// Once the store answers, the check loads the routes.
		store.fail(nil)
		if err := cache.Check(ctx); err != nil {
			t.Errorf("Check(store back) = %v, want ready", err)
		}
		wantTarget(t, rt, "team-sonnet", sonnetEU, convertor.RouteSourceAdmin)
	})
}

func TestRouteCache_Run(t *testing.T) {
	t.Parallel()
	store := &flakyRoutes{RouteStore: memstore.NewRouteStore()}
	logs := &syncBuffer{}
	cache := NewRouteCache(store, time.Millisecond, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	if err := cache.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(done)
		cache.Run(ctx)
	}()
	resolves := func(model, target string) func() bool {
		return func() bool {
			r, err := cache.ResolveRoute(ctx, model)
			return err == nil && r.BedrockModelID == target
		}
	}

	putRoute(t, store, "team-sonnet", sonnetEU)
	waitFor(t, "the new route to be used", resolves("team-sonnet", sonnetEU))

	store.fail(errTestBoom)
	// Once a read has failed, no refresh that read before the failure is
	// still running (Run refreshes one at a time): the change below can
	// only be seen after the store is back.
	failed := store.readCount()
	waitFor(t, "a failed refresh", func() bool { return store.readCount() > failed })
	putRoute(t, store, "team-sonnet", haikuARN)
	failed = store.readCount()
	waitFor(t, "several failed refreshes", func() bool { return store.readCount() >= failed+5 })
	if !resolves("team-sonnet", sonnetEU)() {
		t.Errorf("a failing store changed the routes served")
	}
	if n := strings.Count(logs.String(), "admin routes not refreshed; serving the last ones loaded"); n != 1 {
		t.Errorf("the outage was logged %d times at warn, want once:\n%s", n, logs.String())
	}

	store.fail(nil)
	waitFor(t, "the changed route after the store is back", resolves("team-sonnet", haikuARN))
	waitFor(t, "the recovery logged", func() bool { return strings.Contains(logs.String(), "admin routes refreshed again") })

	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

// TestServer_AdminRoutes serves chat and /v1/models through a RouteCache
// over an in-memory route store.
func TestServer_AdminRoutes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := memstore.NewRouteStore()
	putRoute(t, store, "claude-haiku-4-5", llamaUS) // overrides a default
	putRoute(t, store, "team-sonnet", sonnetEU)
	cache := NewRouteCache(store, time.Hour, discardLog())
	if err := cache.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, nil, func(_ *Config, d *Deps) {
		d.Routes = NewRouteTable(cache, convertor.DefaultRoutes)
		d.Ready = []ReadinessCheck{{Name: "route_store", Check: cache.Check}}
	})

	r := ts.do(t, http.MethodGet, "/v1/models", "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET /v1/models status = %d; body %s", r.status, r.body)
	}
	var list openai.ModelList
	if err := json.Unmarshal(r.body, &list); err != nil {
		t.Fatal(err)
	}
	models := make(map[string][]openai.Model)
	for _, m := range list.Data {
		models[m.ID] = append(models[m.ID], m)
	}
	if len(list.Data) != len(convertor.DefaultRoutes)+1 {
		t.Errorf("GET /v1/models = %d models, want the %d defaults and team-sonnet", len(list.Data), len(convertor.DefaultRoutes))
	}
	// The overridden default is listed once, described by its admin
	// target: a Llama model, owned by Bedrock, with no release date.
	if haiku := models["claude-haiku-4-5"]; len(haiku) != 1 || haiku[0].OwnedBy != "bedrock" || haiku[0].Created != 0 {
		t.Errorf("claude-haiku-4-5 listed as %+v, want once with the admin target", haiku)
	}
	if team := models["team-sonnet"]; len(team) != 1 || team[0].OwnedBy != "anthropic" || team[0].Created != time.Date(2025, 9, 29, 0, 0, 0, 0, time.UTC).Unix() {
		t.Errorf("team-sonnet listed as %+v, want once, described by %s", team, sonnetEU)
	}

	chat := func(model string) string {
		t.Helper()
		r := ts.post(t, `{"model":"`+model+`","messages":[{"role":"user","content":"Hi"}]}`)
		if r.status != http.StatusOK {
			t.Fatalf("chat with %s: status = %d; body %s", model, r.status, r.body)
		}
		id, _ := ts.fake.lastRequest(t)
		return id
	}
	if got := chat("team-sonnet"); got != sonnetEU {
		t.Errorf("chat with team-sonnet reached %s, want %s", got, sonnetEU)
	}
	if got := chat("claude-haiku-4-5"); got != llamaUS {
		t.Errorf("chat with claude-haiku-4-5 reached %s, want the admin target %s", got, llamaUS)
	}
	putRoute(t, store, "team-sonnet", haikuGlobe)
	if err := cache.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := chat("team-sonnet"); got != haikuGlobe {
		t.Errorf("chat with team-sonnet after a refresh reached %s, want %s", got, haikuGlobe)
	}
	if r := ts.do(t, http.MethodGet, "/ready", "", nil); r.status != http.StatusOK || !strings.Contains(string(r.body), `"route_store":"ok"`) {
		t.Errorf("GET /ready = %d %s, want the route store ok", r.status, r.body)
	}
}
