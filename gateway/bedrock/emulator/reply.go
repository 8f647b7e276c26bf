package emulator

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
)

// guardrailMessage replaces the answer when a guardrail intervenes, as the
// blocked-output message of a Bedrock guardrail does.
const guardrailMessage = "Sorry, the model cannot answer this question."

// reply is the whole answer to one request, built once and then rendered as
// a Converse response or as stream events, so both agree on every byte and
// token count.
type reply struct {
	reasoning  string
	signature  string
	text       string
	tools      []bedrock.ToolUseBlock
	stopReason string
	usage      bedrock.TokenUsage
}

// buildReply decides the answer from the script and the request.
func (e *Emulator) buildReply(modelID string, req *bedrock.ConverseRequest, fields requestFields, sc *script, key string) *reply {
	caps := convertor.CapabilitiesFor(modelID)
	r := &reply{stopReason: bedrock.StopEndTurn}

	if fields.thinkingOn() {
		r.reasoning = sc.thinking
		if r.reasoning == "" {
			r.reasoning = "The user asked: " + excerpt(sc.prompt, 40) + ". The emulator answers deterministically, so no real reasoning happens here."
		}
		r.signature = e.sign(r.reasoning)
	}

	switch {
	case len(sc.text) > 0:
		r.text = strings.Join(sc.text, "\n")
	case len(sc.tools) > 0:
	case hasToolResult(req.Messages[len(req.Messages)-1]):
		r.text = toolResultsReply(req.Messages)
	default:
		r.text = "This is a synthetic reply from the Bedrock emulator to: " + excerpt(sc.prompt, 40)
		if doc, ok := structuredReply(req); ok {
			r.text = doc
		} else if asksForJSON(req) {
			b, _ := json.Marshal(map[string]string{"reply": r.text})
			r.text = string(b)
		}
	}
	for i, t := range sc.tools {
		r.tools = append(r.tools, bedrock.ToolUseBlock{ToolUseID: toolUseID(key, i), Name: t.name, Input: t.input})
	}
	if len(sc.text) == 0 && len(sc.tools) == 0 {
		// Unscripted, the emulator calls a tool where a model would: one
		// it is forced to, or one the prompt is about.
		if spec, ok := chosenTool(req, sc.prompt); ok {
			r.text = ""
			r.tools = append(r.tools, bedrock.ToolUseBlock{ToolUseID: toolUseID(key, 0), Name: spec.Name, Input: toolArguments(spec)})
		}
	}
	if fields.oneToolCall() && len(r.tools) > 1 {
		// disable_parallel_tool_use: the model makes its first call only.
		r.tools = r.tools[:1]
	}
	if len(r.tools) > 0 {
		r.stopReason = bedrock.StopToolUse
	}

	switch {
	case sc.guardrail:
		r.text, r.tools, r.stopReason = guardrailMessage, nil, bedrock.StopGuardrailIntervened
	case cutAtStopSequence(r, req.InferenceConfig):
	case sc.maxTokens:
		r.text = cutBytes(r.text, len(r.text)/2)
		r.tools, r.stopReason = nil, bedrock.StopMaxTokens
	default:
		limit := maxTokensOf(req, caps)
		if used := tokens(r.reasoning) + tokens(r.text) + toolTokens(r.tools); used > limit {
			room := max(limit-tokens(r.reasoning), 0)
			r.text = cutBytes(r.text, room*bytesPerToken)
			r.tools, r.stopReason = nil, bedrock.StopMaxTokens
		}
	}

	r.usage = bedrock.TokenUsage{
		InputTokens:  inputTokens(req),
		OutputTokens: max(1, tokens(r.reasoning)+tokens(r.text)+toolTokens(r.tools)),
	}
	if sc.cacheSet {
		r.usage.CacheReadInputTokens, r.usage.CacheWriteInputTokens, r.usage.CacheDetails = sc.cacheRead, sc.cacheWrit, sc.cacheDetails()
	} else {
		// Cached tokens are not input tokens: Bedrock counts each prompt
		// token once, under one of the three.
		read, details := e.cacheUsage(modelID, req)
		r.usage.CacheReadInputTokens, r.usage.CacheDetails = read, details
		for _, d := range details {
			r.usage.CacheWriteInputTokens += d.InputTokens
		}
		r.usage.InputTokens = max(1, r.usage.InputTokens-r.usage.CacheReadInputTokens-r.usage.CacheWriteInputTokens)
	}
	if sc.usageSet {
		r.usage.InputTokens, r.usage.OutputTokens = sc.usageIn, sc.usageOut
	}
	r.usage.TotalTokens = r.usage.InputTokens + r.usage.OutputTokens + r.usage.CacheReadInputTokens + r.usage.CacheWriteInputTokens
	return r
}

// cutAtStopSequence ends the text before the earliest stop sequence, as the
// model stops generating there; it reports whether one matched.
func cutAtStopSequence(r *reply, ic *bedrock.InferenceConfig) bool {
	if ic == nil {
		return false
	}
	cut := -1
	for _, s := range ic.StopSequences {
		if i := strings.Index(r.text, s); s != "" && i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut < 0 {
		return false
	}
	r.text, r.tools, r.stopReason = r.text[:cut], nil, bedrock.StopStopSequence
	return true
}

// toolResultsReply mentions each tool result of the last user turn with
// the name of the tool that produced it.
func toolResultsReply(msgs []bedrock.Message) string {
	names := map[string]string{}
	if len(msgs) >= 2 {
		for _, b := range msgs[len(msgs)-2].Content {
			if b.ToolUse != nil {
				names[b.ToolUse.ToolUseID] = b.ToolUse.Name
			}
		}
	}
	var parts []string
	for _, b := range msgs[len(msgs)-1].Content {
		if b.ToolResult == nil {
			continue
		}
		var content []string
		for _, c := range b.ToolResult.Content {
			switch {
			case c.Text != nil:
				content = append(content, *c.Text)
			case c.JSON != nil:
				content = append(content, string(c.JSON))
			case c.Image != nil:
				content = append(content, "an image")
			}
		}
		name := names[b.ToolResult.ToolUseID]
		if name == "" {
			name = b.ToolResult.ToolUseID
		}
		status := ""
		if b.ToolResult.Status == "error" {
			status = " (error)"
		}
		parts = append(parts, fmt.Sprintf("%s%s returned %s", name, status, excerpt(strings.Join(content, " "), 80)))
	}
	return "The Bedrock emulator received the tool results: " + strings.Join(parts, "; ") + "."
}

// bytesPerToken is the emulator's tokenizer: about four bytes of English
// per token, as Anthropic's rule of thumb.
const bytesPerToken = 4

// tokens counts s deterministically: one token per four bytes, at least
// one for non-empty text.
func tokens(s string) int {
	if s == "" {
		return 0
	}
	return (len(s) + bytesPerToken - 1) / bytesPerToken
}

func toolTokens(tools []bedrock.ToolUseBlock) int {
	n := 0
	for _, t := range tools {
		n += tokens(t.Name) + tokens(string(t.Input))
	}
	return n
}

// imageTokens approximates Anthropic's (width×height)/750 from the bytes.
func imageTokens(b []byte) int { return max(1, len(b)/750) }

// inputTokens counts everything the model reads. Converse and
// ConverseStream use it alike, so both report the same usage.
func inputTokens(req *bedrock.ConverseRequest) int {
	n := 0
	for _, s := range req.System {
		if s.Text != nil {
			n += tokens(*s.Text)
		}
	}
	for _, m := range req.Messages {
		for _, b := range m.Content {
			n += blockTokens(b)
		}
	}
	if req.ToolConfig != nil {
		for _, t := range req.ToolConfig.Tools {
			if t.ToolSpec != nil {
				n += toolSpecTokens(t.ToolSpec)
			}
		}
	}
	return max(1, n)
}

// toolSpecTokens counts a tool definition.
func toolSpecTokens(t *bedrock.ToolSpec) int {
	return tokens(t.Name) + tokens(t.Description) + tokens(string(t.InputSchema.JSON))
}

// blockTokens counts one message block; cache points count nothing.
func blockTokens(b bedrock.ContentBlock) int {
	switch {
	case b.Text != nil:
		return tokens(*b.Text)
	case b.Image != nil:
		return imageTokens(b.Image.Source.Bytes)
	case b.Document != nil:
		return tokens(string(b.Document.Source.Bytes))
	case b.ToolUse != nil:
		return tokens(b.ToolUse.Name) + tokens(string(b.ToolUse.Input))
	case b.ReasoningContent != nil && b.ReasoningContent.ReasoningText != nil:
		return tokens(b.ReasoningContent.ReasoningText.Text)
	case b.ToolResult != nil:
		n := 0
		for _, c := range b.ToolResult.Content {
			switch {
			case c.Text != nil:
				n += tokens(*c.Text)
			case c.JSON != nil:
				n += tokens(string(c.JSON))
			case c.Image != nil:
				n += imageTokens(c.Image.Source.Bytes)
			}
		}
		return n
	}
	return 0
}

// sign makes the reasoning signature: opaque to clients like Bedrock's, but
// verifiable by this emulator when the text comes back in a later turn.
func (e *Emulator) sign(text string) string {
	mac := hmac.New(sha256.New, e.secret)
	mac.Write([]byte(text))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func (e *Emulator) verifySignature(text, signature string) bool {
	got, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, e.secret)
	mac.Write([]byte(text))
	return hmac.Equal(got, mac.Sum(nil))
}

// toolUseID derives a stable id in Bedrock's "tooluse_" form from the
// request, so repeated requests get repeated ids.
func toolUseID(key string, i int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s/%d", key, i))
	return "tooluse_" + hex.EncodeToString(sum[:11])
}

// excerpt returns the first n bytes of s, cut on a rune boundary.
func excerpt(s string, n int) string {
	if s == "" {
		return "(no text)"
	}
	return cutBytes(s, n)
}

// cutBytes returns at most n bytes of s without splitting a rune.
func cutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// converseResponse renders the reply as a Converse response body.
func (r *reply) converseResponse(latencyMs int64) *bedrock.ConverseResponse {
	msg := &bedrock.Message{Role: bedrock.RoleAssistant}
	if r.reasoning != "" {
		msg.Content = append(msg.Content, bedrock.ContentBlock{ReasoningContent: &bedrock.ReasoningContent{
			ReasoningText: &bedrock.ReasoningText{Text: r.reasoning, Signature: r.signature}}})
	}
	if r.text != "" {
		msg.Content = append(msg.Content, bedrock.ContentBlock{Text: new(r.text)})
	}
	for i := range r.tools {
		msg.Content = append(msg.Content, bedrock.ContentBlock{ToolUse: &r.tools[i]})
	}
	if len(msg.Content) == 0 {
		// Bedrock never sends an empty message; a cut at the very start
		// still yields one empty text block.
		msg.Content = append(msg.Content, bedrock.ContentBlock{Text: new("")})
	}
	return &bedrock.ConverseResponse{
		Output:     bedrock.ConverseOutput{Message: msg},
		StopReason: r.stopReason,
		Usage:      r.usage,
		Metrics:    &bedrock.Metrics{LatencyMs: latencyMs},
	}
}

// streamEvent is one event to send and whether it is a content delta (the
// unit that delays and stream-error counts apply to).
type streamEvent struct {
	ev    bedrock.StreamEvent
	delta bool
}

// streamEvents renders the reply as ConverseStream events in Claude's
// order: reasoning deltas then its signature, text deltas, then each tool
// call opened by contentBlockStart. messageStop and metadata are appended
// by the writer, which knows the latency.
func (r *reply) streamEvents() []streamEvent {
	evs := []streamEvent{{ev: bedrock.StreamEvent{MessageStart: &bedrock.MessageStartEvent{Role: bedrock.RoleAssistant}}}}
	idx := 0
	delta := func(d bedrock.ContentBlockDelta) {
		evs = append(evs, streamEvent{delta: true, ev: bedrock.StreamEvent{ContentBlockDelta: &bedrock.ContentBlockDeltaEvent{ContentBlockIndex: idx, Delta: d}}})
	}
	stop := func() {
		evs = append(evs, streamEvent{ev: bedrock.StreamEvent{ContentBlockStop: &bedrock.ContentBlockStopEvent{ContentBlockIndex: idx}}})
		idx++
	}
	if r.reasoning != "" {
		for _, c := range chunkWords(r.reasoning) {
			delta(bedrock.ContentBlockDelta{ReasoningContent: &bedrock.ReasoningContentDelta{Text: new(c)}})
		}
		delta(bedrock.ContentBlockDelta{ReasoningContent: &bedrock.ReasoningContentDelta{Signature: new(r.signature)}})
		stop()
	}
	if r.text != "" || (r.reasoning == "" && len(r.tools) == 0) {
		for _, c := range chunkWords(r.text) {
			delta(bedrock.ContentBlockDelta{Text: new(c)})
		}
		stop()
	}
	for _, t := range r.tools {
		evs = append(evs, streamEvent{ev: bedrock.StreamEvent{ContentBlockStart: &bedrock.ContentBlockStartEvent{
			ContentBlockIndex: idx, Start: bedrock.ContentBlockStart{ToolUse: &bedrock.ToolUseBlockStart{ToolUseID: t.ToolUseID, Name: t.Name}}}}})
		for _, c := range chunkBytes(string(t.Input), 12) {
			delta(bedrock.ContentBlockDelta{ToolUse: &bedrock.ToolUseBlockDelta{Input: c}})
		}
		stop()
	}
	return evs
}

// chunkWords splits s into deltas of three words each, keeping every byte,
// so the concatenated deltas equal s. An empty s gives one empty delta.
func chunkWords(s string) []string {
	words := strings.SplitAfter(s, " ")
	var out []string
	for i := 0; i < len(words); i += 3 {
		out = append(out, strings.Join(words[i:min(i+3, len(words))], ""))
	}
	return out
}

// chunkBytes splits s into pieces of about n bytes on rune boundaries.
func chunkBytes(s string, n int) []string {
	var out []string
	for len(s) > n {
		c := cutBytes(s, n)
		if c == "" {
			_, size := utf8.DecodeRuneInString(s)
			c = s[:size]
		}
		out = append(out, c)
		s = s[len(c):]
	}
	return append(out, s)
}
