//go:build unix

package pull

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/chama-data/chama/internal/exit"
)

// lockPartition takes the lock of one partition's staging, so two pulls
// of the same partition (an overlapping cron run) never write the same
// files at once; pulls of other hours of the day go on. The lock is
// released when the process ends, however it ends.
func lockPartition(dir, partition string) (func(), error) {
	name := ".chama-pull-" + strings.NewReplacer("/", "_", "=", "-").Replace(partition) + ".lock"
	return lock(dir, name, unix.LOCK_EX|unix.LOCK_NB, "another chama pull is staging this partition")
}

// lockRecord waits for the day's pull record lock.
func lockRecord(dir string) (func(), error) {
	return lock(dir, ".chama-pull.json.lock", unix.LOCK_EX, "")
}

func lock(dir, name string, how int, busy string) (func(), error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, exit.Busy(fmt.Errorf("%s (lock %s is held)", busy, path))
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
