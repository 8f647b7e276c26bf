package gateway

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// benchPost sends body to the chat endpoint over a kept-alive connection
// and drains the answer; the fake Bedrock answers at once, so the time is
// the gateway's own plus the loopback round trip.
func benchPost(b *testing.B, ts *testServer, body string) {
	req, err := http.NewRequest(http.MethodPost, ts.URL+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("status = %d", resp.StatusCode)
	}
}

func BenchmarkServer_Chat(b *testing.B) {
	ts := newTestServer(b, nil, nil)
	benchPost(b, ts, helloRequest) // checked once before timing
	b.ReportAllocs()
	for b.Loop() {
		benchPost(b, ts, helloRequest)
	}
}

func BenchmarkServer_Stream(b *testing.B) {
	ts := newTestServer(b, nil, nil)
	benchPost(b, ts, helloStreamRequest)
	b.ReportAllocs()
	for b.Loop() {
		benchPost(b, ts, helloStreamRequest)
	}
}
