//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package devstack

// LockDir would keep two development stacks from sharing dir; this
// platform has no flock, so it trusts the person not to start two.
func LockDir(dir string) (unlock func(), err error) {
	return func() {}, nil
}
