package convertor

import (
	"context"
	"strings"
)

// maxModelNameLen bounds a route's model name: the name appears in every
// usage record and roll-up key of the requests that use it.
const maxModelNameLen = 128

// Validate checks an admin route: a model name clients can send and a
// Bedrock model id, inference-profile id or ARN to serve it. Returns
// EInvalid naming the field at fault.
func (r *Route) Validate() error {
	switch {
	case ValidateModelName("model", r.Model) != nil:
		return ValidateModelName("model", r.Model)
	case r.BedrockModelID == "":
		return ParamErrorf("bedrock_model_id", "bedrock_model_id required")
	case len(r.BedrockModelID) > 2048 || !IsBedrockModelID(r.BedrockModelID):
		return ParamErrorf("bedrock_model_id", "bedrock_model_id %q is not a Bedrock model id (anthropic.claude-…), inference-profile id (global.anthropic.claude-…) or ARN", truncate(r.BedrockModelID, 200))
	}
	return nil
}

// ValidateModelName checks a model name clients send and operators write
// into routes and keys' allowed models: 1 to 128 letters, digits and
// . _ : / -. Returns EInvalid blaming param.
func ValidateModelName(param, name string) error {
	switch {
	case name == "":
		return ParamErrorf(param, "model name required")
	case len(name) > maxModelNameLen:
		return ParamErrorf(param, "model name is longer than %d characters", maxModelNameLen)
	case !validModelName(name):
		return ParamErrorf(param, "model name %q: use letters, digits and . _ : / -", truncate(name, maxModelNameLen))
	}
	return nil
}

func validModelName(s string) bool {
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.ContainsRune("._:/-", c):
		default:
			return false
		}
	}
	return true
}

// truncate shortens s to at most n bytes for a message, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// RouteStore keeps the admin routes, which override the built-in
// DefaultRoutes. The gateway reads them through a cache, never per request.
type RouteStore interface {
	// Routes returns every admin route (Source "admin"), ordered by model.
	Routes(ctx context.Context) ([]Route, error)
	// PutRoute creates or replaces the admin route of r.Model and reports
	// whether it existed before. Returns EInvalid if r does not validate.
	PutRoute(ctx context.Context, r Route) (replaced bool, err error)
	// DeleteRoute removes the admin route of model. Returns ENotFound if
	// there is none.
	DeleteRoute(ctx context.Context, model string) error
}
