package e2e

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway"
)

// longSystemPrompt is above Claude Sonnet 4.5's 1,024-token cache minimum
// (at four bytes a token) so the gateway places a cache point after it.
var longSystemPrompt = strings.Repeat("You are a careful assistant who answers briefly. ", 120)

// cacheParams is a request whose system prompt the gateway caches.
func cacheParams(question string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model: model,
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage(longSystemPrompt),
			openai.UserMessage(question),
		},
	}
}

// cacheWriteTokens reads prompt_tokens_details.cache_write_tokens, the
// gateway's own field, from a usage object's raw JSON.
func cacheWriteTokens(t *testing.T, raw string) int {
	t.Helper()
	var u struct {
		Details struct {
			CacheWrite int `json:"cache_write_tokens"`
		} `json:"prompt_tokens_details"`
	}
	if err := json.Unmarshal([]byte(raw), &u); err != nil {
		t.Fatalf("usage %s: %v", raw, err)
	}
	return u.Details.CacheWrite
}

// TestCache_HitThroughSDK sends one prompt three times through the official
// SDK: the first writes the cache, the second (not streamed) and the third
// (streamed) read it back, and usage says so in cached_tokens.
func TestCache_HitThroughSDK(t *testing.T) {
	t.Parallel()
	sink := &captureSink{}
	s := startGateway(t, startEmulator(t), nil, gateway.Deps{Usage: sink})
	ctx := context.Background()

	first, err := s.client.Chat.Completions.New(ctx, cacheParams("What is 2 + 2?"))
	if err != nil {
		t.Fatal(err)
	}
	written := cacheWriteTokens(t, first.Usage.RawJSON())
	if written < 1024 || first.Usage.PromptTokensDetails.CachedTokens != 0 {
		t.Fatalf("first request usage = %s; want a cache write of the system prompt and no read", first.Usage.RawJSON())
	}

	// Same system prompt, another question: the system prompt is read
	// back (the first request's cache point at the end of its
	// conversation also covered its question, which differs here).
	second, err := s.client.Chat.Completions.New(ctx, cacheParams("What is 3 + 3?"))
	if err != nil {
		t.Fatal(err)
	}
	read := second.Usage.PromptTokensDetails.CachedTokens
	if read < 1024 || read >= int64(written) {
		t.Errorf("non-streamed cached_tokens = %d, want the system prompt: at least 1024 and below the first write, %d", read, written)
	}
	if second.Usage.PromptTokens <= read {
		t.Errorf("prompt_tokens = %d, want it to include the cached tokens and the question", second.Usage.PromptTokens)
	}

	p := cacheParams("What is 4 + 4?")
	p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	_, chunks := collect(t, s, p)
	last := chunks[len(chunks)-1]
	if got := last.Usage.PromptTokensDetails.CachedTokens; got != read {
		t.Errorf("streamed cached_tokens = %d, want %d; usage chunk %s", got, read, last.RawJSON())
	}

	// The second request asks the same question again: its whole prompt
	// is a cache hit now.
	again, err := s.client.Chat.Completions.New(ctx, cacheParams("What is 3 + 3?"))
	if err != nil {
		t.Fatal(err)
	}
	if w := cacheWriteTokens(t, again.Usage.RawJSON()); again.Usage.PromptTokensDetails.CachedTokens != read+int64(cacheWriteTokens(t, second.Usage.RawJSON())) || w != 0 {
		t.Errorf("repeated request usage = %s, want all of its prompt read from the cache", again.Usage.RawJSON())
	}

	evs := sink.waitFor(t, 4)
	slices.SortFunc(evs, func(a, b *convertor.UsageEvent) int { return a.Time.Compare(b.Time) })
	if evs[0].CacheWriteTokens != int64(written) || evs[0].CacheWrite1hTokens != 0 || evs[1].CacheReadTokens != read || evs[2].CacheReadTokens != read || !evs[2].Streamed {
		t.Errorf("events = %+v %+v %+v; want a 5-minute write of %d, then reads of %d", evs[0], evs[1], evs[2], written, read)
	}
}

// TestCache_OneHourAndOff: prompt_cache_ttl "1h" makes the write a 1-hour
// one, in the response and in the usage event; "none" sends no cache
// point, so nothing is written or read.
func TestCache_OneHourAndOff(t *testing.T) {
	t.Parallel()
	sink := &captureSink{}
	s := startGateway(t, startEmulator(t), nil, gateway.Deps{Usage: sink})
	ctx := context.Background()

	off, err := s.client.Chat.Completions.New(ctx, cacheParams("uncached"), option.WithJSONSet("prompt_cache_ttl", "none"))
	if err != nil {
		t.Fatal(err)
	}
	if w := cacheWriteTokens(t, off.Usage.RawJSON()); w != 0 || off.Usage.PromptTokensDetails.CachedTokens != 0 {
		t.Errorf("prompt_cache_ttl none: usage = %s, want no cache tokens", off.Usage.RawJSON())
	}
	hour, err := s.client.Chat.Completions.New(ctx, cacheParams("cached for an hour"), option.WithJSONSet("prompt_cache_ttl", "1h"))
	if err != nil {
		t.Fatal(err)
	}
	written := cacheWriteTokens(t, hour.Usage.RawJSON())
	if written < 1024 {
		t.Fatalf("prompt_cache_ttl 1h: usage = %s, want a cache write", hour.Usage.RawJSON())
	}
	evs := sink.waitFor(t, 2)
	slices.SortFunc(evs, func(a, b *convertor.UsageEvent) int { return a.Time.Compare(b.Time) })
	if evs[0].CacheWriteTokens != 0 || evs[1].CacheWriteTokens != int64(written) || evs[1].CacheWrite1hTokens != int64(written) {
		t.Errorf("events = %+v %+v; want no cache then %d tokens written for 1 hour", evs[0], evs[1], written)
	}

	_, err = s.client.Chat.Completions.New(ctx, cacheParams("bad ttl"), option.WithJSONSet("prompt_cache_ttl", "2h"))
	wantAPIError(t, err, 400, "")
}

// TestCache_ExplicitCacheControl: a cache_control on a user content part,
// as Anthropic-style clients send it, ends the cached prefix there.
func TestCache_ExplicitCacheControl(t *testing.T) {
	t.Parallel()
	s := startStack(t, nil)
	ctx := context.Background()
	doc := strings.Repeat("A long reference document about the weather in many cities. ", 100)
	body := func(q string) option.RequestOption {
		return option.WithJSONSet("messages", []map[string]any{{
			"role": "user",
			"content": []map[string]any{
				{"type": "text", "text": doc, "cache_control": map[string]any{"type": "ephemeral"}},
				{"type": "text", "text": q},
			},
		}})
	}
	first, err := s.client.Chat.Completions.New(ctx, userParams("x"), body("Is it sunny?"))
	if err != nil {
		t.Fatal(err)
	}
	written := cacheWriteTokens(t, first.Usage.RawJSON())
	if written == 0 {
		t.Fatalf("usage = %s, want the document written to the cache", first.Usage.RawJSON())
	}
	second, err := s.client.Chat.Completions.New(ctx, userParams("x"), body("Is it raining?"))
	if err != nil {
		t.Fatal(err)
	}
	if got := second.Usage.PromptTokensDetails.CachedTokens; got != int64(written) {
		t.Errorf("cached_tokens = %d, want %d: the prefix up to the cache_control part", got, written)
	}
}
