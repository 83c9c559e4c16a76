package clean

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chama-data/chama/config"
)

var now = time.Date(2024, 12, 31, 12, 0, 0, 0, time.UTC)

func cfg(t *testing.T, work string) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(fmt.Sprintf(`
workdir: %q
sources:
  local: {type: file, root: %q}
interfaces:
  "51007":
    source: local
    path: dt={date}/hour={hour}
    file_name: a_10000_{date}_{iface}_{resend:02}_{seq}.dat.gz
    verf_name: a_10000_{date}_{iface}_{resend:02}.verf
  CM001:
    source: local
    path: dt={date}/hour={hour}
    partition_field: 3
`, work, work)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// put writes a file aged days before now.
func put(t *testing.T, path string, days int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := now.Add(-time.Duration(days)*24*time.Hour - time.Minute)
	if err := os.Chtimes(path, m, m); err != nil {
		t.Fatal(err)
	}
}

// tree lists every path under dir (symlinks as "name -> target").
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.Type()&os.ModeSymlink != 0 {
			dst, _ := os.Readlink(p)
			rel += " -> " + dst
		} else if d.IsDir() {
			rel += "/"
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	sort.Strings(out)
	return out
}

// layout builds a workdir with old and new chama files, foreign files,
// and symlinks leading out of it.
func layout(t *testing.T) (work, outside string) {
	base := t.TempDir()
	work, outside = filepath.Join(base, "work"), filepath.Join(base, "outside")
	old := filepath.Join(work, "out", "51007", "20241201")
	for _, n := range []string{"a_10000_20241201_51007_00_0001.dat.gz", "a_10000_20241201_51007_00_0002.dat.gz", "a_10000_20241201_51007_00.verf",
		"manifest.json", "rejects.txt", "delivery-panda.json", ".a_10000_20241201_51007_00_0003.dat.gz.part"} {
		put(t, filepath.Join(old, n), 30)
	}
	// A crashed pack's work folder.
	put(t, filepath.Join(work, "out", "51007", ".20241202.tmp-123", ".chunk-4"), 20)
	// Partitioned CM001 set with the default template.
	put(t, filepath.Join(work, "out", "CM001", "20241201", "250", "a_10000_20241201_CM001_250_00_0001.dat.gz"), 16)
	// Not ours, though old and inside out/: kept, and so is their folder.
	put(t, filepath.Join(work, "out", "51007", "20241203", "notes.txt"), 30)
	put(t, filepath.Join(work, "out", "51007", "20241203", "a_10000_20241203_51007_00_0001.dat.gz.bak"), 30)
	put(t, filepath.Join(work, "out", "51007", "20241203", "a_10000_20241203_51007_00_0001.dat.gz"), 30)
	put(t, filepath.Join(work, "out", "99999", "20241201", "a_10000_20241201_99999_00_0001.dat.gz"), 30) // not a configured interface
	put(t, filepath.Join(work, "out", "51007", "misc", "a_10000_20241201_51007_00_0001.dat.gz"), 30)     // not a period folder
	put(t, filepath.Join(work, "ledger.db"), 30)
	put(t, filepath.Join(work, "logs", "chama.log"), 30)
	// New: inside the retention.
	put(t, filepath.Join(work, "out", "51007", "20241225", "a_10000_20241225_51007_00_0001.dat.gz"), 6)
	// Staged inputs: with pull's record (ours), without (not ours).
	raw := filepath.Join(work, "raw", "51007", "20241201", "hour=00")
	put(t, filepath.Join(raw, "part-00000.gz"), 30)
	put(t, filepath.Join(raw, ".part-00000.gz.chama"), 30)
	put(t, filepath.Join(raw, "part-00001.gz"), 30)
	put(t, filepath.Join(work, "raw", "51007", "20241201", ".chama-pull.json"), 30)
	// Transform's staged Parquet and summaries; a foreign file there stays.
	put(t, filepath.Join(work, "stage", "ads", "51007", "20241201", "part-00001.parquet"), 30)
	put(t, filepath.Join(work, "stage", "ads", "CM001", "20241201.partial", "250", "part-00002.parquet"), 30)
	put(t, filepath.Join(work, "stage", "ads", "20241201.summary.json"), 30)
	put(t, filepath.Join(work, "stage", "dwd", "20241201.rejects.txt"), 30)
	put(t, filepath.Join(work, "stage", "dwd", "events", "20241201", "data.csv"), 30)
	// Already empty folder: not ours to remove.
	os.MkdirAll(filepath.Join(work, "out", "51007", "20241101"), 0o755)
	// Outside the workdir, named exactly like chama's files, reached by
	// symlinks from inside it.
	put(t, filepath.Join(outside, "20241201", "a_10000_20241201_51007_00_0001.dat.gz"), 30)
	put(t, filepath.Join(outside, "a_10000_20241201_51007_00_0009.dat.gz"), 30)
	os.MkdirAll(filepath.Join(work, "out", "51006"), 0o755)
	must(t, os.Symlink(filepath.Join(outside), filepath.Join(work, "out", "CM002")))                                                                  // an iface folder pointing out
	must(t, os.Symlink(filepath.Join(outside, "20241201"), filepath.Join(work, "out", "51007", "20241204")))                                          // a period folder pointing out
	must(t, os.Symlink(filepath.Join(outside, "a_10000_20241201_51007_00_0009.dat.gz"), filepath.Join(old, "a_10000_20241201_51007_00_0009.dat.gz"))) // a file link named like ours
	return work, outside
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestCleanDeletesOnlyOursOldAndInside(t *testing.T) {
	work, outside := layout(t)
	outsideBefore := tree(t, outside)
	var out bytes.Buffer
	res, err := Run(t.Context(), Options{Config: cfg(t, work), Now: now, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	wantTree := []string{
		"ledger.db",
		"logs/",
		"logs/chama.log",
		"out/",
		"out/51006/",
		"out/51007/",
		"out/51007/20241101/",
		"out/51007/20241201/",
		"out/51007/20241201/a_10000_20241201_51007_00_0009.dat.gz -> " + filepath.Join(outside, "a_10000_20241201_51007_00_0009.dat.gz"),
		"out/51007/20241203/",
		"out/51007/20241203/a_10000_20241203_51007_00_0001.dat.gz.bak",
		"out/51007/20241203/notes.txt",
		"out/51007/20241204 -> " + filepath.Join(outside, "20241201"),
		"out/51007/20241225/",
		"out/51007/20241225/a_10000_20241225_51007_00_0001.dat.gz",
		"out/51007/misc/",
		"out/51007/misc/a_10000_20241201_51007_00_0001.dat.gz",
		"out/99999/",
		"out/99999/20241201/",
		"out/99999/20241201/a_10000_20241201_99999_00_0001.dat.gz",
		"out/CM002 -> " + outside,
		"raw/",
		"raw/51007/",
		"raw/51007/20241201/",
		"raw/51007/20241201/hour=00/",
		"raw/51007/20241201/hour=00/part-00001.gz",
		"stage/",
		"stage/ads/",
		"stage/dwd/",
		"stage/dwd/events/",
		"stage/dwd/events/20241201/",
		"stage/dwd/events/20241201/data.csv",
	}
	if got := tree(t, work); strings.Join(got, "\n") != strings.Join(wantTree, "\n") {
		t.Fatalf("workdir after clean:\n%s\nwant:\n%s\nlog:\n%s", strings.Join(got, "\n"), strings.Join(wantTree, "\n"), out.String())
	}
	if got := tree(t, outside); strings.Join(got, "\n") != strings.Join(outsideBefore, "\n") {
		t.Fatalf("outside the workdir changed:\n%v\nwas\n%v", got, outsideBefore)
	}
	// A staged input goes before its record (.<name>.chama): a record
	// left alone by an interrupted clean is harmless, an input left without
	// its record would no longer be recognised as chama's.
	wantLines := `CHAMA_CLEAN DELETE file=out/51007/.20241202.tmp-123/.chunk-4 bytes=1 mtime=2024-12-11T11:59:00Z
CHAMA_CLEAN DELETE file=out/51007/20241201/.a_10000_20241201_51007_00_0003.dat.gz.part bytes=1 mtime=2024-12-01T11:59:00Z
CHAMA_CLEAN DELETE file=out/51007/20241201/a_10000_20241201_51007_00.verf bytes=1 mtime=2024-12-01T11:59:00Z
CHAMA_CLEAN DELETE file=out/51007/20241201/a_10000_20241201_51007_00_0001.dat.gz bytes=1 mtime=2024-12-01T11:59:00Z
CHAMA_CLEAN DELETE file=out/51007/20241201/a_10000_20241201_51007_00_0002.dat.gz bytes=1 mtime=2024-12-01T11:59:00Z
CHAMA_CLEAN DELETE file=out/51007/20241201/delivery-panda.json bytes=1 mtime=2024-12-01T11:59:00Z
CHAMA_CLEAN DELETE file=out/51007/20241201/manifest.json bytes=1 mtime=2024-12-01T11:59:00Z
CHAMA_CLEAN DELETE file=out/51007/20241201/rejects.txt bytes=1 mtime=2024-12-01T11:59:00Z
CHAMA_CLEAN DELETE file=out/51007/20241203/a_10000_20241203_51007_00_0001.dat.gz bytes=1 mtime=2024-12-01T11:59:00Z
CHAMA_CLEAN DELETE file=out/CM001/20241201/250/a_10000_20241201_CM001_250_00_0001.dat.gz bytes=1 mtime=2024-12-15T11:59:00Z
CHAMA_CLEAN DELETE file=raw/51007/20241201/.chama-pull.json bytes=1 mtime=2024-12-01T11:59:00Z
CHAMA_CLEAN DELETE file=raw/51007/20241201/hour=00/part-00000.gz bytes=1 mtime=2024-12-01T11:59:00Z
CHAMA_CLEAN DELETE file=raw/51007/20241201/hour=00/.part-00000.gz.chama bytes=1 mtime=2024-12-01T11:59:00Z
CHAMA_CLEAN DELETE file=stage/ads/20241201.summary.json bytes=1 mtime=2024-12-01T11:59:00Z
CHAMA_CLEAN DELETE file=stage/ads/51007/20241201/part-00001.parquet bytes=1 mtime=2024-12-01T11:59:00Z
CHAMA_CLEAN DELETE file=stage/ads/CM001/20241201.partial/250/part-00002.parquet bytes=1 mtime=2024-12-01T11:59:00Z
CHAMA_CLEAN DELETE file=stage/dwd/20241201.rejects.txt bytes=1 mtime=2024-12-01T11:59:00Z
CHAMA_CLEAN DELETE dir=stage/ads/CM001/20241201.partial/250
CHAMA_CLEAN DELETE dir=out/CM001/20241201/250
CHAMA_CLEAN DELETE dir=stage/ads/51007/20241201
CHAMA_CLEAN DELETE dir=out/51007/.20241202.tmp-123
CHAMA_CLEAN DELETE dir=stage/ads/CM001/20241201.partial
CHAMA_CLEAN DELETE dir=out/CM001/20241201
CHAMA_CLEAN DELETE dir=stage/ads/51007
CHAMA_CLEAN DELETE dir=stage/ads/CM001
CHAMA_CLEAN DELETE dir=out/CM001
CHAMA_CLEAN OK files=17 bytes=17 dirs=9 kept=1 retention_days=15 dry_run=false
`
	if out.String() != wantLines {
		t.Fatalf("lines:\n%s\nwant:\n%s", out.String(), wantLines)
	}
	if res.Files != 17 || res.Dirs != 9 || res.Kept != 1 {
		t.Errorf("result %+v", res)
	}
}

func TestCleanDryRunDeletesNothing(t *testing.T) {
	work, outside := layout(t)
	before, outBefore := tree(t, work), tree(t, outside)
	var out bytes.Buffer
	res, err := Run(t.Context(), Options{Config: cfg(t, work), Now: now, Out: &out, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := tree(t, work); strings.Join(got, "\n") != strings.Join(before, "\n") {
		t.Fatalf("dry run changed the workdir:\n%v\nwas\n%v", got, before)
	}
	if got := tree(t, outside); strings.Join(got, "\n") != strings.Join(outBefore, "\n") {
		t.Fatal("dry run changed outside")
	}
	// It announces exactly what a real run does.
	if res.Files != 17 || res.Dirs != 9 || !strings.Contains(out.String(), "CHAMA_CLEAN WOULD_DELETE file=out/51007/20241201/manifest.json ") ||
		!strings.Contains(out.String(), "CHAMA_CLEAN WOULD_DELETE dir=out/CM001\n") || !strings.HasSuffix(out.String(), "dry_run=true\n") {
		t.Fatalf("dry run said:\n%s", out.String())
	}
}

func TestCleanWorkdirThroughSymlinkAndRetention(t *testing.T) {
	work, _ := layout(t)
	link := filepath.Join(t.TempDir(), "w")
	must(t, os.Symlink(work, link))
	res, err := Run(t.Context(), Options{Config: cfg(t, link), Now: now, Days: 25})
	if err != nil {
		t.Fatal(err)
	}
	// 25 days keeps the 16- and 20-day-old files.
	if res.Files != 15 || res.Kept != 3 {
		t.Fatalf("result %+v", res)
	}
	if _, err := os.Stat(filepath.Join(work, "out", "CM001", "20241201", "250", "a_10000_20241201_CM001_250_00_0001.dat.gz")); err != nil {
		t.Fatal("a 16-day-old file went with a 25-day retention")
	}
}

// TestCleanHourChunksAndPartial: hourly_pack's hour chunks under
// <workdir>/chunks/out/ and the day's partial.json age out like the rest
// of out/; a foreign file there, a chunk of an unknown interface or in a
// non-hour folder, stays.
func TestCleanHourChunksAndPartial(t *testing.T) {
	work := filepath.Join(t.TempDir(), "work")
	ch := filepath.Join(work, "chunks", "out", "51007", "2024120107")
	for _, n := range []string{"chunk_07_000001.dat.gz", "chunk_07_000002.dat.gz", "chunk_07.verf", "manifest.json", "rejects.txt"} {
		put(t, filepath.Join(ch, n), 30)
	}
	put(t, filepath.Join(work, "chunks", "out", "CM001", "2024120107", "250", "chunk_07_000001.dat.gz"), 30)
	put(t, filepath.Join(work, "chunks", "out", "51007", ".2024120108.tmp-9", ".chunk-1"), 30)
	put(t, filepath.Join(work, "out", "51007", "20241202", "partial.json"), 30)
	put(t, filepath.Join(work, "chunks", "out", "51007", "2024122507", "chunk_07_000001.dat.gz"), 5)  // new
	put(t, filepath.Join(work, "chunks", "out", "51007", "2024120109", "notes.txt"), 30)              // foreign
	put(t, filepath.Join(work, "chunks", "out", "99999", "2024120107", "chunk_07_000001.dat.gz"), 30) // unknown iface
	put(t, filepath.Join(work, "chunks", "out", "51007", "misc", "chunk_07_000001.dat.gz"), 30)       // not an hour folder
	put(t, filepath.Join(work, "chunks", "ledger.db"), 30)
	var out bytes.Buffer
	res, err := Run(t.Context(), Options{Config: cfg(t, work), Now: now, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"chunks/",
		"chunks/ledger.db",
		"chunks/out/",
		"chunks/out/51007/",
		"chunks/out/51007/2024120109/",
		"chunks/out/51007/2024120109/notes.txt",
		"chunks/out/51007/2024122507/",
		"chunks/out/51007/2024122507/chunk_07_000001.dat.gz",
		"chunks/out/51007/misc/",
		"chunks/out/51007/misc/chunk_07_000001.dat.gz",
		"chunks/out/99999/",
		"chunks/out/99999/2024120107/",
		"chunks/out/99999/2024120107/chunk_07_000001.dat.gz",
		"out/",
	}
	if got := tree(t, work); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("workdir after clean:\n%s\nwant:\n%s\nlog:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), out.String())
	}
	if res.Files != 8 || res.Kept != 1 {
		t.Errorf("result %+v\n%s", res, out.String())
	}
}

// TestCleanReportsFilesItCouldNotDelete: a failed deletion is a failed
// run (exit 1, a CHAMA_CLEAN FAIL line), not an OK that hides it.
func TestCleanReportsFilesItCouldNotDelete(t *testing.T) {
	work := filepath.Join(t.TempDir(), "work")
	dir := filepath.Join(work, "out", "51007", "20241201")
	put(t, filepath.Join(dir, "a_10000_20241201_51007_00_0001.dat.gz"), 30)
	put(t, filepath.Join(dir, "a_10000_20241201_51007_00_0002.dat.gz"), 30)
	defer func(r func(string, func() error) error) { remove = r }(remove)
	remove = func(rel string, rm func() error) error {
		if strings.HasSuffix(rel, "_0002.dat.gz") {
			return &os.PathError{Op: "remove", Path: rel, Err: os.ErrPermission}
		}
		return rm()
	}
	var out bytes.Buffer
	res, err := Run(t.Context(), Options{Config: cfg(t, work), Now: now, Out: &out})
	if err == nil || !strings.Contains(err.Error(), "1 files could not be deleted") || !strings.Contains(err.Error(), "_0002.dat.gz") {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(out.String(), "CHAMA_CLEAN FAIL files=1 bytes=1 dirs=0 kept=0 not_deleted=1 ") {
		t.Fatalf("lines:\n%s", out.String())
	}
	if res.Files != 1 {
		t.Errorf("result %+v", res)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Error("the folder still holds a file; it must stay")
	}
}
