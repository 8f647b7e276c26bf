package auth

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/openai-api-convertor/convertor"
)

func TestAuthenticator_Authenticate_Cognito(t *testing.T) {
	t.Parallel()
	keyA, _, keyC := testKeys(t)
	idp := newTestIdP(t, keyA)
	var logs logBuffer
	a, err := New(context.Background(), idp.config(), logs.logger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	iss := idp.issuer()
	now := time.Now()

	// with returns base with changes applied; a nil value deletes a claim.
	with := func(base jwt.MapClaims, changes jwt.MapClaims) jwt.MapClaims {
		for k, v := range changes {
			if v == nil {
				delete(base, k)
			} else {
				base[k] = v
			}
		}
		return base
	}
	var presented []string // every token, none of which may reach the log
	authenticate := func(t *testing.T, token string) (*Principal, error) {
		t.Helper()
		presented = append(presented, token)
		return a.Authenticate(request("Bearer " + token))
	}

	t.Run("Accepted", func(t *testing.T) {
		for _, tt := range []struct {
			name   string
			claims jwt.MapClaims
			want   *Principal
		}{
			{"IDTokenAdmin", idClaims(iss), &Principal{
				Subject: "8f0c-alice", Name: "alice", Email: "alice@example.com", Role: RoleAdmin,
				Mode: ModeCognito, Groups: []string{"admin"},
			}},
			{"AccessTokenViewer", accessClaims(iss), &Principal{
				Subject: "41aa-bob", Name: "bob", Role: RoleViewer, Mode: ModeCognito, Groups: []string{"viewer"},
			}},
			{"AdminWinsOverViewer", with(accessClaims(iss), jwt.MapClaims{"cognito:groups": []string{"viewer", "ops", "admin"}}), &Principal{
				Subject: "41aa-bob", Name: "bob", Role: RoleAdmin, Mode: ModeCognito, Groups: []string{"viewer", "ops", "admin"},
			}},
			{"IDTokenSecondClient", with(idClaims(iss), jwt.MapClaims{"aud": "client-2"}), &Principal{
				Subject: "8f0c-alice", Name: "alice", Email: "alice@example.com", Role: RoleAdmin,
				Mode: ModeCognito, Groups: []string{"admin"},
			}},
			{"ExpiredWithinLeeway", with(idClaims(iss), jwt.MapClaims{"exp": now.Add(-10 * time.Second).Unix()}), &Principal{
				Subject: "8f0c-alice", Name: "alice", Email: "alice@example.com", Role: RoleAdmin,
				Mode: ModeCognito, Groups: []string{"admin"},
			}},
			{"NameFallsBackToSubject", with(accessClaims(iss), jwt.MapClaims{"username": nil}), &Principal{
				Subject: "41aa-bob", Name: "41aa-bob", Role: RoleViewer, Mode: ModeCognito, Groups: []string{"viewer"},
			}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				p, err := authenticate(t, sign(t, keyA, tt.claims))
				if err != nil {
					t.Fatalf("Authenticate() = %v", err)
				}
				if diff := cmp.Diff(tt.want, p); diff != "" {
					t.Errorf("Authenticate() mismatch (-want +got):\n%s", diff)
				}
				if p.CanWrite() != (tt.want.Role == RoleAdmin) {
					t.Errorf("CanWrite() = %v for role %s", p.CanWrite(), p.Role)
				}
			})
		}
	})

	t.Run("Refused", func(t *testing.T) {
		hour := time.Hour
		for _, tt := range []struct {
			name, code, reason, message string
			token                       string
		}{
			{"Expired", convertor.EUnauthorized, "token_expired", "has expired",
				sign(t, keyA, with(idClaims(iss), jwt.MapClaims{"exp": now.Add(-hour).Unix(), "iat": now.Add(-2 * hour).Unix()}))},
			{"NoExpiry", convertor.EUnauthorized, "invalid_credentials", "lacks a required claim",
				sign(t, keyA, with(idClaims(iss), jwt.MapClaims{"exp": nil}))},
			{"NotBeforeInFuture", convertor.EUnauthorized, "invalid_credentials", "not valid yet",
				sign(t, keyA, with(idClaims(iss), jwt.MapClaims{"nbf": now.Add(hour).Unix()}))},
			{"IssuedInFuture", convertor.EUnauthorized, "invalid_credentials", "not valid yet",
				sign(t, keyA, with(accessClaims(iss), jwt.MapClaims{"iat": now.Add(hour).Unix(), "exp": now.Add(2 * hour).Unix()}))},
			{"WrongIssuer", convertor.EUnauthorized, "invalid_credentials", "not issued by the configured Cognito user pool",
				sign(t, keyA, with(idClaims("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"), nil))},
			{"WrongIssuerAndExpired", convertor.EUnauthorized, "invalid_credentials", "not issued by the configured Cognito user pool",
				sign(t, keyA, with(idClaims(iss+"/other"), jwt.MapClaims{"exp": now.Add(-hour).Unix()}))},
			{"NoIssuer", convertor.EUnauthorized, "invalid_credentials", "lacks a required claim",
				sign(t, keyA, with(idClaims(iss), jwt.MapClaims{"iss": nil}))},
			{"IDTokenWrongAudience", convertor.EUnauthorized, "invalid_credentials", "app client",
				sign(t, keyA, with(idClaims(iss), jwt.MapClaims{"aud": "client-3"}))},
			{"IDTokenClientIDIsNotAudience", convertor.EUnauthorized, "invalid_credentials", "app client",
				sign(t, keyA, with(idClaims(iss), jwt.MapClaims{"aud": nil, "client_id": "client-1"}))},
			{"AccessTokenWrongClient", convertor.EUnauthorized, "invalid_credentials", "app client",
				sign(t, keyA, with(accessClaims(iss), jwt.MapClaims{"client_id": "client-3"}))},
			{"AccessTokenAudienceIsNotClientID", convertor.EUnauthorized, "invalid_credentials", "app client",
				sign(t, keyA, with(accessClaims(iss), jwt.MapClaims{"client_id": nil, "aud": "client-1"}))},
			{"NoTokenUse", convertor.EUnauthorized, "invalid_credentials", "token_use",
				sign(t, keyA, with(idClaims(iss), jwt.MapClaims{"token_use": nil}))},
			{"RefreshTokenUse", convertor.EUnauthorized, "invalid_credentials", "token_use",
				sign(t, keyA, with(accessClaims(iss), jwt.MapClaims{"token_use": "refresh"}))},
			{"NoSubject", convertor.EUnauthorized, "invalid_credentials", "subject",
				sign(t, keyA, with(idClaims(iss), jwt.MapClaims{"sub": nil}))},
			{"NoGroup", convertor.EForbidden, "no_admin_group", "not in the admin or viewer group",
				sign(t, keyA, with(idClaims(iss), jwt.MapClaims{"cognito:groups": nil}))},
			{"OtherGroupOnly", convertor.EForbidden, "no_admin_group", "not in the admin or viewer group",
				sign(t, keyA, with(accessClaims(iss), jwt.MapClaims{"cognito:groups": []string{"ops", "Admin"}}))},
			{"TamperedPayload", convertor.EUnauthorized, "invalid_credentials", "signature is not valid",
				tamper(t, sign(t, keyA, accessClaims(iss)), func(c jwt.MapClaims) { c["cognito:groups"] = []string{"admin"} })},
			{"TamperedSignature", convertor.EUnauthorized, "invalid_credentials", "signature is not valid",
				flipSignature(sign(t, keyA, idClaims(iss)))},
			{"SignedByUnpublishedKeyWithKnownKID", convertor.EUnauthorized, "invalid_credentials", "signature is not valid",
				sign(t, testKey{keyA.kid, keyC.priv}, idClaims(iss))},
			{"AlgNone", convertor.EUnauthorized, "invalid_credentials", "RS256",
				signWith(t, jwt.SigningMethodNone, keyA.kid, jwt.UnsafeAllowNoneSignatureType, idClaims(iss))},
			{"HS256WithPublicKeyPEM", convertor.EUnauthorized, "invalid_credentials", "RS256",
				signWith(t, jwt.SigningMethodHS256, keyA.kid, publicKeyPEM(t, keyA), idClaims(iss))},
			{"HS256WithPublicKeyDER", convertor.EUnauthorized, "invalid_credentials", "RS256",
				signWith(t, jwt.SigningMethodHS256, keyA.kid, publicKeyDER(t, keyA), idClaims(iss))},
			{"RS512", convertor.EUnauthorized, "invalid_credentials", "RS256",
				signWith(t, jwt.SigningMethodRS512, keyA.kid, keyA.priv, idClaims(iss))},
			{"PS256", convertor.EUnauthorized, "invalid_credentials", "RS256",
				signWith(t, jwt.SigningMethodPS256, keyA.kid, keyA.priv, idClaims(iss))},
			{"NoKID", convertor.EUnauthorized, "invalid_credentials", "not signed with a key of the Cognito user pool",
				signWith(t, jwt.SigningMethodRS256, "", keyA.priv, idClaims(iss))},
			{"NotAJWT", convertor.EUnauthorized, "invalid_credentials", "not a well-formed JWT", "abc.def"},
			{"GatewayKey", convertor.EUnauthorized, "invalid_credentials", "not a well-formed JWT", "sk-" + testToken},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := authenticate(t, tt.token)
				wantError(t, err, tt.code, tt.reason, tt.token)
				if msg := convertor.ErrorMessage(err); !strings.Contains(msg, tt.message) {
					t.Errorf("message %q does not say %q", msg, tt.message)
				}
			})
		}
	})

	for _, tok := range presented {
		if strings.Contains(logs.String(), tok) {
			t.Fatalf("a token reached the log:\n%s", logs.String())
		}
	}
}

// signWith signs claims with any method and key, the kid in the header
// unless empty.
func signWith(t testing.TB, method jwt.SigningMethod, kid string, key any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func publicKeyDER(t testing.TB, k testKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&k.priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func publicKeyPEM(t testing.TB, k testKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: publicKeyDER(t, k)})
}

// tamper rewrites the payload of a signed token, keeping its header and
// signature.
func tamper(t testing.TB, token string, change func(jwt.MapClaims)) string {
	t.Helper()
	parts := strings.Split(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c jwt.MapClaims
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	change(c)
	if raw, err = json.Marshal(c); err != nil {
		t.Fatal(err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}

// flipSignature changes one bit of the signature.
func flipSignature(token string) string {
	i := strings.LastIndexByte(token, '.') + 1
	sig, _ := base64.RawURLEncoding.DecodeString(token[i:])
	sig[len(sig)/2] ^= 1
	return token[:i] + base64.RawURLEncoding.EncodeToString(sig)
}

func TestAuthenticator_Authenticate_CognitoKeyRotation(t *testing.T) {
	t.Parallel()
	keyA, keyB, _ := testKeys(t)
	idp := newTestIdP(t, keyA)
	a := newAuthenticator(t, idp.config())
	if got := idp.hits.Load(); got != 1 {
		t.Fatalf("JWKS fetched %d times by New, want 1", got)
	}
	if _, err := a.Authenticate(request("Bearer " + sign(t, keyA, idClaims(idp.issuer())))); err != nil {
		t.Fatalf("key a: %v", err)
	}

	// The pool publishes key b and signs with it: the unknown kid
	// triggers one fetch, and the token is accepted.
	idp.publish(t, keyA, keyB)
	for i := range 3 {
		if _, err := a.Authenticate(request("Bearer " + sign(t, keyB, accessClaims(idp.issuer())))); err != nil {
			t.Fatalf("key b, token %d: %v", i, err)
		}
	}
	if got := idp.hits.Load(); got != 2 {
		t.Errorf("JWKS fetched %d times, want 2 (start, then once for kid key-b)", got)
	}

}

func TestAuthenticator_Authenticate_CognitoKeyWithdrawn(t *testing.T) {
	t.Parallel()
	keyA, keyB, _ := testKeys(t)
	idp := newTestIdP(t, keyA, keyB)
	cfg := idp.config()
	cfg.KeyRefreshInterval = 10 * time.Millisecond
	a := newAuthenticator(t, cfg)
	token := sign(t, keyA, idClaims(idp.issuer()))
	if _, err := a.Authenticate(request("Bearer " + token)); err != nil {
		t.Fatalf("key a: %v", err)
	}
	// The pool withdraws key a: the periodic refresh drops it.
	idp.publish(t, keyB)
	waitFor(t, "key a to be refused", func() bool {
		_, err := a.Authenticate(request("Bearer " + token))
		return convertor.ErrorCode(err) == convertor.EUnauthorized
	})
	if _, err := a.Authenticate(request("Bearer " + sign(t, keyB, idClaims(idp.issuer())))); err != nil {
		t.Errorf("key b: %v", err)
	}
}

func TestAuthenticator_Authenticate_CognitoUnknownKIDFlood(t *testing.T) {
	t.Parallel()
	keyA, _, keyC := testKeys(t)

	t.Run("OneFetchPerInterval", func(t *testing.T) {
		t.Parallel()
		idp := newTestIdP(t, keyA)
		cfg := idp.config()
		cfg.UnknownKIDRefreshInterval = time.Hour
		a := newAuthenticator(t, cfg)
		base := idp.hits.Load()

		// Many forged kids at once: the first triggers a fetch, the rest
		// are refused from the cache without waiting for it.
		const n = 100
		tokens := make([]string, n)
		for i := range tokens {
			tokens[i] = sign(t, testKey{kid: fmt.Sprintf("forged-%d", i), priv: keyC.priv}, idClaims(idp.issuer()))
		}
		errs := make(chan error, n)
		for _, tok := range tokens {
			go func() {
				_, err := a.Authenticate(request("Bearer " + tok))
				errs <- err
			}()
		}
		for range n {
			err := <-errs
			wantError(t, err, convertor.EUnauthorized, "invalid_credentials", "")
			if msg := convertor.ErrorMessage(err); !strings.Contains(msg, "not signed with a key of the Cognito user pool") {
				t.Errorf("forged kid: message %q", msg)
			}
		}
		if got := idp.hits.Load() - base; got != 1 {
			t.Errorf("JWKS fetched %d times for %d forged kids, want 1", got, n)
		}
		// Known keys are unaffected.
		if _, err := a.Authenticate(request("Bearer " + sign(t, keyA, idClaims(idp.issuer())))); err != nil {
			t.Errorf("valid token during the flood: %v", err)
		}
	})

	t.Run("FetchesResumeAfterInterval", func(t *testing.T) {
		t.Parallel()
		idp := newTestIdP(t, keyA)
		cfg := idp.config()
		const interval = 50 * time.Millisecond
		cfg.UnknownKIDRefreshInterval = interval
		a := newAuthenticator(t, cfg)
		base := idp.hits.Load()
		forged := sign(t, testKey{kid: "forged", priv: keyC.priv}, idClaims(idp.issuer()))

		// Hammer until three refetches have happened; a busy machine
		// only makes that take longer. Whatever the pace, the fetches
		// may not outrun one per interval (plus the one the limiter
		// starts with).
		start := time.Now()
		waitFor(t, "three refetches", func() bool {
			for range 50 {
				a.Authenticate(request("Bearer " + forged))
			}
			return idp.hits.Load()-base >= 3
		})
		elapsed := time.Since(start)
		got := idp.hits.Load() - base
		if limit := 1 + int64(elapsed/interval); got > limit {
			t.Errorf("JWKS fetched %d times in %s, want at most %d (one per %s)", got, elapsed, limit, interval)
		}
	})
}

func TestAuthenticator_Authenticate_CognitoKeysUnavailable(t *testing.T) {
	t.Parallel()
	keyA, _, _ := testKeys(t)

	t.Run("AtStart", func(t *testing.T) {
		t.Parallel()
		idp := newTestIdP(t, keyA)
		idp.down.Store(true)
		var logs logBuffer
		cfg := idp.config()
		cfg.KeyRetryInterval = 10 * time.Millisecond
		a, err := New(context.Background(), cfg, logs.logger())
		if err != nil {
			t.Fatalf("New() = %v; an unreachable JWKS must not stop the start", err)
		}
		t.Cleanup(a.Close)
		if !strings.Contains(logs.String(), "fetch Cognito signing keys") {
			t.Errorf("the failed fetch was not logged:\n%s", logs.String())
		}
		token := sign(t, keyA, idClaims(idp.issuer()))
		_, err = a.Authenticate(request("Bearer " + token))
		wantError(t, err, convertor.EUnavailable, "", token)

		// Retries continue in the background; once the JWKS answers,
		// sign-in works without a restart.
		waitFor(t, "a failed retry", func() bool { return idp.hits.Load() >= 2 })
		idp.down.Store(false)
		waitFor(t, "sign-in to work", func() bool {
			_, err := a.Authenticate(request("Bearer " + token))
			return err == nil
		})
	})

	t.Run("KeysKeptWhileRefreshFails", func(t *testing.T) {
		t.Parallel()
		idp := newTestIdP(t, keyA)
		cfg := idp.config()
		cfg.KeyRefreshInterval = 10 * time.Millisecond
		a := newAuthenticator(t, cfg)
		idp.down.Store(true)
		base := idp.hits.Load()
		waitFor(t, "two failed refreshes", func() bool { return idp.hits.Load()-base >= 2 })
		if _, err := a.Authenticate(request("Bearer " + sign(t, keyA, idClaims(idp.issuer())))); err != nil {
			t.Errorf("Authenticate() while the JWKS is down = %v, want the cached key used", err)
		}
	})

	t.Run("CloseStopsRetries", func(t *testing.T) {
		t.Parallel()
		idp := newTestIdP(t, keyA)
		idp.down.Store(true)
		cfg := idp.config()
		cfg.KeyRetryInterval = time.Millisecond
		a, err := New(context.Background(), cfg, discardLogger())
		if err != nil {
			t.Fatal(err)
		}
		a.Close() // waits for the retry loop to end
		a.Close()
		after := idp.hits.Load()
		_, err = a.Authenticate(request("Bearer " + sign(t, keyA, idClaims(idp.issuer()))))
		wantError(t, err, convertor.EUnavailable, "", "")
		if got := idp.hits.Load(); got != after {
			t.Errorf("JWKS fetched %d times after Close", got-after)
		}
	})
}
