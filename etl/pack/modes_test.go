package pack

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/chama-data/chama/internal/workdir"
)

// File modes per kind, under the usual umask 022: a published period
// folder and its interface files are readable by the delivery tools of
// other accounts (0755 / 0644, as the old pipeline's were); a rejects
// file holds raw input rows and is never delivered, so it is 0600, also
// when kept beside a failed period.
func TestPackFileModes(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	e := newEnv(t, "fields: 3\nmax_rejects: 1")
	e.writeInput("ods/dt=20241212/a.gz", row("1", "2", "3"), row("bad"))
	e.mustPack("20241212")
	dir := e.outDir("20241212")
	mode := func(p string) os.FileMode {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return st.Mode().Perm()
	}
	if m := mode(dir); m != 0o755 {
		t.Errorf("published folder %04o, want 0755", m)
	}
	if m := mode(filepath.Join(dir, "a_10000_20241212_X_00_0001.dat.gz")); m != 0o644 {
		t.Errorf("interface file %04o, want 0644", m)
	}
	if m := mode(filepath.Join(dir, workdir.RejectsFile)); m != 0o600 {
		t.Errorf("rejects file %04o, want 0600", m)
	}
	e.writeInput("ods/dt=20241212/b.gz", row("also bad"))
	if _, err := e.pack("20241212"); err == nil {
		t.Fatal("two rejects passed max_rejects 1")
	}
	if m := mode(dir + "." + workdir.RejectsFile); m != 0o600 {
		t.Errorf("kept rejects file %04o, want 0600", m)
	}
}
