package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

// testKey is an RSA signing key and the kid it is published under.
type testKey struct {
	kid  string
	priv *rsa.PrivateKey
}

// rsaKeys are generated once: 2048-bit generation is slow under -race.
var rsaKeys = sync.OnceValues(func() ([]*rsa.PrivateKey, error) {
	keys := make([]*rsa.PrivateKey, 3)
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	return keys, nil
})

// testKeys returns three distinct keys: a and b to publish, c never
// published (a forger's).
func testKeys(t testing.TB) (a, b, c testKey) {
	t.Helper()
	keys, err := rsaKeys()
	if err != nil {
		t.Fatal(err)
	}
	return testKey{"key-a", keys[0]}, testKey{"key-b", keys[1]}, testKey{"key-c", keys[2]}
}

// testIdP stands in for a Cognito user pool: it serves a JWKS at
// <URL>/.well-known/jwks.json and counts the requests for it.
type testIdP struct {
	srv  *httptest.Server
	hits atomic.Int64 // JWKS requests
	down atomic.Bool  // answer 503

	mu   sync.Mutex
	jwks []byte
}

func newTestIdP(t testing.TB, keys ...testKey) *testIdP {
	t.Helper()
	p := &testIdP{}
	p.publish(t, keys...)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/jwks.json" {
			http.NotFound(w, r)
			return
		}
		p.hits.Add(1)
		if p.down.Load() {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		p.mu.Lock()
		body := p.jwks
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// issuer is the iss of the pool's tokens.
func (p *testIdP) issuer() string { return p.srv.URL }

// publish replaces the served key set with the public halves of keys.
func (p *testIdP) publish(t testing.TB, keys ...testKey) {
	t.Helper()
	ctx := context.Background()
	store := jwkset.NewMemoryStorage()
	for _, k := range keys {
		jwk, err := jwkset.NewJWKFromKey(&k.priv.PublicKey, jwkset.JWKOptions{
			Metadata: jwkset.JWKMetadataOptions{KID: k.kid, ALG: jwkset.AlgRS256, USE: jwkset.UseSig},
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.KeyWrite(ctx, jwk); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := store.JSONPublic(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.jwks = raw
	p.mu.Unlock()
}

// config returns a cognito Config for the pool accepting client-1 and
// client-2.
func (p *testIdP) config() Config {
	return Config{
		Mode: ModeCognito, UserPoolID: "us-east-1_Test", ClientIDs: []string{"client-1", "client-2"},
		Issuer: p.issuer(), ListenAddr: ":8005",
	}
}

// sign returns claims signed with RS256 by k, with k's kid in the header.
func sign(t testing.TB, k testKey, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = k.kid
	s, err := tok.SignedString(k.priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// idClaims are the claims of a Cognito ID token of alice (admin) for
// client-1.
func idClaims(iss string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"sub": "8f0c-alice", "iss": iss, "aud": "client-1", "token_use": "id",
		"cognito:username": "alice", "email": "alice@example.com", "cognito:groups": []string{"admin"},
		"auth_time": now.Unix(), "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
}

// accessClaims are the claims of a Cognito access token of bob (viewer)
// for client-2.
func accessClaims(iss string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"sub": "41aa-bob", "iss": iss, "client_id": "client-2", "token_use": "access",
		"username": "bob", "scope": "aws.cognito.signin.user.admin", "cognito:groups": []string{"viewer"},
		"auth_time": now.Unix(), "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
}

// waitFor polls cond until it holds, failing the test after a deadline
// generous enough for a busy machine.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// logBuffer collects log output from any goroutine.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
