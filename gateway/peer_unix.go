//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package gateway

import (
	"net"
	"syscall"
)

// peerCheck returns a check of whether the client of conn has hung up, or
// nil when conn is not a socket.
func peerCheck(conn net.Conn) func() bool {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return func() bool { return peerClosed(raw) }
}

// peerClosed peeks at the socket without waiting and without taking a
// byte from it, so a pipelined request stays for fasthttp to read: bytes
// waiting, or none yet, mean the client is there; end of stream or an
// error (a reset) mean it hung up. As in net/http, a client that shuts
// down only its sending side counts as gone. It runs under Control, not
// Read, so it never waits on a read fasthttp may have in progress.
func peerClosed(raw syscall.RawConn) bool {
	var closed bool
	err := raw.Control(func(fd uintptr) {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK || err == syscall.EINTR:
		case err != nil, n == 0:
			closed = true
		}
	})
	// An error here is our own side closed (Shutdown): not the client.
	return err == nil && closed
}
