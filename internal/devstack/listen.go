package devstack

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

// Listen listens on addr. When addr is taken and fallback is set, it
// listens on a free port of the same host instead and reports that it did:
// a second checkout or another local service on the default port should
// not stop `convertor dev` from starting.
func Listen(addr string, fallback bool) (ln net.Listener, fellBack bool, err error) {
	ln, err = net.Listen("tcp", addr)
	if err == nil || !fallback || !errors.Is(err, syscall.EADDRINUSE) {
		if err != nil {
			return nil, false, fmt.Errorf("listen %s: %w", addr, err)
		}
		return ln, false, nil
	}
	host, _, serr := net.SplitHostPort(addr)
	if serr != nil {
		return nil, false, fmt.Errorf("listen %s: %w", addr, err)
	}
	ln, err = net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, false, fmt.Errorf("listen %s: %w", net.JoinHostPort(host, "0"), err)
	}
	return ln, true, nil
}
