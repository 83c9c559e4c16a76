package lockfile

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// ErrHeld is returned by TryLock when another process holds the lock.
var ErrHeld = errors.New("lock is held")

// TryLock takes an exclusive flock on path without waiting. The lock dies
// with the process, so a killed run never blocks the next one.
func TryLock(path string) (unlock func(), err error) { return lock(path, unix.LOCK_NB) }

// Lock takes the lock, waiting for the holder to release it.
func Lock(path string) (unlock func(), err error) { return lock(path, 0) }

func lock(path string, how int) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|how)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, ErrHeld
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
