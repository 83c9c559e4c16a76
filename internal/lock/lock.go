// Package lock is the one place chama takes file locks. On unix a lock
// is an flock(2) on a lock file: it belongs to the open file, so it dies
// with the process however the process ends, and a killed run never
// blocks the next one. Elsewhere (Windows and other systems without
// flock) every lock is granted at once and nothing is excluded: chama
// runs there for development only, one process at a time.
package lock

import "errors"

// ErrHeld is returned by Try and TryFd when another process holds a lock
// that excludes the one asked for.
var ErrHeld = errors.New("lock is held")

// Mode is how a lock is held.
type Mode int

const (
	// Exclusive excludes every other lock of the file.
	Exclusive Mode = iota
	// Shared excludes only an exclusive lock: several processes may hold
	// it at once.
	Shared
)

func (m Mode) String() string {
	if m == Shared {
		return "shared"
	}
	return "exclusive"
}
