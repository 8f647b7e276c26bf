package bedrock_test

import (
	"bufio"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai-api-convertor/convertor"
	"github.com/openai-api-convertor/convertor/gateway/bedrock"
	"github.com/openai-api-convertor/convertor/gateway/bedrock/emulator"
)

// connCounter is an httptest server that counts the connections it
// accepted and closed.
type connCounter struct {
	srv            *httptest.Server
	opened, closed atomic.Int64
}

func newConnCounter(t *testing.T, h http.Handler) *connCounter {
	t.Helper()
	cc := &connCounter{srv: httptest.NewUnstartedServer(h)}
	cc.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			cc.opened.Add(1)
		case http.StateClosed, http.StateHijacked:
			cc.closed.Add(1)
		}
	}
	cc.srv.Start()
	t.Cleanup(cc.srv.Close)
	return cc
}

func newTestClient(t *testing.T, endpoint string, cfg bedrock.ClientConfig) *bedrock.Client {
	t.Helper()
	cfg.Endpoint = endpoint
	cfg.RetryBaseDelay, cfg.RetryMaxDelay = time.Millisecond, 5*time.Millisecond
	c, err := bedrock.NewClient(testAWSConfig, cfg)
	if err != nil {
		t.Fatalf("bedrock.NewClient: %v", err)
	}
	t.Cleanup(func() { bedrock.CloseIdleConns(c) })
	return c
}

// drain reads a stream to its end.
func drain(t *testing.T, s *bedrock.Stream) {
	t.Helper()
	defer s.Close()
	var ev bedrock.StreamEvent
	for {
		if err := s.Next(&ev); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("stream: %v", err)
			}
			return
		}
	}
}

// waitFor polls cond until it holds; the test's own deadline bounds it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if t.Context().Err() != nil {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestTransport_KeepAlive checks that calls one after another, streamed
// or not, share one connection when each is read to its end.
func TestTransport_KeepAlive(t *testing.T) {
	t.Parallel()
	srv := newConnCounter(t, emulator.New(emulator.Options{RequireSigV4: true}))
	c := newTestClient(t, srv.srv.URL, bedrock.ClientConfig{})
	for range 10 {
		if _, err := c.Converse(t.Context(), sonnet, userRequest("hello")); err != nil {
			t.Fatalf("Converse: %v", err)
		}
		s, err := c.ConverseStream(t.Context(), sonnet, userRequest("hello"))
		if err != nil {
			t.Fatalf("ConverseStream: %v", err)
		}
		drain(t, s)
	}
	// An error answer is read to its end too and keeps the connection.
	if _, err := c.Converse(t.Context(), "no-such-model", userRequest("hello")); err == nil {
		t.Fatal("Converse of an unknown model succeeded")
	}
	if n := srv.opened.Load(); n != 1 {
		t.Errorf("connections opened = %d, want 1", n)
	}
}

// TestTransport_ServerClosedIdleConn checks that a kept-alive connection
// the server closed while it sat in the pool is not used again: the next
// call opens a new one and succeeds.
func TestTransport_ServerClosedIdleConn(t *testing.T) {
	t.Parallel()
	srv := newConnCounter(t, emulator.New(emulator.Options{}))
	c := newTestClient(t, srv.srv.URL, bedrock.ClientConfig{})
	if _, err := c.Converse(t.Context(), sonnet, userRequest("hello")); err != nil {
		t.Fatalf("first Converse: %v", err)
	}
	srv.srv.CloseClientConnections()
	waitFor(t, "the pooled connection to see the close", func() bool {
		return bedrock.IdleConns(c) == 1 && bedrock.IdleConnsClosed(c)
	})
	if _, err := c.Converse(t.Context(), sonnet, userRequest("hello")); err != nil {
		t.Fatalf("Converse after the server closed the idle connection: %v", err)
	}
	if n := srv.opened.Load(); n != 2 {
		t.Errorf("connections opened = %d, want 2", n)
	}
}

// TestTransport_IdleTimeout checks that a connection idle longer than
// IdleConnTimeout is closed rather than reused.
func TestTransport_IdleTimeout(t *testing.T) {
	t.Parallel()
	srv := newConnCounter(t, emulator.New(emulator.Options{}))
	c := newTestClient(t, srv.srv.URL, bedrock.ClientConfig{IdleConnTimeout: time.Nanosecond})
	for range 3 {
		if _, err := c.Converse(t.Context(), sonnet, userRequest("hello")); err != nil {
			t.Fatalf("Converse: %v", err)
		}
	}
	if n := srv.opened.Load(); n != 3 {
		t.Errorf("connections opened = %d, want 3 (none reused after its idle timeout)", n)
	}
	waitFor(t, "the expired connections to close", func() bool { return srv.closed.Load() >= 2 })
}

// blockingHandler answers nothing until its client goes away, and records
// that it saw it go.
type blockingHandler struct {
	started chan struct{}
	gone    chan struct{}
	once    sync.Once
}

func newBlockingHandler() *blockingHandler {
	return &blockingHandler{started: make(chan struct{}, 16), gone: make(chan struct{})}
}

func (h *blockingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// net/http notices a client hanging up only once the body was read.
	_, _ = io.Copy(io.Discard, r.Body)
	h.started <- struct{}{}
	if strings.HasSuffix(r.URL.Path, "/converse-stream") {
		w.Header().Set("Content-Type", bedrock.EventStreamContentType)
		ew := bedrock.NewEventWriter(w)
		role := bedrock.RoleAssistant
		_ = ew.WriteEvent(&bedrock.StreamEvent{MessageStart: &bedrock.MessageStartEvent{Role: role}})
		w.(http.Flusher).Flush()
	}
	<-r.Context().Done()
	h.once.Do(func() { close(h.gone) })
}

// TestTransport_CancelWaitingForAnswer checks that canceling a call that
// waits for Bedrock's answer returns at once and closes the connection,
// so Bedrock sees the call abandoned.
func TestTransport_CancelWaitingForAnswer(t *testing.T) {
	t.Parallel()
	h := newBlockingHandler()
	srv := newConnCounter(t, h)
	c := newTestClient(t, srv.srv.URL, bedrock.ClientConfig{})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := c.Converse(ctx, sonnet, userRequest("hello"))
		done <- err
	}()
	<-h.started
	cancel()
	if err := <-done; convertor.ErrorCode(err) != convertor.ECanceled {
		t.Errorf("Converse after cancel = %v, want ECanceled", err)
	}
	<-h.gone
	idle := bedrock.IdleConns(c)
	if idle != 0 {
		t.Errorf("%d connections pooled after a canceled call, want 0", idle)
	}
}

// TestTransport_CloseStreamEarly checks that closing a stream before its
// end closes its connection (Bedrock stops generating) and that the next
// call opens a new one.
func TestTransport_CloseStreamEarly(t *testing.T) {
	t.Parallel()
	h := newBlockingHandler()
	srv := newConnCounter(t, h)
	c := newTestClient(t, srv.srv.URL, bedrock.ClientConfig{})
	s, err := c.ConverseStream(t.Context(), sonnet, userRequest("hello"))
	if err != nil {
		t.Fatalf("ConverseStream: %v", err)
	}
	var ev bedrock.StreamEvent
	if err := s.Next(&ev); err != nil || ev.MessageStart == nil {
		t.Fatalf("first event = %+v, %v; want messageStart", ev, err)
	}
	s.Close()
	<-h.gone
	if err := s.Next(&ev); convertor.ErrorCode(err) != convertor.ECanceled {
		t.Errorf("Next after Close = %v, want ECanceled", err)
	}
	idle := bedrock.IdleConns(c)
	if idle != 0 {
		t.Errorf("%d connections pooled after a stream closed early, want 0", idle)
	}
}

// TestTransport_ResponseHeaderTimeout checks that ResponseHeaderTimeout
// bounds the wait for an answer that never comes.
func TestTransport_ResponseHeaderTimeout(t *testing.T) {
	t.Parallel()
	h := newBlockingHandler()
	srv := newConnCounter(t, h)
	c := newTestClient(t, srv.srv.URL, bedrock.ClientConfig{ResponseHeaderTimeout: 20 * time.Millisecond, MaxRetries: -1})
	_, err := c.Converse(t.Context(), sonnet, userRequest("hello"))
	if convertor.ErrorCode(err) != convertor.EUnavailable {
		t.Errorf("Converse = %v, want EUnavailable after the header timeout", err)
	}
	<-h.gone
}

// connectProxy is an HTTP proxy that serves CONNECT only, tunnelling every
// target to one address, and records the targets it was asked for.
type connectProxy struct {
	to      string
	mu      sync.Mutex
	targets []string
}

func (p *connectProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
		return
	}
	p.mu.Lock()
	p.targets = append(p.targets, r.Host)
	p.mu.Unlock()
	up, err := net.Dial("tcp", p.to)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer up.Close()
	conn, brw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		return
	}
	go func() {
		_, _ = io.Copy(up, brw)
		if tc, ok := up.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}()
	_, _ = io.Copy(conn, bufio.NewReader(up))
}

// TestTransport_Proxy checks that HTTP_PROXY is honoured as net/http
// would: the call reaches Bedrock through a CONNECT tunnel.
func TestTransport_Proxy(t *testing.T) {
	target := httptest.NewServer(emulator.New(emulator.Options{RequireSigV4: true}))
	t.Cleanup(target.Close)
	p := &connectProxy{to: target.Listener.Addr().String()}
	proxy := httptest.NewServer(p)
	t.Cleanup(proxy.Close)
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("NO_PROXY", "")
	// Loopback is never proxied, so the endpoint is a name the proxy
	// resolves (to the emulator) and this machine need not.
	c := newTestClient(t, "http://bedrock-runtime.invalid:8080", bedrock.ClientConfig{})
	if _, err := c.Converse(t.Context(), sonnet, userRequest("hello")); err != nil {
		t.Fatalf("Converse through the proxy: %v", err)
	}
	s, err := c.ConverseStream(t.Context(), sonnet, userRequest("hello"))
	if err != nil {
		t.Fatalf("ConverseStream through the proxy: %v", err)
	}
	drain(t, s)
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.targets) == 0 || p.targets[0] != "bedrock-runtime.invalid:8080" {
		t.Errorf("proxy CONNECT targets = %q, want bedrock-runtime.invalid:8080", p.targets)
	}
}

// TestTransport_TLS checks calls over HTTPS, as to Bedrock's endpoints:
// the certificate is verified, HTTP/1.1 negotiated, connections kept
// alive, and a certificate the client does not trust refused.
func TestTransport_TLS(t *testing.T) {
	t.Parallel()
	emu := emulator.New(emulator.Options{RequireSigV4: true})
	srv := httptest.NewUnstartedServer(emu)
	srv.EnableHTTP2 = true // offered; the client must still speak HTTP/1.1
	var opened atomic.Int64
	protos := make(chan string, 64)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case protos <- r.Proto:
		default:
		}
		emu.ServeHTTP(w, r)
	})
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())

	c := newTestClient(t, srv.URL, bedrock.ClientConfig{RootCAs: roots})
	for range 3 {
		if _, err := c.Converse(t.Context(), sonnet, userRequest("hello")); err != nil {
			t.Fatalf("Converse over TLS: %v", err)
		}
		s, err := c.ConverseStream(t.Context(), sonnet, userRequest("hello"))
		if err != nil {
			t.Fatalf("ConverseStream over TLS: %v", err)
		}
		drain(t, s)
	}
	if n := opened.Load(); n != 1 {
		t.Errorf("TLS connections opened = %d, want 1", n)
	}
	if p := <-protos; p != "HTTP/1.1" {
		t.Errorf("protocol = %s, want HTTP/1.1", p)
	}

	untrusting := newTestClient(t, srv.URL, bedrock.ClientConfig{MaxRetries: -1})
	_, err := untrusting.Converse(t.Context(), sonnet, userRequest("hello"))
	var unknown x509.UnknownAuthorityError
	if convertor.ErrorCode(err) != convertor.EUnavailable || !errors.As(err, &unknown) {
		t.Errorf("Converse to an untrusted certificate = %v, want EUnavailable for an unknown authority", err)
	}
}

// TestTransport_LargeBodies sends and receives bodies far larger than the
// connection's buffers, streamed and not, on one kept-alive connection.
func TestTransport_LargeBodies(t *testing.T) {
	t.Parallel()
	srv := newConnCounter(t, emulator.New(emulator.Options{RequireSigV4: true}))
	c := newTestClient(t, srv.srv.URL, bedrock.ClientConfig{})
	// A 300 KB prompt and a 60 KB reply (the emulator's longest).
	prompt := strings.Repeat("Some context the model is given to read. ", 7_500) + "\n@emulator text "
	text := strings.TrimSpace(strings.Repeat("All work and no play makes a long reply. ", 1_500))
	for range 2 {
		resp, err := c.Converse(t.Context(), sonnet, userRequest(prompt+text))
		if err != nil {
			t.Fatalf("Converse: %v", err)
		}
		if got := deref(resp.Output.Message.Content[0].Text); got != text {
			t.Fatalf("reply of %d bytes, want the %d sent", len(got), len(text))
		}
		s, err := c.ConverseStream(t.Context(), sonnet, userRequest(prompt+text))
		if err != nil {
			t.Fatalf("ConverseStream: %v", err)
		}
		got, err := collect(t, s)
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		if g := deref(got.Output.Message.Content[0].Text); g != text {
			t.Fatalf("streamed reply of %d bytes, want %d", len(g), len(text))
		}
	}
	if n := srv.opened.Load(); n != 1 {
		t.Errorf("connections opened = %d, want 1", n)
	}
}
