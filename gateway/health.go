package gateway

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// health is the body of GET /health.
type health struct {
	Status  string `json:"status"`
	Version string `json:"version"`
	Region  string `json:"region"`
	// Upstream tells operators where answers come from when that is not
	// plain Bedrock (the emulator's answers are synthetic).
	Upstream string `json:"upstream,omitempty"`
}

// handleHealth serves GET /health: liveness. It checks nothing beyond the
// process answering, so a Bedrock outage never gets healthy replicas killed.
func (s *Server) handleHealth(ctx *fasthttp.RequestCtx, x *exchange) {
	s.writeJSON(ctx, x, health{Status: "ok", Version: Version, Region: s.cfg.Region, Upstream: s.deps.UpstreamNote})
}

// readiness is the body of GET /ready.
type readiness struct {
	Status string `json:"status"`
	// Checks maps each dependency to "ok" or what is wrong with it.
	Checks map[string]string `json:"checks"`
}

// readyCheckTimeout bounds each readiness check; load balancers probe
// every few seconds and give up after a few more.
const readyCheckTimeout = 3 * time.Second

// handleReady serves GET /ready: 200 when every dependency can serve, else
// 503 naming the ones that cannot; a dependency that is only degraded
// (Degraded) is named and keeps it 200. Checks run in parallel.
func (s *Server) handleReady(ctx *fasthttp.RequestCtx, x *exchange) {
	r := readiness{Status: "ready", Checks: make(map[string]string, len(s.deps.Ready))}
	results := make([]error, len(s.deps.Ready))
	var wg sync.WaitGroup
	for i, c := range s.deps.Ready {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(s.baseCtx, readyCheckTimeout)
			defer cancel()
			results[i] = c.Check(cctx)
		})
	}
	wg.Wait()
	status := fasthttp.StatusOK
	for i, c := range s.deps.Ready {
		var degraded Degraded
		if errors.As(results[i], &degraded) {
			r.Checks[c.Name] = "degraded: " + degraded.Error()
			continue
		}
		if results[i] != nil {
			r.Checks[c.Name] = results[i].Error()
			r.Status = "unavailable"
			status = fasthttp.StatusServiceUnavailable
			continue
		}
		r.Checks[c.Name] = "ok"
	}
	s.writeJSONStatus(ctx, x, status, r)
}
