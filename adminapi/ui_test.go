package adminapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor/adminapi/auth"
)

// uiServer is an admin API whose portal is ui; requests go straight to
// its handler.
func uiServer(t *testing.T, cfg Config, ui fstest.MapFS) *Server {
	t.Helper()
	a := newAPI(t)
	srv, err := New(cfg, a.svc, tokenAuth{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ui != nil {
		srv.ui = ui
	}
	return srv
}

func get(srv *Server, method, path string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest(method, path, nil))
	return w
}

func TestServer_UI(t *testing.T) {
	t.Parallel()
	built := fstest.MapFS{
		"index.html":              {Data: []byte(`<!doctype html><script type="module" src="/admin/assets/index-Ab12.js"></script>`)},
		"assets/index-Ab12.js":    {Data: []byte("console.log(1)")},
		"assets/index-Cd34.css":   {Data: []byte("body{}")},
		"favicon.svg":             {Data: []byte("<svg/>")},
		"assets/fonts/.gitignore": {Data: []byte("")},
	}
	srv := uiServer(t, Config{KeyCacheTTL: DefaultKeyCacheTTL, Auth: auth.Config{Mode: auth.ModeToken}}, built)
	for _, c := range []struct {
		method, path string
		status       int
		cache, body  string
		contentType  string
	}{
		{"GET", "/admin/", 200, cacheIndex, "/admin/assets/index-Ab12.js", "text/html"},
		{"GET", "/admin/index.html", 200, cacheIndex, "/admin/assets/index-Ab12.js", "text/html"},
		{"HEAD", "/admin/", 200, cacheIndex, "", "text/html"},
		// The app's own routes load the app, so links and reloads work.
		{"GET", "/admin/keys/key_01J", 200, cacheIndex, "/admin/assets/index-Ab12.js", "text/html"},
		{"GET", "/admin/usage?group_by=model&tz=Asia%2FShanghai", 200, cacheIndex, "index-Ab12.js", "text/html"},
		{"GET", "/admin/assets/index-Ab12.js", 200, cacheAssets, "console.log(1)", "text/javascript"},
		{"GET", "/admin/assets/index-Cd34.css", 200, cacheAssets, "body{}", "text/css"},
		{"GET", "/admin/favicon.svg", 200, cacheIndex, "<svg/>", "image/svg+xml"},
		// A missing asset fails visibly rather than loading HTML as code.
		{"GET", "/admin/assets/index-Old0.js", 404, "", "no such file", "application/problem+json"},
		{"GET", "/admin/../api/keys", 200, cacheIndex, "index-Ab12.js", "text/html"},
	} {
		w := get(srv, c.method, c.path)
		if w.Code != c.status {
			t.Errorf("%s %s = %d, want %d\n%s", c.method, c.path, w.Code, c.status, w.Body)
			continue
		}
		if got := w.Header().Get("Cache-Control"); got != c.cache {
			t.Errorf("%s %s Cache-Control = %q, want %q", c.method, c.path, got, c.cache)
		}
		if got := w.Header().Get("Content-Type"); !strings.HasPrefix(got, c.contentType) {
			t.Errorf("%s %s Content-Type = %q, want %s", c.method, c.path, got, c.contentType)
		}
		if !strings.Contains(w.Body.String(), c.body) {
			t.Errorf("%s %s body = %q, want it to contain %q", c.method, c.path, w.Body, c.body)
		}
		if w.Header().Get("X-Request-Id") == "" {
			t.Errorf("%s %s has no X-Request-Id", c.method, c.path)
		}
	}
	if w := get(srv, "GET", "/admin/"); w.Header().Get("X-Frame-Options") != "DENY" || w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("portal headers = %v, want X-Frame-Options DENY and nosniff", w.Header())
	}

	// /admin has no trailing slash: the app's URLs are relative to /admin/.
	w := get(srv, "GET", "/admin?lang=zh")
	if w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != "/admin/?lang=zh" {
		t.Errorf("GET /admin = %d Location %q, want 301 to /admin/?lang=zh", w.Code, w.Header().Get("Location"))
	}
	w = get(srv, "POST", "/admin/keys")
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /admin/keys = %d Allow %q, want 405 with Allow: GET, HEAD", w.Code, w.Header().Get("Allow"))
	}
	// The API is untouched: /api/ paths still need a token, and unknown
	// ones are still JSON 404s.
	if w := get(srv, "GET", "/api/keys"); w.Code != http.StatusUnauthorized {
		t.Errorf("GET /api/keys without a token = %d, want 401", w.Code)
	}
	if w := get(srv, "GET", "/adminx"); w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "no such endpoint") {
		t.Errorf("GET /adminx = %d %s, want the API's 404", w.Code, w.Body)
	}
}

// A binary built without Node serves a page that says how to build the
// portal.
func TestServer_UINotBuilt(t *testing.T) {
	t.Parallel()
	srv := uiServer(t, Config{KeyCacheTTL: DefaultKeyCacheTTL, Auth: auth.Config{Mode: auth.ModeToken}},
		fstest.MapFS{".placeholder": {Data: []byte("x")}})
	for _, p := range []string{"/admin/", "/admin/keys"} {
		w := get(srv, "GET", p)
		if w.Code != 200 || !strings.Contains(w.Body.String(), "make ui") || w.Header().Get("Cache-Control") != cacheIndex {
			t.Errorf("GET %s = %d %q, want the build instructions, not cached", p, w.Code, w.Body)
		}
	}
}

func TestServer_UIConfig(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		cfg  Config
		want UISettings
	}{
		{"Token", Config{Auth: auth.Config{Mode: auth.ModeToken}}, UISettings{AuthMode: "token"}},
		{"None", Config{Auth: auth.Config{Mode: auth.ModeNone}}, UISettings{AuthMode: "none"}},
		{"Cognito", Config{
			Auth: auth.Config{Mode: auth.ModeCognito, ClientIDs: []string{"scripts", "portal"}, Issuer: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC"},
			UI:   UIConfig{CognitoClientID: "portal", CognitoScopes: "openid email"},
		}, UISettings{AuthMode: "cognito", Cognito: &UICognito{
			Authority: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC", ClientID: "portal", Scopes: "openid email",
		}}},
		{"CognitoDefaults", Config{
			Auth: auth.Config{Mode: auth.ModeCognito, ClientIDs: []string{"first", "second"}, Issuer: "https://idp.example.com/pool"},
		}, UISettings{AuthMode: "cognito", Cognito: &UICognito{Authority: "https://idp.example.com/pool", ClientID: "first", Scopes: DefaultUICognitoScopes}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.KeyCacheTTL = DefaultKeyCacheTTL
			srv := uiServer(t, c.cfg, nil)
			// Public: no Authorization header.
			w := get(srv, "GET", "/api/ui-config")
			if w.Code != 200 {
				t.Fatalf("GET /api/ui-config = %d %s", w.Code, w.Body)
			}
			r := reply{status: w.Code, body: w.Body.Bytes()}
			var got UISettings
			r.json(t, &got)
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("ui-config mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadConfig_UI(t *testing.T) {
	t.Parallel()
	base := map[string]string{
		"ADMIN_AUTH": "cognito", "ADMIN_COGNITO_USER_POOL_ID": "us-east-1_AbC123", "ADMIN_COGNITO_CLIENT_IDS": "cli, portal",
	}
	with := func(kv ...string) func(string) string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	cfg, err := LoadConfig(with())
	if err != nil {
		t.Fatal(err)
	}
	if want := (UIConfig{CognitoClientID: "cli", CognitoScopes: "openid email profile"}); cfg.UI != want {
		t.Errorf("UI = %+v, want %+v (the first accepted client)", cfg.UI, want)
	}
	cfg, err = LoadConfig(with("ADMIN_UI_COGNITO_CLIENT_ID", " portal ", "ADMIN_UI_COGNITO_SCOPES", " openid   email "))
	if err != nil {
		t.Fatal(err)
	}
	if want := (UIConfig{CognitoClientID: "portal", CognitoScopes: "openid email"}); cfg.UI != want {
		t.Errorf("UI = %+v, want %+v", cfg.UI, want)
	}
	_, err = LoadConfig(with("ADMIN_UI_COGNITO_CLIENT_ID", "other", "ADMIN_UI_COGNITO_SCOPES", "email"))
	for _, msg := range []string{`ADMIN_UI_COGNITO_CLIENT_ID: "other" is not among ADMIN_COGNITO_CLIENT_IDS`, `ADMIN_UI_COGNITO_SCOPES: "email" lacks openid`} {
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("LoadConfig() error = %v, want it to say %q", err, msg)
		}
	}
	// Other modes ignore the portal's Cognito settings.
	if _, err := LoadConfig(func(k string) string {
		return map[string]string{"ADMIN_AUTH": "token", "ADMIN_TOKEN": strings.Repeat("t", 40), "ADMIN_UI_COGNITO_CLIENT_ID": "x"}[k]
	}); err != nil {
		t.Errorf("token mode: %v", err)
	}
}
