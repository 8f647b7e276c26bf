package convert

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

// The -update flag rewrites golden files. Other test files of the package
// may declare it as a package variable (initialised before any init), so
// it is declared here only if missing and read through flag.Lookup.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// defaultTestModel is the Bedrock model of golden cases without options.
const defaultTestModel = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"

// caseOptions is the optional <case>.options.json sidecar of a golden case.
type caseOptions struct {
	// Model is the Bedrock model id whose capabilities apply.
	Model string `json:"model"`
	// Features are the switches; a missing one is on.
	Features struct {
		Vision   *bool `json:"vision"`
		ToolUse  *bool `json:"tool_use"`
		Thinking *bool `json:"thinking"`
	} `json:"features"`
	Images    map[string]*bedrock.ImageBlock    `json:"images"`
	Reasoning map[string][]bedrock.ContentBlock `json:"reasoning"`
	// StrictParams refuses what would be adjusted (STRICT_PARAMS).
	StrictParams bool `json:"strict_params"`
}

// errorGolden is the form of <case>.error.json.
type errorGolden struct {
	Code    string `json:"code"`
	Param   string `json:"param"`
	Message string `json:"message"`
}

func TestChatRequestToConverse_Golden(t *testing.T) {
	requests, err := filepath.Glob(filepath.Join("testdata", "chat", "*.request.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(requests) == 0 {
		t.Fatal("no golden cases in testdata/chat")
	}
	for _, path := range requests {
		base := strings.TrimSuffix(path, ".request.json")
		t.Run(filepath.Base(base), func(t *testing.T) {
			req := readRequest(t, path)
			opts := readOptions(t, base+".options.json")
			got, adjusted, err := ChatRequestToConverse(req, opts)
			if err != nil {
				checkGolden(t, base+".error.json", base+".converse.json", errorToGolden(t, err))
				checkNoGolden(t, base+".adjusted.json")
				return
			}
			checkGolden(t, base+".converse.json", base+".error.json", got)
			if len(adjusted) == 0 {
				checkNoGolden(t, base+".adjusted.json")
				return
			}
			checkGolden(t, base+".adjusted.json", "", adjusted)
			if h := FormatAdjustments(adjusted); !isHeaderText(h) {
				t.Errorf("FormatAdjustments() = %q, not a header value", h)
			}
		})
	}
}

// checkNoGolden fails when the golden file path exists for a case that
// does not produce it, or removes it under -update.
func checkNoGolden(t *testing.T, path string) {
	t.Helper()
	if updateGolden() {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		return
	}
	if _, err := os.Stat(path); err == nil {
		t.Errorf("%s exists but the case produces no such result (run with -update to remove it)", path)
	}
}

// isHeaderText reports whether s is printable ASCII, as an HTTP header
// value should be.
func isHeaderText(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// checkGolden compares got with the golden file want, or rewrites it under
// -update and removes the stale golden of the other outcome.
func checkGolden(t *testing.T, want, stale string, got any) {
	t.Helper()
	gotJSON, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatalf("marshal result: %v", err)
	}
	gotJSON = append(gotJSON, '\n')
	if updateGolden() {
		if err := os.WriteFile(want, gotJSON, 0o644); err != nil {
			t.Fatal(err)
		}
		if stale == "" {
			return
		}
		if err := os.Remove(stale); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		return
	}
	wantJSON, err := os.ReadFile(want)
	if err != nil {
		t.Fatalf("read golden (run with -update to create it): %v", err)
	}
	if diff := cmp.Diff(decodeAny(t, wantJSON), decodeAny(t, gotJSON)); diff != "" {
		t.Errorf("ChatRequestToConverse() mismatch in %s (-want +got):\n%s", want, diff)
	}
}

func errorToGolden(t *testing.T, err error) errorGolden {
	t.Helper()
	var e *convertor.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not a *convertor.Error", err)
	}
	if e.Code != convertor.EInvalid {
		t.Errorf("error code = %q, want %q", e.Code, convertor.EInvalid)
	}
	return errorGolden{Code: e.Code, Param: e.Param, Message: e.Message}
}

func readRequest(tb testing.TB, path string) *openai.ChatRequest {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var req openai.ChatRequest
	if err := json.Unmarshal(b, &req); err != nil {
		tb.Fatalf("decode %s: %v", path, err)
	}
	return &req
}

// readOptions reads a case's options sidecar; a missing one means the
// default model with every feature on.
func readOptions(tb testing.TB, path string) *Options {
	tb.Helper()
	var co caseOptions
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		tb.Fatal(err)
	default:
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&co); err != nil {
			tb.Fatalf("decode %s: %v", path, err)
		}
	}
	if co.Model == "" {
		co.Model = defaultTestModel
	}
	on := func(b *bool) bool { return b == nil || *b }
	return &Options{
		Capabilities: convertor.CapabilitiesFor(co.Model),
		Features: Features{
			Vision:   on(co.Features.Vision),
			ToolUse:  on(co.Features.ToolUse),
			Thinking: on(co.Features.Thinking),
		},
		Images:       co.Images,
		Reasoning:    co.Reasoning,
		StrictParams: co.StrictParams,
	}
}

func decodeAny(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode JSON: %v", err)
	}
	return v
}

func TestChatRequestToConverse_NilInputs(t *testing.T) {
	t.Run("NilRequest", func(t *testing.T) {
		_, _, err := ChatRequestToConverse(nil, &Options{})
		if code := convertor.ErrorCode(err); code != convertor.EInvalid {
			t.Errorf("ErrorCode() = %q, want %q", code, convertor.EInvalid)
		}
	})
	t.Run("NilOptions", func(t *testing.T) {
		req := &openai.ChatRequest{Model: "m", Messages: []openai.Message{{Role: "user", Content: &openai.Content{Text: "hi"}}}}
		got, _, err := ChatRequestToConverse(req, nil)
		if err != nil {
			t.Fatalf("ChatRequestToConverse() error = %v", err)
		}
		unknown := convertor.CapabilitiesFor("")
		if got.InferenceConfig == nil || got.InferenceConfig.MaxTokens == nil || *got.InferenceConfig.MaxTokens != unknown.DefaultMaxTokens {
			t.Errorf("maxTokens = %+v, want the unknown model's default %d", got.InferenceConfig, unknown.DefaultMaxTokens)
		}
	})
}

func TestRemoteImageURLs(t *testing.T) {
	req := readRequest(t, filepath.Join("testdata", "chat", "image_https_fetched.request.json"))
	got := RemoteImageURLs(req)
	want := []string{"https://example.com/cat.png", "https://example.com/dog.png"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RemoteImageURLs() mismatch (-want +got):\n%s", diff)
	}
	if got := RemoteImageURLs(nil); got != nil {
		t.Errorf("RemoteImageURLs(nil) = %v, want nil", got)
	}
}

// TestChatRequestToConverse_ImagesFilledAfter: the request refers to the
// caller's image blocks, so images fetched after conversion (once the
// request is admitted) reach it without converting again.
func TestChatRequestToConverse_ImagesFilledAfter(t *testing.T) {
	req := readRequest(t, filepath.Join("testdata", "chat", "image_https_fetched.request.json"))
	images := map[string]*bedrock.ImageBlock{}
	for _, u := range RemoteImageURLs(req) {
		images[u] = new(bedrock.ImageBlock)
	}
	got, _, err := ChatRequestToConverse(req, &Options{Features: AllFeatures, Capabilities: convertor.CapabilitiesFor(defaultTestModel), Images: images})
	if err != nil {
		t.Fatalf("ChatRequestToConverse() error = %v", err)
	}
	*images["https://example.com/cat.png"] = bedrock.ImageBlock{Format: "png", Source: bedrock.ImageSource{Bytes: []byte("cat")}}
	*images["https://example.com/dog.png"] = bedrock.ImageBlock{Format: "jpeg", Source: bedrock.ImageSource{Bytes: []byte("dog")}}
	var seen []string
	for _, m := range got.Messages {
		for _, b := range m.Content {
			if b.Image != nil {
				seen = append(seen, string(b.Image.Source.Bytes))
			}
		}
	}
	if len(seen) != 4 || seen[0] != "cat" || seen[1] != "dog" || seen[2] != "cat" {
		t.Errorf("images in the request = %q, want cat, dog, cat and the data URL's", seen)
	}
}

func TestToolCallIDs(t *testing.T) {
	req := readRequest(t, filepath.Join("testdata", "chat", "thinking_tools_reasoning_restored.request.json"))
	got := ToolCallIDs(req)
	want := []string{"toolu_01", "toolu_02", "toolu_03"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ToolCallIDs() mismatch (-want +got):\n%s", diff)
	}
	if got := ToolCallIDs(nil); got != nil {
		t.Errorf("ToolCallIDs(nil) = %v, want nil", got)
	}
}

// TestChatRequestToConverse_DoesNotModifyRequest guards the gateway, which
// logs and meters the request after conversion.
func TestChatRequestToConverse_DoesNotModifyRequest(t *testing.T) {
	for _, name := range []string{"tools_history_merged", "blank_text_dropped", "prefill_trailing_space_trimmed"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", "chat", name+".request.json")
			req := readRequest(t, path)
			before, err := json.Marshal(req)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := ChatRequestToConverse(req, readOptions(t, filepath.Join("testdata", "chat", name+".options.json"))); err != nil {
				t.Fatalf("ChatRequestToConverse() error = %v", err)
			}
			after, err := json.Marshal(req)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(before), string(after)); diff != "" {
				t.Errorf("request changed by conversion (-before +after):\n%s", diff)
			}
		})
	}
}

func TestRequestMetadata(t *testing.T) {
	tests := []struct {
		name, user string
		want       map[string]string
	}{
		{"Empty", "", nil},
		{"Plain", "user-123@example.com", map[string]string{"user": "user-123@example.com"}},
		{"Replaced", "jürgen#1\n", map[string]string{"user": "j_rgen_1_"}},
		{"Clipped", strings.Repeat("é", 300), map[string]string{"user": strings.Repeat("_", 256)}},
	}
	if got, want := requestMetadata("u-1", "sid 2"), map[string]string{"user": "u-1", "safety_identifier": "sid 2"}; !cmp.Equal(got, want) {
		t.Errorf("requestMetadata(user, safety_identifier) = %v, want %v", got, want)
	}
	if got, want := requestMetadata("", "sid#3"), map[string]string{"safety_identifier": "sid_3"}; !cmp.Equal(got, want) {
		t.Errorf("requestMetadata(safety_identifier only) = %v, want %v", got, want)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, requestMetadata(tt.user, "")); diff != "" {
				t.Errorf("requestMetadata(%q) mismatch (-want +got):\n%s", tt.user, diff)
			}
		})
	}
}
