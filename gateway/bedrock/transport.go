package bedrock

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpproxy"
	"golang.org/x/net/http/httpproxy"
)

// maxResponseBytes bounds a non-streamed response body. A Converse answer
// is at most Claude's output limit of tokens, a few megabytes even as JSON;
// anything far larger is not Bedrock.
const maxResponseBytes = 64 << 20

// connBufSize is the read buffer of one upstream connection. Event-stream
// frames of a token or two are a few hundred bytes, and a larger frame is
// read through it, not into it, so a small buffer costs no extra reads.
const connBufSize = 4 << 10

// transport sends HTTP/1.1 requests to one endpoint over a pool of
// keep-alive connections, with fasthttp's request and response types on
// the wire. It exists instead of net/http's Transport because that one
// runs two goroutines per connection and hands every request to them over
// channels, and instead of fasthttp's HostClient because a call must end
// when its context does: canceling closes the connection of that call,
// which unblocks whatever read or write it is in. It is safe for
// concurrent use.
type transport struct {
	host          string      // the Host header: the endpoint's host[:port]
	tlsConfig     *tls.Config // nil: plain HTTP (emulator, tests)
	dial          func(ctx context.Context) (net.Conn, error)
	headerTimeout time.Duration
	maxIdle       int
	idleTimeout   time.Duration

	mu   sync.Mutex
	idle []*upConn // most recently used last
}

// upConn is one connection to the endpoint.
type upConn struct {
	conn net.Conn
	// raw is the TCP socket under conn (and its TLS), to see whether an
	// idle connection was closed by the server before it is reused.
	raw    syscall.RawConn
	br     *bufio.Reader
	idleAt time.Time
	reused bool
}

// dialError marks a failure to connect: the request never left, so
// retrying it cannot run (and bill) it twice.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// newTransport returns the transport to u's host. A proxy named by
// HTTPS_PROXY or HTTP_PROXY (and not excluded by NO_PROXY) for u is used
// through an HTTP CONNECT tunnel, as net/http would.
func newTransport(u *url.URL, cfg ClientConfig) (*transport, error) {
	t := &transport{
		host:          u.Host,
		headerTimeout: cfg.ResponseHeaderTimeout,
		maxIdle:       cfg.MaxIdleConnsPerHost,
		idleTimeout:   cfg.IdleConnTimeout,
	}
	if t.maxIdle <= 0 {
		t.maxIdle = DefaultMaxIdleConnsPerHost
	}
	if t.idleTimeout <= 0 {
		t.idleTimeout = DefaultIdleConnTimeout
	}
	dialTimeout := cfg.DialTimeout
	if dialTimeout <= 0 {
		dialTimeout = DefaultDialTimeout
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	if u.Scheme == "https" {
		t.tlsConfig = &tls.Config{ServerName: u.Hostname(), NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12, RootCAs: cfg.RootCAs}
	}

	proxyURL, err := httpproxy.FromEnvironment().ProxyFunc()(u)
	if err != nil {
		return nil, fmt.Errorf("proxy for %s: %w", u.Host, err)
	}
	if proxyURL == nil {
		d := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
		t.dial = func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
		return t, nil
	}
	pd := &fasthttpproxy.Dialer{Timeout: dialTimeout, ConnectTimeout: dialTimeout, DialDualStack: true}
	dial, err := pd.GetDialFuncForTLS(true, u.Scheme == "https")
	if err != nil {
		return nil, fmt.Errorf("proxy %s: %w", proxyURL.Redacted(), err)
	}
	t.dial = func(ctx context.Context) (net.Conn, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return dial(addr)
	}
	return t, nil
}

// roundTrip writes req and reads resp's header; unless resp.StreamBody is
// set, it reads the body too and the connection is back in the pool when
// it returns. With StreamBody, body reads the rest and must be closed.
func (t *transport) roundTrip(ctx context.Context, req *fasthttp.Request, resp *fasthttp.Response) (body io.ReadCloser, err error) {
	for {
		c, err := t.acquire(ctx)
		if err != nil {
			return nil, err
		}
		stop := context.AfterFunc(ctx, func() { c.conn.Close() })
		wrote, err := t.exchange(c, req, resp)
		if err == nil {
			if resp.StreamBody {
				return &streamBody{t: t, c: c, resp: resp, stop: stop}, nil
			}
			t.finish(c, stop, !resp.ConnectionClose())
			return nil, nil
		}
		stop()
		c.conn.Close()
		// A kept-alive connection the server closed as we took it fails
		// the write; the request is then not with the server and is sent
		// again on another connection. A failure after the write is not
		// retried: the server may have acted on it.
		if !c.reused || wrote || ctx.Err() != nil {
			return nil, err
		}
	}
}

// exchange writes req on c and reads resp. wrote reports that the whole
// request reached the socket.
func (t *transport) exchange(c *upConn, req *fasthttp.Request, resp *fasthttp.Response) (wrote bool, err error) {
	bw := writerPool.Get().(*bufio.Writer)
	bw.Reset(c.conn)
	err = req.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	bw.Reset(nil)
	writerPool.Put(bw)
	if err != nil {
		return false, fmt.Errorf("write request: %w", err)
	}
	if t.headerTimeout > 0 {
		if err := c.conn.SetReadDeadline(time.Now().Add(t.headerTimeout)); err != nil {
			return true, err
		}
	}
	if resp.StreamBody {
		// Only the header is read here; the body is read as it arrives.
		err = resp.Read(c.br)
	} else {
		err = resp.ReadLimitBody(c.br, maxResponseBytes)
	}
	if err == nil && t.headerTimeout > 0 {
		err = c.conn.SetReadDeadline(time.Time{})
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			// The server closed the connection without an answer.
			err = io.ErrUnexpectedEOF
		}
		return true, fmt.Errorf("read response: %w", err)
	}
	return true, nil
}

// writerPool holds request writers between requests: a connection needs
// one only while it writes, and most of its life it waits for an answer.
var writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, connBufSize) }}

// acquire returns an idle connection that is still open, else a new one.
func (t *transport) acquire(ctx context.Context) (*upConn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for {
		t.mu.Lock()
		n := len(t.idle)
		if n == 0 {
			t.mu.Unlock()
			break
		}
		c := t.idle[n-1]
		t.idle[n-1] = nil
		t.idle = t.idle[:n-1]
		t.mu.Unlock()
		if time.Since(c.idleAt) < t.idleTimeout && idleConnOpen(c.raw) {
			c.reused = true
			return c, nil
		}
		c.conn.Close()
	}
	return t.dialConn(ctx)
}

// dialConn connects, with TLS when the endpoint is https.
func (t *transport) dialConn(ctx context.Context) (*upConn, error) {
	conn, err := t.dial(ctx)
	if err != nil {
		return nil, &dialError{err: err}
	}
	c := &upConn{conn: conn}
	if sc, ok := conn.(syscall.Conn); ok {
		c.raw, _ = sc.SyscallConn()
	}
	if t.tlsConfig != nil {
		tc := tls.Client(conn, t.tlsConfig)
		hctx, cancel := context.WithTimeout(ctx, DefaultTLSHandshakeTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("tls handshake with %s: %w", t.host, err)
		}
		c.conn = tc
	}
	c.br = bufio.NewReaderSize(c.conn, connBufSize)
	return c, nil
}

// finish ends a call on c: the connection goes back to the pool when its
// response was read to the end and the call was not canceled meanwhile
// (which closed it), and is closed otherwise.
func (t *transport) finish(c *upConn, stop func() bool, reusable bool) {
	if !stop() || !reusable {
		c.conn.Close()
		return
	}
	c.idleAt = time.Now()
	t.mu.Lock()
	// The oldest connections are first; those idle too long are closed
	// here too, so a quiet pool does not keep them open for hours.
	var expired []*upConn
	for len(t.idle) > 0 && c.idleAt.Sub(t.idle[0].idleAt) >= t.idleTimeout {
		expired = append(expired, t.idle[0])
		t.idle = t.idle[1:]
	}
	if len(t.idle) < t.maxIdle {
		t.idle = append(t.idle, c)
		c = nil
	}
	t.mu.Unlock()
	if c != nil {
		c.conn.Close()
	}
	for _, e := range expired {
		e.conn.Close()
	}
}

// closeIdle closes every pooled connection.
func (t *transport) closeIdle() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, c := range idle {
		c.conn.Close()
	}
}

// streamBody is the body of a streamed response. Close may run while a
// Read waits on the network: it closes the connection, which ends the
// Read, and lets go of the connection only after the Read returned. A body
// read to its end gives the connection back to the pool. The response
// stays its caller's, who releases it after Close.
type streamBody struct {
	t    *transport
	c    *upConn
	resp *fasthttp.Response
	stop func() bool

	mu     sync.Mutex // held by Read
	closed atomic.Bool
	eof    bool
	once   sync.Once
}

// Read reads the body as it arrives.
func (b *streamBody) Read(p []byte) (int, error) {
	if b.closed.Load() {
		return 0, net.ErrClosed
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed.Load() {
		return 0, net.ErrClosed
	}
	r := b.resp.BodyStream()
	if r == nil {
		// A response that has no body by its status.
		b.eof = true
		return 0, io.EOF
	}
	n, err := r.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

// Close releases the body; it is idempotent and safe to call concurrently
// with Read.
func (b *streamBody) Close() error {
	b.once.Do(func() {
		b.closed.Store(true)
		if !b.mu.TryLock() {
			// A Read waits on the network: closing the connection ends it.
			b.c.conn.Close()
			b.mu.Lock()
		}
		reusable := b.eof && !b.resp.ConnectionClose()
		// The response lets go of the connection's reader before the
		// connection can serve another call.
		_ = b.resp.CloseBodyStream()
		b.t.finish(b.c, b.stop, reusable)
		b.mu.Unlock()
	})
	return nil
}
