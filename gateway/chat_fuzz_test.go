package gateway

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/openai-api-convertor/convertor"
)

// FuzzParseChatRequest: any body yields a request with a model and
// messages, or an EInvalid error; never a panic or another code.
func FuzzParseChatRequest(f *testing.F) {
	f.Add([]byte(helloRequest))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],"tools":[{"type":"function","function":{"name":1}}]}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(``))
	if paths, err := filepath.Glob("convert/testdata/chat/*.request.json"); err == nil {
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := parseChatRequest(body)
		if err != nil {
			if code := convertor.ErrorCode(err); code != convertor.EInvalid {
				t.Fatalf("parseChatRequest() code = %q (%v), want EInvalid", code, err)
			}
			return
		}
		if req.Model == "" || len(req.Messages) == 0 {
			t.Fatalf("parseChatRequest() accepted a request without model or messages: %q", body)
		}
	})
}
