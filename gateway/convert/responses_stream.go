package convert

import (
	"encoding/json"
	"strings"

	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

// ResponsesStream converts the events of one ConverseStream response into
// the Responses API's typed events. It runs the chat Stream underneath and
// reads its chunks, so both APIs share one reading of Bedrock's events
// (dense tool indexes, reasoning and its signatures, usage, the finish
// reason); only the shape written differs. Not safe for concurrent use.
//
// Every item goes through added, its deltas, then done; an item closes
// when an item of another kind (or another call) begins or the message
// stops. The response accumulates as events are written, so the final
// response.completed event carries the whole output.
type ResponsesStream struct {
	chat *Stream
	resp openai.Response
	seq  int
	// open is the output index of the item receiving deltas, -1 for none.
	open int
	// text accumulates the open item's text, summary or arguments.
	text strings.Builder
	// calls maps the chat stream's dense tool index to an output index.
	calls   map[int]int
	started bool
	usage   *openai.Usage
	scratch []json.RawMessage
}

// NewResponsesStream returns a ResponsesStream for the response base
// (NewResponse), whose id names the stream's items.
func NewResponsesStream(base openai.Response) *ResponsesStream {
	// The chat stream's usage chunk is how the usage reaches this layer.
	chat := NewStream(Meta{ID: base.ID, Model: base.Model, Created: base.CreatedAt, IncludeUsage: true})
	base.Output = []openai.Item{}
	return &ResponsesStream{chat: chat, resp: base, open: -1, calls: map[int]int{}}
}

// AppendEvents appends the SSE events ev yields to dst. The first call
// opens the stream with response.created and response.in_progress.
// Unknown and empty events yield nothing.
func (s *ResponsesStream) AppendEvents(dst []byte, ev *bedrock.StreamEvent) []byte {
	if !s.started {
		s.started = true
		dst = s.appendEvent(dst, &openai.ResponseEvent{Type: "response.created", Response: &s.resp})
		dst = s.appendEvent(dst, &openai.ResponseEvent{Type: "response.in_progress", Response: &s.resp})
	}
	chunk, ok := s.chat.Event(ev)
	if !ok {
		return dst
	}
	if chunk.Usage != nil {
		u := *chunk.Usage
		s.usage = &u
	}
	for i := range chunk.Choices {
		ch := &chunk.Choices[i]
		d := &ch.Delta
		if d.ReasoningContent != nil && *d.ReasoningContent != "" {
			dst = s.appendReasoning(dst, *d.ReasoningContent)
		}
		if d.Content != nil && *d.Content != "" {
			dst = s.appendText(dst, *d.Content)
		}
		for j := range d.ToolCalls {
			dst = s.appendToolCall(dst, &d.ToolCalls[j])
		}
		if ch.FinishReason != nil {
			dst = s.closeItem(dst)
		}
	}
	return dst
}

// AppendDone closes the stream after Bedrock's last event: the open item
// is closed, and response.completed (or response.incomplete) carries the
// whole response with its usage. Call it once, when the stream ended
// well.
func (s *ResponsesStream) AppendDone(dst []byte) []byte {
	if len(s.resp.Output) == 0 {
		// An empty answer is still one message, as in ConverseResponseToResponses.
		dst = s.openItem(dst, messageItem(itemID("msg", s.resp.ID, 0), openai.ResponseInProgress))
		dst = s.appendEvent(dst, &openai.ResponseEvent{Type: "response.content_part.added",
			ItemID: s.openID(), OutputIndex: ptr(s.open), ContentIndex: ptr(0), Part: openai.Part{Type: "output_text"}})
	}
	dst = s.closeItem(dst)
	u := s.usage
	if u == nil {
		u = UsageToOpenAI(s.chat.Usage(), s.chat.reasoningBytes)
	}
	setOutcome(&s.resp, s.chat.FinishReason(), u)
	typ := "response.completed"
	if s.resp.Status == openai.ResponseIncomplete {
		typ = "response.incomplete"
	}
	return s.appendEvent(dst, &openai.ResponseEvent{Type: typ, Response: &s.resp})
}

// AppendFailed ends a stream that failed after its first event: the open
// item is closed, response.failed carries the response with the error,
// and an error event follows, whose "error" member makes OpenAI SDKs
// raise it. e is the error as the client would see it without a stream.
func (s *ResponsesStream) AppendFailed(dst []byte, e *openai.ErrorObject) []byte {
	if !s.started {
		s.started = true
		dst = s.appendEvent(dst, &openai.ResponseEvent{Type: "response.created", Response: &s.resp})
	}
	dst = s.closeItem(dst)
	code := e.Type
	if e.Code != nil {
		code = *e.Code
	}
	s.resp.Status = openai.ResponseFailed
	s.resp.Error = &openai.ResponseError{Code: code, Message: e.Message}
	dst = s.appendEvent(dst, &openai.ResponseEvent{Type: "response.failed", Response: &s.resp})
	return s.appendEvent(dst, &openai.ResponseEvent{Type: "error", Code: &code, Message: e.Message, Param: e.Param, Error: e})
}

// Response returns the response as accumulated so far; complete after
// AppendDone.
func (s *ResponsesStream) Response() *openai.Response { return &s.resp }

// Usage returns the usage reported by the metadata event, zero before it.
func (s *ResponsesStream) Usage() bedrock.TokenUsage { return s.chat.Usage() }

// FinishReason returns the chat finish reason once messageStop was seen,
// "" before.
func (s *ResponsesStream) FinishReason() string { return s.chat.FinishReason() }

// GeneratedBytes returns the bytes generated so far (Stream.GeneratedBytes).
func (s *ResponsesStream) GeneratedBytes() int { return s.chat.GeneratedBytes() }

// ReasoningByToolCall returns the reasoning blocks each tool call
// followed (Stream.ReasoningByToolCall).
func (s *ResponsesStream) ReasoningByToolCall() map[string][]bedrock.ContentBlock {
	return s.chat.ReasoningByToolCall()
}

func (s *ResponsesStream) appendReasoning(dst []byte, delta string) []byte {
	if s.openType() != openai.ItemReasoning {
		dst = s.closeItem(dst)
		item := reasoningItem(itemID("rs", s.resp.ID, len(s.resp.Output)), "")
		item.Summary = []openai.SummaryPart{}
		dst = s.openItem(dst, item)
		dst = s.appendEvent(dst, &openai.ResponseEvent{Type: "response.reasoning_summary_part.added",
			ItemID: item.ID, OutputIndex: ptr(s.open), SummaryIndex: ptr(0), Part: openai.SummaryPart{Type: "summary_text"}})
	}
	s.text.WriteString(delta)
	return s.appendEvent(dst, &openai.ResponseEvent{Type: "response.reasoning_summary_text.delta",
		ItemID: s.openID(), OutputIndex: ptr(s.open), SummaryIndex: ptr(0), Delta: &delta})
}

func (s *ResponsesStream) appendText(dst []byte, delta string) []byte {
	if s.openType() != openai.ItemMessage {
		dst = s.closeItem(dst)
		item := messageItem(itemID("msg", s.resp.ID, len(s.resp.Output)), openai.ResponseInProgress)
		dst = s.openItem(dst, item)
		dst = s.appendEvent(dst, &openai.ResponseEvent{Type: "response.content_part.added",
			ItemID: item.ID, OutputIndex: ptr(s.open), ContentIndex: ptr(0), Part: openai.Part{Type: "output_text"}})
	}
	s.text.WriteString(delta)
	return s.appendEvent(dst, &openai.ResponseEvent{Type: "response.output_text.delta",
		ItemID: s.openID(), OutputIndex: ptr(s.open), ContentIndex: ptr(0), Delta: &delta, Logprobs: s.noLogprobs()})
}

func (s *ResponsesStream) appendToolCall(dst []byte, tc *openai.ToolCall) []byte {
	k := 0
	if tc.Index != nil {
		k = *tc.Index
	}
	if tc.ID != "" {
		dst = s.closeItem(dst)
		s.calls[k] = len(s.resp.Output)
		dst = s.openItem(dst, openai.Item{Type: openai.ItemFunctionCall, ID: itemID("fc", s.resp.ID, len(s.resp.Output)),
			CallID: tc.ID, Name: tc.Function.Name, Status: openai.ResponseInProgress})
	}
	args := tc.Function.Arguments
	idx, ok := s.calls[k]
	if args == "" || !ok {
		return dst
	}
	if idx == s.open {
		s.text.WriteString(args)
	} else {
		// Bedrock streams one block at a time, so a fragment for a call
		// already closed does not come; should it, it is kept anyway.
		s.resp.Output[idx].Arguments += args
	}
	return s.appendEvent(dst, &openai.ResponseEvent{Type: "response.function_call_arguments.delta",
		ItemID: s.resp.Output[idx].ID, OutputIndex: ptr(idx), Delta: &args})
}

// openItem adds item to the output and announces it.
func (s *ResponsesStream) openItem(dst []byte, item openai.Item) []byte {
	s.resp.Output = append(s.resp.Output, item)
	s.open = len(s.resp.Output) - 1
	s.text.Reset()
	return s.appendEvent(dst, &openai.ResponseEvent{Type: "response.output_item.added", OutputIndex: ptr(s.open), Item: &item})
}

// closeItem finishes the open item, if any, with its done events.
func (s *ResponsesStream) closeItem(dst []byte) []byte {
	if s.open < 0 {
		return dst
	}
	k := s.open
	it := &s.resp.Output[k]
	text := s.text.String()
	s.open = -1
	s.text.Reset()
	switch it.Type {
	case openai.ItemReasoning:
		part := openai.SummaryPart{Type: "summary_text", Text: text}
		it.Summary = []openai.SummaryPart{part}
		dst = s.appendEvent(dst, &openai.ResponseEvent{Type: "response.reasoning_summary_text.done",
			ItemID: it.ID, OutputIndex: ptr(k), SummaryIndex: ptr(0), Text: &text})
		dst = s.appendEvent(dst, &openai.ResponseEvent{Type: "response.reasoning_summary_part.done",
			ItemID: it.ID, OutputIndex: ptr(k), SummaryIndex: ptr(0), Part: part})
	case openai.ItemMessage:
		it.Content = outputText(text)
		it.Status = openai.ResponseCompleted
		dst = s.appendEvent(dst, &openai.ResponseEvent{Type: "response.output_text.done",
			ItemID: it.ID, OutputIndex: ptr(k), ContentIndex: ptr(0), Text: &text, Logprobs: s.noLogprobs()})
		dst = s.appendEvent(dst, &openai.ResponseEvent{Type: "response.content_part.done",
			ItemID: it.ID, OutputIndex: ptr(k), ContentIndex: ptr(0), Part: it.Content.Parts[0]})
	case openai.ItemFunctionCall:
		it.Arguments += text
		if it.Arguments == "" {
			it.Arguments = "{}"
		}
		it.Status = openai.ResponseCompleted
		args := it.Arguments
		dst = s.appendEvent(dst, &openai.ResponseEvent{Type: "response.function_call_arguments.done",
			ItemID: it.ID, OutputIndex: ptr(k), Arguments: &args, Name: it.Name})
	}
	item := *it
	return s.appendEvent(dst, &openai.ResponseEvent{Type: "response.output_item.done", OutputIndex: ptr(k), Item: &item})
}

func (s *ResponsesStream) openType() string {
	if s.open < 0 {
		return ""
	}
	return s.resp.Output[s.open].Type
}

func (s *ResponsesStream) openID() string { return s.resp.Output[s.open].ID }

func (s *ResponsesStream) noLogprobs() *[]json.RawMessage {
	s.scratch = s.scratch[:0]
	if s.scratch == nil {
		s.scratch = []json.RawMessage{}
	}
	return &s.scratch
}

// appendEvent numbers ev and appends it as "event: <type>" and its data.
func (s *ResponsesStream) appendEvent(dst []byte, ev *openai.ResponseEvent) []byte {
	ev.SequenceNumber = s.seq
	s.seq++
	// Marshal cannot fail: events hold strings, numbers and valid raw
	// JSON (tool schemas were checked when the request was converted).
	b, _ := json.Marshal(ev)
	dst = append(dst, "event: "...)
	dst = append(dst, ev.Type...)
	dst = append(dst, "\ndata: "...)
	dst = append(dst, b...)
	return append(dst, "\n\n"...)
}
