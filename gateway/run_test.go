package gateway

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

// TestRun wires the real dependencies and stops cleanly when its context
// ends; no Bedrock call is made.
func TestRun(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.BedrockEndpoint = "http://127.0.0.1:1"
	cfg.ShutdownTimeout = 5 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Run(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatalf("Run() = %v", err)
	}
}

func TestNew_Validation(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if _, err := New(testConfig(), Deps{}, log); err == nil {
		t.Error("New() without a converser = nil error")
	}
	cfg := testConfig()
	cfg.MasterAPIKey = ""
	if _, err := New(cfg, Deps{Converser: &fakeConverser{}}, log); err == nil {
		t.Error("New() with REQUIRE_API_KEY and no key = nil error")
	}
}

func TestEndpointCheck(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ctx := context.Background()
	if err := endpointCheck(addr)(ctx); err != nil {
		t.Errorf("endpointCheck(listening) = %v", err)
	}
	ln.Close()
	if err := endpointCheck(addr)(ctx); err == nil {
		t.Error("endpointCheck(closed) = nil, want an error")
	}
	for endpoint, want := range map[string]string{
		"":                      "bedrock-runtime.us-east-1.amazonaws.com:443",
		"http://127.0.0.1:8010": "127.0.0.1:8010",
		"http://emulator":       "emulator:80",
		"https://vpce.example":  "vpce.example:443",
	} {
		if got := bedrockEndpointAddr(Config{Region: "us-east-1", BedrockEndpoint: endpoint}); got != want {
			t.Errorf("bedrockEndpointAddr(%q) = %q, want %q", endpoint, got, want)
		}
	}
}
