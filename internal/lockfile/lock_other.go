//go:build !linux

package lockfile

import "errors"

// ErrHeld is returned by TryLock when another process holds the lock.
var ErrHeld = errors.New("lock is held")

// TryLock is a no-op off Linux.
func TryLock(path string) (func(), error) { return func() {}, nil }

// Lock is a no-op off Linux.
func Lock(path string) (func(), error) { return func() {}, nil }
