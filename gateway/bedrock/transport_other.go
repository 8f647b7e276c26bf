//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package bedrock

import "syscall"

// idleConnOpen reports true: on this platform an idle connection is not
// checked before reuse, and one the server closed fails its first write,
// which is retried.
func idleConnOpen(syscall.RawConn) bool { return true }
