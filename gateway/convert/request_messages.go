package convert

import (
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

// turn is one Converse message being built from one or more OpenAI
// messages of the same role.
type turn struct {
	role string
	// first is the index of the first OpenAI message merged into the turn,
	// so errors about the turn name a message the client sent.
	first  int
	blocks []bedrock.ContentBlock
	// toolCallIDs are the ids of the tool calls the turn makes, in order,
	// for restoring the reasoning that preceded them.
	toolCallIDs []string
}

// messages converts the OpenAI messages into system blocks and alternating
// user/assistant turns.
//
// System and developer messages are hoisted into Converse's system field
// wherever they appear, since Converse has no system turn; their order is
// kept. Consecutive turns of one role are merged because Converse requires
// alternation; tool results are user content, so tool messages merge with
// a neighbouring user message.
func (c *requestConverter) messages() ([]bedrock.SystemBlock, []bedrock.Message, error) {
	var system []bedrock.SystemBlock
	var turns []turn
	for i := range c.req.Messages {
		m := &c.req.Messages[i]
		var (
			role   string
			blocks []bedrock.ContentBlock
			ids    []string
			err    error
		)
		switch m.Role {
		case "system", "developer":
			var sb []bedrock.SystemBlock
			if sb, err = systemBlocks(i, m); err != nil {
				return nil, nil, err
			}
			system = append(system, sb...)
			continue
		case "user":
			role = bedrock.RoleUser
			blocks, err = c.userBlocks(i, m)
		case "assistant":
			role = bedrock.RoleAssistant
			blocks, ids, err = c.assistantBlocks(i, m)
		case "tool":
			role = bedrock.RoleUser
			blocks, err = c.toolResultBlocks(i, m)
		case "function":
			return nil, nil, convertor.ParamErrorf(messageParam(i, "role"), "the function role is deprecated and not supported; send the result as a tool message with tool_call_id")
		case "":
			return nil, nil, convertor.ParamErrorf(messageParam(i, "role"), "role is required")
		default:
			return nil, nil, convertor.ParamErrorf(messageParam(i, "role"), "unknown role %q: use system, developer, user, assistant or tool", m.Role)
		}
		if err != nil {
			return nil, nil, err
		}
		if n := len(turns); n > 0 && turns[n-1].role == role {
			turns[n-1].blocks = append(turns[n-1].blocks, blocks...)
			turns[n-1].toolCallIDs = append(turns[n-1].toolCallIDs, ids...)
			continue
		}
		turns = append(turns, turn{role: role, first: i, blocks: blocks, toolCallIDs: ids})
	}
	turns = openWithUser(turns)
	if err := c.checkTurns(turns); err != nil {
		return nil, nil, err
	}
	return system, c.finishTurns(turns), nil
}

// conversationStart is the text of the user turn put before a conversation
// that opens with the assistant: it says only that the conversation starts
// there, so the model reads no request the client did not send.
const conversationStart = "(conversation start)"

// openWithUser puts a minimal user turn before a leading assistant turn.
// OpenAI lets the assistant speak first (a greeting, a scripted opener);
// Converse requires the user to. The assistant's turn stays as it was, in
// its own role and with its tool calls. Moving its words into the system
// prompt instead would make what the model said into instructions it was
// given, and a system prompt cannot carry tool calls, which the tool
// results that follow must answer.
func openWithUser(turns []turn) []turn {
	if len(turns) == 0 || turns[0].role != bedrock.RoleAssistant {
		return turns
	}
	start := turn{role: bedrock.RoleUser, first: turns[0].first, blocks: []bedrock.ContentBlock{{Text: ptr(conversationStart)}}}
	return append([]turn{start}, turns...)
}

// checkTurns enforces what Bedrock requires of the conversation as a whole,
// with messages that name the OpenAI message at fault.
func (c *requestConverter) checkTurns(turns []turn) error {
	if len(turns) == 0 {
		return convertor.ParamErrorf("messages", "messages must contain at least one user message besides system and developer messages")
	}
	last := turns[len(turns)-1]
	if last.role == bedrock.RoleAssistant && c.thinking.on {
		return convertor.ParamErrorf(messageParam(last.first, "role"), "a final assistant message (prefill) cannot be combined with extended thinking; end the conversation with a user or tool message, or turn thinking off")
	}
	for i := range turns {
		t := &turns[i]
		t.blocks = dropBlankText(t.blocks)
		if len(t.blocks) == 0 {
			return convertor.ParamErrorf(messageParam(t.first, "content"), "messages[%d].content must not be empty or only whitespace", t.first)
		}
	}
	// Claude refuses a prefill that ends in whitespace.
	if last.role == bedrock.RoleAssistant {
		t := &turns[len(turns)-1]
		if b := &t.blocks[len(t.blocks)-1]; b.Text != nil {
			s := strings.TrimRightFunc(*b.Text, unicode.IsSpace)
			b.Text = &s
		}
	}
	return nil
}

// finishTurns restores signed reasoning, orders tool results first and
// returns the Converse messages.
func (c *requestConverter) finishTurns(turns []turn) []bedrock.Message {
	out := make([]bedrock.Message, len(turns))
	for i := range turns {
		t := &turns[i]
		switch t.role {
		case bedrock.RoleAssistant:
			if c.thinking.on && !c.flatten {
				t.blocks = prependReasoning(t.blocks, t.toolCallIDs, c.opts.Reasoning)
			}
		case bedrock.RoleUser:
			t.blocks = toolResultsFirst(t.blocks)
		}
		out[i] = bedrock.Message{Role: t.role, Content: t.blocks}
	}
	return out
}

// systemBlocks converts a system or developer message. An empty system
// prompt says nothing, so blank text is dropped rather than refused.
func systemBlocks(i int, m *openai.Message) ([]bedrock.SystemBlock, error) {
	if m.Content == nil {
		return nil, nil
	}
	if !m.Content.IsParts {
		if isBlank(m.Content.Text) {
			return nil, nil
		}
		return []bedrock.SystemBlock{{Text: ptr(m.Content.Text)}}, nil
	}
	var out []bedrock.SystemBlock
	for j, p := range m.Content.Parts {
		if p.Type != "text" {
			return nil, convertor.ParamErrorf(partParam(i, j, "type"), "%s messages take only text parts, not %q", m.Role, p.Type)
		}
		if !isBlank(p.Text) {
			out = append(out, bedrock.SystemBlock{Text: ptr(p.Text)})
		}
		cp, err := explicitCachePoint(i, j, &m.Content.Parts[j])
		if err != nil {
			return nil, err
		}
		if cp != nil {
			out = append(out, bedrock.SystemBlock{CachePoint: cp})
		}
	}
	return out, nil
}

// userBlocks converts a user message: text and images.
func (c *requestConverter) userBlocks(i int, m *openai.Message) ([]bedrock.ContentBlock, error) {
	if err := checkContentPresent(i, m.Content); err != nil {
		return nil, err
	}
	if !m.Content.IsParts {
		return []bedrock.ContentBlock{{Text: ptr(m.Content.Text)}}, nil
	}
	out := make([]bedrock.ContentBlock, 0, len(m.Content.Parts))
	for j := range m.Content.Parts {
		p := &m.Content.Parts[j]
		switch p.Type {
		case "text":
			out = append(out, bedrock.ContentBlock{Text: ptr(p.Text)})
		case "image_url":
			img, err := c.image(i, j, p.ImageURL)
			if err != nil {
				return nil, err
			}
			out = append(out, bedrock.ContentBlock{Image: img})
		case "input_audio":
			return nil, convertor.ParamErrorf(partParam(i, j, "type"), "audio input is not supported: Claude takes text and images")
		case "file":
			return nil, convertor.ParamErrorf(partParam(i, j, "type"), "file parts are not supported: send text or images")
		default:
			return nil, convertor.ParamErrorf(partParam(i, j, "type"), "user messages take text and image_url parts, not %q", p.Type)
		}
		cp, err := explicitCachePoint(i, j, p)
		if err != nil {
			return nil, err
		}
		if cp != nil {
			out = append(out, bedrock.ContentBlock{CachePoint: cp})
		}
	}
	return out, nil
}

// checkContentPresent refuses a missing or empty content. Whitespace-only
// text passes here; it is judged per turn in checkTurns.
func checkContentPresent(i int, content *openai.Content) error {
	switch {
	case content == nil:
		return convertor.ParamErrorf(messageParam(i, "content"), "messages[%d].content is required", i)
	case !content.IsParts && content.Text == "", content.IsParts && len(content.Parts) == 0:
		return convertor.ParamErrorf(messageParam(i, "content"), "messages[%d].content must not be empty", i)
	}
	return nil
}

// dropBlankText removes whitespace-only text blocks, which Bedrock refuses,
// when something else remains; a turn of nothing but blanks is returned
// empty for the caller to refuse.
func dropBlankText(blocks []bedrock.ContentBlock) []bedrock.ContentBlock {
	out := blocks[:0]
	for _, b := range blocks {
		if b.Text != nil && isBlank(*b.Text) {
			continue
		}
		out = append(out, b)
	}
	if !slices.ContainsFunc(out, func(b bedrock.ContentBlock) bool { return b.CachePoint == nil }) {
		// Cache points alone are no content.
		return out[:0]
	}
	return out
}

// toolResultsFirst moves toolResult blocks ahead of the other blocks of a
// user turn, keeping the order within each group: Claude requires the
// results of the previous turn's calls to open the next user turn, and a
// client may send its own text between the tool messages.
func toolResultsFirst(blocks []bedrock.ContentBlock) []bedrock.ContentBlock {
	if inOrder(blocks) {
		return blocks
	}
	// A cache point moves with the block it follows, whose prefix it ends.
	out := make([]bedrock.ContentBlock, 0, len(blocks))
	for _, results := range []bool{true, false} {
		take := false
		for _, b := range blocks {
			if b.CachePoint == nil {
				take = (b.ToolResult != nil) == results
			}
			if take {
				out = append(out, b)
			}
		}
	}
	return out
}

// inOrder reports whether no toolResult block follows another kind of
// block (cache points aside).
func inOrder(blocks []bedrock.ContentBlock) bool {
	other := false
	for _, b := range blocks {
		switch {
		case b.CachePoint != nil:
		case b.ToolResult == nil:
			other = true
		case other:
			return false
		}
	}
	return true
}

func isBlank(s string) bool { return strings.TrimFunc(s, unicode.IsSpace) == "" }

func ptr[T any](v T) *T { return &v }

// indexParam returns "field[i]".
func indexParam(field string, i int) string {
	return field + "[" + strconv.Itoa(i) + "]"
}

// messageParam returns "messages[i].field".
func messageParam(i int, field string) string {
	return indexParam("messages", i) + "." + field
}

// partParam returns "messages[i].content[j].field".
func partParam(i, j int, field string) string {
	return indexParam(messageParam(i, "content"), j) + "." + field
}
