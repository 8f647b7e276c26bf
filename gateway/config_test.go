package gateway

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor/gateway/convert"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	t.Run("Defaults", func(t *testing.T) {
		got, err := LoadConfig(env(map[string]string{"MASTER_API_KEY": "k"}))
		if err != nil {
			t.Fatal(err)
		}
		want := Config{
			Addr: ":8000", Region: "us-east-1", MaxRetries: 3, UpstreamTimeout: 5 * time.Minute,
			MasterAPIKey: "k", RequireAPIKey: true, Features: convert.AllFeatures, PromptCaching: true, PromptCacheTTL: "5m",
			ImageFetchMaxBytes: 3932160, ImageFetchTimeout: 10 * time.Second,
			ImageFetchConcurrency: 32, ImageFetchMaxTotalBytes: 20 << 20,
			MaxRequestBodyBytes: 20 << 20, ThinkingCacheEntries: 10000, ThinkingCacheMaxBytes: 64 << 20,
			ThinkingCacheTTL: time.Hour, ShutdownTimeout: 25 * time.Second,
			ResponseStoreEntries: 1000, ResponseStoreKeyBytes: 32 << 20, ResponseStoreMaxBytes: 256 << 20, ResponseStoreTTL: 24 * time.Hour,
			KeyStore: KeyStoreDynamoDB, KeyCacheTTL: 5 * time.Second, RoutesRefresh: 5 * time.Second, RateLimitRequests: 100,
			RateLimitWindow: time.Minute, RateLimitFailOpen: true, RateLimitRedisTimeout: 100 * time.Millisecond,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("LoadConfig() mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("Set", func(t *testing.T) {
		got, err := LoadConfig(env(map[string]string{
			"GATEWAY_ADDR": "127.0.0.1:9000", "AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL": "http://generic",
			"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "http://127.0.0.1:8010", "BEDROCK_MAX_RETRIES": "0",
			"GATEWAY_UPSTREAM_TIMEOUT": "90s", "REQUIRE_API_KEY": "0", "ENABLE_VISION": "false",
			"ENABLE_TOOL_USE": "FALSE", "ENABLE_EXTENDED_THINKING": "1", "STRICT_PARAMS": "true", "ENABLE_IMAGE_URL_FETCH": "true",
			"IMAGE_FETCH_MAX_BYTES": "1000", "IMAGE_FETCH_TIMEOUT": "3", "MAX_REQUEST_BODY_BYTES": "2048",
			"IMAGE_FETCH_CONCURRENCY": "4", "IMAGE_FETCH_MAX_TOTAL_BYTES": "5000",
			"THINKING_CACHE_ENTRIES": "5", "THINKING_CACHE_MAX_BYTES": "4096", "THINKING_CACHE_TTL": "10m",
			"SHUTDOWN_TIMEOUT": "0s", "KEY_STORE": "None", "KEY_CACHE_TTL": "2s", "ROUTES_REFRESH": "30", "REDIS_URL": "redis://127.0.0.1:6379/0",
			"RATE_LIMIT_ENABLED": "true", "RATE_LIMIT_REQUESTS": "50", "RATE_LIMIT_TOKENS": "90000",
			"RATE_LIMIT_WINDOW": "30", "RATE_LIMIT_FAIL_OPEN": "false", // bare numbers are seconds
			"RATE_LIMIT_REDIS_TIMEOUT": "250ms", "ENABLE_PROMPT_CACHING": "false", "PROMPT_CACHE_TTL": "1h",
			"RESPONSES_STORE_ENTRIES": "0", "RESPONSES_STORE_KEY_BYTES": "1000", "RESPONSES_STORE_MAX_BYTES": "9000", "RESPONSES_STORE_TTL": "2h",
		}))
		if err != nil {
			t.Fatal(err)
		}
		want := Config{
			Addr: "127.0.0.1:9000", Region: "eu-west-1", BedrockEndpoint: "http://127.0.0.1:8010", MaxRetries: 0,
			UpstreamTimeout: 90 * time.Second, RequireAPIKey: false, Features: convert.Features{Thinking: true},
			PromptCaching: false, PromptCacheTTL: "1h",
			StrictParams: true, ImageFetch: true, ImageFetchMaxBytes: 1000, ImageFetchTimeout: 3 * time.Second, MaxRequestBodyBytes: 2048,
			ImageFetchConcurrency: 4, ImageFetchMaxTotalBytes: 5000,
			ThinkingCacheEntries: 5, ThinkingCacheMaxBytes: 4096, ThinkingCacheTTL: 10 * time.Minute,
			ResponseStoreEntries: 0, ResponseStoreKeyBytes: 1000, ResponseStoreMaxBytes: 9000, ResponseStoreTTL: 2 * time.Hour,
			KeyStore: KeyStoreNone, KeyCacheTTL: 2 * time.Second, RoutesRefresh: 30 * time.Second, RedisURL: "redis://127.0.0.1:6379/0",
			RateLimitEnabled: true, RateLimitRequests: 50, RateLimitTokens: 90000, RateLimitWindow: 30 * time.Second,
			RateLimitRedisTimeout: 250 * time.Millisecond,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("LoadConfig() mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("GenericEndpoint", func(t *testing.T) {
		got, err := LoadConfig(env(map[string]string{"REQUIRE_API_KEY": "false", "AWS_ENDPOINT_URL": "http://generic"}))
		if err != nil {
			t.Fatal(err)
		}
		if got.BedrockEndpoint != "http://generic" {
			t.Errorf("BedrockEndpoint = %q, want AWS_ENDPOINT_URL", got.BedrockEndpoint)
		}
	})
	t.Run("EveryProblemAtOnce", func(t *testing.T) {
		_, err := LoadConfig(env(map[string]string{
			"ENABLE_VISION": "yes", "BEDROCK_MAX_RETRIES": "many", "GATEWAY_UPSTREAM_TIMEOUT": "soon",
			"MAX_REQUEST_BODY_BYTES": "-1", "THINKING_CACHE_TTL": "-5s", "AWS_ENDPOINT_URL": "localhost:8010",
			"KEY_STORE": "none", "RATE_LIMIT_WINDOW": "0", "RATE_LIMIT_ENABLED": "maybe",
			"KEY_CACHE_TTL": "5x", "SHUTDOWN_TIMEOUT": "-1", "IMAGE_FETCH_TIMEOUT": "0", "ROUTES_REFRESH": "0",
			"IMAGE_FETCH_CONCURRENCY": "0", "IMAGE_FETCH_MAX_TOTAL_BYTES": "lots",
		}))
		if err == nil {
			t.Fatal("LoadConfig() = nil error")
		}
		for _, want := range []string{
			`ENABLE_VISION: "yes" is not a boolean (use true, false, 1 or 0)`,
			`BEDROCK_MAX_RETRIES: "many" is not an integer (use 0 or more)`,
			`GATEWAY_UPSTREAM_TIMEOUT: "soon" is not a duration (use 30s, 5m or whole seconds)`,
			`MAX_REQUEST_BODY_BYTES: "-1" is below the minimum 1`,
			`THINKING_CACHE_TTL: "-5s" is negative`,
			`AWS_ENDPOINT_URL_BEDROCK_RUNTIME (or AWS_ENDPOINT_URL): "localhost:8010" is not an http or https URL`,
			"MASTER_API_KEY is empty while REQUIRE_API_KEY is true",
			`RATE_LIMIT_WINDOW: "0" is below the minimum 1s`,
			`RATE_LIMIT_ENABLED: "maybe" is not a boolean (use true, false, 1 or 0)`,
			`KEY_CACHE_TTL: "5x" is not a duration (use 30s, 5m or whole seconds)`,
			`SHUTDOWN_TIMEOUT: "-1" is negative`,
			`IMAGE_FETCH_TIMEOUT: "0" is not positive`,
			`ROUTES_REFRESH: "0" is not positive`,
			`IMAGE_FETCH_CONCURRENCY: "0" is below the minimum 1`,
			`IMAGE_FETCH_MAX_TOTAL_BYTES: "lots" is not an integer (use 1 or more)`,
		} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %s", err, want)
			}
		}
	})
}
