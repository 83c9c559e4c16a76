package clean

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/lock"
	"github.com/chama-data/chama/internal/workdir"
)

// odsCfg adds a from: transform interface whose ODS table "events" pull
// stages under raw/ods.events/.
func odsCfg(t *testing.T, work string) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(fmt.Sprintf(`
workdir: %q
sources:
  local: {type: file, root: %q, marker: _DONE}
interfaces:
  "51007":
    source: local
    path: dt={date}/hour={hour}
  "51006": {from: transform}
transform:
  ods:
    events:
      source: local
      path: ods/events/dt={date}/hour={hour}
      columns: {a: string}
  dwd:
    events: {from: events}
  ads:
    "51006": {from: events, columns: {a: a}}
`, work, work)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// stagedDay writes an old pulled day under raw/<dir>/20241201: one hour
// with its marker, a file with its record, the pull record and the
// hour's pull lock; and returns their workdir-relative paths.
func stagedDay(t *testing.T, work, dir string) []string {
	t.Helper()
	rels := []string{
		"raw/" + dir + "/20241201/ods/events/dt=20241201/hour=00/_DONE",
		"raw/" + dir + "/20241201/ods/events/dt=20241201/hour=00/000000_0",
		"raw/" + dir + "/20241201/ods/events/dt=20241201/hour=00/.000000_0.chama",
		"raw/" + dir + "/20241201/" + workdir.PullRecordFile,
		"raw/" + dir + "/20241201/" + workdir.PullPartitionLock("ods/events/dt=20241201/hour=00"),
	}
	for _, r := range rels {
		put(t, filepath.Join(work, filepath.FromSlash(r)), 30)
	}
	return rels
}

// The ODS table pulled for from: transform interfaces (raw/ods.<table>)
// is cleaned as an interface's pulled copies are: marker, data, records,
// then the lock; a folder for a table not configured is not chama's.
func TestCleanPulledODSTable(t *testing.T) {
	work := filepath.Join(t.TempDir(), "work")
	ours := stagedDay(t, work, "ods.events")
	foreign := stagedDay(t, work, "ods.other")
	var out bytes.Buffer
	if _, err := Run(t.Context(), Options{Config: odsCfg(t, work), Days: 15, Now: now, Out: &out}); err != nil {
		t.Fatal(err)
	}
	for _, r := range ours {
		if _, err := os.Lstat(filepath.Join(work, filepath.FromSlash(r))); !os.IsNotExist(err) {
			t.Errorf("%s kept: %v\n%s", r, err, out.String())
		}
	}
	for _, r := range foreign {
		if _, err := os.Lstat(filepath.Join(work, filepath.FromSlash(r))); err != nil {
			t.Errorf("%s (a table not configured) deleted", r)
		}
	}
	lines := out.String()
	if m, d := strings.Index(lines, "hour=00/_DONE"), strings.Index(lines, "hour=00/000000_0"); m < 0 || d < 0 || m > d {
		t.Errorf("the marker must go first:\n%s", lines)
	}
}

// A staged day whose pull lock is held (a pull staging it, or a pack or
// transform reading a pulled copy: a shared lock) keeps all its files;
// the next clean, the lock released, takes them.
func TestCleanKeepsAPulledCopyInUse(t *testing.T) {
	work := filepath.Join(t.TempDir(), "work")
	rels := stagedDay(t, work, "51007")
	other := stagedDay(t, work, "ods.events")
	lockFile := filepath.Join(work, filepath.FromSlash(rels[4]))
	unlock, err := lock.Try(lockFile, lock.Shared)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := Run(t.Context(), Options{Config: odsCfg(t, work), Days: 15, Now: now, Out: &out}); err != nil {
		t.Fatal(err)
	}
	for _, r := range rels {
		if _, err := os.Lstat(filepath.Join(work, filepath.FromSlash(r))); err != nil {
			t.Errorf("%s of the day in use deleted\n%s", r, out.String())
		}
	}
	for _, r := range other {
		if _, err := os.Lstat(filepath.Join(work, filepath.FromSlash(r))); !os.IsNotExist(err) {
			t.Errorf("%s of a day not in use kept", r)
		}
	}
	unlock()
	out.Reset()
	if _, err := Run(t.Context(), Options{Config: odsCfg(t, work), Days: 15, Now: now, Out: &out}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(work, "raw", "51007")); !os.IsNotExist(err) {
		t.Errorf("the day was kept once released:\n%s", out.String())
	}
}
