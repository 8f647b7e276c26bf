package gateway

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// TestPeerCheck: the check tells a client that is there, with or without
// bytes waiting, from one that hung up, and takes no byte from the socket.
func TestPeerCheck(t *testing.T) {
	t.Parallel()
	client, server := tcpPair(t)
	closed := peerCheck(server)
	if closed == nil {
		t.Skip("connections are not watched on this platform")
	}
	if closed() {
		t.Fatal("idle client reported gone")
	}
	const pipelined = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
	if _, err := io.WriteString(client, pipelined); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if closed() {
			t.Fatal("client with bytes waiting reported gone")
		}
	}
	buf := make([]byte, len(pipelined))
	if _, err := io.ReadFull(server, buf); err != nil || string(buf) != pipelined {
		t.Fatalf("read after checks = %q, %v; want the bytes untouched", buf, err)
	}
	client.Close()
	waitFor(t, "the hang-up seen", closed)

	// A check on our own closed end is not the client leaving.
	_, server2 := tcpPair(t)
	closed2 := peerCheck(server2)
	server2.Close()
	if closed2() {
		t.Error("check after closing our own end reported the client gone")
	}
}

func TestPeerCheck_NotASocket(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if peerCheck(a) != nil {
		t.Error("peerCheck(pipe) != nil, want no watch")
	}
	stop := watchPeer(a, func() { t.Error("gone called for an unwatched connection") })
	stop()
}

// TestServer_ImageFetchClientDisconnect: a client hanging up while its
// images are fetched cancels the downloads; the request is recorded as
// disconnected and never reaches Bedrock.
func TestServer_ImageFetchClientDisconnect(t *testing.T) {
	t.Parallel()
	h := newImageHost(t)
	ts := newTestServer(t, nil, func(c *Config, d *Deps) { c.ImageFetch, d.Images = true, h.fetcher })
	h.endAtCleanup(t)

	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := imageRequest("https://example.com/gate/a.png", "https://example.com/gate/b.png")
	fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", testKey, len(body), body)
	waitFor(t, "both downloads started", func() bool {
		_, in, _, _ := h.state()
		return in == 2
	})
	conn.Close()
	waitFor(t, "both downloads canceled", func() bool {
		_, _, _, canceled := h.state()
		return canceled == 2
	})
	waitFor(t, "the disconnect counted", func() bool {
		return ts.hasMetric(t, "convertor_gateway_client_disconnects_total 1")
	})
	waitFor(t, "the access line", func() bool {
		return strings.Contains(ts.logs.String(), `"status":499`) && strings.Contains(ts.logs.String(), `"disconnected":true`)
	})
	if n := len(ts.fake.requestsSeen()); n != 0 {
		t.Errorf("Bedrock saw %d requests, want none", n)
	}
}

// TestServer_ImageFetchPipelined: watching the connection while images
// are fetched leaves a request pipelined behind intact.
func TestServer_ImageFetchPipelined(t *testing.T) {
	t.Parallel()
	h := newImageHost(t)
	ts := newTestServer(t, nil, func(c *Config, d *Deps) { c.ImageFetch, d.Images = true, h.fetcher })
	h.endAtCleanup(t)

	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	post := func(body string) {
		fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", testKey, len(body), body)
	}
	post(imageRequest("https://example.com/gate/a.png"))
	waitFor(t, "the download started", func() bool {
		_, in, _, _ := h.state()
		return in == 1
	})
	// Sent while the first is held, so it waits in the socket while the
	// watch peeks at it.
	post(helloRequest)
	h.release <- struct{}{}
	rd := bufio.NewReader(conn)
	for i := range 2 {
		resp, err := http.ReadResponse(rd, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("response %d: status = %d, want 200", i, resp.StatusCode)
		}
	}
}

// TestServer_ImageFetchInMemory: a connection that cannot be watched (an
// in-memory listener) is served as usual.
func TestServer_ImageFetchInMemory(t *testing.T) {
	t.Parallel()
	h := newImageHost(t)
	cfg := testConfig()
	cfg.ImageFetch = true
	s, err := New(cfg, Deps{Converser: &fakeConverser{}, Images: h.fetcher}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ln := fasthttputil.NewInmemoryListener()
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ln) }()
	t.Cleanup(func() {
		// Its error is the in-memory listener refusing a second Close.
		_ = s.Shutdown(context.Background())
		<-errc
	})
	c := &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://gateway/v1/chat/completions")
	req.Header.SetMethod(http.MethodPost)
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.SetBodyString(imageRequest("https://example.com/cat.png"))
	if err := c.DoTimeout(req, resp, time.Minute); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode() != http.StatusOK {
		t.Errorf("status = %d, want 200; body %s", resp.StatusCode(), resp.Body())
	}
	if n, _, _, _ := h.state(); n != 1 {
		t.Errorf("image host saw %d fetches, want 1", n)
	}
}
