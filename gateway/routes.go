package gateway

import (
	"context"

	"github.com/openai-api-convertor/convertor"
)

// RouteTable is the in-memory convertor.RouteResolver. It resolves in the
// order the product promises: admin routes, then the built-in defaults,
// then a raw Bedrock model id, inference-profile id or ARN passed through.
// Safe for concurrent use: it never changes after construction.
type RouteTable struct {
	admin convertor.RouteResolver
	// lookup is admin's error-free lookup when it has one (a RouteCache).
	lookup   routeLookup
	defaults map[string]convertor.Route
	list     []convertor.Route
}

// NewRouteTable returns a table over defaults (usually
// convertor.DefaultRoutes). admin, which may be nil, is asked first; its
// ENotFound falls through to the defaults, any other error is returned.
func NewRouteTable(admin convertor.RouteResolver, defaults []convertor.Route) *RouteTable {
	t := &RouteTable{admin: admin, defaults: make(map[string]convertor.Route, len(defaults))}
	t.lookup, _ = admin.(routeLookup)
	for _, r := range defaults {
		if _, dup := t.defaults[r.Model]; dup {
			continue
		}
		t.defaults[r.Model] = r
		t.list = append(t.list, r)
	}
	return t
}

var _ convertor.RouteResolver = (*RouteTable)(nil)

// routeLookup is a resolver that answers from memory and so can say "not
// here" without making an error.
type routeLookup interface {
	lookupRoute(model string) (convertor.Route, bool)
}

// ResolveRoute implements convertor.RouteResolver. Returns ENotFound
// (Reason "model_not_found") if nothing matches.
func (t *RouteTable) ResolveRoute(ctx context.Context, model string) (convertor.Route, error) {
	switch {
	case t.lookup != nil:
		if r, ok := t.lookup.lookupRoute(model); ok {
			return r, nil
		}
	case t.admin != nil:
		r, err := t.admin.ResolveRoute(ctx, model)
		if err == nil {
			return r, nil
		}
		if convertor.ErrorCode(err) != convertor.ENotFound {
			return convertor.Route{}, err
		}
	}
	if r, ok := t.defaults[model]; ok {
		return r, nil
	}
	if convertor.IsBedrockModelID(model) {
		return convertor.Route{Model: model, BedrockModelID: model, Source: convertor.RouteSourcePassthrough}, nil
	}
	return convertor.Route{}, errModelNotFound(model)
}

// ListRoutes implements convertor.RouteResolver: admin routes first, then
// the defaults they do not override.
func (t *RouteTable) ListRoutes(ctx context.Context) ([]convertor.Route, error) {
	var admin []convertor.Route
	if t.admin != nil {
		var err error
		if admin, err = t.admin.ListRoutes(ctx); err != nil {
			return nil, err
		}
	}
	out := make([]convertor.Route, 0, len(admin)+len(t.list))
	seen := make(map[string]bool, len(admin))
	for _, r := range admin {
		seen[r.Model] = true
		out = append(out, r)
	}
	for _, r := range t.list {
		if !seen[r.Model] {
			out = append(out, r)
		}
	}
	return out, nil
}

// maxQuotedModel bounds how much of an unknown model name is echoed back.
const maxQuotedModel = 256

func errModelNotFound(model string) error {
	if len(model) > maxQuotedModel {
		model = model[:maxQuotedModel] + "…"
	}
	return &convertor.Error{
		Code:    convertor.ENotFound,
		Reason:  "model_not_found",
		Message: "The model `" + model + "` does not exist or you do not have access to it.",
	}
}
