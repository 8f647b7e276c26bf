package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
)

// modelErrors prefixes the messages Bedrock passes through from the
// Anthropic model itself, as real responses do.
const modelErrors = "The model returned the following errors: "

// contextWindowTokens is the Claude context window; prompts above it get
// Bedrock's "too long" ValidationException.
const contextWindowTokens = 200000

// context1MTokens is the window of a model asked for its 1M context.
const context1MTokens = 1000000

// thinkingConfig is additionalModelRequestFields.thinking.
type thinkingConfig struct {
	Type         string `json:"type"`
	BudgetTokens *int   `json:"budget_tokens"`
}

// requestFields is the part of additionalModelRequestFields the emulator reads.
type requestFields struct {
	Thinking *thinkingConfig `json:"thinking"`
	// ToolChoice is Anthropic's tool_choice, checked by validateToolChoice.
	ToolChoice json.RawMessage `json:"tool_choice"`
	// AnthropicBeta lists beta flags; the emulator knows the 1M context.
	AnthropicBeta []string `json:"anthropic_beta"`
}

// thinkingOn reports whether the request enables extended thinking.
func (f requestFields) thinkingOn() bool {
	return f.Thinking != nil && (f.Thinking.Type == "enabled" || f.Thinking.Type == "adaptive")
}

var toolNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// validate enforces what Bedrock enforces on a Converse request for
// modelID, with Bedrock's messages where they are known. It returns the
// ValidationException message, or "" when the request is acceptable.
func (e *Emulator) validate(modelID string, req *bedrock.ConverseRequest, fields requestFields) string {
	caps := convertor.CapabilitiesFor(modelID)
	if msg := validateMessages(req.Messages); msg != "" {
		return msg
	}
	if msg := validateSystem(req.System); msg != "" {
		return msg
	}
	if msg := validateCachePoints(modelID, req); msg != "" {
		return msg
	}
	if msg := validateTools(req); msg != "" {
		return msg
	}
	if msg := validateToolChoice(req, caps, fields); msg != "" {
		return msg
	}
	if msg := validateInference(req.InferenceConfig, caps, fields); msg != "" {
		return msg
	}
	if msg := validateThinking(req, caps, fields); msg != "" {
		return msg
	}
	if fields.thinkingOn() {
		if msg := e.validateReasoning(req.Messages); msg != "" {
			return msg
		}
	}
	window := contextWindowTokens
	if slices.Contains(fields.AnthropicBeta, convertor.Context1MBeta) {
		if !caps.Context1M {
			return modelErrors + "anthropic_beta: " + convertor.Context1MBeta + " is not supported for this model."
		}
		window = context1MTokens
	}
	if inputTokens(req) > window {
		return "Input is too long for requested model."
	}
	return ""
}

func validateMessages(msgs []bedrock.Message) string {
	if len(msgs) == 0 {
		return "A conversation must start with a user message. Try again with a conversation that starts with a user message."
	}
	if msgs[0].Role != bedrock.RoleUser {
		return "A conversation must start with a user message. Try again with a conversation that starts with a user message."
	}
	for i, m := range msgs {
		if m.Role != bedrock.RoleUser && m.Role != bedrock.RoleAssistant {
			return fmt.Sprintf("1 validation error detected: Value '%s' at 'messages.%d.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]", m.Role, i+1)
		}
		if i > 0 && msgs[i-1].Role == m.Role {
			return "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again."
		}
		if len(m.Content) == 0 {
			return fmt.Sprintf("The content field in the Message object at messages.%d is empty. Add a ContentBlock object to the content field and try again.", i)
		}
		for j, b := range m.Content {
			if msg := validateBlock(b, fmt.Sprintf("messages.%d.content.%d", i, j), m.Role); msg != "" {
				return msg
			}
		}
		if msg := validateToolPairing(msgs, i); msg != "" {
			return msg
		}
	}
	return ""
}

func validateBlock(b bedrock.ContentBlock, at, role string) string {
	n := 0
	for _, set := range []bool{b.Text != nil, b.Image != nil, b.Document != nil, b.ToolUse != nil,
		b.ToolResult != nil, b.ReasoningContent != nil, b.CachePoint != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return fmt.Sprintf("The ContentBlock object at %s must set exactly one of its members.", at)
	}
	switch {
	case b.Text != nil:
		if strings.TrimSpace(*b.Text) == "" {
			return fmt.Sprintf("The text field in the ContentBlock object at %s is blank. Add text to the text field, and try again.", at)
		}
	case b.Image != nil:
		if role != bedrock.RoleUser {
			return fmt.Sprintf("The ContentBlock object at %s contains an image, which only user messages may carry.", at)
		}
		return validateImage(b.Image, at+".image")
	case b.ToolUse != nil:
		if role != bedrock.RoleAssistant {
			return fmt.Sprintf("The ContentBlock object at %s contains toolUse, which only assistant messages may carry.", at)
		}
		if b.ToolUse.ToolUseID == "" || !toolNamePattern.MatchString(b.ToolUse.Name) {
			return fmt.Sprintf("The toolUse block at %s needs a toolUseId and a valid name.", at)
		}
		if !isJSONObject(b.ToolUse.Input) {
			return fmt.Sprintf("The input field of the toolUse block at %s must be a JSON object.", at)
		}
	case b.ToolResult != nil:
		if role != bedrock.RoleUser {
			return fmt.Sprintf("The ContentBlock object at %s contains toolResult, which only user messages may carry.", at)
		}
		for k, c := range b.ToolResult.Content {
			if c.Text != nil && strings.TrimSpace(*c.Text) == "" {
				return fmt.Sprintf("The text field in the ToolResultContentBlock object at %s.toolResult.content.%d is blank. Add text to the text field, and try again.", at, k)
			}
			if c.Image != nil {
				if msg := validateImage(c.Image, fmt.Sprintf("%s.toolResult.content.%d.image", at, k)); msg != "" {
					return msg
				}
			}
		}
	case b.ReasoningContent != nil:
		if role != bedrock.RoleAssistant {
			return fmt.Sprintf("The ContentBlock object at %s contains reasoningContent, which only assistant messages may carry.", at)
		}
	}
	return ""
}

// imageMagic are the leading bytes of each image format Bedrock takes.
var imageMagic = map[string][]byte{
	"png":  {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'},
	"jpeg": {0xff, 0xd8, 0xff},
	"gif":  []byte("GIF8"),
	"webp": []byte("RIFF"),
}

// maxImageBytes is Bedrock's per-image limit for Converse.
const maxImageBytes = 3750000

func validateImage(img *bedrock.ImageBlock, at string) string {
	magic, ok := imageMagic[img.Format]
	if !ok {
		return fmt.Sprintf("1 validation error detected: Value '%s' at '%s.format' failed to satisfy constraint: Member must satisfy enum value set: [png, jpeg, gif, webp]", img.Format, at)
	}
	if len(img.Source.Bytes) == 0 {
		return fmt.Sprintf("The image bytes at %s.source are empty.", at)
	}
	if len(img.Source.Bytes) > maxImageBytes {
		return fmt.Sprintf("The image at %s exceeds the maximum size of %d bytes.", at, maxImageBytes)
	}
	if !bytes.HasPrefix(img.Source.Bytes, magic) {
		return modelErrors + at + ".source: Could not process image"
	}
	return ""
}

// validateToolPairing checks message i: every toolUse of an assistant turn
// must be answered by a toolResult in the following user turn, and every
// toolResult must answer a toolUse of the turn before.
func validateToolPairing(msgs []bedrock.Message, i int) string {
	m := msgs[i]
	if m.Role == bedrock.RoleAssistant {
		var ids []string
		for _, b := range m.Content {
			if b.ToolUse != nil {
				ids = append(ids, b.ToolUse.ToolUseID)
			}
		}
		if len(ids) == 0 || i == len(msgs)-1 {
			return ""
		}
		answered := map[string]bool{}
		for _, b := range msgs[i+1].Content {
			if b.ToolResult != nil {
				answered[b.ToolResult.ToolUseID] = true
			}
		}
		var missing []string
		for _, id := range ids {
			if !answered[id] {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			return fmt.Sprintf("Expected toolResult blocks at messages.%d.content for the following Ids: %s", i+1, strings.Join(missing, ", "))
		}
		return ""
	}
	used := map[string]bool{}
	if i > 0 {
		for _, b := range msgs[i-1].Content {
			if b.ToolUse != nil {
				used[b.ToolUse.ToolUseID] = true
			}
		}
	}
	for j, b := range m.Content {
		if b.ToolResult != nil && !used[b.ToolResult.ToolUseID] {
			return fmt.Sprintf("%smessages.%d.content.%d: unexpected `tool_use_id` found in `tool_result` blocks: %s. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.", modelErrors, i, j, b.ToolResult.ToolUseID)
		}
	}
	return ""
}

func validateSystem(sys []bedrock.SystemBlock) string {
	for i, s := range sys {
		if s.Text != nil && strings.TrimSpace(*s.Text) == "" {
			return fmt.Sprintf("The text field in the SystemContentBlock object at system.%d is blank. Add text to the text field, and try again.", i)
		}
	}
	return ""
}

func validateTools(req *bedrock.ConverseRequest) string {
	hasToolBlocks := false
	for _, m := range req.Messages {
		for _, b := range m.Content {
			if b.ToolUse != nil || b.ToolResult != nil {
				hasToolBlocks = true
			}
		}
	}
	tc := req.ToolConfig
	if tc == nil {
		if hasToolBlocks {
			return "The toolConfig field must be defined when using toolUse and toolResult content blocks."
		}
		return ""
	}
	names := map[string]bool{}
	for i, t := range tc.Tools {
		if t.ToolSpec == nil {
			continue
		}
		if !toolNamePattern.MatchString(t.ToolSpec.Name) {
			return fmt.Sprintf("1 validation error detected: Value '%s' at 'toolConfig.tools.%d.member.toolSpec.name' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+", t.ToolSpec.Name, i+1)
		}
		if names[t.ToolSpec.Name] {
			return modelErrors + "tools: Tool names must be unique."
		}
		names[t.ToolSpec.Name] = true
		if !isJSONObject(t.ToolSpec.InputSchema.JSON) {
			return fmt.Sprintf("The inputSchema of the tool at toolConfig.tools.%d must be a JSON object.", i)
		}
	}
	if len(names) == 0 {
		return "The toolConfig field must contain at least one tool."
	}
	if tc.ToolChoice != nil && tc.ToolChoice.Tool != nil && !names[tc.ToolChoice.Tool.Name] {
		return modelErrors + fmt.Sprintf("tool_choice: Tool '%s' not found in 'tools'", tc.ToolChoice.Tool.Name)
	}
	return ""
}

func validateInference(ic *bedrock.InferenceConfig, caps convertor.Capabilities, fields requestFields) string {
	if ic == nil {
		return ""
	}
	if ic.MaxTokens != nil {
		if *ic.MaxTokens < 1 {
			return "1 validation error detected: Value at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1"
		}
		if caps.MaxOutputTokens > 0 && *ic.MaxTokens > caps.MaxOutputTokens {
			return fmt.Sprintf("The maximum tokens you requested exceeds the model limit of %d. Try again with a maximum tokens value that is lower than %d.", caps.MaxOutputTokens, caps.MaxOutputTokens)
		}
	}
	if ic.Temperature != nil && (*ic.Temperature < 0 || *ic.Temperature > 1 || math.IsNaN(*ic.Temperature)) {
		return "1 validation error detected: Value at 'inferenceConfig.temperature' failed to satisfy constraint: Member must have value between 0 and 1"
	}
	if ic.TopP != nil && (*ic.TopP < 0 || *ic.TopP > 1 || math.IsNaN(*ic.TopP)) {
		return "1 validation error detected: Value at 'inferenceConfig.topP' failed to satisfy constraint: Member must have value between 0 and 1"
	}
	if caps.TemperatureXorTopP && ic.Temperature != nil && ic.TopP != nil {
		return modelErrors + "`temperature` and `top_p` cannot both be specified for this model. Please use only one."
	}
	if fields.thinkingOn() && ic.Temperature != nil && *ic.Temperature != 1 {
		return modelErrors + "`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#important-considerations-when-using-extended-thinking"
	}
	// Anthropic's extended-thinking rules: top_p from 0.95 to 1 only.
	if fields.thinkingOn() && ic.TopP != nil && *ic.TopP < 0.95 {
		return modelErrors + "`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility"
	}
	for i, s := range ic.StopSequences {
		if strings.TrimSpace(s) == "" {
			return fmt.Sprintf("%sstop_sequences.%d: each stop sequence must contain non-whitespace", modelErrors, i)
		}
	}
	return ""
}

func validateThinking(req *bedrock.ConverseRequest, caps convertor.Capabilities, fields requestFields) string {
	t := fields.Thinking
	if t == nil || t.Type == "disabled" {
		return ""
	}
	switch {
	case caps.Thinking == convertor.ThinkingNone:
		return modelErrors + "thinking: Extra inputs are not permitted"
	case t.Type == "adaptive" && caps.Thinking != convertor.ThinkingAdaptive:
		return modelErrors + "thinking.type: Input tag 'adaptive' found using 'type' does not match any of the expected tags: 'disabled', 'enabled'"
	case t.Type != "enabled" && t.Type != "adaptive":
		return modelErrors + fmt.Sprintf("thinking.type: Input tag '%s' found using 'type' does not match any of the expected tags: 'disabled', 'enabled'", t.Type)
	case t.Type == "adaptive":
		return ""
	case t.BudgetTokens == nil:
		return modelErrors + "thinking.enabled.budget_tokens: Field required"
	case *t.BudgetTokens < 1024:
		return modelErrors + "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
	case *t.BudgetTokens >= maxTokensOf(req, caps):
		return modelErrors + "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size"
	}
	return ""
}

// validateReasoning enforces the extended-thinking rule for tool loops: when
// the last user turn answers tools, the assistant turn that called them
// must start with a reasoning block carrying a valid signature, and every
// signed reasoning block must verify.
func (e *Emulator) validateReasoning(msgs []bedrock.Message) string {
	for i, m := range msgs {
		for j, b := range m.Content {
			rc := b.ReasoningContent
			if rc == nil || rc.RedactedContent != nil {
				continue
			}
			if rc.ReasoningText == nil || !e.verifySignature(rc.ReasoningText.Text, rc.ReasoningText.Signature) {
				return fmt.Sprintf("%smessages.%d.content.%d: Invalid `signature` in `thinking` block", modelErrors, i, j)
			}
		}
	}
	n := len(msgs)
	if n < 2 || !hasToolResult(msgs[n-1]) {
		return ""
	}
	prev := msgs[n-2]
	if prev.Role != bedrock.RoleAssistant || !hasToolUse(prev) {
		return ""
	}
	if first := prev.Content[0]; first.ReasoningContent == nil {
		return fmt.Sprintf("%smessages.%d.content.0.type: Expected `thinking` or `redacted_thinking`, but found `%s`. When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable `thinking`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking",
			modelErrors, n-2, blockKind(first))
	}
	return ""
}

func hasToolResult(m bedrock.Message) bool {
	for _, b := range m.Content {
		if b.ToolResult != nil {
			return true
		}
	}
	return false
}

func hasToolUse(m bedrock.Message) bool {
	for _, b := range m.Content {
		if b.ToolUse != nil {
			return true
		}
	}
	return false
}

// blockKind names a block as the Anthropic API does in its messages.
func blockKind(b bedrock.ContentBlock) string {
	switch {
	case b.Text != nil:
		return "text"
	case b.ToolUse != nil:
		return "tool_use"
	case b.Image != nil:
		return "image"
	case b.Document != nil:
		return "document"
	}
	return "unknown"
}

// maxTokensOf is the request's effective maxTokens: its own, or Bedrock's
// default for the model.
func maxTokensOf(req *bedrock.ConverseRequest, caps convertor.Capabilities) int {
	if req.InferenceConfig != nil && req.InferenceConfig.MaxTokens != nil {
		return *req.InferenceConfig.MaxTokens
	}
	return caps.DefaultMaxTokens
}

func isJSONObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return false
	}
	return json.Valid(raw)
}
