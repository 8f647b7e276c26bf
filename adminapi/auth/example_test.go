package auth_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/adminapi/auth"
)

// The admin API authenticates every request before its handlers run, and
// refuses writes to viewers.
func ExampleAuthenticator_Authenticate() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	cfg, err := auth.LoadConfig(os.Getenv, "127.0.0.1:8005")
	if err != nil {
		log.Error("admin API configuration", "error", err)
		return
	}
	a, err := auth.New(context.Background(), cfg, log)
	if err != nil {
		log.Error("admin API authentication", "error", err)
		return
	}
	defer a.Close()
	if w := a.Warning(); w != "" {
		log.Warn(w)
	}

	status := map[string]int{
		convertor.EUnauthorized: http.StatusUnauthorized,
		convertor.EForbidden:    http.StatusForbidden,
		convertor.EUnavailable:  http.StatusServiceUnavailable,
	}
	requireAuth := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := a.Authenticate(r)
			if err == nil && r.Method != http.MethodGet && !p.CanWrite() {
				err = convertor.Errorf(convertor.EForbidden, "viewers may only read")
			}
			if err != nil {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status[convertor.ErrorCode(err)])
				json.NewEncoder(w).Encode(map[string]string{"error": convertor.ErrorMessage(err)})
				return
			}
			next.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
		})
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", requireAuth(http.NotFoundHandler()))
	if err := http.ListenAndServe(cfg.ListenAddr, mux); err != nil {
		log.Error("admin API", "error", err)
	}
}
