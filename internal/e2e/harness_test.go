// Package e2e runs the official OpenAI Go SDK against the gateway, which
// calls the Bedrock emulator through the real SigV4 client, all in process
// on loopback ports.
package e2e

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/openai-api-convertor/convertor/gateway"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/bedrock/emulator"
)

// testKey is the master key of every test stack.
const testKey = "sk-e2eTestKey0123456789abcdefghijklmnopqrstuv"

// stack is one gateway in front of one emulator.
type stack struct {
	baseURL string // http://127.0.0.1:port/v1
	client  openai.Client
}

// startStack starts an emulator and a gateway configured by env (on top of
// test defaults) and returns an SDK client aimed at the gateway. The SDK's
// own retries are off so that statuses are observed as sent.
func startStack(t testing.TB, env map[string]string) *stack {
	t.Helper()
	return startGateway(t, startEmulator(t), env, gateway.Deps{})
}

// startEmulator serves a Bedrock emulator that requires SigV4 and returns
// its endpoint.
func startEmulator(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	eln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go emulator.Serve(ctx, eln, emulator.New(emulator.Options{RequireSigV4: true}), slog.New(slog.DiscardHandler))
	return "http://" + eln.Addr().String()
}

// startGateway starts a gateway in front of the emulator at endpoint, with
// deps (the Bedrock client is filled in).
func startGateway(t testing.TB, endpoint string, env map[string]string, deps gateway.Deps) *stack {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	vars := map[string]string{
		"GATEWAY_ADDR":                     "127.0.0.1:0",
		"MASTER_API_KEY":                   testKey,
		"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": endpoint,
		"BEDROCK_MAX_RETRIES":              "2",
		"KEY_STORE":                        "none",
	}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := gateway.LoadConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	awsCfg := aws.Config{
		Region:      cfg.Region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider("AKIDE2E", "secret", "")),
	}
	client, err := bedrock.NewClient(awsCfg, bedrock.ClientConfig{
		Region:         cfg.Region,
		Endpoint:       cfg.BedrockEndpoint,
		MaxRetries:     cfg.MaxRetries,
		RetryBaseDelay: time.Millisecond,
		RetryMaxDelay:  5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	deps.Converser = client
	srv, err := gateway.New(cfg, deps, log)
	if err != nil {
		t.Fatal(err)
	}
	gln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(gln)
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		srv.Shutdown(sctx)
	})
	base := "http://" + gln.Addr().String() + "/v1"
	return &stack{
		baseURL: base,
		client: openai.NewClient(
			option.WithBaseURL(base),
			option.WithAPIKey(testKey),
			option.WithMaxRetries(0),
			option.WithHTTPClient(&http.Client{Timeout: time.Minute}),
		),
	}
}
