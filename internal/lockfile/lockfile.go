// Package lockfile holds the per-period lock that pack, day assembly and
// push's delivery records share, so a re-pack never publishes a folder
// built from records that push was updating at the same moment.
package lockfile

import "path/filepath"

// Period is the lock file of <parent>/<period>: <parent>/.<period>.lock.
func Period(parent, period string) string {
	return filepath.Join(parent, "."+period+".lock")
}

// ForDir is the lock file of an output folder such as out/<iface>/<period>.
func ForDir(dir string) string {
	return Period(filepath.Dir(dir), filepath.Base(dir))
}

// PushForDir is the lock one push holds on an output folder for its whole
// run: <parent>/.<period>.push.lock. It is not the period lock, which
// push takes only for a moment to write its delivery records.
func PushForDir(dir string) string {
	return filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".push.lock")
}
