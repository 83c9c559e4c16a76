package pack

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/lockfile"
)

// exchange swaps two folders atomically.
func exchange(a, b string) error {
	err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP) {
		return errNoExchange
	}
	if err != nil {
		return &os.LinkError{Op: "exchange", Old: a, New: b, Err: err}
	}
	return nil
}

// lockPeriod takes an exclusive lock on <parent>/.<period>.lock, so two
// packs of the same interface and period never share a folder. Push takes
// the same lock while it writes its delivery records there.
func lockPeriod(parent, period string) (func(), error) {
	path := lockfile.Period(parent, period)
	unlock, err := lockfile.TryLock(path)
	// Push holds the lock only for the instant it writes a delivery
	// record: give it a moment before calling the period busy.
	for i := 0; i < 20 && errors.Is(err, lockfile.ErrHeld); i++ {
		time.Sleep(100 * time.Millisecond)
		unlock, err = lockfile.TryLock(path)
	}
	if errors.Is(err, lockfile.ErrHeld) {
		return nil, exit.Busy(fmt.Errorf("%w (lock %s is held): wait for it to finish, or find it with 'fuser %s'", errLocked, path, path))
	}
	return unlock, err
}
