package convert

import (
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

// Stream converts the events of one ConverseStream response into chunks.
// Not safe for concurrent use.
type Stream struct {
	meta Meta
}

// NewStream returns a Stream for one response.
func NewStream(meta Meta) *Stream { return &Stream{meta: meta} }

// Event converts one stream event; ok is false when the event yields no chunk.
func (s *Stream) Event(ev *bedrock.StreamEvent) (chunk openai.ChatChunk, ok bool) {
	return openai.ChatChunk{}, false
}

// Usage returns the usage reported by the metadata event, zero before it.
func (s *Stream) Usage() bedrock.TokenUsage { return bedrock.TokenUsage{} }

// FinishReason returns the OpenAI finish reason once messageStop was seen.
func (s *Stream) FinishReason() string { return "" }

// ReasoningByToolCall returns the reasoning blocks that preceded each tool
// call of the response, keyed by tool call id.
func (s *Stream) ReasoningByToolCall() map[string][]bedrock.ContentBlock { return nil }
