package convert_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/convert"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

const (
	sonnet45 = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
	haiku45  = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
	sonnet37 = "us.anthropic.claude-3-7-sonnet-20250219-v1:0"
	sonnet35 = "anthropic.claude-3-5-sonnet-20241022-v2:0"
)

// words makes text of about n tokens at the product's four bytes a token.
func words(n int) string { return strings.Repeat("abc ", n) }

// cachePoints lists where the Converse request has cache points, in
// prefix order, as "tools[i]", "system[i]" or "messages[i][j]", each with
// its TTL when one is sent.
func cachePoints(req *bedrock.ConverseRequest) []string {
	var out []string
	name := func(at string, cp *bedrock.CachePoint) {
		if cp.Type != bedrock.CachePointDefault {
			at += " type=" + cp.Type
		}
		if cp.TTL != "" {
			at += " ttl=" + cp.TTL
		}
		out = append(out, at)
	}
	if req.ToolConfig != nil {
		for i, t := range req.ToolConfig.Tools {
			if t.CachePoint != nil {
				name(fmt.Sprintf("tools[%d]", i), t.CachePoint)
			}
		}
	}
	for i, b := range req.System {
		if b.CachePoint != nil {
			name(fmt.Sprintf("system[%d]", i), b.CachePoint)
		}
	}
	for i, m := range req.Messages {
		for j, b := range m.Content {
			if b.CachePoint != nil {
				name(fmt.Sprintf("messages[%d][%d]", i, j), b.CachePoint)
			}
		}
	}
	return out
}

func TestPlaceCachePoints(t *testing.T) {
	t.Parallel()
	tool := func(n int) string {
		return `{"type":"function","function":{"name":"lookup","description":"` + words(n) + `","parameters":{"type":"object"}}}`
	}
	cc := func(text, ttl string) string {
		c := `{"type":"ephemeral"}`
		if ttl != "" {
			c = `{"type":"ephemeral","ttl":"` + ttl + `"}`
		}
		return `{"type":"text","text":"` + text + `","cache_control":` + c + `}`
	}
	tests := []struct {
		name  string
		model string
		ttl   string
		body  string
		want  []string
		code  string // error code, when the request is refused
	}{
		{name: "ShortPrompt", model: sonnet45, ttl: "5m",
			body: `{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]}`},
		{name: "LongSystem", model: sonnet45, ttl: "5m",
			body: `{"messages":[{"role":"system","content":"` + words(1100) + `"},{"role":"user","content":"Hi"}]}`,
			want: []string{"system[1]", "messages[0][1]"}},
		{name: "LongConversationShortSystem", model: sonnet45, ttl: "5m",
			body: `{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"` + words(600) + `"},{"role":"assistant","content":"ok"},{"role":"user","content":"` + words(600) + `"}]}`,
			want: []string{"messages[2][1]"}},
		{name: "LongToolsSystemConversation", model: sonnet45, ttl: "5m",
			body: `{"tools":[` + tool(1100) + `],"messages":[{"role":"system","content":"` + words(1100) + `"},{"role":"user","content":"Hi"}]}`,
			want: []string{"tools[1]", "system[1]", "messages[0][1]"}},
		{name: "OneHour", model: sonnet45, ttl: "1h",
			body: `{"messages":[{"role":"system","content":"` + words(1100) + `"},{"role":"user","content":"Hi"}]}`,
			want: []string{"system[1] ttl=1h", "messages[0][1] ttl=1h"}},
		{name: "OneHourFallsBackOnOlderModel", model: sonnet37, ttl: "1h",
			body: `{"messages":[{"role":"system","content":"` + words(1100) + `"},{"role":"user","content":"Hi"}]}`,
			want: []string{"system[1]", "messages[0][1]"}},
		{name: "BelowHaikuMinimum", model: haiku45, ttl: "5m",
			body: `{"messages":[{"role":"system","content":"` + words(2000) + `"},{"role":"user","content":"Hi"}]}`},
		{name: "AboveHaikuMinimum", model: haiku45, ttl: "5m",
			body: `{"messages":[{"role":"system","content":"` + words(4200) + `"},{"role":"user","content":"Hi"}]}`,
			want: []string{"system[1]", "messages[0][1]"}},
		{name: "ModelWithoutCaching", model: sonnet35, ttl: "5m",
			body: `{"messages":[{"role":"system","content":"` + words(1100) + `"},{"role":"user","content":[` + cc("doc", "") + `,{"type":"text","text":"q"}]}]}`},
		{name: "Off", model: sonnet45, ttl: convertor.CacheOff,
			body: `{"messages":[{"role":"system","content":"` + words(1100) + `"},{"role":"user","content":[` + cc("doc", "") + `,{"type":"text","text":"q"}]}]}`},
		{name: "ExplicitOnly", model: sonnet45, ttl: "5m",
			body: `{"messages":[{"role":"system","content":[` + cc(words(1100), "") + `]},{"role":"user","content":[` + cc("doc", "") + `,{"type":"text","text":"q"}]}]}`,
			want: []string{"system[1]", "messages[0][1]"}},
		{name: "ExplicitTakesRequestTTL", model: sonnet45, ttl: "1h",
			body: `{"messages":[{"role":"user","content":[` + cc("doc", "") + `,{"type":"text","text":"q"}]}]}`,
			want: []string{"messages[0][1] ttl=1h"}},
		{name: "ExplicitOwnTTLs", model: sonnet45, ttl: "5m",
			body: `{"messages":[{"role":"system","content":[` + cc("sys", "1h") + `]},{"role":"user","content":[` + cc("doc", "5m") + `,{"type":"text","text":"q"}]}]}`,
			want: []string{"system[1] ttl=1h", "messages[0][1]"}},
		{name: "ExplicitOnAssistantAndTool", model: sonnet45, ttl: "5m",
			body: `{"tools":[` + tool(5) + `],"messages":[{"role":"user","content":"q"},{"role":"assistant","content":[` + cc("let me look", "") + `],"tool_calls":[{"id":"c1","type":"function","function":{"name":"lookup","arguments":"{}"}}]},{"role":"user","content":"and?"},{"role":"tool","tool_call_id":"c1","content":[` + cc("result", "") + `]}]}`,
			// The tool result moves before the user's text and takes its
			// cache point with it.
			want: []string{"messages[1][1]", "messages[2][1]"}},
		{name: "ExplicitOnBlankPartDropped", model: sonnet45, ttl: "5m",
			body: `{"messages":[{"role":"system","content":[` + cc(" ", "") + `,{"type":"text","text":"sys"}]},{"role":"user","content":"q"}]}`},
		{name: "TooManyExplicit", model: sonnet45, ttl: "5m",
			body: `{"messages":[{"role":"user","content":[` + cc("a", "") + `,` + cc("b", "") + `,` + cc("c", "") + `,` + cc("d", "") + `,` + cc("e", "") + `]}]}`,
			code: convertor.EInvalid},
		{name: "OneHourAfterFiveMinutes", model: sonnet45, ttl: "5m",
			body: `{"messages":[{"role":"user","content":[` + cc("a", "5m") + `,` + cc("b", "1h") + `]}]}`,
			code: convertor.EInvalid},
		{name: "BadCacheControlTTL", model: sonnet45, ttl: "5m",
			body: `{"messages":[{"role":"user","content":[` + cc("a", "2h") + `]}]}`,
			code: convertor.EInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := new(openai.ChatRequest)
			if err := json.Unmarshal([]byte(strings.Replace(tt.body, "{", `{"model":"m",`, 1)), req); err != nil {
				t.Fatal(err)
			}
			caps := convertor.CapabilitiesFor(tt.model)
			out, _, err := convert.ChatRequestToConverse(req, &convert.Options{Capabilities: caps, Features: convert.AllFeatures})
			if err == nil {
				err = convert.PlaceCachePoints(out, caps, tt.ttl)
			}
			if tt.code != "" {
				if convertor.ErrorCode(err) != tt.code {
					t.Fatalf("error = %v, want code %s", err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, cachePoints(out)); diff != "" {
				t.Errorf("cache points mismatch (-want +got):\n%s", diff)
			}
			if _, err := json.Marshal(out); err != nil {
				t.Errorf("marshal: %v", err)
			}
		})
	}
}

// TestPlaceCachePoints_NeverOverLimit: automatic points fill what the
// client's own leave, and never more than four in all.
func TestPlaceCachePoints_NeverOverLimit(t *testing.T) {
	t.Parallel()
	caps := convertor.CapabilitiesFor(sonnet45)
	for explicit := range 5 {
		req := &bedrock.ConverseRequest{
			System:     []bedrock.SystemBlock{{Text: ptr(words(1100))}},
			ToolConfig: &bedrock.ToolConfig{Tools: []bedrock.Tool{{ToolSpec: &bedrock.ToolSpec{Name: "t", Description: words(1100), InputSchema: bedrock.InputSchema{JSON: json.RawMessage(`{}`)}}}}},
		}
		var content []bedrock.ContentBlock
		for range explicit {
			content = append(content, bedrock.ContentBlock{Text: ptr("x")}, bedrock.ContentBlock{CachePoint: &bedrock.CachePoint{Type: "default"}})
		}
		content = append(content, bedrock.ContentBlock{Text: ptr("q")})
		req.Messages = []bedrock.Message{{Role: "user", Content: content}}
		err := convert.PlaceCachePoints(req, caps, "5m")
		got := len(cachePoints(req))
		switch {
		case explicit > convertor.MaxCachePoints:
			if err == nil {
				t.Errorf("%d explicit: no error", explicit)
			}
		case err != nil:
			t.Errorf("%d explicit: %v", explicit, err)
		case explicit > 0 && got != explicit:
			t.Errorf("%d explicit: %d cache points, want only the client's", explicit, got)
		case explicit == 0 && got != 3:
			t.Errorf("no explicit: %d cache points, want tools, system and conversation", got)
		}
	}
}

func TestResolveCacheTTL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		enabled                 bool
		def, key, request, want string
	}{
		{true, "5m", "", "", "5m"},
		{true, "1h", "", "", "1h"},
		{true, "5m", "1h", "", "1h"},
		{true, "5m", "1h", "5m", "5m"},
		{true, "1h", "", "5m", "5m"},
		{true, "5m", "", "none", "none"},
		{true, "5m", "none", "1h", "none"}, // an operator's off is not overridden
		{false, "5m", "1h", "1h", "none"},
		{true, "", "", "", "5m"},
	}
	for _, tt := range tests {
		if got := convert.ResolveCacheTTL(tt.enabled, tt.def, tt.key, tt.request); got != tt.want {
			t.Errorf("ResolveCacheTTL(%v, %q, %q, %q) = %q, want %q", tt.enabled, tt.def, tt.key, tt.request, got, tt.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }
