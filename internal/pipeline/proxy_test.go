package pipeline

import (
	"net"
	"sync"
	"testing"
)

// hangingProxy forwards TCP connections to a server, and can make them
// hang: freeze stops the copying both ways while every connection stays
// open, as a bus that neither answers nor refuses (a partition, a stuck
// server), which is not what a stopped server does (it refuses, and the
// client notices at once). thaw resumes; what was sent meanwhile is
// delivered then, as TCP would once a partition heals.
type hangingProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	gate  chan struct{} // closed while thawed; x.mu guards the field
	conns map[net.Conn]struct{}
	pairs int // forwarded connections still open
}

// startHangingProxy forwards a loopback port to target until the test
// ends.
func startHangingProxy(t testing.TB, target string) *hangingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	open := make(chan struct{})
	close(open)
	x := &hangingProxy{ln: ln, target: target, gate: open, conns: map[net.Conn]struct{}{}}
	go x.serve()
	t.Cleanup(x.close)
	return x
}

// addr is the address clients dial instead of target.
func (x *hangingProxy) addr() string { return x.ln.Addr().String() }

// freeze stops forwarding in both directions; a no-op when frozen.
func (x *hangingProxy) freeze() {
	x.mu.Lock()
	defer x.mu.Unlock()
	select {
	case <-x.gate:
		x.gate = make(chan struct{})
	default:
	}
}

// thaw resumes forwarding; a no-op when thawed.
func (x *hangingProxy) thaw() {
	x.mu.Lock()
	defer x.mu.Unlock()
	select {
	case <-x.gate:
	default:
		close(x.gate)
	}
}

// active returns how many forwarded connections are still open.
func (x *hangingProxy) active() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.pairs
}

// wait blocks while the proxy is frozen.
func (x *hangingProxy) wait() {
	x.mu.Lock()
	gate := x.gate
	x.mu.Unlock()
	<-gate
}

func (x *hangingProxy) serve() {
	for {
		c, err := x.ln.Accept()
		if err != nil {
			return
		}
		go x.forward(c)
	}
}

// forward copies between client and a new connection to the target until
// either side ends, then closes both, as the server would see its client
// go when the client's connection to the proxy goes.
func (x *hangingProxy) forward(client net.Conn) {
	server, err := net.Dial("tcp", x.target)
	if err != nil {
		client.Close()
		return
	}
	x.track(1, client, server)
	defer x.track(-1, client, server)
	var once sync.Once
	closeBoth := func() {
		client.Close()
		server.Close()
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		x.copy(server, client)
		once.Do(closeBoth)
	})
	wg.Go(func() {
		x.copy(client, server)
		once.Do(closeBoth)
	})
	wg.Wait()
}

// copy is io.Copy that stops while the proxy is frozen: before each read,
// and again before writing what a read that was waiting already returned.
func (x *hangingProxy) copy(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		x.wait()
		n, err := src.Read(buf)
		if n > 0 {
			x.wait()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (x *hangingProxy) track(d int, conns ...net.Conn) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.pairs += d
	for _, c := range conns {
		if d > 0 {
			x.conns[c] = struct{}{}
		} else {
			delete(x.conns, c)
		}
	}
}

// close stops accepting and closes every connection, thawed so that no
// copy stays blocked.
func (x *hangingProxy) close() {
	x.thaw()
	x.ln.Close()
	x.mu.Lock()
	defer x.mu.Unlock()
	for c := range x.conns {
		c.Close()
	}
}
