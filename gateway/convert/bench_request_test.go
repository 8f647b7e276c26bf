package convert

import (
	"path/filepath"
	"testing"
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
