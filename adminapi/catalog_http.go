package adminapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/openai-api-convertor/convertor"
)

// RouteList is every route the gateway resolves by name.
type RouteList struct {
	Routes []RouteView `json:"routes"`
	// Note says how soon a change reaches the gateways.
	Note string `json:"note"`
}

// RoutePath is the model name of a route URL.
type RoutePath struct {
	Model string `path:"model" minLength:"1" maxLength:"128" doc:"The model name clients send"`
}

type routeOutput struct {
	Status int
	Body   RouteView
}

type priceBody struct {
	Model         string    `json:"model" minLength:"1" maxLength:"300" doc:"Bedrock model id (anthropic.claude-…); an inference-profile id (global.anthropic.claude-…) sets the route"`
	Route         string    `json:"route,omitempty" maxLength:"20" doc:"Inference-profile geography (global, us, eu, …) this price is for; empty: every route without its own price"`
	EffectiveFrom time.Time `json:"effective_from" doc:"When the price starts to apply"`
	// Rates are whole micro-dollars per million tokens.
	InputMicros      int64 `json:"input_micros_per_mtok" minimum:"0" doc:"Micro-dollars per million input tokens (3000000 = $3)"`
	OutputMicros     int64 `json:"output_micros_per_mtok" minimum:"0"`
	CacheReadMicros  int64 `json:"cache_read_micros_per_mtok,omitempty" minimum:"0" doc:"Default 0"`
	CacheWriteMicros int64 `json:"cache_write_micros_per_mtok,omitempty" minimum:"0" doc:"Default 0"`
	// CacheWrite1hMicros and Tiers are optional, so older clients'
	// bodies still validate.
	CacheWrite1hMicros int64                 `json:"cache_write_1h_micros_per_mtok,omitempty" minimum:"0" doc:"1-hour cache writes; 0 or absent: 2x the input rate, AWS's rule"`
	Tiers              []convertor.PriceTier `json:"tiers,omitempty" maxItems:"10" doc:"Rates for large requests: a request whose prompt (input + cache read + cache write tokens) exceeds above_tokens pays that tier's rates for all its tokens"`
	Source             string                `json:"source,omitempty" maxLength:"500" doc:"Where the figures come from"`
}

func (b *priceBody) price() convertor.Price {
	return convertor.Price{
		Model: b.Model, Route: b.Route, EffectiveFrom: b.EffectiveFrom,
		InputMicros: b.InputMicros, OutputMicros: b.OutputMicros,
		CacheReadMicros: b.CacheReadMicros, CacheWriteMicros: b.CacheWriteMicros, Source: b.Source,
		CacheWrite1hMicros: b.CacheWrite1hMicros, Tiers: b.Tiers,
	}
}

// PriceHistory is every price of one model.
type PriceHistory struct {
	Model  string            `json:"model"`
	Prices []convertor.Price `json:"prices" doc:"Oldest first"`
}

type previewBody struct {
	From  time.Time  `json:"from"`
	To    time.Time  `json:"to"`
	KeyID string     `json:"key_id,omitempty" maxLength:"100" doc:"Only this key's records"`
	Price *priceBody `json:"price,omitempty" doc:"A price to consider as if it were added"`
}

func (s *Server) routeNote() string {
	return "Gateways pick up route changes within ROUTES_REFRESH (a few seconds)."
}

func (s *Server) registerRoutes() {
	write := map[string]any{metaWrite: true}
	op(s, huma.Operation{
		OperationID: "list-routes", Method: http.MethodGet, Path: "/api/routes", Tags: []string{"Routes"},
		Summary:     "List model routes",
		Description: "Admin routes first, then the built-in routes they do not override. The gateway resolves admin route > built-in > a raw Bedrock id passed through.",
	}, func(ctx context.Context, _ *struct{}) (*struct{ Body RouteList }, error) {
		rs, err := s.svc.Routes(ctx)
		if err != nil {
			return nil, err
		}
		return &struct{ Body RouteList }{RouteList{Routes: rs, Note: s.routeNote()}}, nil
	})
	op(s, huma.Operation{
		OperationID: "put-route", Method: http.MethodPut, Path: "/api/routes/{model}", Tags: []string{"Routes"},
		Summary:     "Set an admin route",
		Description: "Creates (201) or replaces (200) the admin route of a model name; it may override a built-in route.",
		Metadata:    write, Errors: []int{http.StatusBadRequest},
	}, func(ctx context.Context, in *struct {
		RoutePath
		Body struct {
			BedrockModelID string `json:"bedrock_model_id" minLength:"1" maxLength:"2048" doc:"Bedrock model id, inference-profile id or ARN"`
		}
	}) (*routeOutput, error) {
		v, created, err := s.svc.PutRoute(ctx, actor(ctx), in.Model, in.Body.BedrockModelID)
		if err != nil {
			return nil, err
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		return &routeOutput{Status: status, Body: v}, nil
	})
	op(s, huma.Operation{
		OperationID: "delete-route", Method: http.MethodDelete, Path: "/api/routes/{model}", Tags: []string{"Routes"},
		Summary:     "Delete an admin route",
		Description: "A built-in route it overrode applies again. Built-in routes cannot be deleted (404).",
		Metadata:    write, DefaultStatus: http.StatusNoContent, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *RoutePath) (*struct{}, error) {
		return nil, s.svc.DeleteRoute(ctx, actor(ctx), in.Model)
	})
}

func (s *Server) registerPrices() {
	op(s, huma.Operation{
		OperationID: "list-prices", Method: http.MethodGet, Path: "/api/prices", Tags: []string{"Prices"},
		Summary:     "Prices in effect",
		Description: "The price in effect for every model and route, prices scheduled for later, and the models routed or used in the last 30 days that have no price.",
	}, func(ctx context.Context, _ *struct{}) (*struct{ Body *PricesView }, error) {
		v, err := s.svc.Prices(ctx)
		if err != nil {
			return nil, err
		}
		return &struct{ Body *PricesView }{v}, nil
	})
	op(s, huma.Operation{
		OperationID: "get-price-history", Method: http.MethodGet, Path: "/api/prices/{model}", Tags: []string{"Prices"},
		Summary: "A model's price history", Description: "Every price of the model, all routes and effective dates.",
		Errors: []int{http.StatusBadRequest, http.StatusNotFound},
	}, func(ctx context.Context, in *struct {
		Model string `path:"model" maxLength:"300" doc:"Bedrock model id"`
	}) (*struct{ Body PriceHistory }, error) {
		ps, err := s.svc.PriceHistory(ctx, in.Model)
		if err != nil {
			return nil, err
		}
		return &struct{ Body PriceHistory }{PriceHistory{Model: ps[0].Model, Prices: ps}}, nil
	})
	op(s, huma.Operation{
		OperationID: "create-price", Method: http.MethodPost, Path: "/api/prices", Tags: []string{"Prices"},
		Summary: "Add a price",
		Description: "Applies from effective_from on, to requests priced from then. Prices are never rewritten: " +
			"the same model, route and effective_from again is a 409. Records priced before keep their cost until a replay.",
		DefaultStatus: http.StatusCreated, Metadata: map[string]any{metaWrite: true},
		Errors: []int{http.StatusBadRequest, http.StatusConflict},
	}, func(ctx context.Context, in *struct{ Body priceBody }) (*struct{ Body convertor.Price }, error) {
		p, err := s.svc.CreatePrice(ctx, actor(ctx), in.Body.price())
		if err != nil {
			return nil, err
		}
		return &struct{ Body convertor.Price }{p}, nil
	})
	op(s, huma.Operation{
		OperationID: "preview-reprice", Method: http.MethodPost, Path: "/api/prices/preview", Tags: []string{"Prices"},
		Summary: "Preview a re-pricing",
		Description: "How many records and micro-dollars re-pricing [from, to) with the current prices (and the price given, " +
			"as if added) would change, as `convertor replay --reprice` would price them. Changes nothing; at most 92 days.",
		Errors: []int{http.StatusBadRequest},
	}, func(ctx context.Context, in *struct{ Body previewBody }) (*struct{ Body *RepricePreview }, error) {
		q := PreviewQuery{From: in.Body.From, To: in.Body.To, KeyID: in.Body.KeyID}
		if in.Body.Price != nil {
			p := in.Body.Price.price()
			q.Price = &p
		}
		v, err := s.svc.PreviewReprice(ctx, q)
		if err != nil {
			return nil, err
		}
		return &struct{ Body *RepricePreview }{v}, nil
	})
}
