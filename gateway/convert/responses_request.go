package convert

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

// ResponsesMapping is how a Responses request became a chat request: it
// turns the chat request's field names in conversion errors back into the
// Responses request's, so a client is told about the field it sent.
type ResponsesMapping struct {
	// sources[i] is where chat message i came from.
	sources []source
}

// source is the Responses field a chat message came from: "instructions",
// "input", "input[3]" or "previous_response_id"; output is set for a
// function_call_output item, whose content is its output field.
type source struct {
	param  string
	output bool
}

// builtinTools names the tool types OpenAI runs on its side. Claude on
// Bedrock has none of them, so a request that offers one is refused by
// name rather than answered without the tool.
var builtinTools = map[string]string{
	"web_search":           "web search",
	"web_search_preview":   "web search",
	"file_search":          "file search",
	"computer_use_preview": "computer use",
	"computer":             "computer use",
	"code_interpreter":     "the code interpreter",
	"image_generation":     "image generation",
	"mcp":                  "remote MCP servers",
	"local_shell":          "the local shell tool",
	"shell":                "the shell tool",
	"apply_patch":          "the apply_patch tool",
	"custom":               "custom (free-form) tools",
}

// ResponsesRequestToChat maps a Responses request onto the chat request the
// converter takes, so both APIs share one conversion to Converse: history
// is the stored conversation of previous_response_id, its input items and
// output items in order, put before the request's own input. What the
// chat request cannot say is refused here with EInvalid naming the
// Responses field; everything else is left to ChatRequestToConverse, whose
// errors the returned mapping renames (ResponsesMapping.Error).
func ResponsesRequestToChat(req *openai.ResponsesRequest, history []openai.Item) (*openai.ChatRequest, *ResponsesMapping, error) {
	if req == nil {
		return nil, nil, convertor.Errorf(convertor.EInvalid, "the request body is required")
	}
	if err := checkResponsesUnsupported(req); err != nil {
		return nil, nil, err
	}
	m := &ResponsesMapping{}
	out := &openai.ChatRequest{
		Model:               req.Model,
		Stream:              req.Stream,
		MaxCompletionTokens: req.MaxOutputTokens,
		Temperature:         req.Temperature,
		TopP:                req.TopP,
		ParallelToolCalls:   req.ParallelToolCalls,
		User:                req.User,
		SafetyIdentifier:    req.SafetyIdentifier,
		Thinking:            req.Thinking,
		Metadata:            req.Metadata,
		ServiceTier:         req.ServiceTier,
		PromptCacheKey:      req.PromptCacheKey,
		TopLogprobs:         req.TopLogprobs,
	}
	if r := req.Reasoning; r != nil && r.Effort != nil {
		out.ReasoningEffort = *r.Effort
	}
	if t := req.Text; t != nil {
		out.Verbosity = t.Verbosity
		if f := t.Format; f != nil {
			out.ResponseFormat = &openai.ResponseFormat{Type: f.Type}
			if f.Type == "json_schema" {
				out.ResponseFormat.JSONSchema = &openai.JSONSchema{Name: f.Name, Description: f.Description, Schema: f.Schema, Strict: f.Strict}
			}
		}
	}
	var err error
	if out.Tools, err = responsesTools(req.Tools); err != nil {
		return nil, nil, err
	}
	if out.ToolChoice, err = responsesToolChoice(req.ToolChoice); err != nil {
		return nil, nil, err
	}
	if req.Instructions != "" {
		out.Messages = append(out.Messages, openai.Message{Role: "developer", Content: &openai.Content{Text: req.Instructions}})
		m.sources = append(m.sources, source{param: "instructions"})
	}
	for i := range history {
		if err := m.addItem(out, &history[i], "previous_response_id"); err != nil {
			return nil, nil, err
		}
	}
	switch in := req.Input; {
	case in == nil:
		return nil, nil, convertor.ParamErrorf("input", "Missing required parameter: 'input'.")
	case !in.IsItems:
		out.Messages = append(out.Messages, openai.Message{Role: "user", Content: &openai.Content{Text: in.Text}})
		m.sources = append(m.sources, source{param: "input"})
	default:
		for i := range in.Items {
			if err := m.addItem(out, &in.Items[i], indexParam("input", i)); err != nil {
				return nil, nil, err
			}
		}
	}
	if len(out.Messages) == 0 {
		return nil, nil, convertor.ParamErrorf("input", "Invalid 'input': empty array. Expected an array with minimum length 1, but got an empty array instead.")
	}
	return out, m, nil
}

// checkResponsesUnsupported refuses what only OpenAI's side can do.
// include, truncation "disabled", metadata, access_programs, image and the
// prompt cache fields are accepted: they change nothing in the generated
// output.
func checkResponsesUnsupported(req *openai.ResponsesRequest) error {
	switch {
	case req.Background != nil && *req.Background:
		return convertor.ParamErrorf("background", "background mode is not supported: Claude on Bedrock answers while the request is open; send the request without background, streamed if it is long")
	case isSet(req.Conversation):
		return convertor.ParamErrorf("conversation", "conversation objects are not supported; continue a conversation with previous_response_id, or send the whole conversation as input")
	case isSet(req.Prompt):
		return convertor.ParamErrorf("prompt", "stored prompt templates are not supported; send the instructions and input themselves")
	case req.Truncation != "" && req.Truncation != "disabled":
		return convertor.ParamErrorf("truncation", "truncation %q is not supported: the gateway never drops input; omit truncation or send \"disabled\"", req.Truncation)
	case isSet(req.ContextManagement):
		return convertor.ParamErrorf("context_management", "context_management is not supported: the gateway never compacts the conversation; omit it, and shorten the input when it nears the context window")
	case isSet(req.Moderation):
		return convertor.ParamErrorf("moderation", "moderation is not supported: Bedrock runs no OpenAI moderation; an operator can attach a Bedrock guardrail to the model instead")
	case req.MaxToolCalls != nil:
		return convertor.ParamErrorf("max_tool_calls", "max_tool_calls is not supported: it limits OpenAI's built-in tools, which Claude on Bedrock does not have")
	}
	return nil
}

// responsesTools maps function tools onto chat tools and refuses every
// other type by name.
func responsesTools(tools []openai.ResponsesTool) ([]openai.Tool, error) {
	var out []openai.Tool
	for i, t := range tools {
		param := indexParam("tools", i)
		if what, ok := builtinTools[t.Type]; ok {
			return nil, convertor.ParamErrorf(param+".type", "the built-in tool %q (%s) is not supported: Claude on Bedrock runs no OpenAI-hosted tools; offer a function tool and run it yourself", t.Type, what)
		}
		if t.Type != "function" {
			return nil, convertor.ParamErrorf(param+".type", "tool type %q is not supported: only function tools are", t.Type)
		}
		out = append(out, openai.Tool{Type: "function", Function: openai.Function{
			Name: t.Name, Description: t.Description, Parameters: t.Parameters, Strict: t.Strict,
		}})
	}
	return out, nil
}

// responsesToolChoice maps tool_choice: the strings as in chat, and
// {"type":"function","name":…}, whose name is not nested as in chat.
func responsesToolChoice(raw json.RawMessage) (*openai.ToolChoice, error) {
	raw = bytes.TrimSpace(raw)
	if !isSet(raw) {
		return nil, nil
	}
	if raw[0] == '"' {
		var mode string
		if err := json.Unmarshal(raw, &mode); err != nil {
			return nil, convertor.ParamErrorf("tool_choice", "tool_choice must be a string or an object")
		}
		return &openai.ToolChoice{Mode: mode}, nil
	}
	var obj struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, convertor.ParamErrorf("tool_choice", "tool_choice must be a string or an object")
	}
	switch {
	case obj.Type == "function":
		return &openai.ToolChoice{Mode: "function", Name: obj.Name}, nil
	case builtinTools[obj.Type] != "":
		return nil, convertor.ParamErrorf("tool_choice.type", "tool_choice names the built-in tool %q, which is not supported: Claude on Bedrock runs no OpenAI-hosted tools", obj.Type)
	}
	return nil, convertor.ParamErrorf("tool_choice.type", "tool_choice type %q is not supported: use \"none\", \"auto\", \"required\" or {\"type\":\"function\",\"name\":...}", obj.Type)
}

// addItem appends the chat message of one input item. Reasoning items are
// dropped: their text is not signed, and Bedrock takes thinking back only
// with its signature, which the gateway keeps itself by tool call id.
func (m *ResponsesMapping) addItem(out *openai.ChatRequest, it *openai.Item, param string) error {
	var msg openai.Message
	switch it.Type {
	case "", openai.ItemMessage:
		var err error
		if msg, err = itemMessage(it, param); err != nil {
			return err
		}
	case openai.ItemFunctionCall:
		msg = openai.Message{Role: "assistant", ToolCalls: []openai.ToolCall{{
			ID: it.CallID, Type: "function", Function: openai.FunctionCall{Name: it.Name, Arguments: it.Arguments},
		}}}
	case openai.ItemFunctionCallOutput:
		msg = openai.Message{Role: "tool", ToolCallID: it.CallID}
		if it.Output != nil {
			c, err := itemContent(it.Output, param+".output")
			if err != nil {
				return err
			}
			msg.Content = c
		}
	case openai.ItemReasoning:
		return nil
	case "item_reference":
		return convertor.ParamErrorf(param+".type", "item references are not supported; send the item itself, or continue with previous_response_id")
	default:
		return convertor.ParamErrorf(param+".type", "input item type %q is not supported: send messages, function_call, function_call_output and reasoning items", it.Type)
	}
	out.Messages = append(out.Messages, msg)
	m.sources = append(m.sources, source{param: param, output: it.Type == openai.ItemFunctionCallOutput})
	return nil
}

// itemMessage maps a message item; its role is checked by the converter.
func itemMessage(it *openai.Item, param string) (openai.Message, error) {
	msg := openai.Message{Role: it.Role}
	if it.Content == nil {
		return msg, nil
	}
	c, err := itemContent(it.Content, param+".content")
	if err != nil {
		return msg, err
	}
	msg.Content = c
	return msg, nil
}

// itemContent maps content parts onto chat parts: input_text and
// output_text to text, input_image to image_url, refusal to refusal.
func itemContent(c *openai.ItemContent, param string) (*openai.Content, error) {
	if !c.IsParts {
		return &openai.Content{Text: c.Text}, nil
	}
	out := &openai.Content{IsParts: true, Parts: make([]openai.ContentPart, 0, len(c.Parts))}
	for j, p := range c.Parts {
		pp := indexParam(param, j)
		switch p.Type {
		case "input_text", "output_text", "text":
			out.Parts = append(out.Parts, openai.ContentPart{Type: "text", Text: p.Text})
		case "input_image":
			if p.FileID != "" {
				return nil, convertor.ParamErrorf(pp+".file_id", "images by file_id are not supported: the gateway has no file storage; send the image as a data URL or an https URL in image_url")
			}
			out.Parts = append(out.Parts, openai.ContentPart{Type: "image_url", ImageURL: &openai.ImageURL{URL: p.ImageURL, Detail: p.Detail}})
		case "refusal":
			out.Parts = append(out.Parts, openai.ContentPart{Type: "refusal", Refusal: p.Refusal})
		case "input_file":
			return nil, convertor.ParamErrorf(pp+".type", "input_file parts are not supported: Claude on Bedrock reads text and images here; send the file's text as input_text")
		default:
			return nil, convertor.ParamErrorf(pp+".type", "content part type %q is not supported: send input_text or input_image", p.Type)
		}
	}
	return out, nil
}

// chatParams are the chat request's top-level fields whose Responses name
// differs.
var chatParams = []struct{ chat, responses string }{
	{"max_completion_tokens", "max_output_tokens"},
	{"max_tokens", "max_output_tokens"},
	{"response_format.json_schema", "text.format"},
	{"response_format", "text.format"},
	{"reasoning_effort", "reasoning.effort"},
	{"verbosity", "text.verbosity"},
}

// Adjustments renames the fields of the adjustments the converter made,
// as Error does for errors.
func (m *ResponsesMapping) Adjustments(adj []Adjustment) []Adjustment {
	if m == nil || len(adj) == 0 {
		return adj
	}
	out := make([]Adjustment, len(adj))
	for i, a := range adj {
		a.Param = m.param(a.Param)
		out[i] = a
	}
	return out
}

// callIDWords turn the chat converter's words about tool call ids into
// the Responses API's.
var callIDWords = strings.NewReplacer(
	"tool_call_id", "call_id",
	"a tool call of an earlier assistant message", "an earlier function_call item",
	"on tool messages", "on function_call_output items",
)

// Error renames the chat fields in a conversion error to the Responses
// request's: messages[i] becomes the input item it came from, tools[i]
// loses the function level, and the renamed top-level fields take their
// Responses names, in the param and in the message. Other errors are
// returned as they are.
func (m *ResponsesMapping) Error(err error) error {
	var e *convertor.Error
	if m == nil || !errors.As(err, &e) || e.Param == "" {
		return err
	}
	param := m.param(e.Param)
	if param == e.Param {
		return err
	}
	c := *e
	c.Param = param
	c.Message = strings.ReplaceAll(e.Message, e.Param, param)
	if strings.HasSuffix(param, ".call_id") {
		// The chat converter speaks of tool messages and assistant tool
		// calls; here they are items.
		c.Message = callIDWords.Replace(c.Message)
	}
	return &c
}

// param renames one chat field path.
func (m *ResponsesMapping) param(p string) string {
	if rest, ok := strings.CutPrefix(p, "messages["); ok {
		n, tail, ok := strings.Cut(rest, "]")
		i, err := strconv.Atoi(n)
		if !ok || err != nil || i < 0 || i >= len(m.sources) {
			return "input"
		}
		src := m.sources[i].param
		if m.sources[i].output {
			tail = strings.Replace(tail, ".content", ".output", 1)
		}
		switch {
		case strings.HasPrefix(tail, ".tool_calls[0].function."):
			return src + "." + strings.TrimPrefix(tail, ".tool_calls[0].function.")
		case strings.HasPrefix(tail, ".tool_calls"):
			return src
		case tail == ".tool_call_id":
			return src + ".call_id"
		case (strings.HasPrefix(tail, ".content") || strings.HasPrefix(tail, ".output")) && src != "input" && src != "instructions" && src != "previous_response_id":
			return src + tail
		}
		return src
	}
	if rest, ok := strings.CutPrefix(p, "tools["); ok {
		return "tools[" + strings.Replace(rest, "].function.", "].", 1)
	}
	if p == "tool_choice.function.name" {
		return "tool_choice.name"
	}
	for _, r := range chatParams {
		if p == r.chat || strings.HasPrefix(p, r.chat+".") {
			return r.responses + strings.TrimPrefix(p, r.chat)
		}
	}
	return p
}
