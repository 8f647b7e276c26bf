package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// startTimeout bounds waiting for a server to answer; generous, since the
// shared machines are noisy.
const startTimeout = 20 * time.Second

// unavailable skips t, or fails it under CI. The message says what is
// missing and how to provide it: `make test` gathers the skips of a run by
// message into one summary (internal/testreport).
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set but "+format, args...)
	}
	t.Skipf(format, args...)
}

// Redis returns a client of the Redis at TEST_REDIS_ADDR (host:port), closed
// when the test ends. Tests share that server: each must keep to its own key
// prefix (see Prefix).
func Redis(t testing.TB) *redis.Client {
	t.Helper()
	addr := os.Getenv("TEST_REDIS_ADDR")
	if addr == "" {
		unavailable(t, "TEST_REDIS_ADDR is not set: start redis-server (apt-get install redis-server) and set TEST_REDIS_ADDR=127.0.0.1:6379")
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis at TEST_REDIS_ADDR=%s: %v", addr, err)
	}
	return c
}

// Prefix returns a key prefix no other test or run uses: the test's name
// and random hex, ending in a colon.
func Prefix(t testing.TB) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	return strings.NewReplacer("/", ".", " ", "_").Replace(t.Name()) + "." + hex.EncodeToString(b) + ":"
}

// RedisServer is a private redis-server process for tests that stop and
// restart it. Its methods are safe for concurrent use.
type RedisServer struct {
	// Addr is host:port; it stays the same across Stop and Start.
	Addr string

	t    testing.TB
	bin  string
	port int
	dir  string

	mu     sync.Mutex
	proc   *os.Process // nil when stopped; s.mu must be held
	exited chan error  // receives the process's exit; s.mu must be held
}

// StartRedis starts a redis-server on a free loopback port, without
// persistence, and stops it when the test ends. Skips when redis-server is
// not installed (fails under CI).
func StartRedis(t testing.TB) *RedisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		unavailable(t, "redis-server is not installed (apt-get install redis-server)")
	}
	s := &RedisServer{t: t, bin: bin, dir: t.TempDir()}
	// A free port can be taken by someone else before redis binds it; try
	// a few.
	for attempt := 0; ; attempt++ {
		s.port = freePort(t)
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
		err = s.start()
		if err == nil {
			break
		}
		if attempt == 2 {
			t.Fatalf("start redis-server: %v", err)
		}
	}
	t.Cleanup(s.Stop)
	return s
}

// Start restarts a stopped server on the same port; a no-op when running.
func (s *RedisServer) Start() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatalf("restart redis-server: %v", err)
	}
}

// Stop kills the server, as a crash would, and waits for it to exit; a
// no-op when stopped.
func (s *RedisServer) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return
	}
	s.proc.Kill()
	<-s.exited
	s.proc = nil
}

func (s *RedisServer) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return nil
	}
	out := new(bytes.Buffer)
	cmd := exec.Command(s.bin, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("redis-server exited: %v\n%s", err, out)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			s.proc, s.exited = cmd.Process, exited
			return nil
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exited
			return fmt.Errorf("redis-server did not answer within %s: %v\n%s", startTimeout, err, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
