package convert

import (
	"strings"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

// requestConverter carries what one conversion needs across messages, tools
// and sampling. It lives for one call of ChatRequestToConverse.
type requestConverter struct {
	req  *openai.ChatRequest
	opts *Options
	caps convertor.Capabilities

	// thinking is the extended-thinking plan decided from the request.
	thinking thinkingPlan
	// flatten is set when no toolConfig is sent: Bedrock refuses toolUse
	// and toolResult blocks without one, so history tool calls and results
	// are written as text instead.
	flatten bool
	// images counts image blocks so far, against Bedrock's per-request cap.
	images int
	// callIDs are the tool call ids of assistant messages seen so far, for
	// tool messages to refer to.
	callIDs map[string]bool
	// adjusted are the changes made to fields Claude would refuse as sent.
	adjusted []Adjustment
	// oneToolCall asks Claude for at most one tool call in its turn
	// (parallel_tool_calls false).
	oneToolCall bool
}

// ChatRequestToConverse maps an OpenAI chat request onto a Converse request.
// Anything Converse cannot express yields an error with code
// convertor.EInvalid whose Param names the field at fault in OpenAI's form.
// Fields Claude would refuse as sent but can serve with a close value are
// changed instead, unless opts.StrictParams; adjusted lists those changes
// in the order they were made, for the gateway to report. A nil opts means
// every feature on and the capabilities of an unknown model, which leaves
// most limits to Bedrock.
func ChatRequestToConverse(req *openai.ChatRequest, opts *Options) (out *bedrock.ConverseRequest, adjusted []Adjustment, err error) {
	if req == nil {
		return nil, nil, convertor.Errorf(convertor.EInvalid, "the request body is required")
	}
	if opts == nil {
		opts = &Options{Features: AllFeatures, Capabilities: convertor.CapabilitiesFor("")}
	}
	c := &requestConverter{req: req, opts: opts, caps: opts.Capabilities}
	if out, err = c.convert(); err != nil {
		return nil, nil, err
	}
	return out, c.adjusted, nil
}

// convert fills the Converse request field by field. Checks run in a fixed
// order so that a request with several faults always gets the same error.
func (c *requestConverter) convert() (*bedrock.ConverseRequest, error) {
	if err := checkUnsupported(c.req); err != nil {
		return nil, err
	}
	if c.req.Model == "" {
		return nil, convertor.ParamErrorf("model", "model is required")
	}
	if len(c.req.Messages) == 0 {
		return nil, convertor.ParamErrorf("messages", "messages must contain at least one message")
	}
	if err := checkCacheTTL(c.req); err != nil {
		return nil, err
	}
	if c.req.Context1M && !c.caps.Context1M {
		return nil, convertor.ParamErrorf("context_1m", "context_1m: %s has no 1M-token context window; Claude Sonnet 4 and 4.5 have one", c.req.Model)
	}
	var err error
	if c.thinking, err = thinkingFor(c.req, c.opts); err != nil {
		return nil, err
	}
	out := &bedrock.ConverseRequest{}
	if out.ToolConfig, err = c.toolConfig(); err != nil {
		return nil, err
	}
	c.flatten = out.ToolConfig == nil
	if out.System, out.Messages, err = c.messages(); err != nil {
		return nil, err
	}
	if out.InferenceConfig, err = c.inferenceConfig(); err != nil {
		return nil, err
	}
	if err = c.verbosity(); err != nil {
		return nil, err
	}
	if out.AdditionalModelRequestFields, err = c.additionalFields(out.ToolConfig); err != nil {
		return nil, err
	}
	if out.OutputConfig, err = c.outputConfig(&out.System); err != nil {
		return nil, err
	}
	out.RequestMetadata = requestMetadata(c.req.User, c.req.SafetyIdentifier)
	return out, nil
}

// RemoteImageURLs returns the distinct https image URLs the request refers
// to, in order of appearance, for the gateway to fetch before conversion.
// Only user messages are searched: images elsewhere are refused anyway, and
// fetching them would be wasted I/O.
func RemoteImageURLs(req *openai.ChatRequest) []string {
	if req == nil {
		return nil
	}
	var urls []string
	seen := map[string]bool{}
	for _, m := range req.Messages {
		if m.Role != "user" || m.Content == nil {
			continue
		}
		for _, p := range m.Content.Parts {
			if p.Type != "image_url" || p.ImageURL == nil || !isHTTPS(p.ImageURL.URL) || seen[p.ImageURL.URL] {
				continue
			}
			seen[p.ImageURL.URL] = true
			urls = append(urls, p.ImageURL.URL)
		}
	}
	return urls
}

// ToolCallIDs returns the distinct ids of the tool calls made by assistant
// messages in the request, in order, for the gateway to look up their
// reasoning blocks.
func ToolCallIDs(req *openai.ChatRequest) []string {
	if req == nil {
		return nil
	}
	var ids []string
	seen := map[string]bool{}
	for _, m := range req.Messages {
		if m.Role != "assistant" {
			continue
		}
		for _, tc := range m.ToolCalls {
			if tc.ID == "" || seen[tc.ID] {
				continue
			}
			seen[tc.ID] = true
			ids = append(ids, tc.ID)
		}
	}
	return ids
}

// isHTTPS reports whether u names an https resource; the scheme is
// case-insensitive, as URLs are.
func isHTTPS(u string) bool {
	return len(u) > len("https://") && strings.EqualFold(u[:len("https://")], "https://")
}
