package gateway

import (
	"context"
	"errors"
	"testing"

	"github.com/openai-api-convertor/convertor"
)

func TestAPIKeyFromHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, authorization, xAPIKey, want, reason string
	}{
		{"Bearer", "Bearer sk-1", "", "sk-1", ""},
		{"BearerMixedCase", "BeArEr   sk-1  ", "", "sk-1", ""},
		{"XAPIKey", "", " sk-2 ", "sk-2", ""},
		{"AuthorizationWins", "Bearer sk-1", "sk-2", "sk-1", ""},
		{"None", "", "", "", "missing_api_key"},
		{"SchemeOnly", "Bearer", "", "", "missing_api_key"},
		{"Basic", "Basic abc", "", "", "invalid_api_key"},
		{"Short", "Bear", "", "", "invalid_api_key"},
		{"NoSpace", "Bearersk-1", "", "", "invalid_api_key"},
	}
	for _, tt := range tests {
		got, err := apiKeyFromHeaders([]byte(tt.authorization), []byte(tt.xAPIKey))
		var ce *convertor.Error
		if tt.reason != "" {
			if !errors.As(err, &ce) || ce.Reason != tt.reason || ce.Code != convertor.EUnauthorized {
				t.Errorf("%s: err = %v, want %s", tt.name, err, tt.reason)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("%s: apiKeyFromHeaders() = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

func TestMasterKeyAuthenticator_Authenticate(t *testing.T) {
	t.Parallel()
	a := NewMasterKeyAuthenticator("sk-master")
	p, err := a.Authenticate(context.Background(), []byte("sk-master"))
	if err != nil || p.KeyID != MasterKeyID {
		t.Errorf("Authenticate(master) = %+v, %v", p, err)
	}
	for _, k := range []string{"sk-maste", "sk-master2", "SK-MASTER", "", "\x00"} {
		if _, err := a.Authenticate(context.Background(), []byte(k)); convertor.ErrorCode(err) != convertor.EUnauthorized {
			t.Errorf("Authenticate(%q) = %v, want EUnauthorized", k, err)
		}
	}
}
