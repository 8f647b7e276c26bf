package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/openai-api-convertor/convertor/gateway"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/bedrock/emulator"
)

// devDataDir holds what `convertor dev` keeps across restarts (DATA_DIR).
const devDataDir = "data"

// devKeyFile keeps the generated development key so that a restart of
// `make run` does not break clients already configured with it.
const devKeyFile = "dev-api-key"

// base62 is the alphabet of generated API keys.
const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// runDev runs the whole stack in one process: the gateway, and the Bedrock
// emulator in place of Bedrock when no AWS credentials are found.
func runDev(ctx context.Context, env *environment, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	dataDir := env.getenv("DATA_DIR")
	if dataDir == "" {
		dataDir = devDataDir
	}
	key := env.getenv("MASTER_API_KEY")
	if key == "" {
		var err error
		if key, err = devKey(dataDir); err != nil {
			return err
		}
	}
	getenv := func(name string) string {
		if name == "MASTER_API_KEY" {
			return key
		}
		return env.getenv(name)
	}
	cfg, err := gateway.LoadConfig(getenv)
	if err != nil {
		return err
	}

	awsCfg, err := bedrock.LoadAWSConfig(ctx, cfg.Region)
	if err != nil {
		return err
	}
	upstream := "AWS Bedrock in " + cfg.Region
	note := ""
	if cfg.BedrockEndpoint == "" && !bedrock.HasCredentials(ctx, awsCfg) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("start bedrock emulator: %w", err)
		}
		emu := emulator.New(emulator.Options{Log: env.log})
		go func() {
			if err := emulator.Serve(ctx, ln, emu, env.log); err != nil {
				env.log.Error("bedrock emulator stopped", "err", err)
			}
		}()
		cfg.BedrockEndpoint = "http://" + ln.Addr().String()
		// Requests are still SigV4-signed, with fixed local credentials, so
		// development exercises the same path as production.
		awsCfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider("emulator", "emulator", ""))
		upstream = "Bedrock EMULATOR at " + cfg.BedrockEndpoint
		note = "no AWS credentials found: answers come from the built-in Bedrock emulator and are SYNTHETIC"
		env.log.Warn("NO AWS CREDENTIALS FOUND: using the built-in Bedrock emulator; its answers are synthetic")
	}
	client, err := bedrock.NewClient(awsCfg, bedrock.ClientConfig{
		Region:     cfg.Region,
		Endpoint:   cfg.BedrockEndpoint,
		MaxRetries: clientRetries(cfg.MaxRetries),
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, `
OpenAI API Convertor (development)
  OpenAI base URL:  http://%s/v1
  API key:          %s
  Upstream:         %s
  Try:  curl http://%s/v1/chat/completions -H "Authorization: Bearer %s" \
          -H "Content-Type: application/json" \
          -d '{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"Hello!"}]}'

`, displayAddr(cfg.Addr), key, upstream, displayAddr(cfg.Addr), key)
	return gateway.RunDeps(ctx, cfg, gateway.Deps{Converser: client, UpstreamNote: note}, env.log)
}

// devKey returns the development key kept in dir, creating it on first use.
func devKey(dir string) (string, error) {
	path := filepath.Join(dir, devKeyFile)
	b, err := os.ReadFile(path)
	if err == nil && strings.HasPrefix(strings.TrimSpace(string(b)), "sk-") {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read development key: %w", err)
	}
	key := "sk-dev-" + randomBase62(40)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create data dir: %w", err)
	}
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write development key: %w", err)
	}
	return key, nil
}

// randomBase62 returns n characters drawn uniformly from base62.
func randomBase62(n int) string {
	out := make([]byte, 0, n)
	var buf [64]byte
	for len(out) < n {
		rand.Read(buf[:])
		for _, b := range buf {
			// 248 = 4*62: rejecting larger bytes keeps the draw uniform.
			if b < 248 && len(out) < n {
				out = append(out, base62[int(b)%62])
			}
		}
	}
	return string(out)
}

// displayAddr turns a listen address (":8000") into one to connect to.
func displayAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// clientRetries translates BEDROCK_MAX_RETRIES, where 0 means no retries,
// to the client's convention, where 0 means its default and -1 none.
func clientRetries(n int) int {
	if n == 0 {
		return -1
	}
	return n
}
