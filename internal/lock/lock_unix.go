//go:build unix

package lock

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Try locks the file at path (created if missing, its folder must exist)
// in mode m without waiting: ErrHeld when another process holds the
// lock. unlock releases it.
func Try(path string, m Mode) (unlock func(), err error) { return file(path, m, false) }

// Wait locks the file at path (created if missing, its folder must
// exist) in mode m, waiting for the holder to release it.
func Wait(path string, m Mode) (unlock func(), err error) { return file(path, m, true) }

// TryFd locks the open file fd in mode m without waiting: ErrHeld when
// another process holds the lock. It is for a caller that opens the lock
// file itself (internal/clean opens it relative to a folder descriptor,
// so a swapped path can never redirect it). The lock goes when fd is
// closed.
func TryFd(fd uintptr, m Mode) error { return flock(fd, m, false) }

// WaitFd locks the open file fd in mode m, waiting for the holder to
// release it. The lock goes when fd is closed.
func WaitFd(fd uintptr, m Mode) error { return flock(fd, m, true) }

func file(path string, m Mode, wait bool) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := flock(f.Fd(), m, wait); err != nil {
		f.Close()
		if errors.Is(err, ErrHeld) {
			return nil, ErrHeld
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

func flock(fd uintptr, m Mode, wait bool) error {
	how := unix.LOCK_EX
	if m == Shared {
		how = unix.LOCK_SH
	}
	if !wait {
		how |= unix.LOCK_NB
	}
	for {
		err := unix.Flock(int(fd), how)
		switch {
		case err == unix.EINTR:
			continue
		case errors.Is(err, unix.EWOULDBLOCK):
			return ErrHeld
		}
		return err
	}
}
