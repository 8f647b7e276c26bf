package testenv

import (
	"fmt"
	"syscall"
	"testing"
)

// Refusing returns a loopback address that refuses connections for the
// whole test. A port taken from a closed listener can be handed to another
// test's server before the dial, which then answers instead of refusing;
// here a socket stays bound to the port without listening, so the kernel
// answers every dial with a reset and gives the port to nobody else.
func Refusing(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatalf("socket: %v", err)
	}
	syscall.CloseOnExec(fd)
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("bind: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatalf("getsockname: %v", err)
	}
	in4, ok := sa.(*syscall.SockaddrInet4)
	if !ok {
		t.Fatalf("getsockname: unexpected address %T", sa)
	}
	return fmt.Sprintf("127.0.0.1:%d", in4.Port)
}
