// Package bedrock holds the Bedrock Runtime Converse wire types, the client
// the gateway calls Bedrock with, and a Bedrock emulator that speaks the
// same wire protocol for tests and local runs.
//
// API reference: https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
package bedrock

import "encoding/json"

// ConverseRequest is the JSON body of Converse and ConverseStream; the model
// id travels in the URL path, not here.
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_RequestSyntax
type ConverseRequest struct {
	Messages                          []Message          `json:"messages"`
	System                            []SystemBlock      `json:"system,omitempty"`
	InferenceConfig                   *InferenceConfig   `json:"inferenceConfig,omitempty"`
	ToolConfig                        *ToolConfig        `json:"toolConfig,omitempty"`
	AdditionalModelRequestFields      json.RawMessage    `json:"additionalModelRequestFields,omitempty"`
	AdditionalModelResponseFieldPaths []string           `json:"additionalModelResponseFieldPaths,omitempty"`
	OutputConfig                      *OutputConfig      `json:"outputConfig,omitempty"`
	RequestMetadata                   map[string]string  `json:"requestMetadata,omitempty"`
	PerformanceConfig                 *PerformanceConfig `json:"performanceConfig,omitempty"`
}

// Message is one conversation turn; roles must alternate user/assistant.
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Message.html
type Message struct {
	Role    string         `json:"role"`
	Content []ContentBlock `json:"content"`
}

// Roles.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// ContentBlock is a union: exactly one field is set.
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ContentBlock.html
type ContentBlock struct {
	Text             *string           `json:"text,omitempty"`
	Image            *ImageBlock       `json:"image,omitempty"`
	Document         *DocumentBlock    `json:"document,omitempty"`
	ToolUse          *ToolUseBlock     `json:"toolUse,omitempty"`
	ToolResult       *ToolResultBlock  `json:"toolResult,omitempty"`
	ReasoningContent *ReasoningContent `json:"reasoningContent,omitempty"`
	CachePoint       *CachePoint       `json:"cachePoint,omitempty"`
}

// ImageBlock is an image given by its bytes.
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ImageBlock.html
type ImageBlock struct {
	// Format is png, jpeg, gif or webp.
	Format string      `json:"format"`
	Source ImageSource `json:"source"`
}

// ImageSource carries the image bytes; encoding/json writes them as base64,
// which is what the wire wants.
type ImageSource struct {
	Bytes []byte `json:"bytes"`
}

// DocumentBlock is a document given by its bytes.
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_DocumentBlock.html
type DocumentBlock struct {
	Format string         `json:"format"`
	Name   string         `json:"name"`
	Source DocumentSource `json:"source"`
}

// DocumentSource carries a document's bytes.
type DocumentSource struct {
	Bytes []byte `json:"bytes"`
}

// ToolUseBlock is a tool call made by the model.
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ToolUseBlock.html
type ToolUseBlock struct {
	ToolUseID string `json:"toolUseId"`
	Name      string `json:"name"`
	// Input is the call's arguments as a JSON document (always an object
	// for Claude).
	Input json.RawMessage `json:"input"`
}

// ToolResultBlock answers a ToolUseBlock.
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ToolResultBlock.html
type ToolResultBlock struct {
	ToolUseID string              `json:"toolUseId"`
	Content   []ToolResultContent `json:"content"`
	// Status is "success" or "error"; empty means success.
	Status string `json:"status,omitempty"`
}

// ToolResultContent is a union: exactly one field is set.
type ToolResultContent struct {
	Text  *string         `json:"text,omitempty"`
	JSON  json.RawMessage `json:"json,omitempty"`
	Image *ImageBlock     `json:"image,omitempty"`
}

// ReasoningContent is a union of signed reasoning text and redacted reasoning.
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ReasoningContentBlock.html
type ReasoningContent struct {
	ReasoningText *ReasoningText `json:"reasoningText,omitempty"`
	// RedactedContent is encrypted reasoning that must be passed back as is.
	RedactedContent []byte `json:"redactedContent,omitempty"`
}

// ReasoningText is thinking text and the signature that proves it unaltered.
type ReasoningText struct {
	Text      string `json:"text"`
	Signature string `json:"signature,omitempty"`
}

// CachePoint marks the end of a cacheable prefix: everything before it
// (tools, then system, then messages) is cached as one entry.
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_CachePointBlock.html
type CachePoint struct {
	// Type is always CachePointDefault.
	Type string `json:"type"`
	// TTL is "5m" or "1h"; empty means Bedrock's default, 5 minutes.
	TTL string `json:"ttl,omitempty"`
}

// CachePointDefault is the one cache point type Converse knows.
const CachePointDefault = "default"

// SystemBlock is a union: text or a cache point.
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_SystemContentBlock.html
type SystemBlock struct {
	Text       *string     `json:"text,omitempty"`
	CachePoint *CachePoint `json:"cachePoint,omitempty"`
}

// InferenceConfig holds the sampling parameters.
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InferenceConfiguration.html
type InferenceConfig struct {
	MaxTokens     *int     `json:"maxTokens,omitempty"`
	Temperature   *float64 `json:"temperature,omitempty"`
	TopP          *float64 `json:"topP,omitempty"`
	StopSequences []string `json:"stopSequences,omitempty"`
}

// ToolConfig lists the tools and how the model may choose among them.
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ToolConfiguration.html
type ToolConfig struct {
	Tools      []Tool      `json:"tools"`
	ToolChoice *ToolChoice `json:"toolChoice,omitempty"`
}

// Tool is a union; only toolSpec (and cachePoint) exist.
type Tool struct {
	ToolSpec   *ToolSpec   `json:"toolSpec,omitempty"`
	CachePoint *CachePoint `json:"cachePoint,omitempty"`
}

// ToolSpec describes one tool.
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ToolSpecification.html
type ToolSpec struct {
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	InputSchema InputSchema `json:"inputSchema"`
	Strict      *bool       `json:"strict,omitempty"`
}

// InputSchema wraps the tool's JSON schema.
type InputSchema struct {
	JSON json.RawMessage `json:"json"`
}

// ToolChoice is a union: exactly one field is set.
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ToolChoice.html
type ToolChoice struct {
	Auto *struct{}     `json:"auto,omitempty"`
	Any  *struct{}     `json:"any,omitempty"`
	Tool *SpecificTool `json:"tool,omitempty"`
}

// SpecificTool forces one named tool.
type SpecificTool struct {
	Name string `json:"name"`
}

// OutputConfig steers the response: effort, and structured output.
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_OutputConfig.html
type OutputConfig struct {
	// Effort is low, medium, high, xhigh or max, for models that take it.
	Effort     string        `json:"effort,omitempty"`
	TextFormat *OutputFormat `json:"textFormat,omitempty"`
}

// OutputFormat constrains the text of the response.
type OutputFormat struct {
	// Type is "json_schema".
	Type      string                `json:"type"`
	Structure OutputFormatStructure `json:"structure"`
}

// OutputFormatStructure is a union with one member, jsonSchema.
type OutputFormatStructure struct {
	JSONSchema *JSONSchemaDefinition `json:"jsonSchema,omitempty"`
}

// JSONSchemaDefinition carries the schema as a JSON string, as the wire wants.
type JSONSchemaDefinition struct {
	Schema      string `json:"schema"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
}

// PerformanceConfig selects standard or optimized latency.
type PerformanceConfig struct {
	Latency string `json:"latency"`
}

// ConverseResponse is the body of a Converse response.
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_ResponseSyntax
type ConverseResponse struct {
	Output                        ConverseOutput  `json:"output"`
	StopReason                    string          `json:"stopReason"`
	Usage                         TokenUsage      `json:"usage"`
	Metrics                       *Metrics        `json:"metrics,omitempty"`
	AdditionalModelResponseFields json.RawMessage `json:"additionalModelResponseFields,omitempty"`
}

// ConverseOutput is a union with one member, message.
type ConverseOutput struct {
	Message *Message `json:"message,omitempty"`
}

// Stop reasons.
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_ResponseSyntax
const (
	StopEndTurn                    = "end_turn"
	StopToolUse                    = "tool_use"
	StopMaxTokens                  = "max_tokens"
	StopStopSequence               = "stop_sequence"
	StopGuardrailIntervened        = "guardrail_intervened"
	StopContentFiltered            = "content_filtered"
	StopMalformedModelOutput       = "malformed_model_output"
	StopMalformedToolUse           = "malformed_tool_use"
	StopModelContextWindowExceeded = "model_context_window_exceeded"
)

// TokenUsage counts tokens. InputTokens excludes cache reads and writes.
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_TokenUsage.html
type TokenUsage struct {
	InputTokens           int `json:"inputTokens"`
	OutputTokens          int `json:"outputTokens"`
	TotalTokens           int `json:"totalTokens"`
	CacheReadInputTokens  int `json:"cacheReadInputTokens,omitempty"`
	CacheWriteInputTokens int `json:"cacheWriteInputTokens,omitempty"`
	// CacheDetails breaks CacheWriteInputTokens down by TTL, 1h before
	// 5m; absent when nothing was written.
	CacheDetails []CacheDetail `json:"cacheDetails,omitempty"`
}

// CacheDetail is the cache writes of one TTL.
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_CacheDetail.html
type CacheDetail struct {
	InputTokens int    `json:"inputTokens"`
	TTL         string `json:"ttl"`
}

// IsZero reports whether u counts nothing at all, as a metadata event
// carrying only metrics does.
func (u *TokenUsage) IsZero() bool {
	return u.InputTokens == 0 && u.OutputTokens == 0 && u.TotalTokens == 0 &&
		u.CacheReadInputTokens == 0 && u.CacheWriteInputTokens == 0 && len(u.CacheDetails) == 0
}

// CacheWrite1h returns the tokens written with a 1-hour TTL.
func (u *TokenUsage) CacheWrite1h() int {
	n := 0
	for _, d := range u.CacheDetails {
		if d.TTL == "1h" {
			n += d.InputTokens
		}
	}
	return n
}

// Metrics reports Bedrock's own latency.
type Metrics struct {
	LatencyMs int64 `json:"latencyMs"`
}

// StreamEvent is one event of a ConverseStream response; exactly one field
// is set. Its JSON form (the event type as the key) is what the golden
// files use; on the wire the type travels in the :event-type header.
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStreamOutput.html
type StreamEvent struct {
	MessageStart      *MessageStartEvent      `json:"messageStart,omitempty"`
	ContentBlockStart *ContentBlockStartEvent `json:"contentBlockStart,omitempty"`
	ContentBlockDelta *ContentBlockDeltaEvent `json:"contentBlockDelta,omitempty"`
	ContentBlockStop  *ContentBlockStopEvent  `json:"contentBlockStop,omitempty"`
	MessageStop       *MessageStopEvent       `json:"messageStop,omitempty"`
	Metadata          *MetadataEvent          `json:"metadata,omitempty"`
}

// Event types, as sent in the :event-type header.
const (
	EventMessageStart      = "messageStart"
	EventContentBlockStart = "contentBlockStart"
	EventContentBlockDelta = "contentBlockDelta"
	EventContentBlockStop  = "contentBlockStop"
	EventMessageStop       = "messageStop"
	EventMetadata          = "metadata"
)

// MessageStartEvent opens the message.
type MessageStartEvent struct {
	Role string `json:"role"`
}

// ContentBlockStartEvent opens a block; only tool-use blocks send one.
type ContentBlockStartEvent struct {
	ContentBlockIndex int               `json:"contentBlockIndex"`
	Start             ContentBlockStart `json:"start"`
}

// ContentBlockStart is a union; toolUse is the member Claude sends.
type ContentBlockStart struct {
	ToolUse *ToolUseBlockStart `json:"toolUse,omitempty"`
}

// ToolUseBlockStart names the tool call that the following deltas fill.
type ToolUseBlockStart struct {
	ToolUseID string `json:"toolUseId"`
	Name      string `json:"name"`
}

// ContentBlockDeltaEvent carries an increment of a block.
type ContentBlockDeltaEvent struct {
	ContentBlockIndex int               `json:"contentBlockIndex"`
	Delta             ContentBlockDelta `json:"delta"`
}

// ContentBlockDelta is a union: exactly one field is set.
type ContentBlockDelta struct {
	Text             *string                `json:"text,omitempty"`
	ToolUse          *ToolUseBlockDelta     `json:"toolUse,omitempty"`
	ReasoningContent *ReasoningContentDelta `json:"reasoningContent,omitempty"`
}

// ToolUseBlockDelta is a fragment of the call's JSON input.
type ToolUseBlockDelta struct {
	Input string `json:"input"`
}

// ReasoningContentDelta is a union: text, signature or redacted content.
type ReasoningContentDelta struct {
	Text            *string `json:"text,omitempty"`
	Signature       *string `json:"signature,omitempty"`
	RedactedContent []byte  `json:"redactedContent,omitempty"`
}

// ContentBlockStopEvent closes a block.
type ContentBlockStopEvent struct {
	ContentBlockIndex int `json:"contentBlockIndex"`
}

// MessageStopEvent ends the message with its stop reason.
type MessageStopEvent struct {
	StopReason                    string          `json:"stopReason"`
	AdditionalModelResponseFields json.RawMessage `json:"additionalModelResponseFields,omitempty"`
}

// MetadataEvent is the last event: usage and metrics.
type MetadataEvent struct {
	Usage   TokenUsage `json:"usage"`
	Metrics *Metrics   `json:"metrics,omitempty"`
}

// Exception types, as sent in x-amzn-errortype (Converse) or the
// :exception-type header (ConverseStream).
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_Errors
const (
	ExceptionAccessDenied         = "AccessDeniedException"
	ExceptionInternalServer       = "InternalServerException"
	ExceptionModelError           = "ModelErrorException"
	ExceptionModelNotReady        = "ModelNotReadyException"
	ExceptionModelStreamError     = "ModelStreamErrorException"
	ExceptionModelTimeout         = "ModelTimeoutException"
	ExceptionResourceNotFound     = "ResourceNotFoundException"
	ExceptionServiceQuotaExceeded = "ServiceQuotaExceededException"
	ExceptionServiceUnavailable   = "ServiceUnavailableException"
	ExceptionThrottling           = "ThrottlingException"
	ExceptionValidation           = "ValidationException"
)
