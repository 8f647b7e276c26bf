package metricsserver

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// TestServe_Ready: /ready answers 503 with the reason while the service
// cannot work and 200 once it can; /metrics serves the registry.
func TestServe_Ready(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var live atomic.Bool
	stop, err := Serve(addr, NewRegistry(), slog.New(slog.DiscardHandler), func() error {
		if !live.Load() {
			return errors.New("not subscribed to the events bus; retrying")
		}
		return nil
	})
	if err != nil {
		t.Skipf("port taken meanwhile: %v", err)
	}
	defer stop()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/ready"); code != 503 || !strings.Contains(body, "not subscribed") {
		t.Errorf("/ready while not subscribed = %d %s", code, body)
	}
	live.Store(true)
	if code, body := get("/ready"); code != 200 || !strings.Contains(body, "ready") {
		t.Errorf("/ready when subscribed = %d %s", code, body)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "go_goroutines") {
		t.Errorf("/metrics = %d", code)
	}
}
