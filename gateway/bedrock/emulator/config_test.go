package emulator_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor/gateway/bedrock/emulator"
)

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		env     map[string]string
		want    emulator.Config
		wantErr []string
	}{
		{
			name: "Defaults",
			want: emulator.Config{Addr: emulator.DefaultAddr},
		},
		{
			name: "Set",
			env: map[string]string{"BEDROCK_EMULATOR_ADDR": "127.0.0.1:9000", "BEDROCK_EMULATOR_LATENCY": "250ms",
				"BEDROCK_EMULATOR_TOKEN_DELAY": "5ms", "BEDROCK_EMULATOR_REQUIRE_SIGV4": "TRUE", "BEDROCK_EMULATOR_SECRET": "s"},
			want: emulator.Config{Addr: "127.0.0.1:9000", Latency: 250 * time.Millisecond, TokenDelay: 5 * time.Millisecond,
				RequireSigV4: true, Secret: "s"},
		},
		{
			// A bare number is seconds, as for every other setting.
			name: "BareNumbersAreSeconds",
			env:  map[string]string{"BEDROCK_EMULATOR_LATENCY": "2", "BEDROCK_EMULATOR_TOKEN_DELAY": "0"},
			want: emulator.Config{Addr: emulator.DefaultAddr, Latency: 2 * time.Second},
		},
		{
			name: "EveryProblemAtOnce",
			env: map[string]string{"BEDROCK_EMULATOR_ADDR": "nope", "BEDROCK_EMULATOR_LATENCY": "soon",
				"BEDROCK_EMULATOR_TOKEN_DELAY": "-5ms", "BEDROCK_EMULATOR_REQUIRE_SIGV4": "maybe"},
			wantErr: []string{
				`BEDROCK_EMULATOR_ADDR "nope"`,
				`BEDROCK_EMULATOR_LATENCY: "soon" is not a duration (use 30s, 5m or whole seconds)`,
				`BEDROCK_EMULATOR_TOKEN_DELAY: "-5ms" is negative`,
				`BEDROCK_EMULATOR_REQUIRE_SIGV4: "maybe" is not a boolean (use true, false, 1 or 0)`,
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := emulator.LoadConfig(func(k string) string { return tt.env[k] })
			if tt.wantErr != nil {
				for _, want := range tt.wantErr {
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Errorf("LoadConfig() error = %v, want it to contain %s", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadConfig() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("LoadConfig() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
