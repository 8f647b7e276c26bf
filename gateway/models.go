package gateway

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

// handleModels serves GET /v1/models: the named routes the caller's key
// may use, as OpenAI lists only the models a key can access. A key limited
// to models also sees those of them that are not named routes (Bedrock
// ids passed through), since it may use them.
func (s *Server) handleModels(ctx *fasthttp.RequestCtx, x *exchange) {
	if err := s.authenticate(ctx, x); err != nil {
		s.writeError(ctx, x, err)
		return
	}
	routes, err := s.deps.Routes.ListRoutes(s.baseCtx)
	if err != nil {
		s.writeError(ctx, x, fmt.Errorf("list routes: %w", err))
		return
	}
	list := openai.ModelList{Object: "list", Data: make([]openai.Model, 0, len(routes))}
	listed := make(map[string]bool, len(routes))
	for _, r := range routes {
		if x.key != nil && !x.key.AllowsModel(r.Model) {
			continue
		}
		listed[r.Model] = true
		list.Data = append(list.Data, routeToModel(r.Model, r))
	}
	if x.key != nil {
		for _, m := range x.key.AllowedModels {
			if listed[m] {
				continue
			}
			// A name that resolves to nothing is no model the key can use.
			if r, err := s.deps.Routes.ResolveRoute(s.baseCtx, m); err == nil {
				listed[m] = true
				list.Data = append(list.Data, routeToModel(m, r))
			}
		}
	}
	s.writeJSON(ctx, x, list)
}

// handleModel serves GET /v1/models/{id}. The id is the rest of the
// (decoded) path, since ARNs and inference-profile ids hold '/' and ':'.
func (s *Server) handleModel(ctx *fasthttp.RequestCtx, x *exchange, id string) {
	if err := s.authenticate(ctx, x); err != nil {
		s.writeError(ctx, x, err)
		return
	}
	if id == "" {
		s.writeError(ctx, x, convertor.ParamErrorf("model", "Missing model id in the URL."))
		return
	}
	// A model the key may not use does not exist for it, in OpenAI's words
	// and status: the answer must not tell it apart from an unknown one.
	if x.key != nil && !x.key.AllowsModel(id) {
		s.writeError(ctx, x, errModelNotFound(id))
		return
	}
	r, err := s.deps.Routes.ResolveRoute(s.baseCtx, id)
	if err != nil {
		s.writeError(ctx, x, err)
		return
	}
	s.writeJSON(ctx, x, routeToModel(id, r))
}

// modelDate finds the release date Bedrock ids carry ("…-20251101-v1:0").
var modelDate = regexp.MustCompile(`-(20\d{6})-`)

// routeToModel describes a route as an OpenAI model. Bedrock lists no
// creation time for a route; the release date in the model id is the
// closest truth, and it is stable across restarts, unlike a start time.
func routeToModel(id string, r convertor.Route) openai.Model {
	m := openai.Model{ID: id, Object: "model", OwnedBy: "bedrock"}
	if strings.Contains(r.BedrockModelID, "anthropic.") {
		m.OwnedBy = "anthropic"
	}
	if d := modelDate.FindStringSubmatch(r.BedrockModelID); d != nil {
		if t, err := time.Parse("20060102", d[1]); err == nil {
			m.Created = t.Unix()
		}
	}
	return m
}

// writeJSON answers 200 with v as JSON.
func (s *Server) writeJSON(ctx *fasthttp.RequestCtx, x *exchange, v any) {
	s.writeJSONStatus(ctx, x, fasthttp.StatusOK, v)
}

func (s *Server) writeJSONStatus(ctx *fasthttp.RequestCtx, x *exchange, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		s.writeError(ctx, x, fmt.Errorf("marshal %T: %w", v, err))
		return
	}
	x.status = status
	ctx.SetStatusCode(status)
	ctx.SetContentType(contentTypeJSON)
	ctx.Response.SetBodyRaw(body)
}
