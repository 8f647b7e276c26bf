package emulator_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/bedrock/emulator"
)

// fakeClock is a settable clock for the emulator's cache TTLs.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// converseUsage sends body and returns the usage Bedrock would report.
func converseUsage(t *testing.T, base, modelID, body string) bedrock.TokenUsage {
	t.Helper()
	resp, err := http.Post(base+"/model/"+url.PathEscape(modelID)+"/converse", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bedrock.ConverseResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d, decode %v", resp.StatusCode, err)
	}
	return out.Usage
}

// TestEmulator_PromptCache: the first request writes each cache point's
// prefix, an identical prefix within its TTL is read (and the TTL
// restarts), after the TTL it is written again; writes are broken down by
// TTL as Bedrock's cacheDetails are.
func TestEmulator_PromptCache(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	srv := httptest.NewServer(emulator.New(emulator.Options{Now: clock.Now}))
	t.Cleanup(srv.Close)
	sys := strings.Repeat("abcd", 1100) // 1,100 tokens at four bytes a token
	body := func(q, ttl string) string {
		cp := `{"cachePoint":{"type":"default"}}`
		if ttl != "" {
			cp = `{"cachePoint":{"type":"default","ttl":"` + ttl + `"}}`
		}
		return `{"system":[{"text":"` + sys + `"},` + cp + `],"messages":[{"role":"user","content":[{"text":"` + q + `"}]}]}`
	}
	usage := func(q, ttl string) bedrock.TokenUsage { return converseUsage(t, srv.URL, sonnet, body(q, ttl)) }

	u := usage("q1", "")
	want := bedrock.TokenUsage{InputTokens: 1, CacheWriteInputTokens: 1100, CacheDetails: []bedrock.CacheDetail{{InputTokens: 1100, TTL: "5m"}}}
	if diff := cmp.Diff(want, u, cmp.FilterPath(func(p cmp.Path) bool {
		f := p.Last().String()
		return f == ".OutputTokens" || f == ".TotalTokens"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("first request usage mismatch (-want +got):\n%s", diff)
	}
	clock.Add(4 * time.Minute)
	if u := usage("q2", ""); u.CacheReadInputTokens != 1100 || u.CacheWriteInputTokens != 0 || u.InputTokens != 1 {
		t.Errorf("within the TTL: usage = %+v, want 1100 read", u)
	}
	clock.Add(4 * time.Minute) // 8 minutes after the write, 4 after the read that refreshed it
	if u := usage("q3", ""); u.CacheReadInputTokens != 1100 {
		t.Errorf("after a refreshing read: usage = %+v, want 1100 read", u)
	}
	clock.Add(6 * time.Minute)
	if u := usage("q4", ""); u.CacheReadInputTokens != 0 || u.CacheWriteInputTokens != 1100 {
		t.Errorf("after the TTL: usage = %+v, want a new write of 1100", u)
	}

	// Another prefix with a 1-hour point lives for an hour.
	sys = strings.Repeat("wxyz", 1100)
	if u := usage("q5", "1h"); u.CacheWriteInputTokens != 1100 || len(u.CacheDetails) != 1 || u.CacheDetails[0].TTL != "1h" {
		t.Errorf("1h write: usage = %+v", u)
	}
	clock.Add(50 * time.Minute)
	if u := usage("q6", "1h"); u.CacheReadInputTokens != 1100 {
		t.Errorf("50 minutes into a 1h TTL: usage = %+v, want a read", u)
	}

	// Below the model's minimum nothing is cached.
	sys = strings.Repeat("abcd", 500)
	if u := usage("q7", ""); u.CacheWriteInputTokens != 0 || u.InputTokens != 501 {
		t.Errorf("below the minimum: usage = %+v, want all input", u)
	}
}

// TestEmulator_CachePointRules: Bedrock's refusals of cache points.
func TestEmulator_CachePointRules(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(emulator.New(emulator.Options{}))
	t.Cleanup(srv.Close)
	cp := func(ttl string) string {
		if ttl == "" {
			return `{"cachePoint":{"type":"default"}}`
		}
		return `{"cachePoint":{"type":"default","ttl":"` + ttl + `"}}`
	}
	msg := func(points ...string) string {
		c := `{"text":"a"}`
		for _, p := range points {
			c += `,` + p + `,{"text":"b"}`
		}
		return `{"messages":[{"role":"user","content":[` + c + `]}]}`
	}
	tests := []struct{ name, model, body, want string }{
		{"Five", sonnet, msg(cp(""), cp(""), cp(""), cp(""), cp("")), "A maximum of 4 cache points"},
		{"NoCachingModel", "anthropic.claude-3-5-sonnet-20241022-v2:0", msg(cp("")), "did not allow prompt caching"},
		{"OneHourOnOlderModel", "us.anthropic.claude-3-7-sonnet-20250219-v1:0", msg(cp("1h")), "does not support a cache TTL of 1h"},
		{"OneHourAfterFive", sonnet, msg(cp("5m"), cp("1h")), "must not come after"},
		{"BadTTL", sonnet, msg(cp("2h")), "cachePoint.ttl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, typ, m := post(t, srv.URL, tt.model, tt.body)
			if status != 400 || typ != "ValidationException" || !strings.Contains(m, tt.want) {
				t.Errorf("= %d %s %q, want 400 ValidationException containing %q", status, typ, m, tt.want)
			}
		})
	}
	if status, _, m := post(t, srv.URL, sonnet, msg(cp("1h"), cp("5m"), cp(""), cp(""))); status != 200 {
		t.Errorf("four points, longer TTL first: %d %s", status, m)
	}
}
