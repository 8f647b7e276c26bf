package gateway

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor"
)

// adminRoutes is an admin route source with fixed routes.
type adminRoutes struct {
	routes map[string]convertor.Route
	err    error
}

func (a adminRoutes) ResolveRoute(_ context.Context, model string) (convertor.Route, error) {
	if a.err != nil {
		return convertor.Route{}, a.err
	}
	if r, ok := a.routes[model]; ok {
		return r, nil
	}
	return convertor.Route{}, convertor.Errorf(convertor.ENotFound, "no admin route")
}

func (a adminRoutes) ListRoutes(context.Context) ([]convertor.Route, error) {
	var out []convertor.Route
	for _, r := range a.routes {
		out = append(out, r)
	}
	return out, a.err
}

func TestRouteTable_ResolveRoute(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin := adminRoutes{routes: map[string]convertor.Route{
		"claude-sonnet-4-5": {Model: "claude-sonnet-4-5", BedrockModelID: "eu.anthropic.claude-sonnet-4-5-20250929-v1:0", Source: convertor.RouteSourceAdmin},
	}}
	rt := NewRouteTable(admin, convertor.DefaultRoutes)
	tests := []struct {
		model string
		want  convertor.Route
		code  string
	}{
		{"claude-sonnet-4-5", admin.routes["claude-sonnet-4-5"], ""},
		{"claude-haiku-4-5", convertor.DefaultRoutes[3], ""},
		{"anthropic.claude-3-haiku-20240307-v1:0", convertor.Route{Model: "anthropic.claude-3-haiku-20240307-v1:0", BedrockModelID: "anthropic.claude-3-haiku-20240307-v1:0", Source: convertor.RouteSourcePassthrough}, ""},
		{"gpt-4o", convertor.Route{}, convertor.ENotFound},
		{"", convertor.Route{}, convertor.ENotFound},
	}
	for _, tt := range tests {
		got, err := rt.ResolveRoute(ctx, tt.model)
		if code := convertor.ErrorCode(err); code != tt.code {
			t.Errorf("ResolveRoute(%q) code = %q, want %q", tt.model, code, tt.code)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ResolveRoute(%q) mismatch (-want +got):\n%s", tt.model, diff)
		}
	}
	_, err := NewRouteTable(adminRoutes{err: convertor.Errorf(convertor.EUnavailable, "store down")}, convertor.DefaultRoutes).ResolveRoute(ctx, "claude-haiku-4-5")
	if convertor.ErrorCode(err) != convertor.EUnavailable {
		t.Errorf("admin failure = %v, want it returned, not hidden by a default", err)
	}
}

func TestRouteTable_ListRoutes(t *testing.T) {
	t.Parallel()
	admin := adminRoutes{routes: map[string]convertor.Route{
		"claude-haiku-4-5": {Model: "claude-haiku-4-5", BedrockModelID: "us.anthropic.claude-haiku-4-5-20251001-v1:0", Source: convertor.RouteSourceAdmin},
	}}
	got, err := NewRouteTable(admin, convertor.DefaultRoutes).ListRoutes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(convertor.DefaultRoutes) || got[0].Source != convertor.RouteSourceAdmin {
		t.Errorf("ListRoutes() = %+v, want the admin route first replacing its default", got)
	}
}
