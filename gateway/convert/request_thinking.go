package convert

import (
	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

// minThinkingBudget is the smallest budget_tokens Bedrock accepts.
const minThinkingBudget = 1024

// effortBudgets turn OpenAI's reasoning_effort into Claude thinking budgets
// for models that take an explicit budget. minimal is Bedrock's minimum;
// each step up roughly triples or quadruples the budget, and high leaves
// room for a long answer within the 64k output of current models.
var effortBudgets = map[string]int{
	"minimal": 1024,
	"low":     2048,
	"medium":  8192,
	"high":    24576,
	"xhigh":   32768,
	"max":     49152,
}

// effortLevels map reasoning_effort onto outputConfig.effort for models
// with adaptive thinking. Bedrock has no "minimal"; low is the nearest.
var effortLevels = map[string]string{
	"minimal": "low",
	"low":     "low",
	"medium":  "medium",
	"high":    "high",
	"xhigh":   "xhigh",
	"max":     "max",
}

// thinkingPlan is the extended thinking a request asked for.
type thinkingPlan struct {
	on bool
	// adaptive sends {"type":"adaptive"}: the model decides how much to
	// think, steered by effort.
	adaptive bool
	// budget is budget_tokens for {"type":"enabled"}; 0 when adaptive.
	budget int
	// explicit is set when the client gave budget_tokens itself, which is
	// never changed, only refused.
	explicit bool
	// effort is outputConfig.effort for adaptive thinking; empty leaves
	// the model's default.
	effort string
	// param is the request field that asked for thinking, for errors.
	param string
}

// thinkingFor reads thinking (extra body) and reasoning_effort. thinking
// wins where both could apply; they may be combined only as an adaptive
// thinking steered by an effort.
func thinkingFor(req *openai.ChatRequest, opts *Options) (thinkingPlan, error) {
	effort := req.ReasoningEffort
	if effort != "" && effort != "none" {
		if _, ok := effortBudgets[effort]; !ok {
			return thinkingPlan{}, convertor.ParamErrorf("reasoning_effort", "reasoning_effort must be none, minimal, low, medium, high, xhigh or max, not %q", effort)
		}
	}
	var t thinkingPlan
	if th := req.Thinking; th != nil {
		switch th.Type {
		case "disabled":
			if effort != "" && effort != "none" {
				return thinkingPlan{}, convertor.ParamErrorf("reasoning_effort", "reasoning_effort %q contradicts thinking.type \"disabled\"", effort)
			}
			return thinkingPlan{}, nil
		case "enabled":
			if effort != "" {
				return thinkingPlan{}, convertor.ParamErrorf("reasoning_effort", "send thinking.budget_tokens or reasoning_effort, not both")
			}
			if th.BudgetTokens < minThinkingBudget {
				return thinkingPlan{}, convertor.ParamErrorf("thinking.budget_tokens", "thinking.budget_tokens must be at least %d", minThinkingBudget)
			}
			t = thinkingPlan{on: true, budget: th.BudgetTokens, explicit: true, param: "thinking"}
		case "adaptive":
			if effort == "none" {
				return thinkingPlan{}, convertor.ParamErrorf("reasoning_effort", "reasoning_effort \"none\" contradicts thinking.type \"adaptive\"")
			}
			t = thinkingPlan{on: true, adaptive: true, effort: effortLevels[effort], param: "thinking"}
		default:
			return thinkingPlan{}, convertor.ParamErrorf("thinking.type", "thinking.type must be \"enabled\", \"adaptive\" or \"disabled\", not %q", th.Type)
		}
	} else {
		if effort == "" || effort == "none" {
			return thinkingPlan{}, nil
		}
		t = thinkingPlan{on: true, param: "reasoning_effort"}
	}
	return t.forModel(effort, opts)
}

// forModel fits the plan to the model's thinking style.
func (t thinkingPlan) forModel(effort string, opts *Options) (thinkingPlan, error) {
	caps := opts.Capabilities
	switch {
	case !opts.Features.Thinking:
		return thinkingPlan{}, convertor.ParamErrorf(t.param, "extended thinking is disabled on this gateway")
	case caps.Thinking == convertor.ThinkingNone:
		return thinkingPlan{}, convertor.ParamErrorf(t.param, "this model (%s) has no extended thinking", caps.Family)
	case caps.Thinking == convertor.ThinkingBudget && t.adaptive:
		return thinkingPlan{}, convertor.ParamErrorf("thinking.type", "this model (%s) has no adaptive thinking; send {\"type\":\"enabled\",\"budget_tokens\":N}", caps.Family)
	}
	if !caps.Effort {
		t.effort = ""
	}
	if t.adaptive || t.explicit {
		return t, nil
	}
	if caps.Thinking == convertor.ThinkingAdaptive {
		t.adaptive = true
		if caps.Effort {
			t.effort = effortLevels[effort]
		}
		return t, nil
	}
	t.budget = effortBudgets[effort]
	// An effort is ours to translate, so its budget shrinks to leave a
	// quarter of a small model's output for the answer.
	if limit := caps.MaxOutputTokens * 3 / 4; caps.MaxOutputTokens > 0 && t.budget > limit {
		t.budget = max(limit, minThinkingBudget)
	}
	return t, nil
}

// field returns the additionalModelRequestFields.thinking that turns the
// plan on, or nil when thinking is off.
func (t thinkingPlan) field() *thinkingField {
	switch {
	case !t.on:
		return nil
	case t.adaptive:
		return &thinkingField{Type: "adaptive"}
	}
	return &thinkingField{Type: "enabled", BudgetTokens: t.budget}
}

// thinkingField is Anthropic's thinking request field.
// https://docs.aws.amazon.com/bedrock/latest/userguide/claude-messages-extended-thinking.html
type thinkingField struct {
	// Type is "enabled" or "adaptive".
	Type string `json:"type"`
	// BudgetTokens is set with "enabled".
	BudgetTokens int `json:"budget_tokens,omitempty"`
}
