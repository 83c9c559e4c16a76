package pull

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/lock"
	"github.com/chama-data/chama/internal/workdir"
)

// lockPartition takes the lock of one partition's staging, so two pulls
// of the same partition (an overlapping cron run) never write the same
// files at once; pulls of other hours of the day go on. The lock is
// released when the process ends, however it ends.
func lockPartition(dir, partition string) (func(), error) {
	path, err := lockPath(dir, workdir.PullPartitionLock(partition))
	if err != nil {
		return nil, err
	}
	unlock, err := lock.Try(path, lock.Exclusive)
	if errors.Is(err, lock.ErrHeld) {
		return nil, exit.Busy(fmt.Errorf("another chama pull is staging this partition (lock %s is held)", path))
	}
	return unlock, err
}

// lockRecord waits for the day's pull record lock.
func lockRecord(dir string) (func(), error) {
	path, err := lockPath(dir, workdir.PullRecordLock)
	if err != nil {
		return nil, err
	}
	return lock.Wait(path, lock.Exclusive)
}

// lockPath is the lock file name in dir, made first.
func lockPath(dir, name string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return filepath.Join(dir, name), nil
}
