package adminapi

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"
)

// served lists every endpoint the admin API promises; the OpenAPI document
// must describe exactly these, and each must be routed.
var served = []string{
	"GET /health", "GET /ready", "GET /api/me", "GET /api/ui-config",
	"GET /api/keys", "POST /api/keys", "GET /api/keys/{id}", "PATCH /api/keys/{id}",
	"POST /api/keys/{id}/rotate", "POST /api/keys/{id}/revoke",
	"GET /api/routes", "PUT /api/routes/{model}", "DELETE /api/routes/{model}",
	"GET /api/prices", "GET /api/prices/{model}", "POST /api/prices", "POST /api/prices/preview",
	"GET /api/usage/summary", "GET /api/usage/summary.csv", "GET /api/usage/series", "GET /api/usage/series.csv",
	"GET /api/usage/top", "GET /api/usage/top.csv", "GET /api/usage/requests", "GET /api/usage/requests.csv",
	"GET /api/audit",
}

// documented reads the OpenAPI document as the server serves it.
func documented(t *testing.T, a *api) (doc map[string]any, ops map[string]map[string]any) {
	t.Helper()
	r := want(t, a.do("GET", "/api/openapi.json", "", nil), 200, "openapi.json")
	r.json(t, &doc)
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1") {
		t.Errorf("openapi = %v, want 3.1.x", doc["openapi"])
	}
	ops = map[string]map[string]any{}
	for path, item := range doc["paths"].(map[string]any) {
		for method, op := range item.(map[string]any) {
			ops[strings.ToUpper(method)+" "+path] = op.(map[string]any)
		}
	}
	return doc, ops
}

func TestOpenAPI_ListsExactlyTheRoutesServed(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	_, ops := documented(t, a)
	var names []string
	for k := range ops {
		names = append(names, k)
	}
	slices.Sort(names)
	want := slices.Clone(served)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("documented operations:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
	// Each documented operation is routed: whatever it answers, it is not
	// the router's "no such endpoint".
	param := regexp.MustCompile(`\{[a-z]+\}`)
	for _, k := range names {
		method, path, _ := strings.Cut(k, " ")
		r := a.do(method, param.ReplaceAllString(path, "x"), adminToken, nil)
		if r.status == 404 && strings.Contains(string(r.body), "no such endpoint") || r.status == 405 {
			t.Errorf("%s is documented but not routed: %d %s", k, r.status, r.body)
		}
		if op := ops[k]; op["operationId"] == "" || op["summary"] == "" {
			t.Errorf("%s has no operationId or summary", k)
		}
		if r, ok := ops[k]["responses"].(map[string]any); ok {
			if _, has := r["422"]; has {
				t.Errorf("%s documents 422; the API answers bad requests with 400", k)
			}
		}
	}
	// The portal is served but is no API operation: the document leaves
	// it out.
	for k := range ops {
		if strings.Contains(k, " /admin") {
			t.Errorf("%s is in the OpenAPI document; the portal is not an API operation", k)
		}
	}
	if r := a.do("GET", "/admin/", "", nil); r.status != 200 {
		t.Errorf("GET /admin/ = %d, want the portal (public)", r.status)
	}
	// And what is not documented is not served.
	wantProblem(t, a.do("GET", "/api/nothing", adminToken, nil), 404, "not_found", "")
	r := a.do("DELETE", "/api/keys", adminToken, nil)
	if r.status != 405 || r.header.Get("Allow") == "" || r.problem(t).Code != "method_not_allowed" {
		t.Errorf("DELETE /api/keys = %d %s (Allow %q), want a JSON 405", r.status, r.body, r.header.Get("Allow"))
	}
}

// TestAuth_EveryOperation walks the OpenAPI document: every operation but
// the public ones refuses a missing or wrong token with 401, every write
// refuses a viewer with 403, and every read serves a viewer.
func TestAuth_EveryOperation(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	ks, _ := a.createKey(map[string]any{"name": "k"})
	public := map[string]bool{"GET /health": true, "GET /ready": true, "GET /api/ui-config": true}
	param := regexp.MustCompile(`\{[a-z]+\}`)
	for _, k := range served {
		method, path, _ := strings.Cut(k, " ")
		op := operation(a.srv.OpenAPI(), method, path)
		path = param.ReplaceAllString(path, ks.Key.ID)
		if op == nil {
			t.Fatalf("%s not in the document", k)
		}
		if public[k] {
			if r := a.do(method, path, "", nil); r.status != 200 {
				t.Errorf("%s without a token = %d, want 200 (public)", k, r.status)
			}
			continue
		}
		for _, tok := range []string{"", "wrong"} {
			r := a.do(method, path, tok, nil)
			wantProblem(t, r, 401, "unauthorized", "")
			if r.header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s 401 without WWW-Authenticate", k)
			}
		}
		r := a.do(method, path, viewerToken, nil)
		if op.Metadata[metaWrite] == true {
			wantProblem(t, r, 403, "forbidden", "")
		} else if r.status == 401 || r.status == 403 {
			t.Errorf("%s as viewer = %d %s, want it served", k, r.status, r.body)
		}
	}
}

func operation(doc *huma.OpenAPI, method, path string) *huma.Operation {
	item := doc.Paths[path]
	if item == nil {
		return nil
	}
	return map[string]*huma.Operation{"GET": item.Get, "POST": item.Post, "PUT": item.Put, "PATCH": item.Patch, "DELETE": item.Delete}[method]
}

func TestMe(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	var me Me
	want(t, a.do("GET", "/api/me", viewerToken, nil), 200, "me").json(t, &me)
	if me.Name != "victor" || me.Role != "viewer" || me.CanWrite {
		t.Errorf("me = %+v", me)
	}
	want(t, a.do("GET", "/api/me", adminToken, nil), 200, "me").json(t, &me)
	if me.Role != "admin" || !me.CanWrite {
		t.Errorf("me = %+v", me)
	}
}

func TestHealthAndReady(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	var h Health
	want(t, a.do("GET", "/health", "", nil), 200, "health").json(t, &h)
	if h.Status != "ok" || h.AuthMode != "cognito" {
		t.Errorf("health = %+v", h)
	}
	var r Readiness
	want(t, a.do("GET", "/ready", "", nil), 200, "ready").json(t, &r)
	if r.Status != "ready" {
		t.Errorf("ready = %+v", r)
	}
	b, _ := json.Marshal(h)
	if strings.Contains(string(b), adminToken) {
		t.Errorf("health shows a token")
	}
	if got := a.do("GET", "/health", "", nil).header.Get("X-Request-Id"); !strings.HasPrefix(got, "req_") {
		t.Errorf("X-Request-Id = %q", got)
	}
}
