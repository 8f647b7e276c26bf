package openai_test

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/openai"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// errorCase is the input of a golden error case: a domain error, a Bedrock
// exception as the client reports it, or a plain error.
type errorCase struct {
	Error *struct {
		Code, Message, Param, Reason string
	} `json:"error"`
	Bedrock *struct {
		Type, Message string
		Status        int
		InStream      bool `json:"in_stream"`
	} `json:"bedrock"`
	Plain string `json:"plain"`
}

func (c *errorCase) err() error {
	switch {
	case c.Error != nil:
		return &convertor.Error{Code: c.Error.Code, Message: c.Error.Message, Param: c.Error.Param, Reason: c.Error.Reason}
	case c.Bedrock != nil:
		return fmt.Errorf("converse: %w", &bedrock.APIError{Type: c.Bedrock.Type, Message: c.Bedrock.Message,
			StatusCode: c.Bedrock.Status, InStream: c.Bedrock.InStream, Attempts: 1})
	}
	return errors.New(c.Plain)
}

// errorGolden is what a client receives.
type errorGolden struct {
	Status     int             `json:"status"`
	RetryAfter string          `json:"retry_after,omitempty"`
	Body       json.RawMessage `json:"body"`
}

const testRequestID = "req_01JTESTTESTTESTTESTTESTTES"

func TestNewError_Golden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/errors/*.input.json")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden inputs (%v)", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".input.json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var c errorCase
			if err := json.Unmarshal(raw, &c); err != nil {
				t.Fatal(err)
			}
			e := openai.NewError(c.err(), testRequestID)
			got := errorGolden{Status: e.Status, Body: json.RawMessage(e.AppendJSON(nil))}
			if n := e.RetryAfterSeconds(); n > 0 {
				got.RetryAfter = fmt.Sprint(n)
			}
			gotJSON, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			gotJSON = append(gotJSON, '\n')
			path := strings.TrimSuffix(in, ".input.json") + ".want.json"
			if *update {
				if err := os.WriteFile(path, gotJSON, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(gotJSON)); diff != "" {
				t.Errorf("NewError() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewError_Envelope(t *testing.T) {
	t.Parallel()
	e := openai.NewError(convertor.ParamErrorf("messages", "bad"), "")
	var raw map[string]map[string]any
	if err := json.Unmarshal(e.AppendJSON(nil), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"message", "type", "param", "code"} {
		if _, ok := raw["error"][k]; !ok {
			t.Errorf("envelope lacks %q", k)
		}
	}
	if raw["error"]["code"] != nil {
		t.Errorf("code = %v, want null", raw["error"]["code"])
	}
}

// retryIn is an error that knows when to retry, as a rate limiter's does.
type retryIn time.Duration

func (r retryIn) Error() string             { return "slow down" }
func (r retryIn) RetryAfter() time.Duration { return time.Duration(r) }

func TestNewError_RetryAfter(t *testing.T) {
	t.Parallel()
	err := errors.Join(convertor.Errorf(convertor.ERateLimited, "slow down"), retryIn(1500*time.Millisecond))
	if got := openai.NewError(err, "").RetryAfterSeconds(); got != 2 {
		t.Errorf("RetryAfterSeconds() = %d, want 2 (rounded up from 1.5s)", got)
	}
	if got := openai.NewError(convertor.Errorf(convertor.EInvalid, "x"), "").RetryAfterSeconds(); got != 0 {
		t.Errorf("RetryAfterSeconds() = %d for a 400, want 0", got)
	}
}

func TestErrorClassFor(t *testing.T) {
	t.Parallel()
	for _, code := range []string{convertor.EInvalid, convertor.EUnauthorized, convertor.EForbidden, convertor.ENotFound,
		convertor.ERateLimited, convertor.EQuota, convertor.ETooLarge, convertor.EUnavailable, convertor.ETimeout,
		convertor.EUpstream, convertor.EInternal, convertor.ECanceled} {
		c := openai.ErrorClassFor(code)
		if c.Status == 0 || c.Type == "" {
			t.Errorf("ErrorClassFor(%s) = %+v, want a status and a type", code, c)
		}
		if code != convertor.EInternal && c == openai.ErrorClassFor(convertor.EInternal) {
			t.Errorf("ErrorClassFor(%s) falls back to internal", code)
		}
	}
}
