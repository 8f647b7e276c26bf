package adminapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/adminapi/auth"
)

// IndexPath is the admin API's front page: what someone who opens the
// API's base URL in a browser or with curl sees, so it says where the
// document, the portal and the operations are instead of a bare 404.
const IndexPath = "/api/"

// Index is the front page's body. It is public and holds nothing the
// public OpenAPI document does not.
type Index struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// OpenAPI is the path of the OpenAPI 3.1 document (also as .yaml).
	OpenAPI string `json:"openapi"`
	// Portal is the path of the admin portal.
	Portal string `json:"portal"`
	// AuthMode is ADMIN_AUTH; Authentication says how to present a token.
	AuthMode       string `json:"auth_mode"`
	Authentication string `json:"authentication"`
	// Operations lists every documented operation, sorted by path.
	Operations []IndexOperation `json:"operations"`
}

// IndexOperation is one operation of the OpenAPI document.
type IndexOperation struct {
	Method  string `json:"method"`
	Path    string `json:"path"`
	Summary string `json:"summary"`
	// Public says the operation needs no token.
	Public bool `json:"public,omitempty"`
}

// registerIndex serves the front page at /api/ and /api. It is a plain
// route, not an operation, so the document does not describe itself.
func (s *Server) registerIndex() {
	s.mux.HandleFunc("GET /api/{$}", s.serveIndex)
	s.mux.HandleFunc("GET /api", s.serveIndex)
}

func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	body, err := json.MarshalIndent(s.index(), "", "  ")
	if err != nil {
		writeError(w, &Error{Status: http.StatusInternalServerError, Title: "Internal Server Error", Code: convertor.EInternal, Detail: err.Error(), RequestID: requestIDFrom(r.Context())})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(append(body, '\n'))
}

// index lists the operations of the generated document, so the page
// cannot drift from what is served.
func (s *Server) index() Index {
	doc := s.api.OpenAPI()
	ix := Index{
		Name:           doc.Info.Title,
		Version:        doc.Info.Version,
		OpenAPI:        OpenAPIPath + ".json",
		Portal:         UIPath,
		AuthMode:       string(s.cfg.Auth.Mode),
		Authentication: authHint(s.cfg.Auth.Mode),
	}
	for path, item := range doc.Paths {
		for _, m := range []struct {
			method string
			op     *huma.Operation
		}{
			{http.MethodGet, item.Get}, {http.MethodPost, item.Post}, {http.MethodPut, item.Put},
			{http.MethodPatch, item.Patch}, {http.MethodDelete, item.Delete},
		} {
			if m.op == nil {
				continue
			}
			ix.Operations = append(ix.Operations, IndexOperation{
				Method: m.method, Path: path, Summary: m.op.Summary, Public: m.op.Metadata[metaPublic] == true,
			})
		}
	}
	slices.SortFunc(ix.Operations, func(a, b IndexOperation) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Method, b.Method)
	})
	return ix
}

// authHint says how to present a token in each ADMIN_AUTH mode.
func authHint(mode auth.Mode) string {
	switch mode {
	case auth.ModeCognito:
		return "Authorization: Bearer <Cognito ID or access token>; sign in through the portal"
	case auth.ModeToken:
		return "Authorization: Bearer <ADMIN_TOKEN>"
	case auth.ModeNone:
		return "none: every caller is an admin (development only)"
	}
	return "Authorization: Bearer <token>"
}
