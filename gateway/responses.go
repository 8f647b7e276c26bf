package gateway

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/valyala/fasthttp"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/convert"
	"github.com/openai-api-convertor/convertor/gateway/openai"
	"github.com/openai-api-convertor/convertor/internal/fastjson"
)

// handleResponses serves POST /v1/responses: the request becomes the chat
// request the converter takes (convert.ResponsesRequestToChat) and is
// served as chat completions are, answered in the Responses API's shape.
func (s *Server) handleResponses(ctx *fasthttp.RequestCtx, x *exchange) {
	if err := s.admitKey(ctx, x); err != nil {
		s.writeError(ctx, x, err)
		return
	}
	req, err := parseResponsesRequest(ctx.PostBody())
	if err != nil {
		s.writeError(ctx, x, err)
		return
	}
	x.stream = req.Stream
	var history []openai.Item
	if req.PreviousResponseID != "" {
		if history, err = s.responseHistory(x, req.PreviousResponseID); err != nil {
			s.writeError(ctx, x, err)
			return
		}
	}
	chat, mapping, err := convert.ResponsesRequestToChat(req, history)
	if err != nil {
		s.writeError(ctx, x, err)
		return
	}
	store := s.responses != nil && (req.Store == nil || *req.Store)
	meta := convert.Meta{ID: newResponseID(), Model: req.Model, Created: x.start.Unix()}
	s.serveConverse(ctx, x, chat, &responsesFormat{
		s: s, x: x, req: req, mapping: mapping, history: history, store: store,
		base: convert.NewResponse(req, meta, store),
	})
}

// newResponseID returns a fresh response id.
func newResponseID() string { return "resp_" + rand.Text() }

// responseHistory returns the conversation previous_response_id ends:
// the items a follow-up continues.
func (s *Server) responseHistory(x *exchange, id string) ([]openai.Item, error) {
	if s.responses == nil {
		return nil, convertor.ParamErrorf("previous_response_id",
			"previous_response_id is not available: this gateway does not store responses (RESPONSES_STORE_ENTRIES=0); send the whole conversation as input instead")
	}
	r, ok, err := s.responses.Get(s.baseCtx, storeKeyID(x), id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &convertor.Error{Code: convertor.ENotFound, Reason: "previous_response_not_found", Param: "previous_response_id",
			Message: fmt.Sprintf("Previous response with id '%s' not found.", quoteForMessage(id))}
	}
	var items []openai.Item
	if err := json.Unmarshal(r.Items, &items); err != nil {
		return nil, fmt.Errorf("decode stored response %s: %w", id, err)
	}
	return items, nil
}

// storeKeyID is whose responses a request reads and writes: its key's,
// or everyone's together when keys are not required.
func storeKeyID(x *exchange) string {
	if x.keyID == "" {
		return AnonymousKeyID
	}
	return x.keyID
}

// parseResponsesRequest decodes and checks the fields every request needs.
func parseResponsesRequest(body []byte) (*openai.ResponsesRequest, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, convertor.Errorf(convertor.EInvalid,
			"The request body is empty. Send a JSON object with at least 'model' and 'input'.")
	}
	req := new(openai.ResponsesRequest)
	if err := fastjson.Unmarshal(body, req); err != nil {
		return nil, jsonDecodeError(body, err)
	}
	if req.Model == "" {
		return nil, convertor.ParamErrorf("model", "Missing required parameter: 'model'.")
	}
	return req, nil
}

// responsesFormat answers in the Responses API's shape and keeps the
// response when the request asked for storing.
type responsesFormat struct {
	s       *Server
	x       *exchange
	req     *openai.ResponsesRequest
	mapping *convert.ResponsesMapping
	history []openai.Item
	store   bool
	base    openai.Response
}

func (f *responsesFormat) convertError(err error) error { return f.mapping.Error(err) }

func (f *responsesFormat) convertAdjustments(adj []convert.Adjustment) []convert.Adjustment {
	return f.mapping.Adjustments(adj)
}

func (f *responsesFormat) body(resp *bedrock.ConverseResponse) ([]byte, error) {
	r := convert.ConverseResponseToResponses(resp, f.base)
	b, err := fastjson.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("marshal response: %w", err)
	}
	f.keep(r, b)
	return b, nil
}

func (f *responsesFormat) stream() streamFormat {
	return &responsesStream{ResponsesStream: convert.NewResponsesStream(f.base), f: f}
}

// keep stores a finished response with the conversation it ends: the
// history it continued, its input and its output. Instructions are not
// part of it: a follow-up sends its own, as with OpenAI.
func (f *responsesFormat) keep(r *openai.Response, body []byte) {
	if !f.store {
		return
	}
	items := make([]openai.Item, 0, len(f.history)+len(r.Output)+1)
	items = append(items, f.history...)
	if in := f.req.Input; in != nil && in.IsItems {
		items = append(items, in.Items...)
	} else if in != nil {
		items = append(items, openai.Item{Type: openai.ItemMessage, Role: "user", Content: &openai.ItemContent{Text: in.Text}})
	}
	items = append(items, r.Output...)
	b, err := json.Marshal(items)
	if err != nil {
		f.s.log.Error("response not stored", "request_id", f.x.id, "err", err)
		return
	}
	if err := f.s.responses.Put(f.s.baseCtx, storeKeyID(f.x), &StoredResponse{ID: r.ID, Body: body, Items: b}); err != nil {
		// The client has its answer; only a follow-up by id will miss it.
		f.s.log.Warn("response not stored", "request_id", f.x.id, "err", err)
	}
}

// responsesStream writes Responses events and keeps the response once the
// stream ended well.
type responsesStream struct {
	*convert.ResponsesStream
	f *responsesFormat
}

func (r *responsesStream) appendEvent(dst []byte, ev *bedrock.StreamEvent) []byte {
	return r.AppendEvents(dst, ev)
}

func (r *responsesStream) appendDone(dst []byte) []byte {
	dst = r.AppendDone(dst)
	if r.f.store {
		resp := r.Response()
		if b, err := json.Marshal(resp); err == nil {
			r.f.keep(resp, b)
		}
	}
	return dst
}

func (r *responsesStream) appendError(dst []byte, err error, requestID string) []byte {
	return r.AppendFailed(dst, &openai.NewError(err, requestID).Body.Error)
}

// handleResponseByID serves GET and DELETE /v1/responses/{id} over the
// key's own stored responses.
func (s *Server) handleResponseByID(ctx *fasthttp.RequestCtx, x *exchange, id string) {
	method := string(ctx.Method())
	if method != http.MethodGet && method != http.MethodHead && method != http.MethodDelete {
		ctx.Response.Header.Set("Allow", "GET, HEAD, DELETE, OPTIONS")
		s.writeWireError(ctx, x, http.StatusMethodNotAllowed, "invalid_request_error", "method_not_allowed",
			fmt.Sprintf("Method %s is not allowed for %s; use GET or DELETE.", quoteForMessage(x.method), quoteForMessage(x.path)))
		return
	}
	if err := s.authenticate(ctx, x); err != nil {
		s.writeError(ctx, x, err)
		return
	}
	notFound := &convertor.Error{Code: convertor.ENotFound, Reason: "response_not_found",
		Message: fmt.Sprintf("Response with id '%s' not found.", quoteForMessage(id))}
	if s.responses == nil {
		notFound.Message += " This gateway does not store responses (RESPONSES_STORE_ENTRIES=0)."
		s.writeError(ctx, x, notFound)
		return
	}
	var body []byte
	if method == http.MethodDelete {
		ok, err := s.responses.Delete(s.baseCtx, storeKeyID(x), id)
		if err != nil || !ok {
			s.writeError(ctx, x, cmp.Or(err, error(notFound)))
			return
		}
		body, _ = json.Marshal(openai.ResponseDeleted{ID: id, Object: "response.deleted", Deleted: true})
	} else {
		r, ok, err := s.responses.Get(s.baseCtx, storeKeyID(x), id)
		if err != nil || !ok {
			s.writeError(ctx, x, cmp.Or(err, error(notFound)))
			return
		}
		body = r.Body
	}
	x.status = http.StatusOK
	ctx.SetStatusCode(http.StatusOK)
	ctx.SetContentType(contentTypeJSON)
	ctx.Response.SetBody(body)
}
