package convert

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

// OpenAI object names and finish reasons. Clients switch on these exact
// strings, so nothing else is ever sent.
const (
	objectChatCompletion      = "chat.completion"
	objectChatCompletionChunk = "chat.completion.chunk"

	finishStop          = "stop"
	finishLength        = "length"
	finishToolCalls     = "tool_calls"
	finishContentFilter = "content_filter"

	toolTypeFunction = "function"
)

// ConverseResponseToChat builds the OpenAI response; ID, model and created
// time come from meta.
func ConverseResponseToChat(resp *bedrock.ConverseResponse, meta Meta) *openai.ChatResponse {
	msg := openai.ResponseMessage{Role: bedrock.RoleAssistant}
	var (
		text, reasoning strings.Builder
		hasText         bool
	)
	if m := resp.Output.Message; m != nil {
		for i := range m.Content {
			b := &m.Content[i]
			switch {
			case b.Text != nil:
				text.WriteString(*b.Text)
				hasText = true
			case b.ToolUse != nil:
				msg.ToolCalls = append(msg.ToolCalls, openai.ToolCall{
					ID:   b.ToolUse.ToolUseID,
					Type: toolTypeFunction,
					Function: openai.FunctionCall{
						Name:      b.ToolUse.Name,
						Arguments: toolArguments(b.ToolUse.Input),
					},
				})
			case b.ReasoningContent != nil && b.ReasoningContent.ReasoningText != nil:
				// Redacted reasoning is encrypted: it has nothing to show
				// and is kept only through ReasoningByToolCall.
				reasoning.WriteString(b.ReasoningContent.ReasoningText.Text)
			}
		}
	}
	// OpenAI sends content null next to tool calls and "" for an empty
	// answer; SDKs treat a missing string differently from an empty one.
	if hasText || len(msg.ToolCalls) == 0 {
		s := text.String()
		msg.Content = &s
	}
	msg.ReasoningContent = reasoning.String()
	return &openai.ChatResponse{
		ID:      meta.ID,
		Object:  objectChatCompletion,
		Created: meta.Created,
		Model:   meta.Model,
		Choices: []openai.Choice{{
			Index:        0,
			Message:      msg,
			FinishReason: StopReasonToFinishReason(resp.StopReason),
		}},
		Usage: UsageToOpenAI(resp.Usage, reasoning.Len()),
	}
}

// toolArguments renders a tool call's input as the compact JSON string
// OpenAI clients parse. Claude always sends an object; an absent input
// becomes "{}" because clients json-decode arguments unconditionally.
func toolArguments(input json.RawMessage) string {
	input = bytes.TrimSpace(input)
	if len(input) == 0 || string(input) == "null" {
		return "{}"
	}
	var buf bytes.Buffer
	buf.Grow(len(input))
	if err := json.Compact(&buf, input); err != nil {
		// Not JSON: hand it over untouched rather than lose the call.
		return string(input)
	}
	return buf.String()
}

// UsageToOpenAI maps Bedrock token usage onto OpenAI usage. Bedrock's
// inputTokens excludes cached tokens while OpenAI's prompt_tokens includes
// them, so cache reads and writes are added back in; the details objects are
// always present, as OpenAI sends them.
//
// Bedrock counts thinking inside outputTokens without splitting it out, so
// reasoning_tokens is estimated from the reasoningBytes of thinking text
// the response carried (EstimateTokens), and never exceeds the completion
// tokens. Redacted thinking has no text to count.
func UsageToOpenAI(u bedrock.TokenUsage, reasoningBytes int) *openai.Usage {
	prompt := u.InputTokens + u.CacheReadInputTokens + u.CacheWriteInputTokens
	return &openai.Usage{
		PromptTokens:     prompt,
		CompletionTokens: u.OutputTokens,
		TotalTokens:      prompt + u.OutputTokens,
		PromptTokensDetails: &openai.PromptTokensDetails{
			CachedTokens:     u.CacheReadInputTokens,
			CacheWriteTokens: u.CacheWriteInputTokens,
		},
		CompletionTokensDetails: &openai.CompletionTokensDetails{
			ReasoningTokens: min(EstimateTokens(reasoningBytes), max(u.OutputTokens, 0)),
		},
	}
}

// BytesPerToken is the product's estimate of a token where Bedrock gives
// no count: about four bytes of English text per Claude token. Admission
// (the prompt's tokens), streams cut short (their output) and
// reasoning_tokens all estimate with it.
const BytesPerToken = 4

// EstimateTokens estimates the tokens of n bytes of text, rounding up.
func EstimateTokens(n int) int {
	if n <= 0 {
		return 0
	}
	return (n + BytesPerToken - 1) / BytesPerToken
}

// StopReasonToFinishReason maps a Bedrock stop reason onto one of the four
// OpenAI finish reasons; clients know no others.
func StopReasonToFinishReason(stopReason string) string {
	switch stopReason {
	case bedrock.StopToolUse:
		return finishToolCalls
	case bedrock.StopMaxTokens, bedrock.StopModelContextWindowExceeded:
		return finishLength
	case bedrock.StopGuardrailIntervened, bedrock.StopContentFiltered:
		return finishContentFilter
	default:
		// end_turn and stop_sequence are a normal stop. The malformed_*
		// reasons also end as "stop": "tool_calls" would make a client run
		// a call whose arguments are broken, and "content_filter" would
		// blame a policy that did not act. Unknown future reasons likewise.
		return finishStop
	}
}

// ReasoningByToolCall returns, for each tool call in msg, the reasoning
// blocks that preceded it in the message, in order, for the gateway to keep
// for the next turn: Bedrock requires them back with the tool results. Tool
// calls with no reasoning before them are left out; the result is nil when
// there is nothing to keep. Calls that follow the same reasoning share the
// returned slices.
func ReasoningByToolCall(msg *bedrock.Message) map[string][]bedrock.ContentBlock {
	if msg == nil {
		return nil
	}
	var (
		reasoning []bedrock.ContentBlock
		out       map[string][]bedrock.ContentBlock
	)
	for _, b := range msg.Content {
		switch {
		case b.ReasoningContent != nil:
			reasoning = append(reasoning, b)
		case b.ToolUse != nil && len(reasoning) > 0:
			if out == nil {
				out = make(map[string][]bedrock.ContentBlock)
			}
			// Clipped: appending to one call's slice must not overwrite the
			// blocks a later call sees in the shared array.
			out[b.ToolUse.ToolUseID] = reasoning[:len(reasoning):len(reasoning)]
		}
	}
	return out
}
