package bedrock

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/valyala/fasthttp"
)

// TestSigner_MatchesSDK signs calls with our signer and with the SDK's
// general one at the same instant and requires the same headers, byte for
// byte: model ids with ':' and '/' (ARNs), temporary credentials, both
// operations, default and explicit ports, and a day change.
func TestSigner_MatchesSDK(t *testing.T) {
	t.Parallel()
	models := []string{
		"global.anthropic.claude-sonnet-4-5-20250929-v1:0",
		"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0",
		"my model (custom)+1",
	}
	creds := []aws.Credentials{
		{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"},
		{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "secret", SessionToken: "FwoGZXIvYXdzEB  token//with+chars=="},
	}
	endpoints := []string{
		"https://bedrock-runtime.us-east-1.amazonaws.com",
		"https://bedrock-runtime.us-east-1.amazonaws.com:443",
		"http://127.0.0.1:8080/prefix",
	}
	times := []time.Time{
		time.Date(2026, 12, 2, 23, 59, 59, 0, time.UTC),
		time.Date(2026, 12, 3, 0, 0, 1, 0, time.FixedZone("CET", 3600)),
	}
	sdk := v4.NewSigner()
	for _, endpoint := range endpoints {
		c, err := NewClient(aws.Config{Region: "eu-west-3", Credentials: credentials.NewStaticCredentialsProvider("x", "y", "")}, ClientConfig{Endpoint: endpoint})
		if err != nil {
			t.Fatal(err)
		}
		for _, model := range models {
			for _, op := range []string{"converse", "converse-stream"} {
				for _, cr := range creds {
					for _, now := range times {
						body := []byte(`{"messages":[{"role":"user","content":[{"text":"hi ` + model + `"}]}]}`)
						sum := sha256.Sum256(body)
						hash := hex.EncodeToString(sum[:])
						accept := "application/json"
						if op == "converse-stream" {
							accept = EventStreamContentType
						}
						u := c.operationURL(model, op)

						ours := fasthttp.AcquireRequest()
						c.signer.sign(ours, cr, c.host, c.operationPath(model, op), accept, len(body), []byte(hash), now)

						hr := &http.Request{Method: http.MethodPost, URL: u, Host: u.Host, ContentLength: int64(len(body)),
							Header: http.Header{"Content-Type": {"application/json"}, "Accept": {accept}}}
						if err := sdk.SignHTTP(context.Background(), cr, hr, hash, signingName, "eu-west-3", now); err != nil {
							t.Fatal(err)
						}
						for _, h := range []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token"} {
							if got, want := string(ours.Header.Peek(h)), hr.Header.Get(h); got != want {
								t.Errorf("%s %s %s (token %t) at %s: %s =\n  %q\nwant (SDK)\n  %q", endpoint, model, op, cr.SessionToken != "", now, h, got, want)
							}
						}
						if hr.Host != c.host {
							t.Errorf("%s: Host sent %q, SDK signed %q", endpoint, c.host, hr.Host)
						}
						fasthttp.ReleaseRequest(ours)
					}
				}
			}
		}
	}
}

// TestSigner_ReusedKeyMatchesSDK signs many requests with one key, in turn
// and from several goroutines at once, so that the keyed HMACs are taken
// back from the key's pool after a Reset, and requires every signature to
// be the SDK's.
func TestSigner_ReusedKeyMatchesSDK(t *testing.T) {
	t.Parallel()
	cr := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	c, err := NewClient(aws.Config{Region: "us-west-2", Credentials: credentials.NewStaticCredentialsProvider("x", "y", "")},
		ClientConfig{Endpoint: "https://bedrock-runtime.us-west-2.amazonaws.com"})
	if err != nil {
		t.Fatal(err)
	}
	const model = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
	now := time.Date(2026, 12, 4, 10, 30, 0, 0, time.UTC)
	sdk := v4.NewSigner()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				body := []byte(fmt.Sprintf(`{"messages":[{"role":"user","content":[{"text":"%d/%d"}]}]}`, g, i))
				sum := sha256.Sum256(body)
				hash := hex.EncodeToString(sum[:])
				ours := fasthttp.AcquireRequest()
				c.signer.sign(ours, cr, c.host, c.operationPath(model, "converse"), "application/json", len(body), []byte(hash), now)
				u := c.operationURL(model, "converse") // the SDK's signer writes to the URL
				hr := &http.Request{Method: http.MethodPost, URL: u, Host: u.Host, ContentLength: int64(len(body)),
					Header: http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}}
				if err := sdk.SignHTTP(context.Background(), cr, hr, hash, signingName, "us-west-2", now); err != nil {
					t.Error(err)
					return
				}
				if got, want := string(ours.Header.Peek("Authorization")), hr.Header.Get("Authorization"); got != want {
					t.Errorf("goroutine %d, request %d: Authorization =\n  %q\nwant (SDK)\n  %q", g, i, got, want)
				}
				fasthttp.ReleaseRequest(ours)
			}
		})
	}
	wg.Wait()
}

// TestOperationPath_Cache checks that cached paths are the ones built
// afresh, for more models than the cache holds, and that the cache stops
// growing at its bound.
func TestOperationPath_Cache(t *testing.T) {
	t.Parallel()
	c, err := NewClient(aws.Config{Region: "us-east-1"}, ClientConfig{Endpoint: "https://bedrock-runtime.us-east-1.amazonaws.com/base"})
	if err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		for i := range maxCachedPaths + 50 {
			model := fmt.Sprintf("arn:aws:bedrock:us-east-1:123456789012:inference-profile/m-%d", i)
			for _, op := range []string{"converse", "converse-stream"} {
				if got, want := c.operationPath(model, op), c.operationURL(model, op).EscapedPath(); got != want {
					t.Fatalf("round %d: operationPath(%q, %q) = %q, want %q", round, model, op, got, want)
				}
			}
		}
	}
	if n := c.pathCount.Load(); n != maxCachedPaths {
		t.Errorf("%d paths cached, want the bound %d", n, maxCachedPaths)
	}
}
