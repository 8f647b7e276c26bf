package openai

import (
	"bytes"
	"encoding/json"
	"reflect"
)

// ResponsesRequest is the body of POST /v1/responses.
// https://platform.openai.com/docs/api-reference/responses/create
type ResponsesRequest struct {
	Model        string         `json:"model"`
	Input        *ResponseInput `json:"input,omitempty"`
	Instructions string         `json:"instructions,omitempty"`
	Stream       bool           `json:"stream,omitempty"`
	// StreamOptions holds include_obfuscation, padding of OpenAI's events
	// against side channels; the gateway's events carry none either way.
	StreamOptions     json.RawMessage     `json:"stream_options,omitempty"`
	MaxOutputTokens   *int                `json:"max_output_tokens,omitempty"`
	Temperature       *float64            `json:"temperature,omitempty"`
	TopP              *float64            `json:"top_p,omitempty"`
	Tools             []ResponsesTool     `json:"tools,omitempty"`
	ToolChoice        json.RawMessage     `json:"tool_choice,omitempty"`
	ParallelToolCalls *bool               `json:"parallel_tool_calls,omitempty"`
	Reasoning         *ResponsesReasoning `json:"reasoning,omitempty"`
	Text              *ResponsesText      `json:"text,omitempty"`
	Metadata          map[string]string   `json:"metadata,omitempty"`
	User              string              `json:"user,omitempty"`
	SafetyIdentifier  string              `json:"safety_identifier,omitempty"`
	// Store asks for the response to be kept for GET and for
	// previous_response_id; OpenAI's default is true.
	Store              *bool  `json:"store,omitempty"`
	PreviousResponseID string `json:"previous_response_id,omitempty"`
	// Background runs the response asynchronously at OpenAI; refused.
	Background *bool `json:"background,omitempty"`
	// Include names extra output OpenAI can add ("reasoning.encrypted_content").
	Include []string `json:"include,omitempty"`
	// Truncation is "disabled" or "auto".
	Truncation string `json:"truncation,omitempty"`
	// Thinking is not part of OpenAI's API: clients pass it as extra body,
	// as with chat completions, to reach Claude's extended thinking.
	Thinking             *Thinking       `json:"thinking,omitempty"`
	Conversation         json.RawMessage `json:"conversation,omitempty"`
	Prompt               json.RawMessage `json:"prompt,omitempty"`
	MaxToolCalls         *int            `json:"max_tool_calls,omitempty"`
	TopLogprobs          *int            `json:"top_logprobs,omitempty"`
	ServiceTier          string          `json:"service_tier,omitempty"`
	PromptCacheKey       string          `json:"prompt_cache_key,omitempty"`
	PromptCacheRetention string          `json:"prompt_cache_retention,omitempty"`
	PromptCacheOptions   json.RawMessage `json:"prompt_cache_options,omitempty"`
	// ContextManagement asks OpenAI to compact long conversations.
	ContextManagement json.RawMessage `json:"context_management,omitempty"`
	// Moderation asks OpenAI to moderate the input and output.
	Moderation json.RawMessage `json:"moderation,omitempty"`
	// AccessPrograms and Image select OpenAI account programs and OpenAI's
	// image context compression.
	AccessPrograms json.RawMessage `json:"access_programs,omitempty"`
	Image          json.RawMessage `json:"image,omitempty"`
}

// ResponseInput is the input of a Responses request: a string, or a list
// of input items.
type ResponseInput struct {
	// Text is set when the input was a JSON string.
	Text string
	// Items is set when the input was a JSON array.
	Items []Item
	// IsItems tells the two forms apart.
	IsItems bool
}

// UnmarshalJSON accepts a string or an array of items.
func (in *ResponseInput) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		*in = ResponseInput{}
		return json.Unmarshal(b, &in.Text)
	case len(b) > 0 && b[0] == '[':
		*in = ResponseInput{IsItems: true}
		return json.Unmarshal(b, &in.Items)
	}
	return &json.UnmarshalTypeError{Value: jsonKind(b), Type: responseInputType}
}

// MarshalJSON writes the form the input was read in.
func (in ResponseInput) MarshalJSON() ([]byte, error) {
	if in.IsItems {
		if in.Items == nil {
			return []byte("[]"), nil
		}
		return json.Marshal(in.Items)
	}
	return json.Marshal(in.Text)
}

// Item types of input and output.
// https://platform.openai.com/docs/api-reference/responses/object#responses/object-output
const (
	ItemMessage            = "message"
	ItemFunctionCall       = "function_call"
	ItemFunctionCallOutput = "function_call_output"
	ItemReasoning          = "reasoning"
)

// Item is one input or output item: a message, a function call, its
// output, or reasoning. One type serves both directions because a
// response's output items are the next request's input items.
type Item struct {
	// Type is "message" (the default for input with a role),
	// "function_call", "function_call_output", "reasoning", or another
	// type the gateway refuses.
	Type string `json:"type,omitempty"`
	ID   string `json:"id,omitempty"`
	// Role is user, system, developer or assistant, for messages.
	Role string `json:"role,omitempty"`
	// Content is a message's content: a string or parts.
	Content *ItemContent `json:"content,omitempty"`
	// Status is "in_progress", "completed" or "incomplete".
	Status string `json:"status,omitempty"`
	// CallID, Name and Arguments describe a function call; CallID links a
	// function_call_output to its call.
	CallID    string `json:"call_id,omitempty"`
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments,omitempty"`
	// Output is a function call's result: a string or parts.
	Output *ItemContent `json:"output,omitempty"`
	// Summary is a reasoning item's text.
	Summary []SummaryPart `json:"summary,omitempty"`
	// EncryptedContent is OpenAI's opaque reasoning; never produced here.
	EncryptedContent string `json:"encrypted_content,omitempty"`
}

// MarshalJSON writes exactly the fields of the item's type, with the empty
// lists and strings OpenAI sends (an in-progress message's "content": [],
// a call's "arguments": ""), so SDKs decoding by type find every field.
func (it Item) MarshalJSON() ([]byte, error) {
	switch it.Type {
	case ItemMessage:
		if it.Role == "assistant" && it.ID != "" {
			parts := []Part{}
			if it.Content != nil {
				parts = append(parts, it.Content.Parts...)
			}
			return json.Marshal(struct {
				Type    string `json:"type"`
				ID      string `json:"id"`
				Status  string `json:"status"`
				Role    string `json:"role"`
				Content []Part `json:"content"`
			}{it.Type, it.ID, it.Status, it.Role, parts})
		}
	case ItemFunctionCall:
		return json.Marshal(struct {
			Type      string `json:"type"`
			ID        string `json:"id,omitempty"`
			CallID    string `json:"call_id"`
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
			Status    string `json:"status,omitempty"`
		}{it.Type, it.ID, it.CallID, it.Name, it.Arguments, it.Status})
	case ItemReasoning:
		summary := it.Summary
		if summary == nil {
			summary = []SummaryPart{}
		}
		return json.Marshal(struct {
			Type             string        `json:"type"`
			ID               string        `json:"id"`
			Summary          []SummaryPart `json:"summary"`
			EncryptedContent string        `json:"encrypted_content,omitempty"`
			Status           string        `json:"status,omitempty"`
		}{it.Type, it.ID, summary, it.EncryptedContent, it.Status})
	}
	type plain Item // without this method
	return json.Marshal(plain(it))
}

// ItemContent is a message's content or a function call's output: a
// string or a list of parts.
type ItemContent struct {
	// Text is set when the content was a JSON string.
	Text string
	// Parts is set when the content was a JSON array.
	Parts []Part
	// IsParts tells the two forms apart.
	IsParts bool
}

// UnmarshalJSON accepts a string or an array of parts.
func (c *ItemContent) UnmarshalJSON(b []byte) error {
	return decodeTextOrParts(bytes.TrimSpace(b), &c.Text, &c.Parts, &c.IsParts, itemContentType)
}

// MarshalJSON writes the form the content was read in.
func (c ItemContent) MarshalJSON() ([]byte, error) {
	return encodeTextOrParts(c.Text, c.Parts, c.IsParts)
}

// Part is one content part of an item: input_text, input_image and
// input_file in input; output_text and refusal in assistant messages.
type Part struct {
	Type string `json:"type"`
	Text string `json:"text,omitempty"`
	// ImageURL is an input_image's source: an https URL or a data URL.
	ImageURL string `json:"image_url,omitempty"`
	Detail   string `json:"detail,omitempty"`
	// FileID names an uploaded OpenAI file; the gateway has none.
	FileID string `json:"file_id,omitempty"`
	// FileData and Filename are an input_file's inline form.
	FileData string `json:"file_data,omitempty"`
	Filename string `json:"filename,omitempty"`
	Refusal  string `json:"refusal,omitempty"`
	// Annotations of output_text; always empty here, but present.
	Annotations []json.RawMessage `json:"annotations,omitempty"`
}

// MarshalJSON writes output_text with its "text" and "annotations" even
// when empty, as OpenAI does; other parts as they are.
func (p Part) MarshalJSON() ([]byte, error) {
	if p.Type == "output_text" {
		ann := p.Annotations
		if ann == nil {
			ann = []json.RawMessage{}
		}
		return json.Marshal(struct {
			Type        string            `json:"type"`
			Text        string            `json:"text"`
			Annotations []json.RawMessage `json:"annotations"`
		}{p.Type, p.Text, ann})
	}
	type plain Part
	return json.Marshal(plain(p))
}

// SummaryPart is one part of a reasoning item's summary.
type SummaryPart struct {
	// Type is "summary_text".
	Type string `json:"type"`
	Text string `json:"text"`
}

// ResponsesTool is one entry of ResponsesRequest.Tools. Only function
// tools are served; the other types (web_search, file_search, …) are
// refused by name.
type ResponsesTool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name,omitempty"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// ResponsesReasoning is the reasoning configuration.
type ResponsesReasoning struct {
	// Effort is "none", "minimal", "low", "medium", "high" or "xhigh".
	Effort *string `json:"effort"`
	// Summary is "auto", "concise" or "detailed": how OpenAI summarizes
	// its reasoning. Claude's thinking text is returned as the summary.
	Summary *string `json:"summary"`
}

// ResponsesText configures the text output.
type ResponsesText struct {
	Format    *TextFormat `json:"format,omitempty"`
	Verbosity string      `json:"verbosity,omitempty"`
}

// TextFormat is text.format: "text", "json_object" or "json_schema" with
// the schema's fields inline (not under json_schema as in chat).
type TextFormat struct {
	Type        string          `json:"type"`
	Name        string          `json:"name,omitempty"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// Response statuses and incomplete reasons.
const (
	ResponseCompleted  = "completed"
	ResponseIncomplete = "incomplete"
	ResponseInProgress = "in_progress"
	ResponseFailed     = "failed"
)

// Response is the response object, returned by POST and GET and carried
// by the stream's lifecycle events.
// https://platform.openai.com/docs/api-reference/responses/object
type Response struct {
	ID                 string             `json:"id"`
	Object             string             `json:"object"`
	CreatedAt          int64              `json:"created_at"`
	Status             string             `json:"status"`
	Error              *ResponseError     `json:"error"`
	IncompleteDetails  *IncompleteDetails `json:"incomplete_details"`
	Instructions       *string            `json:"instructions"`
	MaxOutputTokens    *int               `json:"max_output_tokens"`
	Model              string             `json:"model"`
	Output             []Item             `json:"output"`
	ParallelToolCalls  bool               `json:"parallel_tool_calls"`
	PreviousResponseID *string            `json:"previous_response_id"`
	Reasoning          ResponsesReasoning `json:"reasoning"`
	Store              bool               `json:"store"`
	Temperature        *float64           `json:"temperature"`
	Text               ResponsesText      `json:"text"`
	ToolChoice         json.RawMessage    `json:"tool_choice"`
	Tools              []ResponsesTool    `json:"tools"`
	TopP               *float64           `json:"top_p"`
	Truncation         string             `json:"truncation"`
	Usage              *ResponsesUsage    `json:"usage"`
	User               *string            `json:"user"`
	Metadata           map[string]string  `json:"metadata"`
}

// ResponseError is why a response failed.
type ResponseError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// IncompleteDetails says why a response is incomplete: "max_output_tokens"
// or "content_filter".
type IncompleteDetails struct {
	Reason string `json:"reason"`
}

// ResponsesUsage is the token accounting of a response.
type ResponsesUsage struct {
	InputTokens         int                 `json:"input_tokens"`
	InputTokensDetails  InputTokensDetails  `json:"input_tokens_details"`
	OutputTokens        int                 `json:"output_tokens"`
	OutputTokensDetails OutputTokensDetails `json:"output_tokens_details"`
	TotalTokens         int                 `json:"total_tokens"`
}

// InputTokensDetails breaks down the input tokens.
type InputTokensDetails struct {
	CachedTokens int `json:"cached_tokens"`
	// CacheWriteTokens is not an OpenAI field; it reports Bedrock's
	// cacheWriteInputTokens, as chat completions' usage does.
	CacheWriteTokens int `json:"cache_write_tokens,omitempty"`
}

// OutputTokensDetails breaks down the output tokens.
type OutputTokensDetails struct {
	ReasoningTokens int `json:"reasoning_tokens"`
}

// ResponseDeleted is the body of DELETE /v1/responses/{id}.
type ResponseDeleted struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Deleted bool   `json:"deleted"`
}

// ResponseEvent is one streamed event; each type uses some of the fields.
// https://platform.openai.com/docs/api-reference/responses-streaming
type ResponseEvent struct {
	Type           string    `json:"type"`
	SequenceNumber int       `json:"sequence_number"`
	Response       *Response `json:"response,omitempty"`
	OutputIndex    *int      `json:"output_index,omitempty"`
	ItemID         string    `json:"item_id,omitempty"`
	Item           *Item     `json:"item,omitempty"`
	ContentIndex   *int      `json:"content_index,omitempty"`
	SummaryIndex   *int      `json:"summary_index,omitempty"`
	Part           any       `json:"part,omitempty"`
	Delta          *string   `json:"delta,omitempty"`
	Text           *string   `json:"text,omitempty"`
	Arguments      *string   `json:"arguments,omitempty"`
	Name           string    `json:"name,omitempty"`
	// Logprobs is sent empty with output_text events, as OpenAI does.
	Logprobs *[]json.RawMessage `json:"logprobs,omitempty"`
	// Code, Message and Param belong to the error event.
	Code    *string `json:"code,omitempty"`
	Message string  `json:"message,omitempty"`
	Param   *string `json:"param,omitempty"`
	// Error repeats the error event's fields in the envelope OpenAI SDKs
	// raise: they end a stream with an error when an event's data has an
	// "error" member.
	Error *ErrorObject `json:"error,omitempty"`
}

var (
	responseInputType = reflect.TypeFor[ResponseInput]()
	itemContentType   = reflect.TypeFor[ItemContent]()
)
