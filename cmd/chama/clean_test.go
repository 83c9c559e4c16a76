package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chama-data/chama/internal/exit"
)

// workTree lists every path under dir, folders with a trailing slash.
func workTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			rel += "/"
		}
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// TestCleanRealOutputThroughTheCLI: clean over what the stages really
// write. Two days are pulled (raw/ with pull's records, markers and
// locks), packed (a day interface, and an hourly_pack one with its hour
// chunks) and pushed (delivery records, push's lock); the files of the
// first day are then aged past the retention. A retention past the 3650-day
// limit is refused with exit 2 and deletes nothing (#14: 106752 days and up
// deleted everything); a real clean removes every file of the old day
// except a foreign one, markers before their data, and keeps the new day
// whole.
func TestCleanRealOutputThroughTheCLI(t *testing.T) {
	dir := t.TempDir()
	srv, remote := startExchange(t, dir, "in")
	conf := func(extra string) string {
		return fmt.Sprintf(`workdir: work
%s
sources:
  ods: {type: file, root: ods, ready: marker}
targets:
  plat:
    primary: [{host: 127.0.0.1, port: %d}]
    user: chama
    auth: {key_file: id}
    known_hosts: known_hosts
    dir: /in
interfaces:
  "51007":
    source: ods
    path: dt={date}/hour={hour}
    lines_per_file: 100
    embedded_delimiter: "replace: "
    routes: [{target: plat}]
  "51010":
    source: ods
    path: dt={date}/hour={hour}
    hourly_pack: true
    lines_per_file: 100
    embedded_delimiter: "replace: "
`, extra, srv.Port())
	}
	cfg := filepath.Join(dir, "chama.yaml")
	os.WriteFile(cfg, []byte(conf("")), 0o644)
	run := func(wantCode int, args ...string) string {
		t.Helper()
		out, code, err := packCLI(t, append([]string{"--config", cfg}, args...)...)
		if code != wantCode {
			t.Fatalf("chama %v: exit %d (%v), want %d\n%s", args, code, err, wantCode, out)
		}
		return out + fmt.Sprint(err)
	}
	const oldDay, newDay = "20241201", "20241212"
	for _, day := range []string{oldDay, newDay} {
		run(0, "gen", "--out", filepath.Join(dir, "ods"), "--date", day, "--rows", "250")
		run(0, "pull", "--date", day, "--iface", "51007")
		run(0, "pack", "--date", day)
		if out := run(0, "push", "--date", day, "--iface", "51007"); !strings.Contains(out, "CHAMA_PUSH OK iface=51007 period="+day+" target=plat ") {
			t.Fatalf("push %s: %s", day, out)
		}
	}
	work := filepath.Join(dir, "work")
	// A file chama did not make, in a staged partition of the old day.
	foreign := filepath.Join(work, "raw", "51007", oldDay, "dt="+oldDay, "hour=00", "notes.txt")
	os.WriteFile(foreign, []byte("mine"), 0o644)

	// Age every file of the old day (paths and names carry the period).
	long := time.Now().AddDate(0, 0, -40)
	var aged, fresh []string
	for _, p := range workTree(t, work) {
		if strings.HasSuffix(p, "/") {
			continue
		}
		switch {
		case strings.Contains(p, oldDay):
			aged = append(aged, p)
			if err := os.Chtimes(filepath.Join(work, filepath.FromSlash(p)), long, long); err != nil {
				t.Fatal(err)
			}
		case strings.Contains(p, newDay):
			fresh = append(fresh, p)
		}
	}
	// What the stages leave, so the test covers each kind.
	for _, want := range []string{
		"out/51007/" + oldDay + "/manifest.json",
		"out/51007/" + oldDay + "/delivery-plat.json",
		"out/51007/." + oldDay + ".lock",
		"out/51007/." + oldDay + ".push.lock",
		"out/51010/" + oldDay + "/manifest.json",
		"chunks/out/51010/" + oldDay + "07/manifest.json",
		"chunks/out/51010/." + oldDay + "07.lock",
		"raw/51007/" + oldDay + "/.chama-pull.json",
		"raw/51007/" + oldDay + "/dt=" + oldDay + "/hour=07/_SUCCESS",
	} {
		found := false
		for _, p := range aged {
			found = found || p == want
		}
		if !found {
			t.Fatalf("the stages left no %s; the old day has:\n%s", want, strings.Join(aged, "\n"))
		}
	}
	before := workTree(t, work)

	// A retention past ten years is a usage error, from the flag or the
	// config, and deletes nothing.
	for _, days := range []string{"106752", "1000000", "3651", "0", "-3"} {
		out := run(exit.Usage, "clean", "--days", days)
		if !strings.Contains(out, "3650") || strings.Contains(out, "CHAMA_CLEAN") {
			t.Errorf("clean --days %s said: %s", days, out)
		}
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte(conf("retention_days: 1000000")), 0o644)
	if out, code, err := packCLI(t, "--config", bad, "clean"); code != exit.Usage || !strings.Contains(fmt.Sprint(err), "retention_days: must be at most 3650") {
		t.Errorf("retention_days: 1000000: exit %d (%v)\n%s", code, err, out)
	}
	if got := workTree(t, work); strings.Join(got, "\n") != strings.Join(before, "\n") {
		t.Fatalf("a refused clean changed the workdir:\n%s", strings.Join(got, "\n"))
	}

	// The dry run lists, deletes nothing.
	dry := run(0, "clean", "--dry-run")
	if got := workTree(t, work); strings.Join(got, "\n") != strings.Join(before, "\n") {
		t.Fatal("the dry run changed the workdir")
	}
	out := run(0, "clean")
	if strings.ReplaceAll(dry, "WOULD_DELETE", "DELETE") != strings.ReplaceAll(out, "dry_run=false", "dry_run=true") {
		t.Errorf("the dry run and the run differ:\n%s\n%s", dry, out)
	}
	if !strings.Contains(out, fmt.Sprintf("CHAMA_CLEAN OK files=%d ", len(aged)-1)) {
		t.Errorf("want all %d aged files but the foreign one deleted:\n%s", len(aged), out)
	}
	after := workTree(t, work)
	var leftOld []string
	have := map[string]bool{}
	for _, p := range after {
		have[p] = true
		if strings.Contains(p, oldDay) {
			leftOld = append(leftOld, p)
		}
	}
	wantLeft := []string{
		"raw/51007/" + oldDay + "/",
		"raw/51007/" + oldDay + "/dt=" + oldDay + "/",
		"raw/51007/" + oldDay + "/dt=" + oldDay + "/hour=00/",
		"raw/51007/" + oldDay + "/dt=" + oldDay + "/hour=00/notes.txt",
	}
	if strings.Join(leftOld, "\n") != strings.Join(wantLeft, "\n") {
		t.Errorf("left of the old day:\n%s\nwant:\n%s\nclean said:\n%s", strings.Join(leftOld, "\n"), strings.Join(wantLeft, "\n"), out)
	}
	for _, p := range fresh {
		if !have[p] {
			t.Errorf("clean deleted %s of the new day", p)
		}
	}
	if !have["ledger.db"] {
		t.Error("clean deleted the ledger")
	}
	// Each staged partition's marker went before its data.
	for h := range 24 {
		d := fmt.Sprintf("raw/51007/%s/dt=%s/hour=%02d/", oldDay, oldDay, h)
		i, j := strings.Index(out, "DELETE file="+d+"_SUCCESS "), strings.Index(out, "DELETE file="+d+"part-")
		if i < 0 || j < 0 || i > j {
			t.Errorf("%s_SUCCESS not deleted before the data:\n%s", d, out)
			break
		}
	}
	// Delivered files stay delivered: clean is local only.
	if es, _ := os.ReadDir(filepath.Join(remote, "in")); len(es) == 0 {
		t.Error("the exchange is empty")
	}
}
