package auth

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newAuthenticator returns an Authenticator for cfg, closed with the test.
func newAuthenticator(t testing.TB, cfg Config) *Authenticator {
	t.Helper()
	a, err := New(context.Background(), cfg, discardLogger())
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	t.Cleanup(a.Close)
	return a
}

// request returns a request with the given Authorization headers.
func request(authorization ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/api/keys", nil)
	for _, v := range authorization {
		r.Header.Add("Authorization", v)
	}
	return r
}

// wantError checks that err is a *convertor.Error with code and reason
// ("" for any) whose message does not quote secret.
func wantError(t testing.TB, err error, code, reason, secret string) {
	t.Helper()
	var ce *convertor.Error
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v (%T), want *convertor.Error %s", err, err, code)
	}
	if ce.Code != code || (reason != "" && ce.Reason != reason) {
		t.Errorf("err = %s (reason %q), want %s (reason %q)", ce, ce.Reason, code, reason)
	}
	if secret != "" && (strings.Contains(ce.Message, secret) || strings.Contains(ce.Error(), secret)) {
		t.Errorf("error %q echoes the credentials", ce)
	}
	if ce.Message == "" {
		t.Error("error has no message for the caller")
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{
		{},
		{Mode: "open"},
		{Mode: ModeToken, Token: "short"},
		{Mode: ModeNone, ListenAddr: ":8005"},
		{Mode: ModeNone, ListenAddr: "0.0.0.0:8005"},
		{Mode: ModeCognito, ClientIDs: []string{"c"}},
	} {
		if a, err := New(context.Background(), cfg, discardLogger()); err == nil {
			a.Close()
			t.Errorf("New(%+v) = nil error, want the configuration refused", cfg)
		}
	}
}

func TestAuthenticator_Authenticate_Token(t *testing.T) {
	t.Parallel()
	a := newAuthenticator(t, Config{Mode: ModeToken, Token: testToken, ListenAddr: ":8005"})
	if a.Mode() != ModeToken || a.Warning() != "" {
		t.Errorf("Mode() = %q, Warning() = %q", a.Mode(), a.Warning())
	}

	t.Run("Right", func(t *testing.T) {
		for _, h := range []string{"Bearer " + testToken, "bearer " + testToken, "BEARER   " + testToken + "  "} {
			p, err := a.Authenticate(request(h))
			if err != nil {
				t.Fatalf("Authenticate(%q) = %v", h, err)
			}
			want := &Principal{Subject: "token", Name: "admin token (ADMIN_TOKEN)", Role: RoleAdmin, Mode: ModeToken}
			if diff := cmp.Diff(want, p); diff != "" {
				t.Errorf("Authenticate() mismatch (-want +got):\n%s", diff)
			}
			if !p.CanWrite() {
				t.Error("token principal cannot write")
			}
		}
	})
	t.Run("Wrong", func(t *testing.T) {
		for _, tok := range []string{
			testToken[:len(testToken)-1], testToken + "0", strings.ToUpper(testToken), "x",
			"sk-" + testToken, // a gateway key is just a wrong token
			"sk-proj-0123456789abcdef0123456789abcdef0123456789",
		} {
			_, err := a.Authenticate(request("Bearer " + tok))
			wantError(t, err, convertor.EUnauthorized, "invalid_credentials", tok)
		}
	})
	t.Run("Missing", func(t *testing.T) {
		_, err := a.Authenticate(request())
		wantError(t, err, convertor.EUnauthorized, "missing_credentials", "")
	})
	t.Run("Malformed", func(t *testing.T) {
		for _, tt := range []struct {
			name    string
			headers []string
			reason  string
		}{
			{"Empty", []string{""}, "missing_credentials"},
			{"Blank", []string{"   "}, "missing_credentials"},
			{"SchemeOnly", []string{"Bearer"}, "missing_credentials"},
			{"SchemeAndSpace", []string{"Bearer  "}, "missing_credentials"},
			{"Basic", []string{"Basic " + testToken}, "invalid_credentials"},
			{"TokenOnly", []string{testToken}, "invalid_credentials"},
			{"NoSpace", []string{"Bearer" + testToken}, "invalid_credentials"},
			{"TwoTokens", []string{"Bearer " + testToken + " " + testToken}, "invalid_credentials"},
			{"TwoHeaders", []string{"Bearer " + testToken, "Bearer " + testToken}, "invalid_credentials"},
			{"TooLong", []string{"Bearer " + testToken + strings.Repeat("a", 16<<10)}, "invalid_credentials"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := a.Authenticate(request(tt.headers...))
				wantError(t, err, convertor.EUnauthorized, tt.reason, testToken)
			})
		}
	})
}

func TestAuthenticator_Authenticate_None(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"127.0.0.1:8005", "127.0.0.2:0", "[::1]:8005", "localhost:8005"} {
		a := newAuthenticator(t, Config{Mode: ModeNone, ListenAddr: addr})
		if a.Mode() != ModeNone || !strings.Contains(a.Warning(), "ADMIN_AUTH=none") || !strings.Contains(a.Warning(), addr) {
			t.Errorf("%s: Mode() = %q, Warning() = %q", addr, a.Mode(), a.Warning())
		}
		// Any header or none: there is nothing to check.
		for _, r := range []*http.Request{request(), request("Basic x")} {
			p, err := a.Authenticate(r)
			if err != nil {
				t.Fatalf("%s: Authenticate() = %v", addr, err)
			}
			want := &Principal{Subject: "anonymous", Name: "anonymous (ADMIN_AUTH=none)", Role: RoleAdmin, Mode: ModeNone}
			if diff := cmp.Diff(want, p); diff != "" {
				t.Errorf("Authenticate() mismatch (-want +got):\n%s", diff)
			}
		}
	}
	for _, addr := range []string{":8005", "0.0.0.0:8005", "[::]:8005", "10.0.0.1:8005", "192.168.1.5:8005", "example.com:8005", ""} {
		if a, err := New(context.Background(), Config{Mode: ModeNone, ListenAddr: addr}, discardLogger()); err == nil {
			a.Close()
			t.Errorf("New(none, %q) = nil error, want refused", addr)
		} else if !strings.Contains(err.Error(), "ADMIN_AUTH=none") {
			t.Errorf("New(none, %q) = %v, want an error about ADMIN_AUTH=none", addr, err)
		}
	}
}
