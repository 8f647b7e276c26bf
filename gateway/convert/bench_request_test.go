package convert

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
)

func BenchmarkChatRequestToConverse(b *testing.B) {
	for _, name := range []string{"multi_turn", "tools_history_merged"} {
		b.Run(name, func(b *testing.B) {
			req := readRequest(b, filepath.Join("testdata", "chat", name+".request.json"))
			opts := readOptions(b, filepath.Join("testdata", "chat", name+".options.json"))
			// Check the output once before timing; the golden test checks it in full.
			out, _, err := ChatRequestToConverse(req, opts)
			if err != nil {
				b.Fatalf("ChatRequestToConverse() error = %v", err)
			}
			if len(out.Messages) == 0 || out.InferenceConfig == nil {
				b.Fatalf("ChatRequestToConverse() = %+v, want messages and an inference config", out)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := ChatRequestToConverse(req, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPlaceCachePoints measures the cache-point step on a converted
// conversation with a system prompt long enough to get cache points.
func BenchmarkPlaceCachePoints(b *testing.B) {
	req := readRequest(b, filepath.Join("testdata", "chat", "tools_history_merged.request.json"))
	opts := readOptions(b, filepath.Join("testdata", "chat", "tools_history_merged.options.json"))
	opts.Capabilities = convertor.CapabilitiesFor("global.anthropic.claude-sonnet-4-5-20250929-v1:0")
	base, _, err := ChatRequestToConverse(req, opts)
	if err != nil {
		b.Fatal(err)
	}
	long := strings.Repeat("Answer briefly. ", 300)
	base.System = append(base.System, bedrock.SystemBlock{Text: &long})
	fresh := func() *bedrock.ConverseRequest {
		c := *base
		c.System = slices.Clone(base.System)
		c.Messages = slices.Clone(base.Messages)
		c.Messages[len(c.Messages)-1].Content = slices.Clone(c.Messages[len(c.Messages)-1].Content)
		return &c
	}
	// Check the output once before timing.
	out := fresh()
	if err := PlaceCachePoints(out, opts.Capabilities, convertor.CacheTTL5m); err != nil || out.System[len(out.System)-1].CachePoint == nil {
		b.Fatalf("PlaceCachePoints() = %v, system %+v; want a cache point after the system prompt", err, out.System)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := PlaceCachePoints(fresh(), opts.Capabilities, convertor.CacheTTL5m); err != nil {
			b.Fatal(err)
		}
	}
}
