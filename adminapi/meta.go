package adminapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/adminapi/auth"
)

// Me is the caller as the admin API sees them.
type Me struct {
	auth.Principal
	CanWrite bool `json:"can_write" doc:"Whether the caller may change anything (admin role)"`
}

// Health is the liveness answer.
type Health struct {
	Status  string `json:"status" enum:"ok"`
	Version string `json:"version"`
	// AuthMode says how the admin API authenticates (never a secret).
	AuthMode string `json:"auth_mode"`
}

// Readiness says whether the stores answer.
type Readiness struct {
	Status string `json:"status" enum:"ready,unavailable"`
	// Down names the store that did not answer.
	Down string `json:"down,omitempty"`
}

// readyTimeout bounds the readiness probe's store read.
const readyTimeout = 3 * time.Second

func (s *Server) registerMeta() {
	public := map[string]any{metaPublic: true}
	op(s, huma.Operation{
		OperationID: "health", Method: http.MethodGet, Path: "/health", Tags: []string{"Service"},
		Summary: "Liveness", Description: "Answers while the process serves; no authentication.", Metadata: public,
	}, func(ctx context.Context, _ *struct{}) (*struct{ Body Health }, error) {
		return &struct{ Body Health }{Health{Status: "ok", Version: Version, AuthMode: string(s.cfg.Auth.Mode)}}, nil
	})
	op(s, huma.Operation{
		OperationID: "ready", Method: http.MethodGet, Path: "/ready", Tags: []string{"Service"},
		Summary: "Readiness", Description: "503 naming the store that does not answer; no authentication.", Metadata: public,
		Errors: []int{http.StatusServiceUnavailable},
	}, func(ctx context.Context, _ *struct{}) (*struct {
		Status int
		Body   Readiness
	}, error) {
		ctx, cancel := context.WithTimeout(ctx, readyTimeout)
		defer cancel()
		out := &struct {
			Status int
			Body   Readiness
		}{Status: http.StatusOK, Body: Readiness{Status: "ready"}}
		if down := s.svc.ready(ctx); down != "" {
			out.Status, out.Body = http.StatusServiceUnavailable, Readiness{Status: "unavailable", Down: down}
		}
		return out, nil
	})
	op(s, huma.Operation{
		OperationID: "me", Method: http.MethodGet, Path: "/api/me", Tags: []string{"Service"},
		Summary: "Who am I", Description: "The caller's identity and role, as the audit log records them.",
	}, func(ctx context.Context, _ *struct{}) (*struct{ Body Me }, error) {
		p, ok := auth.FromContext(ctx)
		if !ok {
			return nil, convertor.Errorf(convertor.EUnauthorized, "not authenticated")
		}
		return &struct{ Body Me }{Me{Principal: *p, CanWrite: p.CanWrite()}}, nil
	})
}

// ready reads each store once and returns the name of the first that
// fails, "" when all answer.
func (s *Service) ready(ctx context.Context) string {
	checks := []struct {
		name string
		fn   func() error
	}{
		{"api_keys", func() error {
			_, err := s.d.Keys.APIKeyByHash(ctx, convertor.HashAPIKey("readiness probe"))
			if convertor.ErrorCode(err) == convertor.ENotFound {
				return nil
			}
			return err
		}},
		{"routes", func() error { _, err := s.d.Routes.Routes(ctx); return err }},
		{"prices", func() error { _, err := s.d.Prices.Prices(ctx); return err }},
		{"usage_stats", func() error { _, err := s.d.Stats.MonthSpend(ctx, "readiness-probe", s.now()); return err }},
		{"audit", func() error {
			_, _, err := s.d.Audit.Audit(ctx, convertor.AuditFilter{Limit: 1})
			return err
		}},
	}
	for _, c := range checks {
		if err := c.fn(); err != nil {
			s.log.Warn("admin API not ready", "store", c.name, "error", err)
			return c.name
		}
	}
	return ""
}
