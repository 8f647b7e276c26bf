package emulator

import (
	"strings"

	"github.com/openai-api-convertor/convertor"
)

// knownFoundationModels are the foundation ids behind the default routes,
// plus the Claude models the gateway's capability table knows.
var knownFoundationModels = func() map[string]bool {
	m := map[string]bool{
		"anthropic.claude-3-haiku-20240307-v1:0":    true,
		"anthropic.claude-3-5-sonnet-20240620-v1:0": true,
		"anthropic.claude-3-5-sonnet-20241022-v2:0": true,
		"anthropic.claude-3-7-sonnet-20250219-v1:0": true,
		"anthropic.claude-sonnet-4-20250514-v1:0":   true,
		"anthropic.claude-opus-4-20250514-v1:0":     true,
		"anthropic.claude-opus-4-1-20250805-v1:0":   true,
	}
	for _, r := range convertor.DefaultRoutes {
		m[foundationModel(r.BedrockModelID)] = true
	}
	return m
}()

// foundationModel returns the foundation-model id behind id, without its
// inference-profile geography.
func foundationModel(id string) string {
	_, model := convertor.SplitInferenceProfile(id)
	return model
}

// knownModel reports whether Bedrock would accept id as a modelId: a known
// foundation id, with or without a geography prefix, or an ARN of a
// foundation model or inference profile whose resource name is one; extra
// lists more ids the caller accepts verbatim.
func knownModel(id string, extra map[string]bool) bool {
	if extra[id] {
		return true
	}
	if strings.HasPrefix(id, "arn:") {
		i := strings.LastIndexByte(id, '/')
		if i < 0 || strings.Count(id, ":") < 5 {
			return false
		}
		id = id[i+1:]
		if extra[id] {
			return true
		}
	}
	return knownFoundationModels[foundationModel(id)]
}
