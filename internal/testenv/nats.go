package testenv

import (
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// natsReadyTimeout bounds an embedded server's start; it takes tens of
// milliseconds, more on a loaded machine under -race.
const natsReadyTimeout = 30 * time.Second

// NATS returns the URL of a NATS server with JetStream: TEST_NATS_URL when
// set, else an embedded server on a random loopback port with its store in
// t.TempDir(), stopped at cleanup. Tests sharing a server own their stream
// and subjects.
func NATS(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("TEST_NATS_URL"); u != "" {
		return u
	}
	return StartNATS(t).URL()
}

// NATSServer is an embedded NATS server with JetStream that a fault test
// can stop and start again on the same port and store, as a restarted
// server would come back.
type NATSServer struct {
	t   testing.TB
	dir string

	mu   sync.Mutex
	srv  *server.Server // nil while stopped
	port int
}

// StartNATS starts an embedded server on a random loopback port with a
// file store in t.TempDir(); it is stopped at cleanup.
func StartNATS(t testing.TB) *NATSServer {
	t.Helper()
	s := &NATSServer{t: t, dir: t.TempDir(), port: server.RANDOM_PORT}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// URL returns the server's client URL; it stays the same across restarts.
func (s *NATSServer) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("nats://127.0.0.1:%d", s.port)
}

// Start starts the server, on the port and store of its previous run if
// there was one. Starting a running server does nothing.
func (s *NATSServer) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return
	}
	opts := &server.Options{
		Host:      "127.0.0.1",
		Port:      s.port,
		JetStream: true,
		StoreDir:  s.dir,
		NoLog:     true,
		NoSigs:    true,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		s.t.Fatalf("nats server: %v", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(natsReadyTimeout) {
		srv.Shutdown()
		s.t.Fatalf("nats server on port %d not ready within %s", s.port, natsReadyTimeout)
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		s.t.Fatalf("nats server on port %d: JetStream not enabled", s.port)
	}
	s.port = srv.Addr().(*net.TCPAddr).Port
	s.srv = srv
}

// Stop shuts the server down and waits until it has; its clients see the
// connection drop. Stopping a stopped server does nothing.
func (s *NATSServer) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return
	}
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
	s.srv = nil
}

// JetStream connects to the NATS server at url, with opts, for a test's
// own look at its streams; the connection is closed at cleanup.
func JetStream(t testing.TB, url string, opts ...nats.Option) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}
