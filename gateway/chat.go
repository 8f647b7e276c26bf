package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/convert"
	"github.com/openai-api-convertor/convertor/gateway/openai"
	"github.com/openai-api-convertor/convertor/internal/fastjson"
)

// handleChat serves POST /v1/chat/completions.
func (s *Server) handleChat(ctx *fasthttp.RequestCtx, x *exchange) {
	if err := s.admitKey(ctx, x); err != nil {
		s.writeError(ctx, x, err)
		return
	}
	req, err := parseChatRequest(ctx.PostBody())
	if err != nil {
		s.writeError(ctx, x, err)
		return
	}
	x.stream = req.Stream
	s.serveConverse(ctx, x, req, &chatFormat{meta: convert.Meta{
		ID:           newCompletionID(),
		Model:        req.Model,
		Created:      x.start.Unix(),
		IncludeUsage: req.StreamOptions != nil && req.StreamOptions.IncludeUsage,
	}})
}

// apiFormat is what differs between the APIs served over Converse (chat
// completions, Responses): how conversion errors name the client's
// fields, and how answers are written. Everything else, admission,
// limits, the Bedrock call and usage, is the same for both.
type apiFormat interface {
	// convertError names the client's own fields in a conversion error,
	// and convertAdjustments in the adjustments reported.
	convertError(err error) error
	convertAdjustments(adj []convert.Adjustment) []convert.Adjustment
	// body returns the body of a non-streamed answer.
	body(resp *bedrock.ConverseResponse) ([]byte, error)
	// stream returns the writer of a streamed answer.
	stream() streamFormat
}

// chatFormat writes chat completions.
type chatFormat struct{ meta convert.Meta }

func (f *chatFormat) convertError(err error) error { return err }

func (f *chatFormat) convertAdjustments(adj []convert.Adjustment) []convert.Adjustment { return adj }

func (f *chatFormat) body(resp *bedrock.ConverseResponse) ([]byte, error) {
	b, err := fastjson.Marshal(convert.ConverseResponseToChat(resp, f.meta))
	if err != nil {
		return nil, fmt.Errorf("marshal chat response: %w", err)
	}
	return b, nil
}

func (f *chatFormat) stream() streamFormat { return chatStream{convert.NewStream(f.meta)} }

// serveConverse serves a request the client sent in any API, as the chat
// request the converter takes: it resolves the model, checks the key may
// use it, converts, admits the request against the key's limits, calls
// Bedrock and answers in f's format.
func (s *Server) serveConverse(ctx *fasthttp.RequestCtx, x *exchange, req *openai.ChatRequest, f apiFormat) {
	route, err := s.deps.Routes.ResolveRoute(s.baseCtx, req.Model)
	if err != nil {
		s.writeError(ctx, x, err)
		return
	}
	x.model, x.bedrockModel = req.Model, route.BedrockModelID
	if x.key != nil && !x.key.AllowsModel(req.Model) {
		s.writeError(ctx, x, &convertor.Error{Code: convertor.EForbidden, Reason: "model_not_allowed", Param: "model",
			Message: fmt.Sprintf("This API key may not use the model %s.", quoteForMessage(req.Model))})
		return
	}
	if err := s.checkPriced(x); err != nil {
		x.refused = true
		s.writeError(ctx, x, err)
		return
	}

	// Upstream work hangs off the server's base context, not the request:
	// a stream outlives the handler, and Shutdown must be able to end it.
	upCtx, cancel := context.WithTimeout(s.baseCtx, s.cfg.UpstreamTimeout)
	// Images are downloaded only once the request is admitted: conversion
	// (which enforces the image cap) and the admission estimate need their
	// number, not their bytes, and a refused request must cost no fetch.
	images, blocks := s.remoteImages(req)
	creq, adjusted, err := s.chatRequestToConverse(upCtx, x, req, route, blocks)
	if err != nil {
		err = f.convertError(err)
	} else {
		s.reportAdjustments(ctx, x, f.convertAdjustments(adjusted))
		err = s.admit(ctx, x, creq)
	}
	if err == nil && len(images) > 0 {
		err = s.fetchImagesWhileConnected(ctx, x, upCtx, images)
	}
	if err != nil {
		cancel()
		s.writeError(ctx, x, err)
		return
	}
	if req.Stream {
		s.startStream(ctx, x, upCtx, cancel, creq, f.stream())
		return
	}
	defer cancel()
	s.converse(ctx, x, upCtx, creq, f)
}

// chatRequestToConverse gathers what conversion needs from the world (the
// reasoning of earlier tool calls) and converts. The request refers to
// images, the blocks of its https image URLs, which are filled in later.
func (s *Server) chatRequestToConverse(ctx context.Context, x *exchange, req *openai.ChatRequest, route convertor.Route, images map[string]*bedrock.ImageBlock) (*bedrock.ConverseRequest, []convert.Adjustment, error) {
	opts := convert.Options{
		Capabilities: convertor.CapabilitiesFor(route.BedrockModelID),
		Features:     s.cfg.Features,
		StrictParams: s.cfg.StrictParams,
		Images:       images,
	}
	if ids := convert.ToolCallIDs(req); len(ids) > 0 {
		opts.Reasoning = s.deps.Reasoning.Get(ctx, ids)
	}
	creq, adjusted, err := convert.ChatRequestToConverse(req, &opts)
	if err != nil {
		return nil, nil, err
	}
	if err := convert.PlaceCachePoints(creq, opts.Capabilities, s.cacheTTL(x, req.PromptCacheTTL)); err != nil {
		return nil, nil, err
	}
	return creq, adjusted, nil
}

// cacheTTL is the prompt-cache TTL of a request (convert.ResolveCacheTTL)
// from the gateway's settings, the key's and the request's.
func (s *Server) cacheTTL(x *exchange, request string) string {
	key := ""
	if x.key != nil {
		key = x.key.PromptCacheTTL
	}
	return convert.ResolveCacheTTL(s.cfg.PromptCaching, s.cfg.PromptCacheTTL, key, request)
}

// headerAdjusted tells the client which request fields the gateway changed
// because Claude would have refused them as sent (convert.Adjustment); its
// value is convert.FormatAdjustments'. Set on the response whatever its
// outcome, streamed or not, since the headers go out before any event.
const headerAdjusted = "x-convertor-adjusted"

// reportAdjustments sets the adjusted header and keeps the adjustments for
// the request's access line.
func (s *Server) reportAdjustments(ctx *fasthttp.RequestCtx, x *exchange, adjusted []convert.Adjustment) {
	if len(adjusted) == 0 {
		return
	}
	x.adjusted = convert.FormatAdjustments(adjusted)
	ctx.Response.Header.Set(headerAdjusted, x.adjusted)
}

// converse serves a non-streamed answer.
func (s *Server) converse(ctx *fasthttp.RequestCtx, x *exchange, upCtx context.Context, creq *bedrock.ConverseRequest, f apiFormat) {
	t0 := time.Now()
	resp, err := s.deps.Converser.Converse(upCtx, x.bedrockModel, creq)
	x.upstream = true
	s.metrics.observeUpstream(x.model, false, time.Since(t0), bedrock.Attempts(err), convertor.ErrorCode(err))
	if err != nil {
		s.writeError(ctx, x, err)
		return
	}
	x.usage = resp.Usage
	if msg := resp.Output.Message; msg != nil {
		if m := convert.ReasoningByToolCall(msg); len(m) > 0 {
			s.deps.Reasoning.Put(s.baseCtx, m)
		}
	}
	body, err := f.body(resp)
	if err != nil {
		s.writeError(ctx, x, err)
		return
	}
	x.status = fasthttp.StatusOK
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType(contentTypeJSON)
	ctx.Response.SetBodyRaw(body)
}

// parseChatRequest decodes and checks the fields every request needs. A
// decode error names the field at fault, as OpenAI's own errors do.
func parseChatRequest(body []byte) (*openai.ChatRequest, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, convertor.Errorf(convertor.EInvalid,
			"The request body is empty. Send a JSON object with at least 'model' and 'messages'.")
	}
	req := new(openai.ChatRequest)
	if err := fastjson.Unmarshal(body, req); err != nil {
		return nil, jsonDecodeError(body, err)
	}
	if req.Model == "" {
		return nil, convertor.ParamErrorf("model", "Missing required parameter: 'model'.")
	}
	if req.Messages == nil {
		return nil, convertor.ParamErrorf("messages", "Missing required parameter: 'messages'.")
	}
	if len(req.Messages) == 0 {
		return nil, convertor.ParamErrorf("messages",
			"Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.")
	}
	return req, nil
}

// jsonDecodeError turns an encoding/json error into a 400 that says where
// the body is wrong: the field for a type mismatch, the offset for a syntax
// error.
func jsonDecodeError(body []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return convertor.Errorf(convertor.EInvalid,
			"We could not parse the JSON body of your request: %s (at byte offset %d). The API expects a JSON object.", se.Error(), se.Offset)
	case errors.As(err, &te) && te.Field == "":
		return convertor.Errorf(convertor.EInvalid,
			"The request body must be a JSON object, but got %s.", jsonValueName(te.Value))
	case errors.As(err, &te):
		param := indexedParam(body, te.Field)
		e := convertor.ParamErrorf(param, "Invalid type for '%s': expected %s, but got %s instead.",
			param, jsonTypeName(te.Type), jsonValueName(te.Value))
		// OpenAI's code for this error, which clients may branch on.
		e.Reason = "invalid_type"
		return e
	}
	return convertor.Errorf(convertor.EInvalid, "We could not parse the JSON body of your request: %s.", err.Error())
}

// indexedParam adds the element index encoding/json leaves out of a field
// path inside messages or tools ("messages.content" becomes
// "messages[2].content"), as OpenAI and the converter name fields. It
// decodes again, which only the error path pays for.
func indexedParam(body []byte, field string) string {
	name, rest, ok := strings.Cut(field, ".")
	if !ok {
		return field
	}
	var decode func([]byte) error
	switch name {
	case "messages":
		decode = func(b []byte) error { return json.Unmarshal(b, new(openai.Message)) }
	case "tools":
		decode = func(b []byte) error { return json.Unmarshal(b, new(openai.Tool)) }
	default:
		return field
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return field
	}
	var elems []json.RawMessage
	if json.Unmarshal(top[name], &elems) != nil {
		return field
	}
	for i, e := range elems {
		if err := decode(e); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) && te.Field != "" {
				rest = te.Field
			}
			return fmt.Sprintf("%s[%d].%s", name, i, rest)
		}
	}
	return field
}

// jsonTypeName names the JSON form a Go type decodes from.
func jsonTypeName(t reflect.Type) string {
	if t == nil {
		return "a valid value"
	}
	switch t {
	case reflect.TypeFor[openai.Content]():
		return "a string or an array of content parts"
	case reflect.TypeFor[openai.Stop]():
		return "a string or an array of strings"
	case reflect.TypeFor[openai.ToolChoice]():
		return "a string or an object"
	case reflect.TypeFor[openai.ResponseInput]():
		return "a string or an array of input items"
	case reflect.TypeFor[openai.ItemContent]():
		return "a string or an array of content parts"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonTypeName(t.Elem())
	}
	return "a valid value"
}

// jsonValueName names the JSON value encoding/json reported.
func jsonValueName(v string) string {
	switch v {
	case "string", "null":
		return "a " + v
	case "object", "array":
		return "an " + v
	case "bool":
		return "a boolean"
	case "":
		return "a value of another type"
	}
	// "number", or "number 1.5" for a fraction given to an integer field.
	return "a " + v
}
