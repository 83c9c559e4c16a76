package pack

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/lock"
	"github.com/chama-data/chama/internal/logkey"
	"github.com/chama-data/chama/internal/workdir"
)

// publish puts the finished temp folder in place of final. When final
// exists the two are swapped in one atomic step where the OS can
// (renameat2 RENAME_EXCHANGE), else the old one is first moved aside; the
// returned folder holds the old output for the caller to remove. At no
// point does final hold a partial set.
func publish(tmp, final string) (old string, err error) {
	if _, err := os.Lstat(final); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(tmp, final); err != nil {
			return "", err
		}
		return "", syncDir(filepath.Dir(final))
	}
	if err := exchange(tmp, final); err == nil {
		return tmp, syncDir(filepath.Dir(final))
	} else if !errors.Is(err, errNoExchange) {
		return "", err
	}
	aside, err := os.MkdirTemp(filepath.Dir(final), workdir.PeriodAsidePattern(filepath.Base(final)))
	if err != nil {
		return "", err
	}
	os.Remove(aside) // only the unique name is wanted
	if err := os.Rename(final, aside); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		if rerr := os.Rename(aside, final); rerr != nil {
			return "", fmt.Errorf("%w (and restoring the previous output from %s failed: %v)", err, aside, rerr)
		}
		return "", err
	}
	return aside, syncDir(filepath.Dir(final))
}

var errNoExchange = errors.New("atomic exchange not supported")

// errLocked is lockPeriod's error when another run holds the lock.
var errLocked = errors.New("another chama is packing this period")

// ownFile reports whether a file in an output folder is one pack writes:
// cleanup deletes only those (never a folder wholesale), so anything an
// operator put there survives and is reported.
func ownFile(name string, iface *config.Interface) bool {
	switch {
	case name == workdir.ManifestFile, name == workdir.RejectsFile, workdir.IsTemp(name):
		return true
	}
	return iface.Template().Match(name) || iface.VerfTemplate().Match(name)
}

// removeOutput deletes pack's files under dir, then the folders left
// empty. Anything else stays, and is named in the error.
func removeOutput(dir string, iface *config.Interface) error {
	var dirs []string
	var left []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
			return nil
		}
		if ownFile(d.Name(), iface) {
			if err := os.Remove(p); err != nil {
				left = append(left, p)
			}
			return nil
		}
		left = append(left, p)
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		os.Remove(dirs[i]) // fails, as it should, when not empty
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if len(left) > 0 {
		if len(left) > 3 {
			left = append(left[:3], fmt.Sprintf("and %d more", len(left)-3))
		}
		return fmt.Errorf("left in place (not written by pack): %s", strings.Join(left, ", "))
	}
	return nil
}

// cleanStale removes what a killed run of the same period left behind
// (its temporary and moved-aside folders), each through remove.
// The caller holds the period lock, so no live run owns these folders.
func cleanStale(parent, period string, remove func(dir string) error, log *slog.Logger) {
	ents, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() && workdir.IsPeriodTemp(n, period) {
			p := filepath.Join(parent, n)
			log.Info("removing the leftovers of an interrupted run", "dir", p)
			if err := remove(p); err != nil {
				log.Warn("leftovers not fully removed", "dir", p, logkey.Err, err)
			}
		}
	}
}

// staging is the hidden temporary folder a run builds a period's output
// in, beside the published folder. Pack and day assembly share it: the
// caller holds the period's lock, defers discard, and calls publish last.
type staging struct {
	tmp, final string
	// remove deletes what chama wrote in an output folder (and nothing else).
	remove    func(dir string) error
	log       *slog.Logger
	published bool
}

// newStaging clears the leftovers of killed runs of the period and makes
// the temporary folder <parent>/.<period>.tmp-*.
func newStaging(parent, period string, remove func(string) error, log *slog.Logger) (*staging, error) {
	if err := mkdirAllSynced(parent); err != nil {
		return nil, err
	}
	cleanStale(parent, period, remove, log)
	tmp, err := os.MkdirTemp(parent, workdir.PeriodBuildPattern(period))
	if err != nil {
		return nil, err
	}
	// MkdirTemp makes 0700; a published period folder is 0755, as the
	// old pipeline's was, so the delivery tools of other accounts can
	// read the interface files (0644). What is not delivered and holds
	// raw rows (rejects, staged Parquet, pulled copies) is 0600.
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.Remove(tmp)
		return nil, err
	}
	return &staging{tmp: tmp, final: filepath.Join(parent, period), remove: remove, log: log}, nil
}

// discard removes the temporary folder unless it was published.
func (s *staging) discard() {
	if s.published {
		return
	}
	if err := s.remove(s.tmp); err != nil {
		s.log.Warn("temporary output not fully removed", "dir", s.tmp, logkey.Err, err)
	}
}

// publish swaps the temporary folder into place atomically, then removes
// the previous output.
func (s *staging) publish() error {
	old, err := publish(s.tmp, s.final)
	if err != nil {
		return err
	}
	s.published = true
	if old != "" {
		if err := s.remove(old); err != nil {
			s.log.Warn("previous output not fully removed", "dir", old, logkey.Err, err)
		}
	}
	return nil
}

// syncDirs fsyncs dir and the folders in it, so the renames inside are
// durable before the publish rename.
func syncDirs(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return syncDir(p)
		}
		return nil
	})
}

// mkdirAllSynced is os.MkdirAll that fsyncs the parent of every folder it
// creates: the first output of an interface must not lose its path
// (<workdir>/out/<iface>) in a crash after pack reported it published.
func mkdirAllSynced(dir string) error {
	if st, err := os.Stat(dir); err == nil {
		if !st.IsDir() {
			return fmt.Errorf("%s is not a folder", dir)
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirAllSynced(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(parent)
}

// syncDir fsyncs a folder, making the names created in it durable (a
// variable so tests can see which folders were synced).
var syncDir = func(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	f.Close()
	if err != nil && !errors.Is(err, fs.ErrInvalid) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// lockPeriod takes an exclusive lock on <parent>/.<period>.lock, so two
// packs of the same interface and period never share a folder. Push takes
// the same lock while it writes its delivery records there.
func lockPeriod(parent, period string) (func(), error) {
	path := workdir.PeriodLock(filepath.Join(parent, period))
	unlock, err := lock.Try(path, lock.Exclusive)
	// Push holds the lock only for the instant it writes a delivery
	// record: give it a moment before calling the period busy.
	for i := 0; i < 20 && errors.Is(err, lock.ErrHeld); i++ {
		time.Sleep(100 * time.Millisecond)
		unlock, err = lock.Try(path, lock.Exclusive)
	}
	if errors.Is(err, lock.ErrHeld) {
		return nil, exit.Busy(fmt.Errorf("%w (lock %s is held): wait for it to finish, or find it with 'fuser %s'", errLocked, path, path))
	}
	return unlock, err
}
