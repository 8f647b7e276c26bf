package convert

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

// FuzzResponsesRequestToConverse decodes any bytes as a Responses request
// and converts it as the gateway does: never a panic; either an EInvalid
// error, or a request that marshals and alternates its turns. sel is as in
// FuzzChatRequestToConverse.
func FuzzResponsesRequestToConverse(f *testing.F) {
	paths, err := filepath.Glob(filepath.Join("testdata", "responses", "*.request.json"))
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
		var req openai.ResponsesRequest
		if err := json.Unmarshal(body, &req); err != nil {
			return
		}
		chat, m, err := ResponsesRequestToChat(&req, nil)
		var out *bedrock.ConverseRequest
		if err == nil {
			var adjusted []Adjustment
			out, adjusted, err = ChatRequestToConverse(chat, fuzzOptions(chat, sel))
			err = m.Error(err)
			for _, a := range m.Adjustments(adjusted) {
				if a.Param == "" {
					t.Fatalf("adjustment %+v lost its field", a)
				}
			}
		}
		if err != nil {
			var e *convertor.Error
			if !errors.As(err, &e) || e.Code != convertor.EInvalid || e.Message == "" {
				t.Fatalf("conversion error = %#v, want an EInvalid *convertor.Error with a message", err)
			}
			return
		}
		if _, err := json.Marshal(out); err != nil {
			t.Fatalf("json.Marshal(converted request) error = %v", err)
		}
		for i := 1; i < len(out.Messages); i++ {
			if out.Messages[i].Role == out.Messages[i-1].Role {
				t.Fatalf("turns %d and %d share role %q", i-1, i, out.Messages[i].Role)
			}
		}
	})
}
