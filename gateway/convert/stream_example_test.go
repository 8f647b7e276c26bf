package convert_test

import (
	"fmt"

	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/convert"
)

// ExampleStream shows the loop the gateway runs per ConverseStream event.
func ExampleStream() {
	s := convert.NewStream(convert.Meta{ID: "chatcmpl-1", Model: "claude-sonnet-4-5", Created: 1767225600})
	text := "Hi"
	events := []bedrock.StreamEvent{
		{MessageStart: &bedrock.MessageStartEvent{Role: "assistant"}},
		{ContentBlockDelta: &bedrock.ContentBlockDeltaEvent{Delta: bedrock.ContentBlockDelta{Text: &text}}},
		{MessageStop: &bedrock.MessageStopEvent{StopReason: "end_turn"}},
	}
	var buf []byte
	for i := range events {
		if chunk, ok := s.Event(&events[i]); ok {
			buf = s.AppendSSE(buf[:0], &chunk) // encode before the next Event
			fmt.Print(string(buf))
		}
	}
	fmt.Print(string(convert.AppendDone(nil)))
	// Output:
	// data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1767225600,"model":"claude-sonnet-4-5","system_fingerprint":null,"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}
	//
	// data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1767225600,"model":"claude-sonnet-4-5","system_fingerprint":null,"choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null}]}
	//
	// data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1767225600,"model":"claude-sonnet-4-5","system_fingerprint":null,"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}
	//
	// data: [DONE]
}
