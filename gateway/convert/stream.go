package convert

import (
	"strings"

	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

// Stream converts the events of one ConverseStream response into chunks.
// Not safe for concurrent use.
//
// A Stream keeps what the chunks alone cannot tell the gateway afterwards:
// the usage from the metadata event, the finish reason, and the reasoning
// blocks each tool call followed.
type Stream struct {
	meta Meta

	// started is set once a chunk carried delta.role; every OpenAI stream
	// opens with it, so it is synthesized when messageStart is missing.
	started   bool
	usageSent bool
	usage     bedrock.TokenUsage
	finish    string
	// generated counts the bytes of text, reasoning and tool input
	// received, to estimate output tokens when the stream is cut short
	// before Bedrock's usage arrives.
	generated int
	// reasoningBytes counts the bytes of reasoning text received, to
	// estimate reasoning_tokens.
	reasoningBytes int

	// tools are the calls seen so far; a call's position is its dense
	// OpenAI index, whatever contentBlockIndex Bedrock gave it.
	tools []streamTool
	// reasoning holds the finished reasoning blocks in order; open is the
	// one being filled, if any.
	reasoning []bedrock.ContentBlock
	open      openReasoning

	// Scratch the returned chunk points into, so a chunk costs no
	// allocation; it is overwritten by the next call of Event.
	choice    [1]openai.ChunkChoice
	call      [1]openai.ToolCall
	callIndex int
	empty     string
}

// streamTool is one tool call of the response.
type streamTool struct {
	block int
	id    string
	// reasoning counts the reasoning blocks finished before the call.
	reasoning int
	// hasArgs is set once an arguments fragment was sent.
	hasArgs bool
}

// openReasoning accumulates one reasoning block from its deltas.
type openReasoning struct {
	active    bool
	block     int
	text      strings.Builder
	signature string
	redacted  []byte
	// isText is set once text or a signature arrived: the block is signed
	// reasoning text, possibly empty, not only redacted bytes.
	isText bool
}

// noChoices is the empty choices list of the usage chunk; OpenAI sends
// "choices": [] there, never null.
var noChoices = []openai.ChunkChoice{}

// NewStream returns a Stream for one response.
func NewStream(meta Meta) *Stream {
	return &Stream{meta: meta}
}

// Event converts one stream event; ok is false when the event yields no
// chunk. The chunk points into s and ev: it is valid until the next call of
// Event, so encode it (AppendSSE) before converting the next event.
//
// Unknown and empty events yield nothing, because AWS adds event and block
// types over time and an older gateway must keep streaming through them.
func (s *Stream) Event(ev *bedrock.StreamEvent) (chunk openai.ChatChunk, ok bool) {
	switch {
	case ev.MessageStart != nil:
		if s.started {
			return chunk, false
		}
		d := s.delta()
		d.Content = &s.empty
		return s.chunk(), true
	case ev.ContentBlockStart != nil:
		return s.blockStart(ev.ContentBlockStart)
	case ev.ContentBlockDelta != nil:
		return s.blockDelta(ev.ContentBlockDelta)
	case ev.ContentBlockStop != nil:
		return s.blockStop(ev.ContentBlockStop.ContentBlockIndex)
	case ev.MessageStop != nil:
		s.closeReasoning()
		s.finish = StopReasonToFinishReason(ev.MessageStop.StopReason)
		s.delta()
		s.choice[0].FinishReason = &s.finish
		return s.chunk(), true
	case ev.Metadata != nil:
		return s.metadata(ev.Metadata)
	}
	return chunk, false
}

func (s *Stream) blockStart(ev *bedrock.ContentBlockStartEvent) (openai.ChatChunk, bool) {
	tu := ev.Start.ToolUse
	if tu == nil {
		return openai.ChatChunk{}, false
	}
	if s.open.active && s.open.block != ev.ContentBlockIndex {
		s.closeReasoning()
	}
	s.tools = append(s.tools, streamTool{block: ev.ContentBlockIndex, id: tu.ToolUseID, reasoning: len(s.reasoning)})
	// Only a call's first delta names it; SDK accumulators append every
	// later id or name they see onto the first.
	call := s.toolCall(len(s.tools) - 1)
	call.ID = tu.ToolUseID
	call.Type = toolTypeFunction
	call.Function.Name = tu.Name
	return s.chunk(), true
}

func (s *Stream) blockDelta(ev *bedrock.ContentBlockDeltaEvent) (openai.ChatChunk, bool) {
	switch d := &ev.Delta; {
	case d.Text != nil:
		if *d.Text == "" {
			return openai.ChatChunk{}, false
		}
		s.generated += len(*d.Text)
		s.delta().Content = d.Text
		return s.chunk(), true
	case d.ToolUse != nil:
		s.generated += len(d.ToolUse.Input)
		k := s.toolAt(ev.ContentBlockIndex)
		// A fragment of a call that never started has no id or name to
		// attach to; sending it would make clients invent a nameless call.
		if k < 0 || d.ToolUse.Input == "" {
			return openai.ChatChunk{}, false
		}
		s.tools[k].hasArgs = true
		s.toolCall(k).Function.Arguments = d.ToolUse.Input
		return s.chunk(), true
	case d.ReasoningContent != nil:
		return s.reasoningDelta(ev.ContentBlockIndex, d.ReasoningContent)
	}
	return openai.ChatChunk{}, false
}

func (s *Stream) reasoningDelta(block int, d *bedrock.ReasoningContentDelta) (openai.ChatChunk, bool) {
	if d.Text != nil {
		s.generated += len(*d.Text)
		s.reasoningBytes += len(*d.Text)
	}
	if s.open.active && s.open.block != block {
		s.closeReasoning()
	}
	if !s.open.active {
		s.open.active = true
		s.open.block = block
	}
	switch {
	case d.Text != nil:
		s.open.isText = true
		s.open.text.WriteString(*d.Text)
		if *d.Text == "" {
			return openai.ChatChunk{}, false
		}
		s.delta().ReasoningContent = d.Text
		return s.chunk(), true
	case d.Signature != nil:
		s.open.isText = true
		s.open.signature += *d.Signature
	case d.RedactedContent != nil:
		s.open.redacted = append(s.open.redacted, d.RedactedContent...)
	}
	// Signatures and redacted reasoning mean nothing to an OpenAI client.
	return openai.ChatChunk{}, false
}

func (s *Stream) blockStop(block int) (openai.ChatChunk, bool) {
	if s.open.active && s.open.block == block {
		s.closeReasoning()
		return openai.ChatChunk{}, false
	}
	k := s.toolAt(block)
	if k < 0 || s.tools[k].hasArgs {
		return openai.ChatChunk{}, false
	}
	// A call without input streams no fragment, and clients would be left
	// to json-decode "": send the "{}" the non-streamed response carries.
	s.tools[k].hasArgs = true
	s.toolCall(k).Function.Arguments = "{}"
	return s.chunk(), true
}

func (s *Stream) metadata(ev *bedrock.MetadataEvent) (openai.ChatChunk, bool) {
	// A metadata event carrying only metrics must not erase the usage
	// an earlier one reported: accounting bills from it.
	if !ev.Usage.IsZero() {
		s.usage = ev.Usage
	}
	if !s.meta.IncludeUsage || s.usageSent {
		return openai.ChatChunk{}, false
	}
	s.usageSent = true
	c := s.header()
	c.Choices = noChoices
	c.Usage = UsageToOpenAI(s.usage, s.reasoningBytes)
	return c, true
}

// closeReasoning moves the open reasoning block, if any, to s.reasoning.
func (s *Stream) closeReasoning() {
	o := &s.open
	if !o.active {
		return
	}
	if o.isText {
		s.reasoning = append(s.reasoning, bedrock.ContentBlock{ReasoningContent: &bedrock.ReasoningContent{
			ReasoningText: &bedrock.ReasoningText{Text: o.text.String(), Signature: o.signature},
		}})
	}
	if len(o.redacted) > 0 {
		s.reasoning = append(s.reasoning, bedrock.ContentBlock{ReasoningContent: &bedrock.ReasoningContent{
			RedactedContent: o.redacted,
		}})
	}
	*o = openReasoning{}
}

// toolAt returns the dense index of the latest call opened at block, or -1.
func (s *Stream) toolAt(block int) int {
	for k := len(s.tools) - 1; k >= 0; k-- {
		if s.tools[k].block == block {
			return k
		}
	}
	return -1
}

// header returns a chunk with only the fields every chunk repeats.
func (s *Stream) header() openai.ChatChunk {
	return openai.ChatChunk{
		ID:      s.meta.ID,
		Object:  objectChatCompletionChunk,
		Created: s.meta.Created,
		Model:   s.meta.Model,
	}
}

// delta resets the scratch choice and returns its delta. The first chunk
// of the stream also carries the role.
func (s *Stream) delta() *openai.Delta {
	s.choice[0] = openai.ChunkChoice{}
	if !s.started {
		s.started = true
		s.choice[0].Delta.Role = bedrock.RoleAssistant
	}
	return &s.choice[0].Delta
}

// toolCall resets the scratch and returns the single tool call delta for
// dense index k.
func (s *Stream) toolCall(k int) *openai.ToolCall {
	d := s.delta()
	s.callIndex = k
	s.call[0] = openai.ToolCall{Index: &s.callIndex}
	d.ToolCalls = s.call[:]
	return &s.call[0]
}

// chunk returns the chunk for the scratch choice.
func (s *Stream) chunk() openai.ChatChunk {
	c := s.header()
	c.Choices = s.choice[:]
	return c
}

// GeneratedBytes returns the bytes of text, reasoning and tool input
// received so far: what a stream cut short before Bedrock's usage event
// had generated, for an estimate of its output tokens.
func (s *Stream) GeneratedBytes() int { return s.generated }

// Usage returns the usage reported by the metadata event, zero before it.
func (s *Stream) Usage() bedrock.TokenUsage { return s.usage }

// FinishReason returns the OpenAI finish reason once messageStop was seen,
// "" before.
func (s *Stream) FinishReason() string { return s.finish }

// ReasoningByToolCall returns the reasoning blocks that preceded each tool
// call of the response, keyed by tool call id, like the package function of
// the same name does for a whole message. Calls with no reasoning before
// them are left out; the result is nil when there is nothing to keep.
func (s *Stream) ReasoningByToolCall() map[string][]bedrock.ContentBlock {
	var out map[string][]bedrock.ContentBlock
	for _, t := range s.tools {
		if t.reasoning == 0 {
			continue
		}
		if out == nil {
			out = make(map[string][]bedrock.ContentBlock)
		}
		out[t.id] = s.reasoning[:t.reasoning:t.reasoning]
	}
	return out
}
