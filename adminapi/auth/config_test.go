package auth

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

const testToken = "0123456789abcdef0123456789abcdef"

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	t.Run("Cognito", func(t *testing.T) {
		got, err := LoadConfig(env(map[string]string{
			"ADMIN_AUTH": " Cognito ", "ADMIN_COGNITO_USER_POOL_ID": "eu-west-1_AbC123",
			"ADMIN_COGNITO_CLIENT_IDS": " client-1, ,client-2 ,",
		}), ":8005")
		if err != nil {
			t.Fatal(err)
		}
		want := Config{
			Mode: ModeCognito, UserPoolID: "eu-west-1_AbC123", ClientIDs: []string{"client-1", "client-2"},
			Issuer: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123", ListenAddr: ":8005",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("LoadConfig() mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("CognitoIssuerOverride", func(t *testing.T) {
		for _, issuer := range []string{"http://127.0.0.1:9229/us-east-1_x", "http://localhost:9229/", "https://idp.example.com/pool"} {
			got, err := LoadConfig(env(map[string]string{
				"ADMIN_AUTH": "cognito", "ADMIN_COGNITO_USER_POOL_ID": "us-gov-west-1_x9",
				"ADMIN_COGNITO_CLIENT_IDS": "c", "ADMIN_COGNITO_ISSUER": issuer,
			}), ":8005")
			if err != nil {
				t.Errorf("LoadConfig(issuer %q): %v", issuer, err)
				continue
			}
			if want := strings.TrimRight(issuer, "/"); got.Issuer != want {
				t.Errorf("Issuer = %q, want %q", got.Issuer, want)
			}
		}
	})
	t.Run("Token", func(t *testing.T) {
		got, err := LoadConfig(env(map[string]string{"ADMIN_AUTH": "token", "ADMIN_TOKEN": testToken, "MASTER_API_KEY": "sk-other"}), "0.0.0.0:8005")
		if err != nil {
			t.Fatal(err)
		}
		if want := (Config{Mode: ModeToken, Token: testToken, ListenAddr: "0.0.0.0:8005"}); !cmp.Equal(want, got) {
			t.Errorf("LoadConfig() mismatch (-want +got):\n%s", cmp.Diff(want, got))
		}
	})
	t.Run("None", func(t *testing.T) {
		for _, addr := range []string{"127.0.0.1:8005", "127.1.2.3:8005", "[::1]:8005", "localhost:8005", "LOCALHOST:0"} {
			if _, err := LoadConfig(env(map[string]string{"ADMIN_AUTH": "none"}), addr); err != nil {
				t.Errorf("LoadConfig(none, %q): %v", addr, err)
			}
		}
	})

	// Each case lists what the error must say: the variable at fault and
	// enough to fix it.
	for _, tt := range []struct {
		name string
		env  map[string]string
		addr string
		want []string
	}{
		{"Unset", map[string]string{"ADMIN_TOKEN": testToken}, "127.0.0.1:8005",
			[]string{"ADMIN_AUTH is not set", "cognito", "ADMIN_COGNITO_USER_POOL_ID", "ADMIN_COGNITO_CLIENT_IDS", "token", "ADMIN_TOKEN", "none", "loopback"}},
		{"Unknown", map[string]string{"ADMIN_AUTH": "basic"}, "127.0.0.1:8005",
			[]string{`ADMIN_AUTH: "basic" is not a mode`, "cognito", "ADMIN_COGNITO_CLIENT_IDS", "token", "ADMIN_TOKEN", "none", "loopback"}},
		{"TokenUnset", map[string]string{"ADMIN_AUTH": "token"}, ":8005",
			[]string{"ADMIN_TOKEN is not set", "at least 32"}},
		{"TokenShort", map[string]string{"ADMIN_AUTH": "token", "ADMIN_TOKEN": "short-secret"}, ":8005",
			[]string{"ADMIN_TOKEN is 12 characters long", "at least 32"}},
		{"TokenSpaces", map[string]string{"ADMIN_AUTH": "token", "ADMIN_TOKEN": testToken + " x"}, ":8005",
			[]string{"ADMIN_TOKEN contains spaces"}},
		{"TokenIsMasterKey", map[string]string{"ADMIN_AUTH": "token", "ADMIN_TOKEN": "sk-" + testToken, "MASTER_API_KEY": "sk-" + testToken}, ":8005",
			[]string{"ADMIN_TOKEN equals MASTER_API_KEY"}},
		{"CognitoEmpty", map[string]string{"ADMIN_AUTH": "cognito"}, ":8005",
			[]string{"ADMIN_COGNITO_USER_POOL_ID is not set", "ADMIN_COGNITO_CLIENT_IDS is not set"}},
		{"CognitoBlankClients", map[string]string{"ADMIN_AUTH": "cognito", "ADMIN_COGNITO_USER_POOL_ID": "us-east-1_AbC123", "ADMIN_COGNITO_CLIENT_IDS": " , "}, ":8005",
			[]string{"ADMIN_COGNITO_CLIENT_IDS is not set"}},
		{"CognitoBadPoolAndIssuer", map[string]string{
			"ADMIN_AUTH": "cognito", "ADMIN_COGNITO_USER_POOL_ID": "AbC123", "ADMIN_COGNITO_CLIENT_IDS": "c",
			"ADMIN_COGNITO_ISSUER": "http://idp.example.com/pool",
		}, ":8005",
			[]string{`ADMIN_COGNITO_USER_POOL_ID: "AbC123" is not a user pool id`, `ADMIN_COGNITO_ISSUER: "http://idp.example.com/pool" must be https`}},
		{"CognitoIssuerNotURL", map[string]string{
			"ADMIN_AUTH": "cognito", "ADMIN_COGNITO_USER_POOL_ID": "us-east-1_", "ADMIN_COGNITO_CLIENT_IDS": "c",
			"ADMIN_COGNITO_ISSUER": "cognito-idp.us-east-1.amazonaws.com",
		}, ":8005",
			[]string{`ADMIN_COGNITO_USER_POOL_ID: "us-east-1_"`, "ADMIN_COGNITO_ISSUER: \"cognito-idp.us-east-1.amazonaws.com\" is not an issuer URL"}},
		{"NoneAllInterfaces", map[string]string{"ADMIN_AUTH": "none"}, ":8005",
			[]string{`ADMIN_AUTH=none: listen address ":8005" listens on every interface`}},
		{"NoneUnspecified", map[string]string{"ADMIN_AUTH": "none"}, "0.0.0.0:8005",
			[]string{`"0.0.0.0:8005" is not a loopback address`}},
		{"NoneUnspecifiedIPv6", map[string]string{"ADMIN_AUTH": "none"}, "[::]:8005",
			[]string{`"[::]:8005" is not a loopback address`}},
		{"NonePrivate", map[string]string{"ADMIN_AUTH": "none"}, "10.0.0.1:8005",
			[]string{`"10.0.0.1:8005" is not a loopback address`}},
		{"NoneHostname", map[string]string{"ADMIN_AUTH": "none"}, "admin.internal:8005",
			[]string{`"admin.internal:8005" is not a loopback address`}},
		{"NoneNoPort", map[string]string{"ADMIN_AUTH": "none"}, "127.0.0.1",
			[]string{`"127.0.0.1" is not host:port`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadConfig(env(tt.env), tt.addr)
			if err == nil {
				t.Fatal("LoadConfig() = nil error")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

func TestConfig_Validate(t *testing.T) {
	t.Parallel()
	if err := (&Config{}).Validate(); err == nil || !strings.Contains(err.Error(), "ADMIN_AUTH is not set") {
		t.Errorf("zero Config: Validate() = %v, want ADMIN_AUTH is not set", err)
	}
	cfg := Config{Mode: ModeToken, Token: testToken, KeyRetryInterval: -1}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "KeyRetryInterval must not be negative") {
		t.Errorf("Validate() = %v, want KeyRetryInterval error", err)
	}
}
