package adminapi

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/openai-api-convertor/convertor/adminapi/auth"
	"github.com/openai-api-convertor/convertor/adminui"
)

// UIPath is where the admin portal is served. It is public: the portal
// itself asks for sign-in, and every API call it makes is authenticated.
const UIPath = "/admin/"

// Cache policies of the portal's files. Vite names every asset after a
// hash of its content, so an asset URL never changes meaning and may be
// kept for a year; index.html names the current assets and must be
// revalidated on every load, or a browser would keep running an old build.
const (
	cacheAssets = "public, max-age=31536000, immutable"
	cacheIndex  = "no-cache"
)

// notBuiltPage is served at /admin/ by a binary built without the portal
// (no Node on the build machine).
const notBuiltPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Admin portal not built</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5">
<h1>The admin portal is not built into this binary</h1>
<p>This convertor was built without Node.js, so it carries no admin portal. The admin API itself works:
its OpenAPI document is at <a href="/api/openapi.json">/api/openapi.json</a>.</p>
<p>To build the portal, install Node.js 20 and npm, then run, at the repository's root:</p>
<pre style="background:#f3f4f6; padding: .75rem">make ui     # npm ci and vite build into adminui/dist
make build  # embeds adminui/dist into bin/convertor</pre>
<p><code>make run</code> does both.</p>
</body></html>
`

// serveUI serves the portal: files under /admin/ as they are, with long
// cache headers on the hashed assets, and index.html for every other
// path, so that the app's own routes (/admin/keys/key_...) load on a
// reload or a shared link.
func (s *Server) serveUI(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, &Error{Status: http.StatusMethodNotAllowed, Title: http.StatusText(http.StatusMethodNotAllowed),
			Code: "method_not_allowed", Detail: r.Method + " is not allowed on " + r.URL.Path + " (allowed: GET, HEAD)", RequestID: requestIDFrom(r.Context())})
		return
	}
	// The portal handles admin credentials: no other site may frame it,
	// and no file is sniffed into another type.
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "same-origin")
	ui := s.ui
	if !adminui.Built(ui) {
		w.Header().Set("Cache-Control", cacheIndex)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, notBuiltPage)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+strings.TrimPrefix(r.URL.Path, UIPath)), "/")
	if name != "" && name != "index.html" {
		if f, err := fs.Stat(ui, name); err == nil && !f.IsDir() {
			if strings.HasPrefix(name, "assets/") {
				w.Header().Set("Cache-Control", cacheAssets)
			} else {
				w.Header().Set("Cache-Control", cacheIndex)
			}
			http.ServeFileFS(w, r, ui, name)
			return
		}
		// A missing asset is a 404, not the app: a stale index.html
		// asking for an old bundle must fail visibly, not load HTML as
		// a script.
		if strings.HasPrefix(name, "assets/") {
			writeError(w, &Error{Status: http.StatusNotFound, Title: http.StatusText(http.StatusNotFound), Code: "not_found",
				Detail: "no such file: " + r.URL.Path, RequestID: requestIDFrom(r.Context())})
			return
		}
	}
	index, err := fs.ReadFile(ui, "index.html")
	if err != nil {
		http.Error(w, "admin portal unreadable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Cache-Control", cacheIndex)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	http.ServeContent(w, r, "index.html", time.Time{}, bytes.NewReader(index))
}

// uiRoute reports whether a request is for the portal, and redirects
// /admin to /admin/ so that the app's relative asset URLs resolve.
func uiRoute(w http.ResponseWriter, r *http.Request) (handled, isUI bool) {
	switch {
	case r.URL.Path == strings.TrimSuffix(UIPath, "/"):
		target := UIPath
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusMovedPermanently)
		return true, false
	case strings.HasPrefix(r.URL.Path, UIPath):
		return false, true
	}
	return false, false
}

// UISettings is what the portal reads before anyone signs in: how to sign
// in. It holds no secret.
type UISettings struct {
	AuthMode string `json:"auth_mode" enum:"cognito,token,none" doc:"How the admin API authenticates (ADMIN_AUTH)"`
	// Cognito is set in cognito mode.
	Cognito *UICognito `json:"cognito,omitempty" doc:"Present in cognito mode: the OpenID Connect settings of the portal's sign-in"`
}

// UICognito is the portal's OpenID Connect client configuration.
type UICognito struct {
	Authority string `json:"authority" doc:"The user pool's issuer URL; its /.well-known/openid-configuration names the hosted sign-in pages"`
	ClientID  string `json:"client_id" doc:"The app client the portal signs in with (authorization code with PKCE)"`
	Scopes    string `json:"scopes" doc:"Space-separated OAuth scopes to ask for"`
}

func (s *Server) uiSettings() UISettings {
	v := UISettings{AuthMode: string(s.cfg.Auth.Mode)}
	if s.cfg.Auth.Mode == auth.ModeCognito {
		client := s.cfg.UI.CognitoClientID
		if client == "" && len(s.cfg.Auth.ClientIDs) > 0 {
			client = s.cfg.Auth.ClientIDs[0]
		}
		scopes := s.cfg.UI.CognitoScopes
		if scopes == "" {
			scopes = DefaultUICognitoScopes
		}
		v.Cognito = &UICognito{Authority: s.cfg.Auth.Issuer, ClientID: client, Scopes: scopes}
	}
	return v
}

func (s *Server) registerUIConfig() {
	op(s, huma.Operation{
		OperationID: "ui-config", Method: http.MethodGet, Path: "/api/ui-config", Tags: []string{"Service"},
		Summary:     "Sign-in settings of the admin portal",
		Description: "How the admin portal signs people in: the auth mode and, in cognito mode, the OpenID Connect authority, client id and scopes. No authentication: the portal reads it before sign-in; it holds no secret.",
		Metadata:    map[string]any{metaPublic: true},
	}, func(ctx context.Context, _ *struct{}) (*struct{ Body UISettings }, error) {
		return &struct{ Body UISettings }{s.uiSettings()}, nil
	})
}
