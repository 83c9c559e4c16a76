//go:build !unix

package lock

// Try takes no lock off unix: it is granted at once (see the package
// documentation). unlock does nothing.
func Try(path string, m Mode) (unlock func(), err error) { return func() {}, nil }

// Wait takes no lock off unix: it is granted at once.
func Wait(path string, m Mode) (unlock func(), err error) { return func() {}, nil }

// TryFd takes no lock off unix: it is granted at once.
func TryFd(fd uintptr, m Mode) error { return nil }

// WaitFd takes no lock off unix: it is granted at once.
func WaitFd(fd uintptr, m Mode) error { return nil }
