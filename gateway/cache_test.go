package gateway

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/internal/memstore"
)

// sentCachePoints lists the cache points of the Converse request the
// gateway sent, as "system" or "messages" with the TTL sent ("" for the
// default 5 minutes).
func sentCachePoints(req *bedrock.ConverseRequest) []string {
	var out []string
	for _, b := range req.System {
		if b.CachePoint != nil {
			out = append(out, "system "+b.CachePoint.TTL)
		}
	}
	for _, m := range req.Messages {
		for _, b := range m.Content {
			if b.CachePoint != nil {
				out = append(out, "messages "+b.CachePoint.TTL)
			}
		}
	}
	return out
}

// TestServer_Chat_CachePoints checks the Converse request Bedrock receives
// under each combination of the gateway's setting, the key's and the
// request's prompt_cache_ttl.
func TestServer_Chat_CachePoints(t *testing.T) {
	t.Parallel()
	system := strings.Repeat("Answer in one sentence. ", 250) // ~1,500 tokens, above Sonnet 4.5's 1,024
	body := func(model, extra string) string {
		return `{"model":"` + model + `",` + extra + `"messages":[{"role":"system","content":"` + system + `"},{"role":"user","content":"Hi"}]}`
	}
	both := func(ttl string) []string { return []string{"system " + ttl, "messages " + ttl} }
	tests := []struct {
		name     string
		disabled bool   // ENABLE_PROMPT_CACHING=false
		def      string // PROMPT_CACHE_TTL
		key      string // the key's prompt_cache_ttl
		model    string
		extra    string
		want     []string
		status   int
	}{
		{name: "Default", want: both("")},
		{name: "GatewayDefault1h", def: "1h", want: both("1h")},
		{name: "Key1h", key: "1h", want: both("1h")},
		{name: "Request1h", extra: `"prompt_cache_ttl":"1h",`, want: both("1h")},
		{name: "RequestOverKey", key: "1h", extra: `"prompt_cache_ttl":"5m",`, want: both("")},
		{name: "RequestOff", extra: `"prompt_cache_ttl":"none",`},
		{name: "KeyOff", key: "none", extra: `"prompt_cache_ttl":"1h",`},
		{name: "GatewayOff", disabled: true, extra: `"prompt_cache_ttl":"1h",`},
		{name: "ModelWithoutCaching", model: "anthropic.claude-3-5-sonnet-20241022-v2:0"},
		{name: "1hOnModelWithout1h", model: "us.anthropic.claude-3-7-sonnet-20250219-v1:0", extra: `"prompt_cache_ttl":"1h",`, want: both("")},
		{name: "BadTTL", extra: `"prompt_cache_ttl":"1d",`, status: http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			keys := memstore.NewAPIKeyStore()
			secret, _ := createKey(t, keys, func(k *convertor.APIKey) { k.PromptCacheTTL = tt.key })
			ts := newTestServer(t, nil, func(c *Config, d *Deps) {
				c.PromptCaching = !tt.disabled
				if tt.def != "" {
					c.PromptCacheTTL = tt.def
				}
				d.Keys = keys
				d.Auth = NewKeyAuthenticator(keys, KeyAuthConfig{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
			})
			model := tt.model
			if model == "" {
				model = "claude-sonnet-4-5"
			}
			r := ts.do(t, http.MethodPost, "/v1/chat/completions", body(model, tt.extra), map[string]string{"Authorization": "Bearer " + secret})
			if want := max(tt.status, http.StatusOK); r.status != want {
				t.Fatalf("status = %d, want %d; body %s", r.status, want, r.body)
			}
			if tt.status != 0 {
				if !strings.Contains(string(r.body), "prompt_cache_ttl") {
					t.Errorf("body %s does not name prompt_cache_ttl", r.body)
				}
				return
			}
			_, req := ts.fake.lastRequest(t)
			if diff := cmp.Diff(tt.want, sentCachePoints(req)); diff != "" {
				t.Errorf("cache points sent to Bedrock mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestServer_Chat_Context1M: context_1m reaches Bedrock as the
// anthropic_beta flag for a model with the window, and is refused for
// one without.
func TestServer_Chat_Context1M(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil, nil)
	r := ts.post(t, `{"model":"claude-sonnet-4-5","context_1m":true,"messages":[{"role":"user","content":"Hi"}]}`)
	if r.status != http.StatusOK {
		t.Fatalf("status = %d; body %s", r.status, r.body)
	}
	_, req := ts.fake.lastRequest(t)
	if want := fmt.Sprintf(`{"anthropic_beta":["%s"]}`, convertor.Context1MBeta); string(req.AdditionalModelRequestFields) != want {
		t.Errorf("additionalModelRequestFields = %s, want %s", req.AdditionalModelRequestFields, want)
	}
	if r := ts.post(t, `{"model":"claude-haiku-4-5","context_1m":true,"messages":[{"role":"user","content":"Hi"}]}`); r.status != http.StatusBadRequest {
		t.Errorf("context_1m on Haiku 4.5: status = %d, want 400; body %s", r.status, r.body)
	}
}
