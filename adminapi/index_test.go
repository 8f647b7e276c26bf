package adminapi

import (
	"slices"
	"strings"
	"testing"
)

// The API's base URL, which the dev banner prints, answers with where the
// document and the portal are and every operation the document lists,
// without a token; it stays exact, so unknown paths under it are 404s.
func TestIndex(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	_, ops := documented(t, a)
	for _, path := range []string{"/api/", "/api"} {
		r := want(t, a.do("GET", path, "", nil), 200, "GET "+path)
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("GET %s Content-Type = %q, want application/json", path, ct)
		}
		var ix Index
		r.json(t, &ix)
		if ix.OpenAPI != "/api/openapi.json" || ix.Portal != "/admin/" || ix.Version != Version || ix.Name == "" {
			t.Errorf("GET %s = %+v, want the document, the portal, the name and version", path, ix)
		}
		if ix.AuthMode != "cognito" || !strings.Contains(ix.Authentication, "Cognito") {
			t.Errorf("GET %s auth = %q %q, want the server's cognito mode and how to present its token", path, ix.AuthMode, ix.Authentication)
		}
		var listed []string
		for _, o := range ix.Operations {
			k := o.Method + " " + o.Path
			listed = append(listed, k)
			op, ok := ops[k]
			if !ok {
				t.Errorf("index lists %s, which the document does not", k)
				continue
			}
			if o.Summary != op["summary"] {
				t.Errorf("%s summary %q, document says %q", k, o.Summary, op["summary"])
			}
			_, secured := op["security"]
			if o.Public == secured {
				t.Errorf("%s public = %v but the document's security is %v", k, o.Public, op["security"])
			}
		}
		want := slices.Clone(served)
		slices.Sort(want)
		if !slices.IsSortedFunc(ix.Operations, func(a, b IndexOperation) int { return strings.Compare(a.Path, b.Path) }) {
			t.Errorf("operations not sorted by path: %v", listed)
		}
		slices.Sort(listed)
		if !slices.Equal(listed, want) {
			t.Errorf("index lists\n%s\nwant\n%s", strings.Join(listed, "\n"), strings.Join(want, "\n"))
		}
	}
	if r := a.do("HEAD", "/api/", "", nil); r.status != 200 {
		t.Errorf("HEAD /api/ = %d, want 200", r.status)
	}
	wantProblem(t, a.do("GET", "/api/nothing", "", nil), 404, "not_found", "")
	r := a.do("POST", "/api/", adminToken, nil)
	if r.status != 405 || r.problem(t).Code != "method_not_allowed" {
		t.Errorf("POST /api/ = %d %s, want a JSON 405", r.status, r.body)
	}
}
