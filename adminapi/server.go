package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/oklog/ulid/v2"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/adminapi/auth"
	"github.com/openai-api-convertor/convertor/adminui"
)

// Version is the admin API's version in its OpenAPI document.
const Version = "1.0.0"

// OpenAPIPath serves the OpenAPI 3.1 document, generated from the
// registered operations, at OpenAPIPath + ".json" (and ".yaml").
const OpenAPIPath = "/api/openapi"

// Authenticator tells who made a request; *auth.Authenticator is one.
type Authenticator interface {
	// Authenticate returns the caller, or an EUnauthorized, EForbidden or
	// EUnavailable error.
	Authenticate(r *http.Request) (*auth.Principal, error)
}

// Server is the admin API's HTTP handler: JSON under /api/, described by
// the OpenAPI document, every operation but the health check, the
// portal's configuration and the document itself authenticated; and the
// admin portal at /admin/. Safe for concurrent use.
type Server struct {
	cfg     Config
	svc     *Service
	authn   Authenticator
	log     *slog.Logger
	api     huma.API
	mux     *http.ServeMux
	handler http.Handler
	// ui is the admin portal served at UIPath; adminui.Dist() unless a
	// test sets another.
	ui fs.FS
}

// Operation metadata keys.
const (
	// metaWrite marks an operation that changes something: viewers get 403.
	metaWrite = "write"
	// metaPublic marks an operation served without authentication.
	metaPublic = "public"
)

// New returns the admin API over svc, authenticating with authn.
func New(cfg Config, svc *Service, authn Authenticator, log *slog.Logger) (*Server, error) {
	if svc == nil || authn == nil {
		return nil, errors.New("adminapi: New needs a service and an authenticator")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	installErrors()
	s := &Server{cfg: cfg, svc: svc, authn: authn, log: log, mux: http.NewServeMux(), ui: adminui.Dist()}
	hc := huma.DefaultConfig("OpenAI API Convertor admin API", Version)
	hc.Info.Description = "Keys, model routes, prices, usage and the audit log of the OpenAI API Convertor. " +
		"Authenticate with `Authorization: Bearer <token>`: a Cognito ID or access token, or the admin token, as ADMIN_AUTH says. " +
		"Errors are RFC 9457 problem details with a `code`. Lists are paged with opaque cursors."
	hc.OpenAPIPath = OpenAPIPath
	// The interactive docs load scripts from a CDN, which an admin network
	// may not reach; the document itself is what tools need.
	hc.DocsPath = ""
	hc.SchemasPath = "/api/schemas"
	hc.RejectUnknownQueryParameters = true
	hc.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "A Cognito ID or access token, or ADMIN_TOKEN"},
	}
	s.api = humago.New(s.mux, hc)
	s.api.UseMiddleware(s.authenticate)
	s.registerAll()
	s.handler = s.outer(s.mux)
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// OpenAPI returns the generated OpenAPI document.
func (s *Server) OpenAPI() *huma.OpenAPI { return s.api.OpenAPI() }

func (s *Server) registerAll() {
	s.registerMeta()
	s.registerUIConfig()
	s.registerKeys()
	s.registerRoutes()
	s.registerPrices()
	s.registerUsage()
	s.registerAudit()
	s.registerIndex()
	fixValidationStatus(s.api.OpenAPI())
}

// fixValidationStatus documents what the server answers: huma documents
// validation failures as 422, which the admin API answers as 400.
func fixValidationStatus(doc *huma.OpenAPI) {
	for _, item := range doc.Paths {
		for _, op := range []*huma.Operation{item.Get, item.Put, item.Post, item.Delete, item.Patch} {
			if op == nil || op.Responses == nil {
				continue
			}
			if r, ok := op.Responses["422"]; ok {
				delete(op.Responses, "422")
				if _, has := op.Responses["400"]; !has {
					r.Description = "Bad Request"
					op.Responses["400"] = r
				}
			}
		}
	}
}

// op registers one operation whose handler returns domain errors, which
// become problem details here.
func op[I, O any](s *Server, o huma.Operation, fn func(context.Context, *I) (*O, error)) {
	if o.Metadata == nil {
		o.Metadata = map[string]any{}
	}
	if o.Metadata[metaPublic] != true {
		o.Security = []map[string][]string{{"bearer": {}}}
		o.Errors = append(o.Errors, http.StatusUnauthorized, http.StatusForbidden)
	}
	if o.Metadata[metaWrite] == true {
		o.Description = strings.TrimSpace(o.Description + "\n\nRequires the admin role; viewers get 403.")
	}
	huma.Register(s.api, o, func(ctx context.Context, in *I) (*O, error) {
		out, err := fn(ctx, in)
		if err != nil {
			return nil, fault(ctx, s.log, err)
		}
		return out, nil
	})
}

type ctxKey int

const requestIDKey ctxKey = 0

func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// actor is the audit log's view of the caller of ctx.
func actor(ctx context.Context) Actor {
	p, _ := auth.FromContext(ctx)
	if p == nil {
		return Actor{Name: "unknown", RequestID: requestIDFrom(ctx)}
	}
	name := p.Name
	if p.Email != "" && p.Email != name {
		name += " <" + p.Email + ">"
	}
	return Actor{Name: name, Role: string(p.Role), Mode: string(p.Mode), RequestID: requestIDFrom(ctx)}
}

// authenticate is the huma middleware that authenticates every operation
// but the public ones and refuses writes to viewers.
func (s *Server) authenticate(hctx huma.Context, next func(huma.Context)) {
	op := hctx.Operation()
	if op != nil && op.Metadata[metaPublic] == true {
		next(hctx)
		return
	}
	r, _ := humago.Unwrap(hctx)
	p, err := s.authn.Authenticate(r)
	if err == nil && op != nil && op.Metadata[metaWrite] == true && !p.CanWrite() {
		err = convertor.Errorf(convertor.EForbidden, "the %s role may only read; changes need the admin role", p.Role)
	}
	if err != nil {
		e := fault(hctx.Context(), s.log, err)
		if e.Status == http.StatusUnauthorized {
			hctx.SetHeader("WWW-Authenticate", `Bearer realm="admin"`)
		}
		huma.WriteErr(s.api, hctx, e.Status, e.Detail, errorDetails(e)...)
		return
	}
	next(huma.WithContext(hctx, auth.WithPrincipal(hctx.Context(), p)))
}

func errorDetails(e *Error) []error {
	out := make([]error, len(e.Errors))
	for i, d := range e.Errors {
		out[i] = d
	}
	return out
}

// outer wraps the router: a request id on every response, one access log
// line per request, the admin portal under /admin/, JSON errors for
// unknown paths and methods, and a 500 instead of a dropped connection
// when a handler panics.
func (s *Server) outer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := "req_" + ulid.Make().String()
		w.Header().Set("X-Request-Id", id)
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey, id))
		rec := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				s.log.Error("admin handler panicked", "request_id", id, "panic", v, "stack", string(debug.Stack()))
				if !rec.wrote {
					writeError(rec, &Error{Status: 500, Title: "Internal Server Error", Code: convertor.EInternal, Detail: "internal error (request " + id + ")", RequestID: id})
				}
			}
			level := slog.LevelInfo
			if rec.status >= 500 {
				level = slog.LevelError
			}
			s.log.Log(r.Context(), level, "admin request", "request_id", id, "method", r.Method, "path", r.URL.Path,
				"status", rec.status, "duration", time.Since(start), "remote", clientIP(r))
		}()
		if handled, isUI := uiRoute(rec, r); handled {
			return
		} else if isUI {
			s.serveUI(rec, r)
			return
		}
		if _, pattern := s.mux.Handler(r); pattern == "" {
			s.notRouted(rec, r, id)
			return
		}
		next.ServeHTTP(rec, r)
	})
}

// notRouted answers a request no operation matches, as the router would
// (404, or 405 with Allow) but in JSON.
func (s *Server) notRouted(w http.ResponseWriter, r *http.Request, id string) {
	probe := &headerRecorder{header: http.Header{}}
	h, _ := s.mux.Handler(r)
	h.ServeHTTP(probe, r)
	e := &Error{Status: http.StatusNotFound, Code: convertor.ENotFound, Detail: fmt.Sprintf("no such endpoint: %s %s", r.Method, r.URL.Path), RequestID: id}
	if probe.status == http.StatusMethodNotAllowed {
		e.Status, e.Code = http.StatusMethodNotAllowed, "method_not_allowed"
		e.Detail = fmt.Sprintf("%s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, probe.header.Get("Allow"))
		w.Header().Set("Allow", probe.header.Get("Allow"))
	}
	e.Title = http.StatusText(e.Status)
	writeError(w, e)
}

func writeError(w http.ResponseWriter, e *Error) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(e.Status)
	json.NewEncoder(w).Encode(e)
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// statusWriter records the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// headerRecorder captures what the router's own 404/405 handler writes.
type headerRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (h *headerRecorder) Header() http.Header         { return h.header }
func (h *headerRecorder) WriteHeader(code int)        { h.status = code }
func (h *headerRecorder) Write(b []byte) (int, error) { return h.body.Write(b) }
