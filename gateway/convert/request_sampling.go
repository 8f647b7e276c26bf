package convert

import (
	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
)

// maxStopSequences is OpenAI's limit on stop. Bedrock takes more, but a
// client written against OpenAI never sends more, and refusing what OpenAI
// refuses keeps the two interchangeable.
const maxStopSequences = 4

// minThinkingTopP is the smallest top_p Claude takes while thinking.
const minThinkingTopP = 0.95

// inferenceConfig converts max tokens, temperature, top_p and stop.
func (c *requestConverter) inferenceConfig() (*bedrock.InferenceConfig, error) {
	ic := &bedrock.InferenceConfig{}
	var err error
	if ic.MaxTokens, err = c.maxTokens(); err != nil {
		return nil, err
	}
	if ic.Temperature, ic.TopP, err = c.sampling(); err != nil {
		return nil, err
	}
	if ic.StopSequences, err = c.stopSequences(); err != nil {
		return nil, err
	}
	if ic.MaxTokens == nil && ic.Temperature == nil && ic.TopP == nil && ic.StopSequences == nil {
		return nil, nil
	}
	return ic, nil
}

// maxTokens returns maxTokens: the client's (max_completion_tokens wins
// over the older max_tokens) or the model's default, since Converse's own
// default is often small. With a thinking budget, maxTokens must exceed
// the budget; when it does not, the client's figure becomes the room for
// the answer on top of the budget, within the model's output limit.
func (c *requestConverter) maxTokens() (*int, error) {
	param, limit := "max_completion_tokens", c.req.MaxCompletionTokens
	if limit == nil {
		param, limit = "max_tokens", c.req.MaxTokens
	}
	ceiling := c.caps.MaxOutputTokens
	n := c.caps.DefaultMaxTokens
	if limit != nil {
		n = *limit
		switch {
		case n < 1:
			return nil, convertor.ParamErrorf(param, "%s must be at least 1", param)
		case ceiling > 0 && n > ceiling:
			return nil, convertor.ParamErrorf(param, "%s is %d, above the %d output tokens this model (%s) allows", param, n, ceiling, c.caps.Family)
		}
	}
	t := c.thinking
	if !t.on || t.adaptive {
		if n <= 0 {
			return nil, nil
		}
		return &n, nil
	}
	if ceiling > 0 && t.budget >= ceiling {
		return nil, convertor.ParamErrorf("thinking.budget_tokens", "thinking.budget_tokens must be below the %d output tokens this model (%s) allows, leaving room for the answer", ceiling, c.caps.Family)
	}
	if n <= t.budget {
		n += t.budget
		if ceiling > 0 && n > ceiling {
			n = ceiling
		}
	}
	return &n, nil
}

// sampling checks temperature and top_p against Claude's rules.
func (c *requestConverter) sampling() (temperature, topP *float64, err error) {
	temperature, topP = c.req.Temperature, c.req.TopP
	if temperature != nil {
		switch v := *temperature; {
		case !(v >= 0 && v <= 2):
			return nil, nil, convertor.ParamErrorf("temperature", "temperature must be between 0 and 2")
		case v > 1:
			return nil, nil, convertor.ParamErrorf("temperature", "temperature %g is above 1: Claude takes temperatures from 0 to 1", v)
		case c.thinking.on && v != 1:
			return nil, nil, convertor.ParamErrorf("temperature", "with extended thinking Claude takes only temperature 1; omit temperature or send 1")
		}
	}
	if topP != nil {
		switch v := *topP; {
		case !(v >= 0 && v <= 1):
			return nil, nil, convertor.ParamErrorf("top_p", "top_p must be between 0 and 1")
		case c.thinking.on && v < minThinkingTopP:
			return nil, nil, convertor.ParamErrorf("top_p", "with extended thinking Claude takes top_p from %g to 1; omit top_p or raise it", minThinkingTopP)
		}
	}
	if temperature == nil || topP == nil || !c.caps.TemperatureXorTopP {
		return temperature, topP, nil
	}
	// top_p 1 and temperature 1 are Claude's defaults: dropping one of them
	// changes nothing, and clients often send defaults explicitly.
	switch {
	case *topP == 1:
		return temperature, nil, nil
	case *temperature == 1:
		return nil, topP, nil
	}
	return nil, nil, convertor.ParamErrorf("top_p", "this model (%s) accepts temperature or top_p, not both", c.caps.Family)
}

// stopSequences converts stop (a string or a list).
func (c *requestConverter) stopSequences() ([]string, error) {
	if c.req.Stop == nil {
		return nil, nil
	}
	seqs := c.req.Stop.Sequences
	if len(seqs) > maxStopSequences {
		return nil, convertor.ParamErrorf("stop", "stop takes at most %d sequences", maxStopSequences)
	}
	for _, s := range seqs {
		if s == "" {
			return nil, convertor.ParamErrorf("stop", "stop sequences must not be empty")
		}
	}
	if len(seqs) == 0 {
		return nil, nil
	}
	return seqs, nil
}
