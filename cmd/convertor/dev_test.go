package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway"
	"github.com/openai-api-convertor/convertor/internal/stores"
)

// devPipelineTimeout bounds waiting for usage to reach the statistics; the
// pipeline takes well under a second, much longer under -race on a busy
// two-core machine.
const devPipelineTimeout = 90 * time.Second

// runningDev is one runDevStack in the background.
type runningDev struct {
	info   devInfo
	cancel context.CancelFunc
	done   chan error
}

// devTestEnv is the environment of a development stack on free ports over
// dataDir, logging its warnings to t.
func devTestEnv(t *testing.T, dataDir string) *environment {
	t.Helper()
	vars := map[string]string{
		"DATA_DIR":          dataDir,
		"GATEWAY_ADDR":      "127.0.0.1:0",
		"DEV_NATS_PORT":     "0",
		"DEV_DYNAMODB_ADDR": "127.0.0.1:0",
		"ADMIN_ADDR":        "127.0.0.1:0",
		// Saved only at shutdown: the restart must find what the final
		// snapshot holds.
		"DEV_SNAPSHOT_INTERVAL": "1h",
		// Never AWS, whatever credentials the machine has.
		"DEV_BEDROCK_EMULATOR": "true",
	}
	return &environment{
		getenv: func(k string) string { return vars[k] },
		stdout: io.Discard,
		stderr: io.Discard,
		log:    slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
}

// startDev runs the development stack on free ports over dataDir and
// waits until it serves.
func startDev(t *testing.T, dataDir string) *runningDev {
	t.Helper()
	return startDevEnv(t, devTestEnv(t, dataDir))
}

// startDevEnv runs the development stack in env and waits until it serves.
func startDevEnv(t *testing.T, env *environment) *runningDev {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningDev{cancel: cancel, done: make(chan error, 1)}
	ready := make(chan devInfo, 1)
	go func() { r.done <- runDevStack(ctx, env, func(info devInfo) { ready <- info }) }()
	select {
	case r.info = <-ready:
	case err := <-r.done:
		cancel()
		t.Fatalf("runDevStack: %v", err)
	}
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop stops the stack as Ctrl-C would and checks that it stopped cleanly.
// Stopping a stopped stack does nothing.
func (r *runningDev) stop(t *testing.T) {
	t.Helper()
	if r.done == nil {
		return
	}
	r.cancel()
	if err := <-r.done; err != nil {
		t.Errorf("runDevStack after stop: %v", err)
	}
	r.done = nil
}

// client returns an OpenAI client for the stack, authenticated by key.
func (r *runningDev) client(key string) openai.Client {
	return openai.NewClient(
		option.WithBaseURL(r.info.BaseURL),
		option.WithAPIKey(key),
		option.WithMaxRetries(0),
		option.WithHTTPClient(&http.Client{Timeout: time.Minute}),
	)
}

// testLogWriter sends the stack's warnings and errors to the test log.
type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// tokens is what one test request uses.
type tokens struct{ in, out int64 }

// chat sends one request that the emulator answers with usage u, streamed
// or not, and fails t unless it succeeds.
func chat(t *testing.T, c openai.Client, u tokens, stream bool) {
	t.Helper()
	p := openai.ChatCompletionNewParams{
		Model:    "claude-haiku-4-5",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(fmt.Sprintf("@emulator usage in %d out %d", u.in, u.out))},
	}
	ctx := context.Background()
	if !stream {
		resp, err := c.Chat.Completions.New(ctx, p)
		if err != nil {
			t.Fatalf("chat: %v", err)
		}
		if resp.Usage.PromptTokens != u.in || resp.Usage.CompletionTokens != u.out {
			t.Fatalf("chat usage = %d in, %d out, want %d, %d", resp.Usage.PromptTokens, resp.Usage.CompletionTokens, u.in, u.out)
		}
		return
	}
	s := c.Chat.Completions.NewStreaming(ctx, p)
	n := 0
	for s.Next() {
		n++
	}
	if err := s.Err(); err != nil {
		t.Fatalf("chat stream: %v", err)
	}
	if n == 0 {
		t.Fatal("chat stream: no chunks")
	}
}

// totals is a key's usage as the aggregator's day roll-ups have it.
type totals struct {
	Requests, Input, Output, Cost int64
}

// waitTotals polls the statistics of keyID until they equal want's
// requests and tokens, and returns them.
func waitTotals(t *testing.T, endpoint, keyID string, want totals) totals {
	t.Helper()
	ctx := context.Background()
	st := devStores(t, endpoint)
	stats := st.Stats
	deadline := time.Now().Add(devPipelineTimeout)
	var got totals
	for {
		now := time.Now().UTC()
		rows, err := stats.Rollups(ctx, convertor.RollupFilter{
			Period: convertor.PeriodDay, KeyID: keyID,
			From: now.Add(-48 * time.Hour), To: now.Add(48 * time.Hour),
		})
		if err == nil {
			got = totals{}
			for _, r := range rows {
				if r.KeyID != keyID {
					continue
				}
				got.Requests += r.Requests
				got.Input += r.InputTokens
				got.Output += r.OutputTokens
				got.Cost += r.CostMicros
			}
			if got.Requests == want.Requests && got.Input == want.Input && got.Output == want.Output {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("statistics of %s = %+v (last error %v), want %d requests, %d in, %d out", keyID, got, err, want.Requests, want.Input, want.Output)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got.Cost <= 0 {
		t.Errorf("statistics of %s cost %d micro-dollars, want a price applied", keyID, got.Cost)
	}
	// Month spend is what budgets read; it agrees with the day roll-ups
	// unless the month turned during the test.
	now := time.Now().UTC()
	if spend, err := stats.MonthSpend(ctx, keyID, now); err != nil {
		t.Errorf("MonthSpend: %v", err)
	} else if now.Day() > 2 && spend != got.Cost {
		t.Errorf("MonthSpend(%s) = %d, want the roll-ups' %d", keyID, spend, got.Cost)
	}
	return got
}

// devStores opens the stores of a development stack whose DynamoDB is at
// endpoint, under the default table names it uses.
func devStores(t *testing.T, endpoint string) *stores.Stores {
	t.Helper()
	cfg, err := stores.LoadConfig(func(k string) string {
		if k == "DYNAMODB_ENDPOINT_URL" {
			return endpoint
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := stores.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// createKey runs `convertor keys create` against the stack's DynamoDB, as
// the banner tells a person to, and returns the secret and key id.
func createKey(t *testing.T, endpoint string) (secret, id string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := map[string]string{"DYNAMODB_ENDPOINT_URL": endpoint, "LOG_LEVEL": "error"}
	if code := Main(context.Background(), []string{"keys", "create", "--name", "me"}, func(k string) string { return env[k] }, &out, &errOut); code != 0 {
		t.Fatalf("keys create: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	secret, id = secretRE.FindString(out.String()), keyIDRE.FindString(out.String())
	if secret == "" || id == "" {
		t.Fatalf("keys create printed no secret or id:\n%s", out.String())
	}
	return secret, id
}

// TestDev_PipelineSurvivesRestart sends requests through the whole
// development stack, checks that the aggregator's statistics count them
// exactly, stops the stack with requests just sent, and checks that a
// restart on the same data folder keeps the key, the statistics and every
// accepted request.
func TestDev_PipelineSurvivesRestart(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	dev := startDev(t, dataDir)
	secret, keyID := createKey(t, dev.info.DynamoDBEndpoint)
	c := dev.client(secret)

	var want totals
	send := func(c openai.Client, u tokens, stream bool) {
		t.Helper()
		chat(t, c, u, stream)
		want.Requests++
		want.Input += u.in
		want.Output += u.out
	}
	for i := range 6 {
		send(c, tokens{in: int64(10 + i), out: int64(3 + 2*i)}, i%2 == 1)
	}
	// The development key is the master key: its requests count too.
	chat(t, dev.client(dev.info.APIKey), tokens{in: 5, out: 4}, false)
	first := waitTotals(t, dev.info.DynamoDBEndpoint, keyID, want)
	waitTotals(t, dev.info.DynamoDBEndpoint, gateway.MasterKeyID, totals{Requests: 1, Input: 5, Output: 4})

	// Sent right before the stop: accepted, so they must not be lost.
	for i := range 4 {
		send(c, tokens{in: int64(100 + i), out: int64(7 * (i + 1))}, i%2 == 0)
	}
	masterKey := dev.info.APIKey
	dev.stop(t)
	if _, err := os.Stat(filepath.Join(dataDir, "dynamodb", "snapshot.json")); err != nil {
		t.Fatalf("no snapshot after stop: %v", err)
	}

	dev = startDev(t, dataDir)
	if dev.info.APIKey != masterKey {
		t.Errorf("development key changed across a restart")
	}
	send(dev.client(secret), tokens{in: 1, out: 1}, false)
	got := waitTotals(t, dev.info.DynamoDBEndpoint, keyID, want)
	if got.Cost <= first.Cost {
		t.Errorf("cost after restart %d, want more than the %d before", got.Cost, first.Cost)
	}
	waitTotals(t, dev.info.DynamoDBEndpoint, gateway.MasterKeyID, totals{Requests: 1, Input: 5, Output: 4})
	// A key that does not exist is still refused: the store answers.
	bad := dev.client("sk-" + strings.Repeat("x", 40))
	_, err := bad.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "claude-haiku-4-5", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("unknown key: error %v, want a 401", err)
	}
}

// TestDev_AdminRoutes puts an admin route into the stack's store, as the
// admin API will, and waits for the gateway to list and serve it without
// a restart.
func TestDev_AdminRoutes(t *testing.T) {
	t.Parallel()
	env := devTestEnv(t, t.TempDir())
	getenv := env.getenv
	env.getenv = func(k string) string {
		if k == "ROUTES_REFRESH" {
			return "20ms"
		}
		return getenv(k)
	}
	dev := startDevEnv(t, env)
	ctx := context.Background()
	routes := devStores(t, dev.info.DynamoDBEndpoint).Routes
	if _, err := routes.PutRoute(ctx, convertor.Route{Model: "team-haiku", BedrockModelID: "us.anthropic.claude-haiku-4-5-20251001-v1:0"}); err != nil {
		t.Fatalf("PutRoute() error = %v", err)
	}

	c := dev.client(dev.info.APIKey)
	deadline := time.Now().Add(devPipelineTimeout)
	for {
		page, err := c.Models.List(ctx)
		if err != nil {
			t.Fatalf("list models: %v", err)
		}
		if slices.ContainsFunc(page.Data, func(m openai.Model) bool { return m.ID == "team-haiku" }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /v1/models never listed the admin route team-haiku")
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model: "team-haiku", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	if err != nil || len(resp.Choices) == 0 {
		t.Fatalf("chat with the admin route: %v", err)
	}
	if resp.Model != "team-haiku" {
		t.Errorf("chat model = %q, want the requested team-haiku", resp.Model)
	}
}

func TestLoadDevConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		want    devConfig
		wantErr []string
	}{
		{
			name: "defaults",
			env:  map[string]string{},
			want: devConfig{DataDir: "data", NATSPort: 4222, NATSPortFallback: true, DynamoDBAddr: "127.0.0.1:8001", DynamoDBFallback: true, SnapshotInterval: 5 * time.Second, AdminAddr: "127.0.0.1:8005", AdminFallback: true},
		},
		{
			name: "explicit ports do not fall back",
			env: map[string]string{"DATA_DIR": "/tmp/x", "DEV_NATS_PORT": "0", "DEV_DYNAMODB_ADDR": "127.0.0.1:9001",
				"DEV_SNAPSHOT_INTERVAL": "1m", "NATS_URL": "nats://h:4222", "DYNAMODB_ENDPOINT_URL": "http://h:8000", "DEV_BEDROCK_EMULATOR": "1",
				"ADMIN_ADDR": "127.0.0.1:9005"},
			want: devConfig{DataDir: "/tmp/x", NATSPort: 0, DynamoDBAddr: "127.0.0.1:9001", SnapshotInterval: time.Minute,
				NATSURL: "nats://h:4222", DynamoDBEndpoint: "http://h:8000", Emulator: true, AdminAddr: "127.0.0.1:9005"},
		},
		{
			// The default given explicitly is explicit: it does not fall back.
			name: "explicit default port, bare seconds",
			env:  map[string]string{"DEV_NATS_PORT": "4222", "DEV_SNAPSHOT_INTERVAL": "30", "DEV_BEDROCK_EMULATOR": " False "},
			want: devConfig{DataDir: "data", NATSPort: 4222, DynamoDBAddr: "127.0.0.1:8001", DynamoDBFallback: true, SnapshotInterval: 30 * time.Second, AdminAddr: "127.0.0.1:8005", AdminFallback: true},
		},
		{
			name: "every problem at once",
			env:  map[string]string{"DEV_NATS_PORT": "http", "DEV_DYNAMODB_ADDR": "8001", "DEV_SNAPSHOT_INTERVAL": "-1s", "DEV_BEDROCK_EMULATOR": "maybe", "ADMIN_ADDR": "8005"},
			wantErr: []string{
				`ADMIN_ADDR: "8005" is not host:port`,
				`DEV_NATS_PORT: "http" is not an integer (use 0 to 65535)`,
				`DEV_DYNAMODB_ADDR: "8001" is not host:port`,
				`DEV_SNAPSHOT_INTERVAL: "-1s" is negative`,
				`DEV_BEDROCK_EMULATOR: "maybe" is not a boolean (use true, false, 1 or 0)`,
			},
		},
		{
			name:    "port out of range, zero interval",
			env:     map[string]string{"DEV_NATS_PORT": "65536", "DEV_SNAPSHOT_INTERVAL": "0"},
			wantErr: []string{`DEV_NATS_PORT: "65536" is above the maximum 65535`, `DEV_SNAPSHOT_INTERVAL: "0" is not positive`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := loadDevConfig(func(k string) string { return tt.env[k] })
			if tt.wantErr != nil {
				if err == nil {
					t.Fatal("loadDevConfig succeeded, want an error")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not name %s", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("loadDevConfig() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDev_CorruptSnapshot(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	path := filepath.Join(dataDir, "dynamodb", "snapshot.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(`{"format":1,"tables":[`), 0o600); err != nil {
		t.Fatal(err)
	}
	err := runDevStack(context.Background(), devTestEnv(t, dataDir), func(devInfo) { t.Error("stack started over a corrupt snapshot") })
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("runDevStack error = %v, want one naming %s as corrupt", err, path)
	}
}

func TestDev_DataDirInUse(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	startDev(t, dataDir)
	err := runDevStack(context.Background(), devTestEnv(t, dataDir), func(devInfo) { t.Error("second stack started on the same data folder") })
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("runDevStack on a folder in use: error %v, want one saying so", err)
	}
}

// TestDev_AdminAPI: the stack serves the admin API with a generated token
// kept across restarts; a key created through it works on the gateway.
func TestDev_AdminAPI(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	r := startDev(t, dataDir)
	info := r.info
	if info.AdminAuth != "token" || len(info.AdminToken) < 32 || info.AdminTokenFile == "" {
		t.Fatalf("admin sign-in = %s %q %q", info.AdminAuth, info.AdminToken, info.AdminTokenFile)
	}
	var banner strings.Builder
	printDevBanner(&banner, info)
	for _, want := range []string{info.AdminURL + "/admin/", info.AdminURL + "/api/", info.AdminToken, "./bin/convertor keys create"} {
		if !strings.Contains(banner.String(), want) {
			t.Errorf("banner does not say %q:\n%s", want, banner.String())
		}
	}
	call := func(method, path, token, body string) (int, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, info.AdminURL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if code, _ := call("GET", "/api/keys", "", ""); code != 401 {
		t.Errorf("admin API without the token = %d, want 401", code)
	}
	if code, _ := call("GET", "/api/keys", info.APIKey, ""); code != 401 {
		t.Errorf("admin API with the gateway key = %d, want 401", code)
	}
	code, body := call("POST", "/api/keys", info.AdminToken, `{"name":"dev user"}`)
	if code != 201 {
		t.Fatalf("create key = %d %s", code, body)
	}
	var created struct{ Secret string }
	if err := json.Unmarshal(body, &created); err != nil {
		t.Fatal(err)
	}
	client := r.client(created.Secret)
	resp, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "claude-haiku-4-5", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	if err != nil || len(resp.Choices) == 0 {
		t.Fatalf("chat with the key made through the admin API: %v", err)
	}

	// The token survives a restart.
	r.stop(t)
	again := startDev(t, dataDir)
	if again.info.AdminToken != info.AdminToken {
		t.Errorf("admin token changed across a restart")
	}
}
