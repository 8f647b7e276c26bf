package adminapi

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/openai-api-convertor/convertor"
)

// RouteView is a model route as operators see it.
type RouteView struct {
	Model          string `json:"model" doc:"The model name clients send"`
	BedrockModelID string `json:"bedrock_model_id" doc:"The Bedrock model id, inference-profile id or ARN that serves it"`
	Source         string `json:"source" enum:"admin,default" doc:"admin: set through the admin API; default: built in"`
	// DefaultBedrockModelID is the built-in route an admin route overrides.
	DefaultBedrockModelID string    `json:"default_bedrock_model_id,omitempty" doc:"For an admin route that overrides a built-in one, the built-in target"`
	UpdatedAt             time.Time `json:"updated_at,omitzero"`
	// Priced says whether a price is in effect now for the Bedrock model;
	// requests through an unpriced route are recorded with cost 0.
	Priced bool `json:"priced" doc:"Whether a price is in effect now for the Bedrock model"`
}

// Routes returns every route the gateway resolves by name: admin routes,
// then the built-in ones they do not override, each ordered by model.
func (s *Service) Routes(ctx context.Context) ([]RouteView, error) {
	admin, err := s.d.Routes.Routes(ctx)
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	pt, err := s.priceTable(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	defaults := make(map[string]string, len(s.defaults))
	for _, r := range s.defaults {
		defaults[r.Model] = r.BedrockModelID
	}
	out := make([]RouteView, 0, len(admin)+len(s.defaults))
	seen := make(map[string]bool, len(admin))
	for _, r := range admin {
		seen[r.Model] = true
		out = append(out, s.routeView(r, defaults[r.Model], pt, now))
	}
	var builtin []RouteView
	for _, r := range s.defaults {
		if !seen[r.Model] {
			builtin = append(builtin, s.routeView(r, "", pt, now))
		}
	}
	slices.SortFunc(builtin, func(a, b RouteView) int { return cmp.Compare(a.Model, b.Model) })
	return append(out, builtin...), nil
}

func (s *Service) routeView(r convertor.Route, overrides string, pt *convertor.PriceTable, now time.Time) RouteView {
	_, priced := pt.Lookup(r.BedrockModelID, now)
	source := r.Source
	if source == "" {
		source = convertor.RouteSourceAdmin
	}
	return RouteView{
		Model: r.Model, BedrockModelID: r.BedrockModelID, Source: source,
		DefaultBedrockModelID: overrides, UpdatedAt: r.UpdatedAt, Priced: priced,
	}
}

// PutRoute sets the admin route of model to bedrockModelID and reports
// whether it created one. Returns EInvalid naming the field.
func (s *Service) PutRoute(ctx context.Context, a Actor, model, bedrockModelID string) (v RouteView, created bool, err error) {
	r := convertor.Route{Model: model, BedrockModelID: bedrockModelID, Source: convertor.RouteSourceAdmin, UpdatedAt: s.now().UTC()}
	if err := r.Validate(); err != nil {
		return RouteView{}, false, err
	}
	before, err := s.adminRoute(ctx, model)
	if err != nil {
		return RouteView{}, false, err
	}
	replaced, err := s.d.Routes.PutRoute(ctx, r)
	if err != nil {
		return RouteView{}, false, fmt.Errorf("put route %s: %w", model, err)
	}
	pt, err := s.priceTable(ctx)
	if err != nil {
		return RouteView{}, false, err
	}
	v = s.routeView(r, s.defaultTarget(model), pt, s.now())
	var old any
	if before != nil {
		old = before
	}
	s.audit(ctx, a, convertor.AuditRoutePut, "route", model, old, v)
	return v, !replaced, nil
}

// DeleteRoute removes the admin route of model; a built-in route it
// overrode applies again. Returns ENotFound, saying so when model names a
// built-in route, which cannot be deleted.
func (s *Service) DeleteRoute(ctx context.Context, a Actor, model string) error {
	before, err := s.adminRoute(ctx, model)
	if err != nil {
		return err
	}
	if before == nil {
		if s.defaultTarget(model) != "" {
			return convertor.Errorf(convertor.ENotFound, "%q is a built-in route with no admin route over it; built-in routes cannot be deleted, only overridden", model)
		}
		return convertor.Errorf(convertor.ENotFound, "no admin route for model %q", model)
	}
	if err := s.d.Routes.DeleteRoute(ctx, model); err != nil {
		return err
	}
	s.audit(ctx, a, convertor.AuditRouteDelete, "route", model, before, nil)
	return nil
}

// adminRoute returns the admin route of model, nil if there is none.
func (s *Service) adminRoute(ctx context.Context, model string) (*convertor.Route, error) {
	rs, err := s.d.Routes.Routes(ctx)
	if err != nil {
		return nil, fmt.Errorf("read routes: %w", err)
	}
	for _, r := range rs {
		if r.Model == model {
			return &r, nil
		}
	}
	return nil, nil
}

func (s *Service) defaultTarget(model string) string {
	for _, r := range s.defaults {
		if r.Model == model {
			return r.BedrockModelID
		}
	}
	return ""
}

// resolve finds the Bedrock model a requested name is served by, as the
// gateway does: admin route, built-in route, or the name itself when it is
// a Bedrock id. It reports false for a name nothing serves (any more).
func resolve(admin []convertor.Route, defaults []convertor.Route, model string) (string, bool) {
	for _, rs := range [][]convertor.Route{admin, defaults} {
		for _, r := range rs {
			if r.Model == model {
				return r.BedrockModelID, true
			}
		}
	}
	if convertor.IsBedrockModelID(model) {
		return model, true
	}
	return "", false
}
