package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openai-api-convertor/convertor/internal/testenv"
)

func TestHealthcheck(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/health":
			w.Write([]byte(`{"status":"ok"}`))
		case "/slow":
			time.Sleep(500 * time.Millisecond)
		default:
			http.Error(w, "redis down", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	refused := "http://" + testenv.Refusing(t)

	for _, tt := range []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{name: "healthy", args: []string{srv.URL + "/health"}, wantCode: 0},
		{name: "unhealthy", args: []string{srv.URL + "/ready"}, wantCode: 1, wantStderr: "503 Service Unavailable: redis down"},
		{name: "refused", args: []string{refused + "/health"}, wantCode: 1, wantStderr: "connection refused"},
		{name: "timeout", args: []string{"-timeout", "50ms", srv.URL + "/slow"}, wantCode: 1, wantStderr: "deadline exceeded"},
		{name: "no url", args: nil, wantCode: 2, wantStderr: "1 arguments required"},
		{name: "not a url", args: []string{"localhost:8000/health"}, wantCode: 2, wantStderr: "is not an http or https URL"},
		{name: "bad timeout", args: []string{"-timeout", "0s", srv.URL + "/health"}, wantCode: 2, wantStderr: "-timeout must be positive"},
		{name: "help", args: []string{"-h"}, wantCode: 0, wantStderr: "usage: convertor healthcheck"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := Main(context.Background(), append([]string{"healthcheck"}, tt.args...), func(string) string { return "" }, &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}
