//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package bedrock

import "syscall"

// idleConnOpen peeks at an idle connection's socket without waiting: on a
// kept-alive HTTP/1.1 connection nothing is due between calls, so only
// "nothing to read yet" means it is still open. End of stream (the server
// closed it), an error, or stray bytes all mean it must not carry a call.
func idleConnOpen(raw syscall.RawConn) bool {
	if raw == nil {
		return true
	}
	open := false
	err := raw.Control(func(fd uintptr) {
		var b [1]byte
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		open = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
	})
	return err == nil && open
}
