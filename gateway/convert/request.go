package convert

import (
	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

// ChatRequestToConverse maps an OpenAI chat request onto a Converse request.
// Anything Converse cannot express yields an error with code convertor.EInvalid.
func ChatRequestToConverse(req *openai.ChatRequest, opts *Options) (*bedrock.ConverseRequest, error) {
	return nil, convertor.Errorf(convertor.EInternal, "request conversion is being written")
}

// RemoteImageURLs returns the distinct https image URLs the request refers
// to, in order of appearance, for the gateway to fetch before conversion.
func RemoteImageURLs(req *openai.ChatRequest) []string { return nil }

// ToolCallIDs returns the ids of the tool calls made by assistant messages in
// the request, for the gateway to look up their reasoning blocks.
func ToolCallIDs(req *openai.ChatRequest) []string { return nil }
