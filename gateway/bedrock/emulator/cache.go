package emulator

import (
	"cmp"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
)

// maxCacheEntries bounds the emulated prompt cache; when full it starts
// over, as a real cache evicts.
const maxCacheEntries = 10000

// cacheLookback is how many blocks before a cache point Bedrock checks for
// an earlier cached prefix (Anthropic's documented 20-block lookback).
const cacheLookback = 20

// cacheEntry is one cached prefix.
type cacheEntry struct {
	expires time.Time
	ttl     time.Duration
}

// prefixUnit is one block of the prompt in cache order (tools, system,
// messages): its running hash, the tokens up to and including it, and
// the TTL of the cache point that follows it, if any.
type prefixUnit struct {
	hash   [sha256.Size]byte
	tokens int
	point  string // "" when no cache point follows this block
}

// cacheTTLDuration is a cache point's TTL as a duration.
func cacheTTLDuration(ttl string) time.Duration {
	if ttl == convertor.CacheTTL1h {
		return time.Hour
	}
	return 5 * time.Minute
}

// prefixUnits lists the request's blocks in cache order. Cache point
// blocks are not units themselves: adding one does not change the prefix
// it ends, exactly as with Bedrock.
func prefixUnits(modelID string, req *bedrock.ConverseRequest) []prefixUnit {
	var units []prefixUnit
	h := sha256.Sum256([]byte(modelID))
	total := 0
	add := func(kind string, v any, n int) {
		b, _ := json.Marshal(v)
		h = sha256.Sum256(append(append(h[:], kind...), b...))
		total += n
		units = append(units, prefixUnit{hash: h, tokens: total})
	}
	point := func(cp *bedrock.CachePoint) {
		if len(units) > 0 {
			units[len(units)-1].point = cmp.Or(cp.TTL, convertor.CacheTTL5m)
		}
	}
	if req.ToolConfig != nil {
		for _, t := range req.ToolConfig.Tools {
			switch {
			case t.CachePoint != nil:
				point(t.CachePoint)
			case t.ToolSpec != nil:
				add("tool", t.ToolSpec, toolSpecTokens(t.ToolSpec))
			}
		}
	}
	for _, s := range req.System {
		switch {
		case s.CachePoint != nil:
			point(s.CachePoint)
		case s.Text != nil:
			add("system", s.Text, tokens(*s.Text))
		}
	}
	for _, m := range req.Messages {
		for _, b := range m.Content {
			if b.CachePoint != nil {
				point(b.CachePoint)
				continue
			}
			add(m.Role, b, blockTokens(b))
		}
	}
	return units
}

// cacheUsage plays Bedrock's prompt cache for one request and returns its
// cache reads and writes: the longest prefix cached earlier (at a cache
// point of this request or within the lookback before one) and not
// expired is read, and refreshed; each cache point after it whose prefix
// reaches the model's minimum writes its prefix, the tokens between two
// points counted under the TTL of the point that ends them.
func (e *Emulator) cacheUsage(modelID string, req *bedrock.ConverseRequest) (read int, details []bedrock.CacheDetail) {
	caps := convertor.CapabilitiesFor(modelID)
	if caps.CacheMinTokens <= 0 {
		return 0, nil
	}
	units := prefixUnits(modelID, req)
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	readAt := -1
	for i, u := range units {
		if u.point == "" {
			continue
		}
		for j := i; j >= 0 && j >= i-cacheLookback && j > readAt; j-- {
			if en, ok := e.cache[units[j].hash]; ok && now.Before(en.expires) {
				readAt = j
				break
			}
		}
	}
	if readAt >= 0 {
		read = units[readAt].tokens
		en := e.cache[units[readAt].hash]
		en.expires = now.Add(en.ttl)
		e.cache[units[readAt].hash] = en
	}
	byTTL := map[string]int{}
	written := read
	for i, u := range units {
		if u.point == "" || i <= readAt || u.tokens < caps.CacheMinTokens {
			continue
		}
		if len(e.cache) >= maxCacheEntries {
			clear(e.cache)
		}
		ttl := cacheTTLDuration(u.point)
		e.cache[u.hash] = cacheEntry{expires: now.Add(ttl), ttl: ttl}
		byTTL[u.point] += u.tokens - written
		written = u.tokens
	}
	for _, ttl := range []string{convertor.CacheTTL1h, convertor.CacheTTL5m} { // 1h first, as Bedrock sorts them
		if n := byTTL[ttl]; n > 0 {
			details = append(details, bedrock.CacheDetail{InputTokens: n, TTL: ttl})
		}
	}
	return read, details
}

// validateCachePoints enforces Bedrock's rules on cache points: only on
// models that cache, at most four, TTLs the model takes, longer first.
func validateCachePoints(modelID string, req *bedrock.ConverseRequest) string {
	caps := convertor.CapabilitiesFor(modelID)
	var ttls []string
	for _, u := range prefixUnits(modelID, req) {
		if u.point != "" {
			ttls = append(ttls, u.point)
		}
	}
	n := countCachePoints(req)
	switch {
	case n == 0:
		return ""
	case caps.CacheMinTokens <= 0:
		return "You invoked an unsupported model or your request did not allow prompt caching. See the documentation for more information."
	case n > convertor.MaxCachePoints:
		return fmt.Sprintf("A maximum of %d cache points is allowed in a request, found %d.", convertor.MaxCachePoints, n)
	}
	for _, t := range ttls {
		if t != convertor.CacheTTL5m && t != convertor.CacheTTL1h {
			return fmt.Sprintf("1 validation error detected: Value '%s' at 'cachePoint.ttl' failed to satisfy constraint: Member must satisfy enum value set: [5m, 1h]", t)
		}
		if t == convertor.CacheTTL1h && !caps.CacheTTL1h {
			return "The model does not support a cache TTL of 1h."
		}
	}
	if i := slices.Index(ttls, convertor.CacheTTL5m); i >= 0 && slices.Contains(ttls[i:], convertor.CacheTTL1h) {
		return modelErrors + "A cache point with a 1h ttl must not come after one with a 5m ttl."
	}
	return ""
}

// countCachePoints counts every cache point block, also those prefixUnits
// folds away (one opening the system prompt).
func countCachePoints(req *bedrock.ConverseRequest) int {
	n := 0
	if req.ToolConfig != nil {
		for _, t := range req.ToolConfig.Tools {
			if t.CachePoint != nil {
				n++
			}
		}
	}
	for _, s := range req.System {
		if s.CachePoint != nil {
			n++
		}
	}
	for _, m := range req.Messages {
		for _, b := range m.Content {
			if b.CachePoint != nil {
				n++
			}
		}
	}
	return n
}
