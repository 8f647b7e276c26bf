package convert

import (
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

// ConverseResponseToChat builds the OpenAI response; ID, model and created
// time come from meta.
func ConverseResponseToChat(resp *bedrock.ConverseResponse, meta Meta) *openai.ChatResponse {
	return &openai.ChatResponse{ID: meta.ID}
}

// UsageToOpenAI maps Bedrock token usage onto OpenAI usage.
func UsageToOpenAI(u bedrock.TokenUsage) *openai.Usage { return &openai.Usage{} }

// ReasoningByToolCall returns, for each tool call in msg, the reasoning
// blocks that preceded it, for the gateway to keep for the next turn.
func ReasoningByToolCall(msg *bedrock.Message) map[string][]bedrock.ContentBlock { return nil }
