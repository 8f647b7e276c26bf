package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestServer_Responses(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil, nil)
	r := ts.do(t, http.MethodPost, pathResponses, `{"model":"claude-sonnet-4-5","input":"Hi"}`, nil)
	if r.status != http.StatusOK {
		t.Fatalf("status = %d: %s", r.status, r.body)
	}
	var resp struct {
		ID     string `json:"id"`
		Object string `json:"object"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal(r.body, &resp); err != nil || resp.Object != "response" || resp.Status != "completed" {
		t.Fatalf("body = %s (%v)", r.body, err)
	}

	t.Run("GetAndDelete", func(t *testing.T) {
		got := ts.do(t, http.MethodGet, pathResponsePrefix+resp.ID, "", nil)
		if got.status != http.StatusOK || string(got.body) != string(r.body) {
			t.Errorf("GET = %d %s, want the POST body", got.status, got.body)
		}
		del := ts.do(t, http.MethodDelete, pathResponsePrefix+resp.ID, "", nil)
		if del.status != http.StatusOK || !strings.Contains(string(del.body), `"deleted":true`) {
			t.Errorf("DELETE = %d %s", del.status, del.body)
		}
		gone := ts.do(t, http.MethodGet, pathResponsePrefix+resp.ID, "", nil)
		if e := openAIError(t, gone); gone.status != http.StatusNotFound || deref(e.Code) != "response_not_found" {
			t.Errorf("GET after DELETE = %d %s", gone.status, gone.body)
		}
	})
	t.Run("MethodNotAllowed", func(t *testing.T) {
		got := ts.do(t, http.MethodPost, pathResponsePrefix+"resp_1", "{}", nil)
		if got.status != http.StatusMethodNotAllowed || got.header.Get("Allow") == "" {
			t.Errorf("POST by id = %d, Allow %q", got.status, got.header.Get("Allow"))
		}
		got = ts.do(t, http.MethodGet, pathResponses, "", nil)
		if got.status != http.StatusMethodNotAllowed {
			t.Errorf("GET /v1/responses = %d", got.status)
		}
	})
	t.Run("NeedsKey", func(t *testing.T) {
		got := ts.do(t, http.MethodGet, pathResponsePrefix+resp.ID, "", map[string]string{"Authorization": "Bearer sk-wrong"})
		if got.status != http.StatusUnauthorized {
			t.Errorf("GET with a wrong key = %d", got.status)
		}
	})
	t.Run("BadBody", func(t *testing.T) {
		for body, param := range map[string]string{
			`{"model":"claude-sonnet-4-5","input":7}`: "input",
			`{"input":"Hi"}`: "model",
			`{"model":"claude-sonnet-4-5","input":[{"role":"user","content":7}]}`: "input",
		} {
			got := ts.do(t, http.MethodPost, pathResponses, body, nil)
			if e := openAIError(t, got); got.status != http.StatusBadRequest || !strings.HasPrefix(deref(e.Param), param) {
				t.Errorf("%s: %d %s", body, got.status, got.body)
			}
		}
	})
	t.Run("CORS", func(t *testing.T) {
		got := ts.do(t, http.MethodOptions, pathResponsePrefix+"resp_1", "", nil)
		if !strings.Contains(got.header.Get("Access-Control-Allow-Methods"), "DELETE") {
			t.Errorf("preflight allows %q", got.header.Get("Access-Control-Allow-Methods"))
		}
	})
}
