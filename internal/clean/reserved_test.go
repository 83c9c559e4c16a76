package clean

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/lock"
)

// markerCfg: 51007 reads a source whose marker is DONE, with a fallback
// whose marker is the default _SUCCESS; CM001 reads the fallback.
func markerCfg(t *testing.T, work string) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(fmt.Sprintf(`
workdir: %q
sources:
  local: {type: file, root: %q, marker: DONE, fallback: spare}
  spare: {type: file, root: %q}
interfaces:
  "51007":
    source: local
    path: dt={date}/hour={hour}
    file_name: a_10000_{date}_{iface}_{resend:02}_{seq}.dat.gz
    verf_name: a_10000_{date}_{iface}_{resend:02}.verf
  CM001:
    source: spare
    path: dt={date}/hour={hour}
    partition_field: 3
`, work, work, work)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCleanReservedNames (#14): clean removed neither a failed pack's
// <period>.rejects.txt, nor the lock files (.<period>.lock, push's
// .<period>.push.lock, pull's locks), nor pull's completeness markers, so
// raw folders kept _SUCCESS after their data was gone. A lock goes only
// with what it guards, when it is old and no process holds it; a marker
// goes with (before) the staged data it vouches for.
func TestCleanReservedNames(t *testing.T) {
	work := filepath.Join(t.TempDir(), "work")
	at := func(rel string, days int) { put(t, filepath.Join(work, filepath.FromSlash(rel)), days) }
	// An old period, its reject list from a failed run beside it, its
	// locks: all go, and out/51007 with them.
	for _, n := range []string{"a_10000_20241201_51007_00_0001.dat.gz", "a_10000_20241201_51007_00.verf", "manifest.json", "delivery-plat.json"} {
		at("out/51007/20241201/"+n, 30)
	}
	at("out/51007/20241201.rejects.txt", 30)
	at("out/51007/.20241201.lock", 30)
	at("out/51007/.20241201.push.lock", 30)
	// CM001: a new period whose locks were made long ago stays, locks too.
	at("out/CM001/20241225/250/a_10000_20241225_CM001_250_00_0001.dat.gz", 6)
	at("out/CM001/.20241225.lock", 30)
	at("out/CM001/.20241225.push.lock", 30)
	at("out/CM001/.20241203.lock", 2)            // new, nothing to guard yet: a pack about to start
	at("out/CM001/20241204.rejects.txt", 2)      // new
	at("out/CM001/.20241205.lock", 30)           // guards a pack's work folder
	at("out/CM001/.20241205.tmp-7/.chunk-1", 1)  // (new)
	at("out/CM001/.misc.lock", 30)               // not a period
	at("out/CM001/20241201.rejects.txt.bak", 30) // not ours
	at("out/CM001/_SUCCESS", 30)                 // markers are pull's, in raw/ only
	at("out/99999/.20241201.lock", 30)           // not a configured interface
	// Hour chunks: the chunk's lock and a failed chunk's rejects go too.
	at("chunks/out/51007/2024120107/chunk_07_000001.dat.gz", 30)
	at("chunks/out/51007/.2024120107.lock", 30)
	at("chunks/out/51007/2024120108.rejects.txt", 30)
	// A staged day: all of pull's files go, the day folder with them.
	at("raw/51007/20241201/.chama-pull.json", 30)
	at("raw/51007/20241201/.chama-pull.json.lock", 30)
	at("raw/51007/20241201/.chama-pull-dt-20241201_hour-00.lock", 30)
	at("raw/51007/20241201/dt=20241201/hour=00/part-00000.gz", 30)
	at("raw/51007/20241201/dt=20241201/hour=00/.part-00000.gz.chama", 30)
	at("raw/51007/20241201/dt=20241201/hour=00/DONE", 30)
	// Staged two days ago from files the source wrote a month ago (pull
	// keeps the source's mtime): staged recently, so all stays.
	at("raw/51007/20241202/dt=20241202/hour=00/part-00000.gz", 30)
	at("raw/51007/20241202/dt=20241202/hour=00/.part-00000.gz.chama", 2)
	at("raw/51007/20241202/dt=20241202/hour=00/DONE", 2)
	at("raw/51007/20241202/.chama-pull.json", 2)
	at("raw/51007/20241202/.chama-pull.json.lock", 30) // the day folder holds more: stays
	// Re-pulled two days ago, one file skipped as already verified: the
	// old file goes, so the (new) marker goes first; the new file stays.
	at("raw/51007/20241203/dt=20241203/hour=00/part-00000.gz", 30)
	at("raw/51007/20241203/dt=20241203/hour=00/.part-00000.gz.chama", 30)
	at("raw/51007/20241203/dt=20241203/hour=00/part-00001.gz", 2)
	at("raw/51007/20241203/dt=20241203/hour=00/.part-00001.gz.chama", 2)
	at("raw/51007/20241203/dt=20241203/hour=00/DONE", 2)
	// An old marker over no staged data (left by an older clean) goes; a
	// foreign file beside it stays. The fallback's marker is 51007's too.
	at("raw/51007/20241204/dt=20241204/hour=00/DONE", 30)
	at("raw/51007/20241204/dt=20241204/hour=00/notes.txt", 30)
	at("raw/51007/20241205/dt=20241205/hour=00/_SUCCESS", 30)
	// CM001's source has no DONE marker: not its file.
	at("raw/CM001/20241201/dt=20241201/hour=00/DONE", 30)
	at("raw/CM001/20241201/dt=20241201/hour=00/_SUCCESS", 30)

	held := runtime.GOOS == "linux"
	if held {
		// A lock a running pack holds stays, however old.
		at("out/CM001/.20241202.lock", 30)
		unlock, err := lock.Try(filepath.Join(work, "out", "CM001", ".20241202.lock"), lock.Exclusive)
		if err != nil {
			t.Fatal(err)
		}
		defer unlock()
	}

	for _, dry := range []bool{true, false} {
		var out bytes.Buffer
		res, err := Run(t.Context(), Options{Config: markerCfg(t, work), Now: now, Out: &out, DryRun: dry})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{
			"chunks/",
			"chunks/out/",
			"out/",
			"out/99999/",
			"out/99999/.20241201.lock",
			"out/CM001/",
			"out/CM001/.20241203.lock",
			"out/CM001/.20241205.lock",
			"out/CM001/.20241205.tmp-7/",
			"out/CM001/.20241205.tmp-7/.chunk-1",
			"out/CM001/.20241225.lock",
			"out/CM001/.20241225.push.lock",
			"out/CM001/.misc.lock",
			"out/CM001/20241201.rejects.txt.bak",
			"out/CM001/20241204.rejects.txt",
			"out/CM001/20241225/",
			"out/CM001/20241225/250/",
			"out/CM001/20241225/250/a_10000_20241225_CM001_250_00_0001.dat.gz",
			"out/CM001/_SUCCESS",
			"raw/",
			"raw/51007/",
			"raw/51007/20241202/",
			"raw/51007/20241202/.chama-pull.json",
			"raw/51007/20241202/.chama-pull.json.lock",
			"raw/51007/20241202/dt=20241202/",
			"raw/51007/20241202/dt=20241202/hour=00/",
			"raw/51007/20241202/dt=20241202/hour=00/.part-00000.gz.chama",
			"raw/51007/20241202/dt=20241202/hour=00/DONE",
			"raw/51007/20241202/dt=20241202/hour=00/part-00000.gz",
			"raw/51007/20241203/",
			"raw/51007/20241203/dt=20241203/",
			"raw/51007/20241203/dt=20241203/hour=00/",
			"raw/51007/20241203/dt=20241203/hour=00/.part-00001.gz.chama",
			"raw/51007/20241203/dt=20241203/hour=00/part-00001.gz",
			"raw/51007/20241204/",
			"raw/51007/20241204/dt=20241204/",
			"raw/51007/20241204/dt=20241204/hour=00/",
			"raw/51007/20241204/dt=20241204/hour=00/notes.txt",
			"raw/CM001/",
			"raw/CM001/20241201/",
			"raw/CM001/20241201/dt=20241201/",
			"raw/CM001/20241201/dt=20241201/hour=00/",
			"raw/CM001/20241201/dt=20241201/hour=00/DONE",
		}
		if held {
			want = append(want[:6], append([]string{"out/CM001/.20241202.lock"}, want[6:]...)...)
		}
		got := tree(t, work)
		if dry {
			// The dry run announces the same and deletes nothing.
			for _, w := range []string{
				"CHAMA_CLEAN WOULD_DELETE file=raw/51007/20241203/dt=20241203/hour=00/DONE ",
				"CHAMA_CLEAN WOULD_DELETE file=out/51007/.20241201.push.lock ",
				"CHAMA_CLEAN WOULD_DELETE dir=out/51007\n",
				"CHAMA_CLEAN WOULD_DELETE dir=raw/51007/20241201\n",
			} {
				if !strings.Contains(out.String(), w) {
					t.Errorf("dry run does not say %q:\n%s", w, out.String())
				}
			}
			if len(got) <= len(want) {
				t.Fatalf("dry run deleted:\n%s", strings.Join(got, "\n"))
			}
			continue
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("workdir after clean:\n%s\nwant:\n%s\nlines:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), out.String())
		}
		if res.Files != 22 {
			t.Errorf("result %+v\n%s", res, out.String())
		}
		// Markers go before any data they vouch for.
		lines := out.String()
		for _, m := range []string{"raw/51007/20241201/dt=20241201/hour=00/DONE", "raw/51007/20241203/dt=20241203/hour=00/DONE"} {
			dir := filepath.ToSlash(filepath.Dir(m))
			i, j := strings.Index(lines, "DELETE file="+m+" "), strings.Index(lines, "DELETE file="+dir+"/part-")
			if i < 0 || j < 0 || i > j {
				t.Errorf("%s is not deleted before the data in its folder:\n%s", m, lines)
			}
		}
	}
}

// TestCleanInterruptedNeverLeavesAMarkerOverPartialData: whatever stops
// a clean part-way (here a deletion that fails), a staged folder never
// keeps its marker once any of its data is gone; and data whose marker
// could not be deleted stays.
func TestCleanInterruptedNeverLeavesAMarkerOverPartialData(t *testing.T) {
	for _, failOn := range []string{"part-00000.gz", "part-00001.gz", "_SUCCESS"} {
		t.Run(failOn, func(t *testing.T) {
			work := filepath.Join(t.TempDir(), "work")
			dir := filepath.Join(work, "raw", "CM001", "20241201", "dt=20241201", "hour=00")
			for _, n := range []string{"part-00000.gz", ".part-00000.gz.chama", "part-00001.gz", ".part-00001.gz.chama", "_SUCCESS"} {
				put(t, filepath.Join(dir, n), 30)
			}
			defer func(f func(string, func() error) error) { remove = f }(remove)
			remove = func(rel string, rm func() error) error {
				if filepath.Base(rel) == failOn {
					return &os.PathError{Op: "remove", Path: rel, Err: os.ErrPermission}
				}
				return rm()
			}
			var out bytes.Buffer
			_, err := Run(t.Context(), Options{Config: markerCfg(t, work), Now: now, Out: &out})
			if err == nil || !strings.Contains(out.String(), "not_deleted=1 ") {
				t.Fatalf("err %v\n%s", err, out.String())
			}
			_, merr := os.Lstat(filepath.Join(dir, "_SUCCESS"))
			var left []string
			for _, n := range []string{"part-00000.gz", "part-00001.gz"} {
				if _, err := os.Lstat(filepath.Join(dir, n)); err == nil {
					left = append(left, n)
				}
			}
			if failOn == "_SUCCESS" {
				if merr != nil || len(left) != 2 {
					t.Fatalf("the marker could not go, so its data must stay: marker %v, data left %v\n%s", merr, left, out.String())
				}
				return
			}
			if !errors.Is(merr, os.ErrNotExist) {
				t.Fatalf("a marker over partial data (left %v): %v\n%s", left, merr, out.String())
			}
			if len(left) != 1 || left[0] != failOn {
				t.Fatalf("data left %v\n%s", left, out.String())
			}
			// The record of the file that stayed stays with it.
			if _, err := os.Lstat(filepath.Join(dir, "."+failOn+".chama")); err != nil {
				t.Errorf("the record of %s went without it: %v", failOn, err)
			}
		})
	}
}
