package convertor

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Route maps a model name that clients send to the Bedrock model that serves it.
type Route struct {
	// Model is the name clients use ("claude-sonnet-4-5").
	Model string `json:"model"`
	// BedrockModelID is a Bedrock model id, inference-profile id or ARN,
	// used as the {modelId} path segment of Converse.
	BedrockModelID string `json:"bedrock_model_id"`
	// Source says where the route came from: "admin", "default" or
	// "passthrough". It is reported, never used to decide.
	Source string `json:"source"`
	// UpdatedAt is when an admin route was last set; zero for the others.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Route sources.
const (
	RouteSourceAdmin       = "admin"
	RouteSourceDefault     = "default"
	RouteSourcePassthrough = "passthrough"
)

// RouteResolver finds the Route for a requested model name.
type RouteResolver interface {
	// ResolveRoute returns the route for model. Returns ENotFound if no
	// route matches and model is not a Bedrock model id either.
	ResolveRoute(ctx context.Context, model string) (Route, error)
	// ListRoutes returns every named route, for GET /v1/models.
	ListRoutes(ctx context.Context) ([]Route, error)
}

// DefaultRoutes are the built-in routes. Admin routes override them; names
// not found here may still pass through as raw Bedrock ids.
var DefaultRoutes = []Route{
	{Model: "claude-opus-4-5", BedrockModelID: "global.anthropic.claude-opus-4-5-20251101-v1:0", Source: RouteSourceDefault},
	{Model: "claude-opus-4-6", BedrockModelID: "global.anthropic.claude-opus-4-6-v1", Source: RouteSourceDefault},
	{Model: "claude-sonnet-4-5", BedrockModelID: "global.anthropic.claude-sonnet-4-5-20250929-v1:0", Source: RouteSourceDefault},
	{Model: "claude-haiku-4-5", BedrockModelID: "global.anthropic.claude-haiku-4-5-20251001-v1:0", Source: RouteSourceDefault},
	{Model: "claude-3-5-haiku", BedrockModelID: "us.anthropic.claude-3-5-haiku-20241022-v1:0", Source: RouteSourceDefault},
}

// inferenceProfileGeographies are the geographies whose prefix ("us.")
// Bedrock puts in front of a model id to name a cross-region inference
// profile.
var inferenceProfileGeographies = []string{"global", "us", "eu", "apac", "jp", "au", "ca", "us-gov"}

// InferenceProfileGeographies returns the geography prefixes of
// cross-region inference-profile ids ("global", "us", ...), for tools that
// split ids as SplitInferenceProfile does (the AWS CDK app's IAM policy).
func InferenceProfileGeographies() []string {
	return slices.Clone(inferenceProfileGeographies)
}

// SplitInferenceProfile splits a cross-region inference-profile id
// ("us.anthropic.claude-…") into its geography ("us") and the model id
// behind it ("anthropic.claude-…"). An id without a geography prefix, a
// foundation-model id or an ARN, comes back whole with geography "".
// Callers wanting the profile inside an ARN split its resource name.
func SplitInferenceProfile(id string) (geography, modelID string) {
	for _, g := range inferenceProfileGeographies {
		if rest, ok := strings.CutPrefix(id, g+"."); ok {
			return g, rest
		}
	}
	return "", id
}

// IsBedrockModelID reports whether s looks like something Bedrock accepts as
// a modelId: a foundation-model id ("anthropic.claude-…"), an
// inference-profile id ("us.anthropic.claude-…") or an ARN. It only checks
// the form; Bedrock decides whether the model exists.
func IsBedrockModelID(s string) bool {
	if strings.HasPrefix(s, "arn:aws") {
		return strings.Count(s, ":") >= 5 && !strings.ContainsAny(s, " \t\r\n")
	}
	_, s = SplitInferenceProfile(s)
	provider, rest, ok := strings.Cut(s, ".")
	if !ok || provider == "" || rest == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case r == '.', r == '-', r == ':', r == '_':
		default:
			return false
		}
	}
	return true
}
