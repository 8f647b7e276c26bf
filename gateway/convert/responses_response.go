package convert

import (
	"strconv"
	"strings"

	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

// objectResponse is the object name of a response.
const objectResponse = "response"

// Incomplete reasons, the only two OpenAI sends.
const (
	incompleteMaxOutputTokens = "max_output_tokens"
	incompleteContentFilter   = "content_filter"
)

// NewResponse returns the response object of req before any output: id,
// model and creation time from meta, and the request's settings echoed as
// OpenAI echoes them, with its defaults where the request left a field
// out. store says whether the gateway keeps the response.
func NewResponse(req *openai.ResponsesRequest, meta Meta, store bool) openai.Response {
	r := openai.Response{
		ID:                meta.ID,
		Object:            objectResponse,
		CreatedAt:         meta.Created,
		Status:            openai.ResponseInProgress,
		Model:             meta.Model,
		Output:            []openai.Item{},
		ParallelToolCalls: req.ParallelToolCalls == nil || *req.ParallelToolCalls,
		Store:             store,
		Temperature:       req.Temperature,
		TopP:              req.TopP,
		MaxOutputTokens:   req.MaxOutputTokens,
		ToolChoice:        req.ToolChoice,
		Tools:             req.Tools,
		Truncation:        "disabled",
		Metadata:          req.Metadata,
		Text:              openai.ResponsesText{Format: &openai.TextFormat{Type: "text"}, Verbosity: "medium"},
	}
	if !isSet(r.ToolChoice) {
		r.ToolChoice = []byte(`"auto"`)
	}
	if r.Tools == nil {
		r.Tools = []openai.ResponsesTool{}
	}
	if r.Metadata == nil {
		r.Metadata = map[string]string{}
	}
	if req.Instructions != "" {
		r.Instructions = &req.Instructions
	}
	if req.PreviousResponseID != "" {
		r.PreviousResponseID = &req.PreviousResponseID
	}
	if req.Reasoning != nil {
		r.Reasoning = *req.Reasoning
	}
	if t := req.Text; t != nil {
		if t.Verbosity != "" {
			r.Text.Verbosity = t.Verbosity
		}
		if t.Format != nil {
			r.Text.Format = t.Format
		}
	}
	if req.User != "" {
		r.User = &req.User
	}
	return r
}

// ConverseResponseToResponses fills base (NewResponse) with the output of
// a Converse response: reasoning, message and function_call items in the
// order Claude produced them, the status and the usage.
func ConverseResponseToResponses(resp *bedrock.ConverseResponse, base openai.Response) *openai.Response {
	out := base
	out.Output = []openai.Item{}
	var (
		reasoningBytes int
		text           *strings.Builder // the open message's text
	)
	closeText := func() {
		if text != nil {
			it := &out.Output[len(out.Output)-1]
			it.Content = outputText(text.String())
			text = nil
		}
	}
	if m := resp.Output.Message; m != nil {
		for i := range m.Content {
			b := &m.Content[i]
			switch {
			case b.Text != nil && *b.Text == "":
				// Nothing to show; a stream sends no delta for it either.
			case b.Text != nil:
				if text == nil {
					out.Output = append(out.Output, messageItem(itemID("msg", base.ID, len(out.Output)), openai.ResponseCompleted))
					text = new(strings.Builder)
				}
				text.WriteString(*b.Text)
			case b.ToolUse != nil:
				closeText()
				out.Output = append(out.Output, openai.Item{
					Type:      openai.ItemFunctionCall,
					ID:        itemID("fc", base.ID, len(out.Output)),
					CallID:    b.ToolUse.ToolUseID,
					Name:      b.ToolUse.Name,
					Arguments: toolArguments(b.ToolUse.Input),
					Status:    openai.ResponseCompleted,
				})
			case b.ReasoningContent != nil && b.ReasoningContent.ReasoningText != nil:
				// Redacted reasoning is encrypted: it has nothing to show,
				// and is kept only through ReasoningByToolCall.
				closeText()
				t := b.ReasoningContent.ReasoningText.Text
				reasoningBytes += len(t)
				out.Output = append(out.Output, reasoningItem(itemID("rs", base.ID, len(out.Output)), t))
			}
		}
	}
	closeText()
	if len(out.Output) == 0 {
		// An empty answer is still one message, as OpenAI returns it:
		// clients read output[0] of a plain answer.
		out.Output = append(out.Output, messageItem(itemID("msg", base.ID, 0), openai.ResponseCompleted))
		out.Output[0].Content = outputText("")
	}
	setOutcome(&out, StopReasonToFinishReason(resp.StopReason), UsageToOpenAI(resp.Usage, reasoningBytes))
	return &out
}

// setOutcome sets the status, incomplete details and usage from the chat
// finish reason and usage, which both APIs derive the same way. A
// response cut short marks its last message incomplete, as OpenAI does.
func setOutcome(r *openai.Response, finish string, u *openai.Usage) {
	r.Status = openai.ResponseCompleted
	switch finish {
	case finishLength:
		r.Status = openai.ResponseIncomplete
		r.IncompleteDetails = &openai.IncompleteDetails{Reason: incompleteMaxOutputTokens}
	case finishContentFilter:
		r.Status = openai.ResponseIncomplete
		r.IncompleteDetails = &openai.IncompleteDetails{Reason: incompleteContentFilter}
	}
	if r.Status == openai.ResponseIncomplete {
		if n := len(r.Output); n > 0 && r.Output[n-1].Type == openai.ItemMessage {
			r.Output[n-1].Status = openai.ResponseIncomplete
		}
	}
	if u != nil {
		r.Usage = UsageToResponses(u)
	}
}

// UsageToResponses renames chat usage (UsageToOpenAI) to the Responses
// API's fields: the counts are the same, so both APIs bill alike.
func UsageToResponses(u *openai.Usage) *openai.ResponsesUsage {
	r := &openai.ResponsesUsage{
		InputTokens:  u.PromptTokens,
		OutputTokens: u.CompletionTokens,
		TotalTokens:  u.TotalTokens,
	}
	if d := u.PromptTokensDetails; d != nil {
		r.InputTokensDetails = openai.InputTokensDetails{CachedTokens: d.CachedTokens, CacheWriteTokens: d.CacheWriteTokens}
	}
	if d := u.CompletionTokensDetails; d != nil {
		r.OutputTokensDetails.ReasoningTokens = d.ReasoningTokens
	}
	return r
}

// itemID derives an output item's id from the response id and the item's
// output index, so that ids are stable without a random source:
// "msg_<response suffix>_<index>".
func itemID(prefix, responseID string, index int) string {
	suffix := strings.TrimPrefix(responseID, "resp_")
	return prefix + "_" + suffix + "_" + strconv.Itoa(index)
}

func messageItem(id, status string) openai.Item {
	return openai.Item{Type: openai.ItemMessage, ID: id, Role: bedrock.RoleAssistant, Status: status,
		Content: &openai.ItemContent{IsParts: true, Parts: []openai.Part{}}}
}

func outputText(text string) *openai.ItemContent {
	return &openai.ItemContent{IsParts: true, Parts: []openai.Part{{Type: "output_text", Text: text}}}
}

func reasoningItem(id, text string) openai.Item {
	return openai.Item{Type: openai.ItemReasoning, ID: id,
		Summary: []openai.SummaryPart{{Type: "summary_text", Text: text}}}
}
