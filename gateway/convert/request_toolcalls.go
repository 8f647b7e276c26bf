package convert

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

// emptyArguments stands in for the empty arguments string some clients
// send for a call without parameters; Claude's tool input is an object.
var emptyArguments = json.RawMessage(`{}`)

// assistantBlocks converts an assistant message: its text (and refusal)
// first, then its tool calls, as Claude writes them in one turn. Echoed
// reasoning_content is dropped: it carries no signature, and Bedrock only
// takes reasoning it signed.
func (c *requestConverter) assistantBlocks(i int, m *openai.Message) ([]bedrock.ContentBlock, []string, error) {
	var out []bedrock.ContentBlock
	if m.Content != nil && !m.Content.IsParts && m.Content.Text != "" {
		out = append(out, bedrock.ContentBlock{Text: ptr(m.Content.Text)})
	}
	if m.Content != nil && m.Content.IsParts {
		for j, p := range m.Content.Parts {
			switch p.Type {
			case "text":
				out = append(out, bedrock.ContentBlock{Text: ptr(p.Text)})
			case "refusal":
				out = append(out, bedrock.ContentBlock{Text: ptr(p.Refusal)})
			default:
				return nil, nil, convertor.ParamErrorf(partParam(i, j, "type"), "assistant messages take text and refusal parts, not %q", p.Type)
			}
			cp, err := explicitCachePoint(i, j, &m.Content.Parts[j])
			if err != nil {
				return nil, nil, err
			}
			if cp != nil {
				out = append(out, bedrock.ContentBlock{CachePoint: cp})
			}
		}
	}
	if m.Refusal != "" {
		out = append(out, bedrock.ContentBlock{Text: ptr(m.Refusal)})
	}
	if len(out) == 0 && len(m.ToolCalls) == 0 {
		return nil, nil, convertor.ParamErrorf(messageParam(i, "content"), "messages[%d].content must not be empty unless the message has tool_calls", i)
	}
	if len(m.ToolCalls) > 0 && !c.opts.Features.ToolUse {
		return nil, nil, convertor.ParamErrorf(messageParam(i, "tool_calls"), "tool use is disabled on this gateway")
	}
	ids := make([]string, 0, len(m.ToolCalls))
	for j := range m.ToolCalls {
		b, err := c.toolUse(i, j, &m.ToolCalls[j])
		if err != nil {
			return nil, nil, err
		}
		out = append(out, b)
		ids = append(ids, m.ToolCalls[j].ID)
	}
	return out, ids, nil
}

// toolUse converts one tool call of an assistant message.
func (c *requestConverter) toolUse(i, j int, tc *openai.ToolCall) (bedrock.ContentBlock, error) {
	param := indexParam(messageParam(i, "tool_calls"), j)
	if tc.Type != "" && tc.Type != "function" {
		return bedrock.ContentBlock{}, convertor.ParamErrorf(param+".type", "tool call type must be \"function\", not %q", tc.Type)
	}
	switch {
	case tc.ID == "":
		return bedrock.ContentBlock{}, convertor.ParamErrorf(param+".id", "tool call id is required")
	case !validName(tc.ID):
		return bedrock.ContentBlock{}, convertor.ParamErrorf(param+".id", "tool call id must be 1 to 64 letters, digits, underscores or hyphens, as Bedrock requires")
	case c.callIDs[tc.ID]:
		return bedrock.ContentBlock{}, convertor.ParamErrorf(param+".id", "tool call id %q is used twice in the conversation", tc.ID)
	case tc.Function.Name == "":
		return bedrock.ContentBlock{}, convertor.ParamErrorf(param+".function.name", "tool call function name is required")
	case !validName(tc.Function.Name):
		return bedrock.ContentBlock{}, convertor.ParamErrorf(param+".function.name", "tool call function name must be 1 to 64 letters, digits, underscores or hyphens")
	}
	input, ok := argumentsObject(tc.Function.Arguments)
	if !ok {
		return bedrock.ContentBlock{}, convertor.ParamErrorf(param+".function.arguments", "tool call arguments must be a JSON object encoded as a string, such as \"{\\\"city\\\":\\\"Paris\\\"}\"")
	}
	if c.callIDs == nil {
		c.callIDs = map[string]bool{}
	}
	c.callIDs[tc.ID] = true
	if c.flatten {
		var buf bytes.Buffer
		if err := json.Compact(&buf, input); err != nil {
			return bedrock.ContentBlock{}, convertor.ParamErrorf(param+".function.arguments", "tool call arguments must be a JSON object encoded as a string")
		}
		return bedrock.ContentBlock{Text: ptr("[tool call " + tc.ID + "] " + tc.Function.Name + "(" + buf.String() + ")")}, nil
	}
	return bedrock.ContentBlock{ToolUse: &bedrock.ToolUseBlock{ToolUseID: tc.ID, Name: tc.Function.Name, Input: input}}, nil
}

// argumentsObject returns the JSON object of a tool call's arguments
// string; an empty string is an empty object.
func argumentsObject(args string) (json.RawMessage, bool) {
	args = strings.TrimSpace(args)
	if args == "" {
		return emptyArguments, true
	}
	if args[0] != '{' || !json.Valid([]byte(args)) {
		return nil, false
	}
	return json.RawMessage(args), true
}

// toolResultBlocks converts a tool message into a toolResult block, or into
// text when the conversation is flattened (no toolConfig is sent).
//
// The content stays text even when it looks like JSON: that is what the
// client sent, and Claude reads it the same way.
func (c *requestConverter) toolResultBlocks(i int, m *openai.Message) ([]bedrock.ContentBlock, error) {
	if !c.opts.Features.ToolUse {
		return nil, convertor.ParamErrorf(messageParam(i, "role"), "tool use is disabled on this gateway")
	}
	switch {
	case m.ToolCallID == "":
		return nil, convertor.ParamErrorf(messageParam(i, "tool_call_id"), "tool_call_id is required on tool messages")
	case !c.callIDs[m.ToolCallID]:
		return nil, convertor.ParamErrorf(messageParam(i, "tool_call_id"), "tool_call_id %q does not match a tool call of an earlier assistant message", m.ToolCallID)
	}
	texts, err := toolResultTexts(i, m.Content)
	if err != nil {
		return nil, err
	}
	// A cache_control on any part ends the prefix after the whole result,
	// which is one block.
	var cp *bedrock.CachePoint
	if m.Content.IsParts {
		for j := range m.Content.Parts {
			if p, err := explicitCachePoint(i, j, &m.Content.Parts[j]); err != nil {
				return nil, err
			} else if p != nil {
				cp = p
			}
		}
	}
	withCachePoint := func(blocks []bedrock.ContentBlock) []bedrock.ContentBlock {
		if cp != nil {
			blocks = append(blocks, bedrock.ContentBlock{CachePoint: cp})
		}
		return blocks
	}
	if c.flatten {
		return withCachePoint([]bedrock.ContentBlock{{Text: ptr("[tool result " + m.ToolCallID + "] " + strings.Join(texts, "\n"))}}), nil
	}
	// An empty result is sent as no content rather than blank text, which
	// Bedrock refuses; a tool may legitimately return nothing.
	content := make([]bedrock.ToolResultContent, 0, len(texts))
	for _, t := range texts {
		if !isBlank(t) {
			content = append(content, bedrock.ToolResultContent{Text: ptr(t)})
		}
	}
	return withCachePoint([]bedrock.ContentBlock{{ToolResult: &bedrock.ToolResultBlock{
		ToolUseID: m.ToolCallID,
		Content:   content,
		Status:    "success",
	}}}), nil
}

// toolResultTexts returns the texts of a tool message's content.
func toolResultTexts(i int, content *openai.Content) ([]string, error) {
	if content == nil {
		return nil, convertor.ParamErrorf(messageParam(i, "content"), "messages[%d].content is required on tool messages", i)
	}
	if !content.IsParts {
		return []string{content.Text}, nil
	}
	texts := make([]string, 0, len(content.Parts))
	for j, p := range content.Parts {
		if p.Type != "text" {
			return nil, convertor.ParamErrorf(partParam(i, j, "type"), "tool messages take only text parts, not %q", p.Type)
		}
		texts = append(texts, p.Text)
	}
	return texts, nil
}

// prependReasoning puts the saved reasoning of a turn's tool calls first in
// the turn, as Claude wrote it. Several calls of one turn share the same
// reasoning blocks, so each block is sent once.
func prependReasoning(blocks []bedrock.ContentBlock, ids []string, saved map[string][]bedrock.ContentBlock) []bedrock.ContentBlock {
	if len(saved) == 0 || len(ids) == 0 {
		return blocks
	}
	var lead []bedrock.ContentBlock
	seen := map[string]bool{}
	for _, id := range ids {
		for _, b := range saved[id] {
			if b.ReasoningContent == nil {
				continue
			}
			k := reasoningKey(b.ReasoningContent)
			if seen[k] {
				continue
			}
			seen[k] = true
			lead = append(lead, b)
		}
	}
	if len(lead) == 0 {
		return blocks
	}
	return append(lead, blocks...)
}

// reasoningKey identifies a reasoning block by its content.
func reasoningKey(r *bedrock.ReasoningContent) string {
	if r.ReasoningText != nil {
		return "t\x00" + r.ReasoningText.Signature + "\x00" + r.ReasoningText.Text
	}
	return "r\x00" + string(r.RedactedContent)
}

// validName reports whether s fits Bedrock's pattern for tool names and
// tool use ids: 1 to 64 of [a-zA-Z0-9_-].
func validName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9', b == '_', b == '-':
		default:
			return false
		}
	}
	return true
}
