// Package openai holds the OpenAI Chat Completions wire types and the OpenAI
// error envelope: what the gateway reads from and writes to clients.
//
// API reference: https://platform.openai.com/docs/api-reference/chat
package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"unicode/utf8"

	"github.com/openai-api-convertor/convertor/internal/fastjson"
)

// ChatRequest is the body of POST /v1/chat/completions.
// https://platform.openai.com/docs/api-reference/chat/create
type ChatRequest struct {
	Model               string          `json:"model"`
	Messages            []Message       `json:"messages"`
	Stream              bool            `json:"stream,omitempty"`
	StreamOptions       *StreamOptions  `json:"stream_options,omitempty"`
	MaxTokens           *int            `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int            `json:"max_completion_tokens,omitempty"`
	Temperature         *float64        `json:"temperature,omitempty"`
	TopP                *float64        `json:"top_p,omitempty"`
	Stop                *Stop           `json:"stop,omitempty"`
	N                   *int            `json:"n,omitempty"`
	Tools               []Tool          `json:"tools,omitempty"`
	ToolChoice          *ToolChoice     `json:"tool_choice,omitempty"`
	ParallelToolCalls   *bool           `json:"parallel_tool_calls,omitempty"`
	ResponseFormat      *ResponseFormat `json:"response_format,omitempty"`
	User                string          `json:"user,omitempty"`
	ReasoningEffort     string          `json:"reasoning_effort,omitempty"`
	// Thinking is not part of OpenAI's API: clients pass it as extra body
	// ({"type":"enabled","budget_tokens":N}) to reach Claude's extended thinking.
	Thinking         *Thinking         `json:"thinking,omitempty"`
	Logprobs         *bool             `json:"logprobs,omitempty"`
	TopLogprobs      *int              `json:"top_logprobs,omitempty"`
	PresencePenalty  *float64          `json:"presence_penalty,omitempty"`
	FrequencyPenalty *float64          `json:"frequency_penalty,omitempty"`
	LogitBias        map[string]any    `json:"logit_bias,omitempty"`
	Seed             *int64            `json:"seed,omitempty"`
	Store            *bool             `json:"store,omitempty"`
	Metadata         map[string]string `json:"metadata,omitempty"`
	ServiceTier      string            `json:"service_tier,omitempty"`
	Modalities       []string          `json:"modalities,omitempty"`
	Audio            json.RawMessage   `json:"audio,omitempty"`
	Prediction       json.RawMessage   `json:"prediction,omitempty"`
	// SafetyIdentifier is OpenAI's successor of User: a stable id of the
	// application's end user.
	SafetyIdentifier string `json:"safety_identifier,omitempty"`
	// Verbosity is "low", "medium" or "high".
	Verbosity string `json:"verbosity,omitempty"`
	// PromptCacheKey, PromptCacheRetention and PromptCacheOptions steer
	// OpenAI's prompt cache.
	PromptCacheKey       string          `json:"prompt_cache_key,omitempty"`
	PromptCacheRetention string          `json:"prompt_cache_retention,omitempty"`
	PromptCacheOptions   json.RawMessage `json:"prompt_cache_options,omitempty"`
	// PromptCacheTTL is not an OpenAI field: clients pass it as extra
	// body to choose the TTL of Bedrock's prompt cache for this request,
	// "5m" or "1h", or "none" to turn prompt caching off.
	PromptCacheTTL string `json:"prompt_cache_ttl,omitempty"`
	// Context1M is not an OpenAI field: true asks for the 1M-token context
	// window of the models that have one (Claude Sonnet 4 and 4.5), which
	// AWS bills at long-context rates above 200,000 prompt tokens.
	Context1M bool `json:"context_1m,omitempty"`
	// WebSearchOptions asks OpenAI's search models to search the web.
	WebSearchOptions json.RawMessage `json:"web_search_options,omitempty"`
	// Moderation asks OpenAI to moderate the input and output.
	Moderation json.RawMessage `json:"moderation,omitempty"`
	// Functions and FunctionCall are the deprecated predecessors of Tools
	// and ToolChoice; they are refused with a pointer to the new fields.
	Functions    json.RawMessage `json:"functions,omitempty"`
	FunctionCall json.RawMessage `json:"function_call,omitempty"`
}

// StreamOptions are the options of a streamed response.
type StreamOptions struct {
	IncludeUsage bool `json:"include_usage,omitempty"`
	// IncludeObfuscation asks OpenAI to pad chunks against side channels;
	// the gateway's chunks carry no padding field either way.
	IncludeObfuscation *bool `json:"include_obfuscation,omitempty"`
}

// Thinking is the extra-body request for Claude extended thinking.
type Thinking struct {
	// Type is "enabled", "disabled" or "adaptive".
	Type         string `json:"type"`
	BudgetTokens int    `json:"budget_tokens,omitempty"`
}

// Message is one entry of ChatRequest.Messages.
// https://platform.openai.com/docs/api-reference/chat/create#chat-create-messages
type Message struct {
	// Role is system, developer, user, assistant, tool (or the deprecated function).
	Role    string   `json:"role"`
	Content *Content `json:"content,omitempty"`
	Name    string   `json:"name,omitempty"`
	// ToolCalls are the calls an assistant message made.
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	// ToolCallID links a tool message to the call it answers.
	ToolCallID string `json:"tool_call_id,omitempty"`
	// ReasoningContent is the thinking text of an earlier assistant turn,
	// as some clients echo it back; it is not signed, so it is never sent
	// to Bedrock as a thinking block.
	ReasoningContent string `json:"reasoning_content,omitempty"`
	Refusal          string `json:"refusal,omitempty"`
}

// Content is a message's content: either a string or a list of parts.
// JSON null and an absent field both leave it nil in Message.
type Content struct {
	// Text is set when the content was a JSON string.
	Text string
	// Parts is set when the content was a JSON array.
	Parts []ContentPart
	// IsParts tells the two forms apart (an empty array is still parts).
	IsParts bool
}

// UnmarshalJSON accepts a string or an array of content parts.
func (c *Content) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return fmt.Errorf("empty content")
	}
	return decodeTextOrParts(b, &c.Text, &c.Parts, &c.IsParts, contentType)
}

// MarshalJSON writes the form the content was read in.
func (c Content) MarshalJSON() ([]byte, error) {
	return encodeTextOrParts(c.Text, c.Parts, c.IsParts)
}

// decodeTextOrParts decodes the two forms a message's content takes in
// both APIs, a JSON string or an array of parts, resetting all three
// fields first; anything else is a type error naming typ.
func decodeTextOrParts[P any](b []byte, text *string, parts *[]P, isParts *bool, typ reflect.Type) error {
	if len(b) == 0 || (b[0] != '"' && b[0] != '[') {
		return &json.UnmarshalTypeError{Value: jsonKind(b), Type: typ}
	}
	*text, *parts, *isParts = "", nil, b[0] == '['
	if *isParts {
		return fastjson.Unmarshal(b, parts)
	}
	if s, ok := plainString(b); ok {
		*text = s
		return nil
	}
	return json.Unmarshal(b, text)
}

// plainString returns the text of a JSON string that needs no decoding:
// quoted, valid UTF-8, without escapes or control characters, which is
// what most message texts are. Anything else is left to encoding/json,
// so what it replaces (invalid UTF-8) and refuses stays as it does.
func plainString(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	in := b[1 : len(b)-1]
	for _, c := range in {
		if c < 0x20 || c == '"' || c == '\\' {
			return "", false
		}
	}
	if !utf8.Valid(in) {
		return "", false
	}
	return string(in), true
}

// encodeTextOrParts writes the form decodeTextOrParts read; parts read
// from an empty array stay an empty array.
func encodeTextOrParts[P any](text string, parts []P, isParts bool) ([]byte, error) {
	if !isParts {
		return json.Marshal(text)
	}
	if parts == nil {
		return []byte("[]"), nil
	}
	return json.Marshal(parts)
}

// ContentPart is one part of an array content.
type ContentPart struct {
	// Type is "text", "image_url", "input_audio", "file" or "refusal".
	Type     string    `json:"type"`
	Text     string    `json:"text,omitempty"`
	ImageURL *ImageURL `json:"image_url,omitempty"`
	Refusal  string    `json:"refusal,omitempty"`
	// CacheControl is not an OpenAI field: clients written for Anthropic
	// put {"type":"ephemeral"} (optionally with "ttl") on a part to end a
	// cached prefix there, and OpenAI SDKs pass it through.
	CacheControl *CacheControl `json:"cache_control,omitempty"`
}

// CacheControl is Anthropic's cache breakpoint on a content part.
// https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching
type CacheControl struct {
	// Type is "ephemeral", the only type.
	Type string `json:"type"`
	// TTL is "5m" or "1h"; empty means the request's TTL.
	TTL string `json:"ttl,omitempty"`
}

// ImageURL is an image part's source: an https URL or a data URL.
type ImageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"`
}

// Stop is the stop field: a string or a list of up to four strings.
type Stop struct {
	Sequences []string
}

// UnmarshalJSON accepts a string or an array of strings; null means no stop.
func (s *Stop) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		s.Sequences = []string{one}
		return nil
	}
	if len(b) > 0 && b[0] == '[' {
		return json.Unmarshal(b, &s.Sequences)
	}
	if string(b) == "null" {
		s.Sequences = nil
		return nil
	}
	return &json.UnmarshalTypeError{Value: jsonKind(b), Type: stopType}
}

// MarshalJSON writes the stop sequences as a list.
func (s Stop) MarshalJSON() ([]byte, error) { return json.Marshal(s.Sequences) }

// Tool is one entry of ChatRequest.Tools.
type Tool struct {
	// Type is "function"; other tool types are refused.
	Type     string   `json:"type"`
	Function Function `json:"function"`
}

// Function describes a callable function.
type Function struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// ToolChoice is "none", "auto", "required" or {"type":"function","function":{"name":…}}.
type ToolChoice struct {
	// Mode is "none", "auto" or "required" for the string forms, and
	// "function" for the object form.
	Mode string
	// Name is the forced function for the object form.
	Name string
}

// UnmarshalJSON accepts both the string and the object form.
func (tc *ToolChoice) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		*tc = ToolChoice{}
		return json.Unmarshal(b, &tc.Mode)
	}
	if len(b) > 0 && b[0] == '{' {
		var obj struct {
			Type     string `json:"type"`
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		}
		if err := json.Unmarshal(b, &obj); err != nil {
			return err
		}
		*tc = ToolChoice{Mode: obj.Type, Name: obj.Function.Name}
		if tc.Mode == "" {
			tc.Mode = "function"
		}
		return nil
	}
	return &json.UnmarshalTypeError{Value: jsonKind(b), Type: toolChoiceType}
}

// MarshalJSON writes the form the choice was read in.
func (tc ToolChoice) MarshalJSON() ([]byte, error) {
	if tc.Name == "" && tc.Mode != "function" {
		return json.Marshal(tc.Mode)
	}
	return json.Marshal(map[string]any{"type": tc.Mode, "function": map[string]string{"name": tc.Name}})
}

// ResponseFormat asks for plain text, any JSON object, or JSON matching a schema.
type ResponseFormat struct {
	// Type is "text", "json_object" or "json_schema".
	Type       string      `json:"type"`
	JSONSchema *JSONSchema `json:"json_schema,omitempty"`
}

// JSONSchema is the schema of a json_schema response format.
type JSONSchema struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// ToolCall is one call made by the assistant, in a response or a request.
type ToolCall struct {
	// Index is set only in streamed deltas.
	Index    *int         `json:"index,omitempty"`
	ID       string       `json:"id,omitempty"`
	Type     string       `json:"type,omitempty"`
	Function FunctionCall `json:"function"`
}

// FunctionCall names the function and carries its JSON-encoded arguments.
type FunctionCall struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

// ChatResponse is the non-streamed response.
// https://platform.openai.com/docs/api-reference/chat/object
type ChatResponse struct {
	ID                string   `json:"id"`
	Object            string   `json:"object"`
	Created           int64    `json:"created"`
	Model             string   `json:"model"`
	Choices           []Choice `json:"choices"`
	Usage             *Usage   `json:"usage,omitempty"`
	SystemFingerprint *string  `json:"system_fingerprint"`
}

// Choice is one completion; the gateway always returns exactly one.
type Choice struct {
	Index        int             `json:"index"`
	Message      ResponseMessage `json:"message"`
	FinishReason string          `json:"finish_reason"`
	Logprobs     json.RawMessage `json:"logprobs"`
}

// ResponseMessage is the assistant message of a Choice.
type ResponseMessage struct {
	Role string `json:"role"`
	// Content is null when the model produced only tool calls.
	Content          *string    `json:"content"`
	Refusal          *string    `json:"refusal"`
	ReasoningContent string     `json:"reasoning_content,omitempty"`
	ToolCalls        []ToolCall `json:"tool_calls,omitempty"`
}

// Usage is the token accounting of a response.
type Usage struct {
	PromptTokens            int                      `json:"prompt_tokens"`
	CompletionTokens        int                      `json:"completion_tokens"`
	TotalTokens             int                      `json:"total_tokens"`
	PromptTokensDetails     *PromptTokensDetails     `json:"prompt_tokens_details,omitempty"`
	CompletionTokensDetails *CompletionTokensDetails `json:"completion_tokens_details,omitempty"`
}

// PromptTokensDetails breaks down the prompt tokens.
type PromptTokensDetails struct {
	CachedTokens int `json:"cached_tokens"`
	// CacheWriteTokens is not an OpenAI field; it reports Bedrock's
	// cacheWriteInputTokens so clients can see what was billed as a write.
	CacheWriteTokens int `json:"cache_write_tokens,omitempty"`
}

// CompletionTokensDetails breaks down the completion tokens.
type CompletionTokensDetails struct {
	ReasoningTokens int `json:"reasoning_tokens"`
}

// ChatChunk is one streamed event of a response.
// https://platform.openai.com/docs/api-reference/chat-streaming/streaming
type ChatChunk struct {
	ID                string        `json:"id"`
	Object            string        `json:"object"`
	Created           int64         `json:"created"`
	Model             string        `json:"model"`
	SystemFingerprint *string       `json:"system_fingerprint"`
	Choices           []ChunkChoice `json:"choices"`
	// Usage is present (null or set) only when the client asked for
	// stream_options.include_usage, as OpenAI does.
	Usage *Usage `json:"usage,omitempty"`
}

// ChunkChoice is the single choice of a chunk.
type ChunkChoice struct {
	Index        int             `json:"index"`
	Delta        Delta           `json:"delta"`
	Logprobs     json.RawMessage `json:"logprobs"`
	FinishReason *string         `json:"finish_reason"`
}

// Delta is the increment a chunk carries.
type Delta struct {
	Role             string     `json:"role,omitempty"`
	Content          *string    `json:"content,omitempty"`
	ReasoningContent *string    `json:"reasoning_content,omitempty"`
	ToolCalls        []ToolCall `json:"tool_calls,omitempty"`
	Refusal          *string    `json:"refusal,omitempty"`
}

// Model is one entry of GET /v1/models.
// https://platform.openai.com/docs/api-reference/models/object
type Model struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// ModelList is the body of GET /v1/models.
type ModelList struct {
	Object string  `json:"object"`
	Data   []Model `json:"data"`
}

func jsonKind(b []byte) string {
	if len(b) == 0 {
		return "empty"
	}
	switch b[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

var (
	contentType    = reflect.TypeFor[Content]()
	stopType       = reflect.TypeFor[Stop]()
	toolChoiceType = reflect.TypeFor[ToolChoice]()
)
