package convert

import (
	"bytes"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

// checkUnsupported refuses the OpenAI fields that Claude on Bedrock cannot
// honour, where ignoring them would give the client something other than
// what it asked for.
//
// Some fields are accepted and ignored because honouring them changes
// nothing the client can observe in the output: seed (Claude has no seeded
// sampling; a seed asks for best-effort repeatability, not different
// text), store and metadata (OpenAI-side storage of the completion),
// service_tier (OpenAI's latency and price class), prediction (a latency
// optimisation that never changes the generated text), prompt_cache_key,
// prompt_cache_retention and prompt_cache_options (OpenAI's prompt cache;
// the gateway places Bedrock's cache points itself, and caching never
// changes the text), stream_options.include_obfuscation (padding of
// OpenAI's chunks), and a message's name (Claude has no speaker names; the
// content is unchanged). verbosity is reported when ignored (see
// verbosity).
func checkUnsupported(req *openai.ChatRequest) error {
	switch {
	case req.N != nil && *req.N > 1:
		return convertor.ParamErrorf("n", "n must be 1: Claude returns one choice per request; send several requests for several choices")
	case req.N != nil && *req.N < 1:
		return convertor.ParamErrorf("n", "n must be 1 (got %d)", *req.N)
	case req.Logprobs != nil && *req.Logprobs:
		return convertor.ParamErrorf("logprobs", "logprobs are not available: Claude on Bedrock does not return token log probabilities")
	case req.TopLogprobs != nil && *req.TopLogprobs > 0:
		return convertor.ParamErrorf("top_logprobs", "top_logprobs are not available: Claude on Bedrock does not return token log probabilities")
	case req.PresencePenalty != nil && *req.PresencePenalty != 0:
		return convertor.ParamErrorf("presence_penalty", "presence_penalty is not supported: Claude has no presence penalty; omit it or send 0")
	case req.FrequencyPenalty != nil && *req.FrequencyPenalty != 0:
		return convertor.ParamErrorf("frequency_penalty", "frequency_penalty is not supported: Claude has no frequency penalty; omit it or send 0")
	case len(req.LogitBias) > 0:
		return convertor.ParamErrorf("logit_bias", "logit_bias is not supported: Claude does not take token biases")
	case isSet(req.Functions):
		return convertor.ParamErrorf("functions", "functions is deprecated and not supported; send tools instead")
	case isSet(req.FunctionCall):
		return convertor.ParamErrorf("function_call", "function_call is deprecated and not supported; send tool_choice instead")
	case isSet(req.Audio):
		return convertor.ParamErrorf("audio", "audio output is not supported: Claude answers in text only")
	case isSet(req.WebSearchOptions):
		return convertor.ParamErrorf("web_search_options", "web_search_options is not supported: Claude on Bedrock does not search the web; send the search results in the messages, or as the results of a tool")
	case isSet(req.Moderation):
		return convertor.ParamErrorf("moderation", "moderation is not supported: Bedrock runs no OpenAI moderation; an operator can attach a Bedrock guardrail to the model instead")
	}
	for i, m := range req.Modalities {
		if m != "text" {
			return convertor.ParamErrorf(indexParam("modalities", i), "modality %q is not supported: Claude answers in text only", m)
		}
	}
	return nil
}

// isSet reports whether a raw JSON field carries a value other than null.
func isSet(raw []byte) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

// verbosity reads verbosity, which steers the length of OpenAI's answers.
// Claude has no such setting: "medium", OpenAI's default, changes nothing,
// and "low" or "high" is reported as ignored, not refused, since the answer
// is still one the client can use.
func (c *requestConverter) verbosity() error {
	switch v := c.req.Verbosity; v {
	case "", "medium":
		return nil
	case "low", "high":
		return c.adjust("verbosity", "ignored", "Claude has no verbosity setting",
			"verbosity %q is not supported: Claude has no verbosity setting; ask for the length you want in the prompt", v)
	default:
		return convertor.ParamErrorf("verbosity", "verbosity must be low, medium or high, not %q", v)
	}
}
