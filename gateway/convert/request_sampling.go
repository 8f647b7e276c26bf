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

// sampling fits temperature and top_p to Claude's rules. OpenAI takes
// temperatures up to 2 and both fields together, and clients often send
// both; Claude takes temperatures up to 1, only temperature 1 and top_p
// from 0.95 while thinking, and on some models one of the two. Each value
// Claude would refuse becomes the nearest one it takes, recorded as an
// Adjustment, or an error under StrictParams. Values outside OpenAI's own
// ranges are refused either way.
func (c *requestConverter) sampling() (temperature, topP *float64, err error) {
	temperature, topP = c.req.Temperature, c.req.TopP
	if temperature != nil && !(*temperature >= 0 && *temperature <= 2) {
		return nil, nil, convertor.ParamErrorf("temperature", "temperature must be between 0 and 2")
	}
	if topP != nil && !(*topP >= 0 && *topP <= 1) {
		return nil, nil, convertor.ParamErrorf("top_p", "top_p must be between 0 and 1")
	}
	if temperature != nil && *temperature > 1 {
		if err := c.adjust("temperature", "clamped to 1", "Claude takes temperatures from 0 to 1",
			"temperature %g is above 1: Claude takes temperatures from 0 to 1", *temperature); err != nil {
			return nil, nil, err
		}
		temperature = ptr(1.0)
	}
	if c.thinking.on {
		if temperature != nil && *temperature != 1 {
			if err := c.adjust("temperature", "dropped", "Claude takes only temperature 1 with extended thinking",
				"with extended thinking Claude takes only temperature 1; omit temperature or send 1"); err != nil {
				return nil, nil, err
			}
			temperature = nil
		}
		if topP != nil && *topP < minThinkingTopP {
			if err := c.adjust("top_p", "raised to 0.95", "Claude takes top_p from 0.95 to 1 with extended thinking",
				"with extended thinking Claude takes top_p from %g to 1; omit top_p or raise it", minThinkingTopP); err != nil {
				return nil, nil, err
			}
			topP = ptr(minThinkingTopP)
		}
	}
	if temperature == nil || topP == nil || !c.caps.TemperatureXorTopP {
		return temperature, topP, nil
	}
	// top_p 1 and temperature 1 are Claude's defaults: dropping one of them
	// changes nothing, so it is no adjustment, and clients often send
	// defaults explicitly. The temperature asked for decides, not the one
	// clamped to 1: 1.5 asks for more randomness, not for the default.
	switch {
	case *topP == 1:
		return temperature, nil, nil
	case *c.req.Temperature == 1:
		return nil, topP, nil
	}
	// Both differ from the defaults: temperature is the one OpenAI's
	// documentation steers clients to, so it stays.
	if err := c.adjust("top_p", "dropped", c.caps.Family+" takes temperature or top_p, not both",
		"this model (%s) accepts temperature or top_p, not both", c.caps.Family); err != nil {
		return nil, nil, err
	}
	return temperature, nil, nil
}

// adjust records an adjustment of param, or under StrictParams returns the
// error refusing it, formatted from strict and args.
func (c *requestConverter) adjust(param, action, reason, strict string, args ...any) error {
	if c.opts.StrictParams {
		return convertor.ParamErrorf(param, strict, args...)
	}
	c.adjusted = append(c.adjusted, Adjustment{Param: param, Action: action, Reason: reason})
	return nil
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
