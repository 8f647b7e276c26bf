package adminapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/adminapi/auth"
	"github.com/openai-api-convertor/convertor/internal/dynamo"
	"github.com/openai-api-convertor/convertor/internal/stores"
	"github.com/openai-api-convertor/convertor/internal/testenv"
)

// Bearer tokens of the test authenticator.
const (
	adminToken  = "admin-token"
	viewerToken = "viewer-token"
)

// tokenAuth is the test's Authenticator: two fixed tokens, one per role.
// The auth package's own modes are tested there and end to end through
// Serve; here the handlers only need callers of each role.
type tokenAuth struct{}

func (tokenAuth) Authenticate(r *http.Request) (*auth.Principal, error) {
	h := r.Header.Get("Authorization")
	switch h {
	case "":
		return nil, convertor.Errorf(convertor.EUnauthorized, "missing Authorization header")
	case "Bearer " + adminToken:
		return &auth.Principal{Subject: "u-admin", Name: "alice", Email: "alice@example.com", Role: auth.RoleAdmin, Mode: auth.ModeCognito}, nil
	case "Bearer " + viewerToken:
		return &auth.Principal{Subject: "u-viewer", Name: "victor", Role: auth.RoleViewer, Mode: auth.ModeCognito}, nil
	}
	return nil, convertor.Errorf(convertor.EUnauthorized, "invalid token")
}

// api is an admin API on the DynamoDB-compatible server, with tables of
// the test's own.
type api struct {
	t   *testing.T
	url string
	st  *stores.Stores
	svc *Service
	srv *Server
}

// newAPI serves the admin API over fresh tables for t.
func newAPI(t *testing.T, opts ...ServiceOption) *api {
	t.Helper()
	var b [5]byte
	rand.Read(b[:])
	p := "adm-" + hex.EncodeToString(b[:]) + "-"
	cfg := stores.Config{Dynamo: dynamo.Config{
		Endpoint: testenv.DynamoDB(t), Region: dynamo.DefaultRegion,
		Tables: dynamo.Tables{
			APIKeys: p + "keys", Usage: p + "usage", UsageStats: p + "stats", ModelPricing: p + "pricing",
			ModelMapping: p + "mapping", Audit: p + "audit",
		},
	}}
	ctx := context.Background()
	st, err := stores.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if _, err := st.CreateTables(ctx, log); err != nil {
		t.Fatal(err)
	}
	svc, err := NewService(adminDepsOf(st), log, opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{KeyCacheTTL: DefaultKeyCacheTTL, Auth: auth.Config{Mode: auth.ModeCognito}}, svc, tokenAuth{}, log)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &api{t: t, url: hs.URL, st: st, svc: svc, srv: srv}
}

func adminDepsOf(st *stores.Stores) Deps {
	return Deps{Keys: st.Keys, Usage: st.Usage, Stats: st.Stats, Prices: st.Prices, Routes: st.Routes, Audit: st.Audit}
}

// testWriter sends the service's log to the test's.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// reply is an HTTP answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// problem decodes an error answer.
func (r reply) problem(t *testing.T) Error {
	t.Helper()
	var e Error
	r.json(t, &e)
	return e
}

// do sends a request as token; body is JSON-encoded unless it is a
// string or []byte, sent as is.
func (a *api) do(method, path, token string, body any, headers ...string) reply {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, a.url+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// want fails unless r has status; it returns r for chaining.
func want(t *testing.T, r reply, status int, what string) reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d\n%s", what, r.status, status, r.body)
	}
	return r
}

// wantProblem checks an error answer: status, code and, when given, the
// field it blames.
func wantProblem(t *testing.T, r reply, status int, code, location string) Error {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d\n%s", r.status, status, r.body)
	}
	e := r.problem(t)
	if e.Code != code || e.Detail == "" || e.RequestID == "" || e.RequestID != r.header.Get("X-Request-Id") {
		t.Errorf("problem = %+v, want code %s with a detail and the request id %s", e, code, r.header.Get("X-Request-Id"))
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("Content-Type = %q, want application/problem+json", ct)
	}
	if location != "" {
		found := false
		for _, d := range e.Errors {
			found = found || d.Location == location
		}
		if !found {
			t.Errorf("problem blames %+v, want %s\n%s", e.Errors, location, r.body)
		}
	}
	return e
}

// createKey makes a key through the API and returns it with its secret.
func (a *api) createKey(body map[string]any) (KeySecret, reply) {
	a.t.Helper()
	r := want(a.t, a.do("POST", "/api/keys", adminToken, body), 201, "create key")
	var ks KeySecret
	r.json(a.t, &ks)
	return ks, r
}

// auditCount is the number of audit entries.
func (a *api) auditCount() int {
	a.t.Helper()
	es, _, err := a.st.Audit.Audit(context.Background(), convertor.AuditFilter{Limit: convertor.MaxPageSize})
	if err != nil {
		a.t.Fatal(err)
	}
	return len(es)
}
