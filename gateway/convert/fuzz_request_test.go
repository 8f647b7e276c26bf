package convert

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

// fuzzModels are the Bedrock models a fuzz input may target, covering every
// thinking style and the capability switches.
var fuzzModels = []string{
	defaultTestModel,
	"global.anthropic.claude-opus-4-6-v1",
	"us.anthropic.claude-3-5-haiku-20241022-v1:0",
	"us.anthropic.claude-sonnet-4-20250514-v1:0",
	"arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc",
}

// FuzzChatRequestToConverse decodes any bytes as a chat request and
// converts them: conversion never panics, and returns either an EInvalid
// error or a request that marshals, keeps Claude's sampling rules and
// reports its adjustments as a header value. sel picks the model (low
// bits), strict parameters (0x10) and switches features off (high bits).
func FuzzChatRequestToConverse(f *testing.F) {
	paths, err := filepath.Glob(filepath.Join("testdata", "chat", "*.request.json"))
	if err != nil {
		f.Fatal(err)
	}
	for i, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(i))
	}
	f.Fuzz(func(t *testing.T, body []byte, sel uint8) {
		var req openai.ChatRequest
		if err := json.Unmarshal(body, &req); err != nil {
			return
		}
		opts := fuzzOptions(&req, sel)
		out, adjusted, err := ChatRequestToConverse(&req, opts)
		if err != nil {
			var e *convertor.Error
			if !errors.As(err, &e) || e.Code != convertor.EInvalid {
				t.Fatalf("ChatRequestToConverse() error = %#v, want an EInvalid *convertor.Error", err)
			}
			if e.Message == "" {
				t.Fatalf("ChatRequestToConverse() error %#v has no message", e)
			}
			return
		}
		ttl := convertor.CacheTTL5m
		if sel&0x08 != 0 {
			ttl = convertor.CacheTTL1h
		}
		if err := PlaceCachePoints(out, opts.Capabilities, ttl); err != nil {
			if convertor.ErrorCode(err) != convertor.EInvalid {
				t.Fatalf("PlaceCachePoints() error = %v, want EInvalid", err)
			}
			return
		}
		checkCachePoints(t, out, opts.Capabilities)
		if _, err := json.Marshal(out); err != nil {
			t.Fatalf("json.Marshal(converted request) error = %v", err)
		}
		if len(out.Messages) == 0 || out.Messages[0].Role != bedrock.RoleUser {
			t.Fatalf("converted request does not start with a user turn: %+v", out.Messages)
		}
		for i := 1; i < len(out.Messages); i++ {
			if out.Messages[i].Role == out.Messages[i-1].Role {
				t.Fatalf("turns %d and %d share role %q", i-1, i, out.Messages[i].Role)
			}
		}
		checkSampling(t, out, opts)
		if opts.StrictParams && len(adjusted) > 0 {
			t.Fatalf("strict conversion adjusted %v", adjusted)
		}
		for _, a := range adjusted {
			if a.Param == "" || a.Action == "" || a.Reason == "" || strings.Contains(a.String(), AdjustmentSeparator) {
				t.Fatalf("adjustment %+v is incomplete or contains the separator", a)
			}
		}
		if h := FormatAdjustments(adjusted); !isHeaderText(h) {
			t.Fatalf("FormatAdjustments() = %q, not a header value", h)
		}
	})
}

// checkSampling fails unless the converted sampling values are ones Claude
// takes: temperature within 0 to 1, only 1 while thinking, top_p from 0.95
// while thinking, and not both where the model refuses both.
func checkSampling(t *testing.T, out *bedrock.ConverseRequest, opts *Options) {
	t.Helper()
	ic := out.InferenceConfig
	if ic == nil {
		return
	}
	thinking := bytes.Contains(out.AdditionalModelRequestFields, []byte(`"thinking"`))
	if tp := ic.Temperature; tp != nil && (*tp < 0 || *tp > 1 || thinking && *tp != 1) {
		t.Fatalf("temperature %g sent (thinking %v)", *tp, thinking)
	}
	if p := ic.TopP; p != nil && (*p < 0 || *p > 1 || thinking && *p < minThinkingTopP) {
		t.Fatalf("top_p %g sent (thinking %v)", *p, thinking)
	}
	if opts.Capabilities.TemperatureXorTopP && ic.Temperature != nil && ic.TopP != nil {
		t.Fatalf("temperature and top_p both sent to %s", opts.Capabilities.Family)
	}
}

// fuzzOptions builds options that exercise every path: the request's https
// images are "fetched" and its tool calls have saved reasoning.
func fuzzOptions(req *openai.ChatRequest, sel uint8) *Options {
	opts := &Options{
		Capabilities: convertor.CapabilitiesFor(fuzzModels[int(sel)%len(fuzzModels)]),
		Features:     Features{Vision: sel&0x20 == 0, ToolUse: sel&0x40 == 0, Thinking: sel&0x80 == 0},
		Images:       map[string]*bedrock.ImageBlock{},
		Reasoning:    map[string][]bedrock.ContentBlock{},
		StrictParams: sel&0x10 != 0,
	}
	for _, u := range RemoteImageURLs(req) {
		opts.Images[u] = &bedrock.ImageBlock{Format: "png", Source: bedrock.ImageSource{Bytes: []byte("\x89PNG\r\n\x1a\n")}}
	}
	for _, id := range ToolCallIDs(req) {
		opts.Reasoning[id] = []bedrock.ContentBlock{{ReasoningContent: &bedrock.ReasoningContent{
			ReasoningText: &bedrock.ReasoningText{Text: "thinking", Signature: "sig"},
		}}}
	}
	return opts
}

// checkCachePoints fails unless the cache points are ones Bedrock takes:
// none for a model without caching, at most four, none opening the system
// prompt or a turn, 1-hour ones only where the model has them.
func checkCachePoints(t *testing.T, out *bedrock.ConverseRequest, caps convertor.Capabilities) {
	t.Helper()
	n := 0
	check := func(cp *bedrock.CachePoint, first bool, at string) {
		n++
		if caps.CacheMinTokens == 0 || first || cp.Type != bedrock.CachePointDefault || (cp.TTL == convertor.CacheTTL1h && !caps.CacheTTL1h) {
			t.Fatalf("cache point %+v at %s (first %v) for %s", cp, at, first, caps.Family)
		}
	}
	if out.ToolConfig != nil {
		for i, tl := range out.ToolConfig.Tools {
			if tl.CachePoint != nil {
				check(tl.CachePoint, i == 0, "tools")
			}
		}
	}
	for i, b := range out.System {
		if b.CachePoint != nil {
			check(b.CachePoint, i == 0, "system")
		}
	}
	for _, m := range out.Messages {
		for j, b := range m.Content {
			if b.CachePoint != nil {
				check(b.CachePoint, j == 0, "messages")
			}
		}
	}
	if n > convertor.MaxCachePoints {
		t.Fatalf("%d cache points", n)
	}
}
