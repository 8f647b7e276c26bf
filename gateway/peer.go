package gateway

import (
	"net"
	"time"
)

// peerPollInterval is how often a client connection is checked while the
// gateway works for it without reading or writing (image downloads): a
// tenth of a second ends wasted work soon after a client hangs up, for
// one non-blocking system call per check.
const peerPollInterval = 100 * time.Millisecond

// watchPeer calls gone, once, when the client at the other end of conn
// hangs up, checking every peerPollInterval until stop is called. fasthttp
// reads nothing while a handler runs, so without this a client that left
// goes unnoticed until the answer is written. stop returns once the watch
// has ended: conn is not touched after it. A connection that cannot be
// checked without reading from it (not a socket, or TLS) is not watched.
func watchPeer(conn net.Conn, gone func()) (stop func()) {
	closed := peerCheck(conn)
	if closed == nil {
		return func() {}
	}
	quit := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		t := time.NewTicker(peerPollInterval)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				if closed() {
					gone()
					return
				}
			}
		}
	}()
	return func() {
		close(quit)
		<-ended
	}
}
