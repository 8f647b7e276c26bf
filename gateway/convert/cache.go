package convert

import (
	"slices"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

// CacheImageTokens is what an image counts for when deciding whether a
// prefix reaches a model's minimum cacheable size: the gateway may not
// hold the image's bytes yet (https images are fetched after conversion),
// and about 1,600 tokens is what Claude bills for a typical picture.
const CacheImageTokens = 1600

// ResolveCacheTTL decides the prompt-cache TTL of one request from the
// gateway's switch and default TTL (ENABLE_PROMPT_CACHING,
// PROMPT_CACHE_TTL), the key's setting and the request's
// (prompt_cache_ttl). It returns "5m", "1h", or convertor.CacheOff.
//
// Any of the three can turn caching off, and an off key is not turned
// back on by its requests: a key set to "none" is an operator's decision
// about what the key may spend. Otherwise the most specific TTL wins.
func ResolveCacheTTL(enabled bool, def, key, request string) string {
	if !enabled || key == convertor.CacheOff || request == convertor.CacheOff {
		return convertor.CacheOff
	}
	for _, ttl := range []string{request, key, def} {
		if ttl == convertor.CacheTTL5m || ttl == convertor.CacheTTL1h {
			return ttl
		}
	}
	return convertor.CacheTTL5m
}

// PlaceCachePoints applies the request's prompt-cache plan to a built
// Converse request, for chat completions and every other endpoint that
// builds one: cache points exist only for models that cache and when ttl
// is not convertor.CacheOff; each gets its TTL; and, when the client
// placed none itself (cache_control), automatic ones are added where the
// cached prefix reaches the model's minimum: at the end of the
// conversation so far, after the system prompt and after the tools, in
// that order of preference, at most convertor.MaxCachePoints in all.
//
// Bedrock caches the prefix tools → system → messages up to each cache
// point. The point at the end of the conversation is read back by the
// next turn, whose own point sits a few blocks later; the system and
// tools points keep paying when the conversation changes under them.
//
// ttl "1h" falls back to "5m" on models without 1-hour caching, which is
// cheaper and still caches. A client's own cache points beyond Bedrock's
// limit, or a 1-hour point after a 5-minute one (Bedrock requires longer
// TTLs first), are refused with EInvalid rather than silently moved.
func PlaceCachePoints(req *bedrock.ConverseRequest, caps convertor.Capabilities, ttl string) error {
	if req == nil {
		return nil
	}
	if ttl == convertor.CacheOff || caps.CacheMinTokens <= 0 {
		removeCachePoints(req)
		return nil
	}
	if ttl == convertor.CacheTTL1h && !caps.CacheTTL1h {
		ttl = convertor.CacheTTL5m
	}
	tidyCachePoints(req)
	explicit := 0
	longest := convertor.CacheTTL1h
	var err error
	eachCachePoint(req, func(cp *bedrock.CachePoint) {
		explicit++
		t := cp.TTL
		if t == "" || (t == convertor.CacheTTL1h && !caps.CacheTTL1h) {
			t = ttl
		}
		if t == convertor.CacheTTL1h && longest == convertor.CacheTTL5m && err == nil {
			err = convertor.Errorf(convertor.EInvalid, "a cache_control with ttl 1h cannot follow one with ttl 5m: Bedrock requires longer TTLs first")
		}
		longest = t
		*cp = cachePoint(t)
	})
	if err != nil {
		return err
	}
	if explicit > convertor.MaxCachePoints {
		return convertor.Errorf(convertor.EInvalid, "the request has %d cache_control parts; Bedrock takes at most %d cache points", explicit, convertor.MaxCachePoints)
	}
	if explicit > 0 {
		return nil
	}
	autoCachePoints(req, caps.CacheMinTokens, ttl)
	return nil
}

// cachePoint returns a cache point of ttl. A 5-minute point is sent
// without a ttl, Bedrock's default, which every caching model takes.
func cachePoint(ttl string) bedrock.CachePoint {
	cp := bedrock.CachePoint{Type: bedrock.CachePointDefault}
	if ttl == convertor.CacheTTL1h {
		cp.TTL = ttl
	}
	return cp
}

// autoCachePoints adds the automatic cache points of a request that has
// none. Estimates follow the admission estimate (EstimateTokens), which
// overestimates rarely enough: a point below the real minimum is merely
// not cached by Bedrock.
func autoCachePoints(req *bedrock.ConverseRequest, minTokens int, ttl string) {
	toolTokens := 0
	if req.ToolConfig != nil {
		for _, t := range req.ToolConfig.Tools {
			if t.ToolSpec != nil {
				toolTokens += EstimateTokens(len(t.ToolSpec.Name) + len(t.ToolSpec.Description) + len(t.ToolSpec.InputSchema.JSON))
			}
		}
	}
	systemTokens := toolTokens
	for _, b := range req.System {
		if b.Text != nil {
			systemTokens += EstimateTokens(len(*b.Text))
		}
	}
	allTokens := systemTokens
	for _, m := range req.Messages {
		for i := range m.Content {
			allTokens += blockTokens(&m.Content[i])
		}
	}
	cp := cachePoint(ttl)
	placed := 0
	if n := len(req.Messages); n > 0 && allTokens >= minTokens && allTokens > systemTokens {
		last := &req.Messages[n-1]
		last.Content = append(last.Content, bedrock.ContentBlock{CachePoint: &cp})
		placed++
	}
	if len(req.System) > 0 && systemTokens >= minTokens && systemTokens > toolTokens && placed < convertor.MaxCachePoints {
		req.System = append(req.System, bedrock.SystemBlock{CachePoint: &cp})
		placed++
	}
	if req.ToolConfig != nil && len(req.ToolConfig.Tools) > 0 && toolTokens >= minTokens && placed < convertor.MaxCachePoints {
		req.ToolConfig.Tools = append(req.ToolConfig.Tools, bedrock.Tool{CachePoint: &cp})
	}
}

// blockTokens estimates a content block's tokens.
func blockTokens(b *bedrock.ContentBlock) int {
	switch {
	case b.Text != nil:
		return EstimateTokens(len(*b.Text))
	case b.Image != nil:
		return CacheImageTokens
	case b.Document != nil:
		return EstimateTokens(len(b.Document.Source.Bytes))
	case b.ToolUse != nil:
		return EstimateTokens(len(b.ToolUse.Name) + len(b.ToolUse.Input))
	case b.ReasoningContent != nil && b.ReasoningContent.ReasoningText != nil:
		return EstimateTokens(len(b.ReasoningContent.ReasoningText.Text))
	case b.ToolResult != nil:
		n := 0
		for _, c := range b.ToolResult.Content {
			switch {
			case c.Text != nil:
				n += EstimateTokens(len(*c.Text))
			case c.JSON != nil:
				n += EstimateTokens(len(c.JSON))
			case c.Image != nil:
				n += CacheImageTokens
			}
		}
		return n
	}
	return 0
}

// eachCachePoint calls fn on every cache point in prefix order: tools,
// system, messages.
func eachCachePoint(req *bedrock.ConverseRequest, fn func(*bedrock.CachePoint)) {
	if req.ToolConfig != nil {
		for _, t := range req.ToolConfig.Tools {
			if t.CachePoint != nil {
				fn(t.CachePoint)
			}
		}
	}
	for _, b := range req.System {
		if b.CachePoint != nil {
			fn(b.CachePoint)
		}
	}
	for _, m := range req.Messages {
		for _, b := range m.Content {
			if b.CachePoint != nil {
				fn(b.CachePoint)
			}
		}
	}
}

// removeCachePoints drops every cache point, for a model that does not
// cache (Bedrock refuses them) or a request whose caching is off.
func removeCachePoints(req *bedrock.ConverseRequest) {
	if req.ToolConfig != nil {
		req.ToolConfig.Tools = slices.DeleteFunc(req.ToolConfig.Tools, func(t bedrock.Tool) bool { return t.CachePoint != nil })
	}
	req.System = slices.DeleteFunc(req.System, func(b bedrock.SystemBlock) bool { return b.CachePoint != nil })
	for i := range req.Messages {
		req.Messages[i].Content = slices.DeleteFunc(req.Messages[i].Content, func(b bedrock.ContentBlock) bool { return b.CachePoint != nil })
	}
}

// tidyCachePoints drops the client's cache points that end no content: one
// opening the system prompt or a message (its part was blank and dropped)
// or repeating the point before it. Bedrock refuses a turn that holds
// only a cache point, and a repeated point caches nothing new.
func tidyCachePoints(req *bedrock.ConverseRequest) {
	prev := true // the start counts as a cache point: nothing precedes it
	req.System = slices.DeleteFunc(req.System, func(b bedrock.SystemBlock) bool {
		drop := b.CachePoint != nil && prev
		prev = b.CachePoint != nil
		return drop
	})
	for i := range req.Messages {
		prev := true
		req.Messages[i].Content = slices.DeleteFunc(req.Messages[i].Content, func(b bedrock.ContentBlock) bool {
			drop := b.CachePoint != nil && prev
			prev = b.CachePoint != nil
			return drop
		})
	}
}

// explicitCachePoint returns the cache point a content part asks for with
// cache_control, or nil. Its TTL is the part's own, checked here; the
// request's TTL fills it in later (PlaceCachePoints).
func explicitCachePoint(i, j int, p *openai.ContentPart) (*bedrock.CachePoint, error) {
	if p.CacheControl == nil {
		return nil, nil
	}
	cc := p.CacheControl
	if cc.Type != "" && cc.Type != "ephemeral" {
		return nil, convertor.ParamErrorf(partParam(i, j, "cache_control.type"), "cache_control.type must be \"ephemeral\", not %q", cc.Type)
	}
	if cc.TTL != "" && cc.TTL != convertor.CacheTTL5m && cc.TTL != convertor.CacheTTL1h {
		return nil, convertor.ParamErrorf(partParam(i, j, "cache_control.ttl"), "cache_control.ttl must be \"5m\" or \"1h\", not %q", cc.TTL)
	}
	return &bedrock.CachePoint{Type: bedrock.CachePointDefault, TTL: cc.TTL}, nil
}

// checkCacheTTL checks the request's prompt_cache_ttl.
func checkCacheTTL(req *openai.ChatRequest) error {
	switch req.PromptCacheTTL {
	case "", convertor.CacheTTL5m, convertor.CacheTTL1h, convertor.CacheOff:
		return nil
	}
	return convertor.ParamErrorf("prompt_cache_ttl", "prompt_cache_ttl must be \"5m\", \"1h\" or \"none\", not %q", req.PromptCacheTTL)
}
