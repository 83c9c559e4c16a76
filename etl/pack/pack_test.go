package pack

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Exact cuts of lines_per_file lines run across input-file boundaries, in
// sorted input order, with the delimiter swapped.
func TestPackCutsExactlyAcrossInputFiles(t *testing.T) {
	e := newEnv(t, "lines_per_file: 7\nfields: 3")
	var want []string
	n := 0
	add := func(name string, k int) {
		var ls []string
		for range k {
			n++
			ls = append(ls, row(fmt.Sprint(n), "a"+fmt.Sprint(n), "b"))
		}
		e.writeInput("ods/dt=20241212/"+name, ls...)
	}
	add("part-00000.gz", 5)
	add("part-00001", 9) // plain text mixed with gzip
	add("part-00002.gz", 6)
	e.writeInput("ods/dt=20241212/_SUCCESS") // markers are not data
	for i := 1; i <= n; i++ {
		want = append(want, fmt.Sprintf("%d|a%d|b", i, i))
	}
	m := e.mustPack("20241212")
	out := e.outDir("20241212")
	names := []string{"a_10000_20241212_X_00_0001.dat.gz", "a_10000_20241212_X_00_0002.dat.gz", "a_10000_20241212_X_00_0003.dat.gz"}
	var got []string
	for k, name := range names {
		ls := readGz(t, filepath.Join(out, name))
		wantN := []int{7, 7, 6}[k]
		if len(ls) != wantN {
			t.Errorf("%s: %d lines, want %d", name, len(ls), wantN)
		}
		got = append(got, ls...)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("content/order differs:\n got %q\nwant %q", got, want)
	}
	if FileCount(m) != 3 || m.Rows.Read != 20 || m.Rows.Written != 20 || m.Rows.Rejected != 0 {
		t.Errorf("manifest: files %d rows %+v", FileCount(m), m.Rows)
	}
	if len(m.Inputs) != 3 || m.Inputs[0].Path != "ods/dt=20241212/part-00000.gz" || m.Inputs[1].Lines != 9 {
		t.Errorf("inputs %+v", m.Inputs)
	}
	files := listTree(t, out)
	wantFiles := append([]string{"a_10000_20241212_X_00.verf"}, names...)
	wantFiles = append(wantFiles, "manifest.json")
	if strings.Join(files, ",") != strings.Join(wantFiles, ",") {
		t.Errorf("out folder holds %v, want %v", files, wantFiles)
	}
	e.noTemporaries()
}

// Rows are split by the partition field into per-partition sets, each in
// its own folder, numbered from 1, with its own .verf.
func TestPackNumbersEachPartitionFromOne(t *testing.T) {
	e := newEnv(t, `lines_per_file: 2
partition_field: 2
fields: 3`)
	e.writeInput("ods/dt=20241212/a.gz",
		row("1", "250", "x"), row("2", "100", "x"), row("3", "250", "x"),
		row("4", "250", "x"), row("5", "571", "x"))
	e.writeInput("ods/dt=20241212/b.gz", row("6", "100", "x"), row("7", "100", "x"))
	m := e.mustPack("20241212")
	out := e.outDir("20241212")
	want := map[string][]string{
		"100/a_10000_20241212_X_100_00_0001.dat.gz": {"2|100|x", "6|100|x"},
		"100/a_10000_20241212_X_100_00_0002.dat.gz": {"7|100|x"},
		"250/a_10000_20241212_X_250_00_0001.dat.gz": {"1|250|x", "3|250|x"},
		"250/a_10000_20241212_X_250_00_0002.dat.gz": {"4|250|x"},
		"571/a_10000_20241212_X_571_00_0001.dat.gz": {"5|571|x"},
	}
	for name, lines := range want {
		if got := readGz(t, filepath.Join(out, name)); strings.Join(got, ",") != strings.Join(lines, ",") {
			t.Errorf("%s = %q, want %q", name, got, lines)
		}
	}
	files := listTree(t, out)
	wantFiles := []string{
		"100/a_10000_20241212_X_100_00.verf", "100/a_10000_20241212_X_100_00_0001.dat.gz", "100/a_10000_20241212_X_100_00_0002.dat.gz",
		"250/a_10000_20241212_X_250_00.verf", "250/a_10000_20241212_X_250_00_0001.dat.gz", "250/a_10000_20241212_X_250_00_0002.dat.gz",
		"571/a_10000_20241212_X_571_00.verf", "571/a_10000_20241212_X_571_00_0001.dat.gz",
		"manifest.json",
	}
	if strings.Join(files, "\n") != strings.Join(wantFiles, "\n") {
		t.Errorf("out folder:\n%s\nwant:\n%s", strings.Join(files, "\n"), strings.Join(wantFiles, "\n"))
	}
	if len(m.Sets) != 3 || m.Sets[0].Part != "100" || m.Sets[0].Dir != "100" || len(m.Sets[0].Files) != 2 || m.Sets[0].Files[1].Seq != 2 {
		t.Errorf("sets %+v", m.Sets)
	}
}

// The sequence width follows the period's effective-dated rule, so an old
// period keeps its 3-digit names and a new one gets 4 digits.
func TestPackSeqWidthSwitchesByPeriod(t *testing.T) {
	e := newEnv(t, `lines_per_file: 1
seq_width:
  - {from: "20240101", width: 3}
  - {from: "20241219", width: 4}`)
	for _, d := range []string{"20241218", "20241219"} {
		e.writeInput("ods/dt="+d+"/a.gz", row("1"), row("2"))
	}
	e.mustPack("20241218")
	e.mustPack("20241219")
	for _, f := range []string{
		"20241218/a_10000_20241218_X_00_001.dat.gz", "20241218/a_10000_20241218_X_00_002.dat.gz",
		"20241219/a_10000_20241219_X_00_0001.dat.gz", "20241219/a_10000_20241219_X_00_0002.dat.gz",
	} {
		if _, err := os.Stat(filepath.Join(e.work, "out", "X", f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
}

// A period that needs more files than its width allows fails before
// anything is published, naming interface, period and the file count.
func TestPackWidthOverflowFailsBeforePublishing(t *testing.T) {
	e := newEnv(t, `lines_per_file: 2
seq_width: [{from: "20240101", width: 1}]`)
	var ls []string
	for i := range 25 {
		ls = append(ls, row(fmt.Sprint(i)))
	}
	e.writeInput("ods/dt=20241212/a.gz", ls...)
	_, err := e.pack("20241212")
	if err == nil {
		t.Fatal("pack succeeded; want a width overflow")
	}
	for _, s := range []string{"interface X", "period 20241212", "needs 13 files", "width 1 allows only 9"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
	if _, err := os.Stat(e.outDir("20241212")); !os.IsNotExist(err) {
		t.Errorf("output published despite the overflow: %v", err)
	}
	e.noTemporaries()
}

// A day whose path has {hour} reads the 24 hour folders in order; a missing
// hour is "partition not found" with its path.
func TestPackDayReadsHourFoldersInOrder(t *testing.T) {
	e := newEnv(t, "path: ods/dt={date}/hour={hour}\nlines_per_file: 100")
	for h := 23; h >= 0; h-- {
		e.writeInput(fmt.Sprintf("ods/dt=20241212/hour=%02d/p.gz", h), row(fmt.Sprintf("h%02d", h), "1"), row(fmt.Sprintf("h%02d", h), "2"))
	}
	m := e.mustPack("20241212")
	got := readGz(t, filepath.Join(e.outDir("20241212"), "a_10000_20241212_X_00_0001.dat.gz"))
	if len(got) != 48 || got[0] != "h00|1" || got[1] != "h00|2" || got[47] != "h23|2" {
		t.Errorf("day content %q", got)
	}
	if len(m.Inputs) != 24 {
		t.Errorf("%d inputs, want 24", len(m.Inputs))
	}
	// An hour of the day only.
	m = e.mustPack("2024121207")
	if m.Rows.Read != 2 || m.Inputs[0].Path != "ods/dt=20241212/hour=07/p.gz" {
		t.Errorf("hour 07: %+v", m)
	}

	os.RemoveAll(filepath.Join(e.root, "ods/dt=20241212/hour=13"))
	_, err := e.pack("20241212")
	if err == nil || !strings.Contains(err.Error(), "partition not found: ") || !strings.Contains(err.Error(), "hour=13") {
		t.Errorf("missing hour: err = %v, want partition not found naming hour=13", err)
	}
}

func TestPackMissingPartition(t *testing.T) {
	e := newEnv(t, "")
	_, err := e.pack("20241212")
	if err == nil || !strings.Contains(err.Error(), "partition not found: ") || !strings.Contains(err.Error(), "dt=20241212") {
		t.Fatalf("err = %v, want partition not found naming dt=20241212", err)
	}
	e.noTemporaries()
}

// An empty partition is an error unless the interface allows empty
// periods; then the set is published with an empty .verf.
func TestPackEmptyPartition(t *testing.T) {
	e := newEnv(t, "")
	os.MkdirAll(filepath.Join(e.root, "ods/dt=20241212"), 0o755)
	if _, err := e.pack("20241212"); err == nil || !strings.Contains(err.Error(), "partition empty") {
		t.Errorf("no files: err = %v, want partition empty", err)
	}
	e.writeInput("ods/dt=20241212/a.gz") // a file without rows
	if _, err := e.pack("20241212"); err == nil || !strings.Contains(err.Error(), "the period is empty") {
		t.Errorf("no rows: err = %v, want the period is empty", err)
	}
	e.cfg.Interfaces["X"].AllowEmpty = true
	m := e.mustPack("20241212")
	if FileCount(m) != 0 || len(m.Sets) != 1 || m.Sets[0].Verf != "a_10000_20241212_X_00.verf" {
		t.Errorf("empty period manifest %+v", m)
	}
	data, err := os.ReadFile(filepath.Join(e.outDir("20241212"), "a_10000_20241212_X_00.verf"))
	if err != nil || len(data) != 0 {
		t.Errorf("empty .verf: %q, %v", data, err)
	}
}

// With many partitions, the open blocks are compressed early once their
// sum passes the budget; the files still hold exactly the right lines.
func TestPackPartitionMemoryBudget(t *testing.T) {
	old := pendingLimit
	pendingLimit = 2 << 10
	defer func() { pendingLimit = old }()
	e := newEnv(t, "lines_per_file: 300\npartition_field: 1")
	want := map[string][]string{}
	var ls []string
	for i := range 2000 {
		part := fmt.Sprint(100 + i%7)
		ls = append(ls, row(part, fmt.Sprintf("value-%06d", i)))
		want[part] = append(want[part], part+"|"+fmt.Sprintf("value-%06d", i))
	}
	e.writeInput("ods/dt=20241212/a.gz", ls...)
	m := e.mustPack("20241212")
	for _, set := range m.Sets {
		var got []string
		for k, f := range set.Files {
			lines := readGz(t, filepath.Join(e.outDir("20241212"), set.Dir, f.Name))
			if k < len(set.Files)-1 && len(lines) != 300 {
				t.Errorf("%s: %d lines", f.Name, len(lines))
			}
			got = append(got, lines...)
		}
		if strings.Join(got, "\n") != strings.Join(want[set.Part], "\n") {
			t.Errorf("partition %s content differs", set.Part)
		}
	}
	if len(m.Sets) != 7 {
		t.Errorf("%d sets", len(m.Sets))
	}
}

// An hour of an interface whose folders are daily cannot be cut out: pack
// refuses instead of packing the whole day under the hour's name.
func TestPackHourOfADailyPathIsRefused(t *testing.T) {
	e := newEnv(t, "")
	e.writeInput("ods/dt=20241212/a.gz", row("1"))
	if _, err := e.pack("2024121207"); err == nil || !strings.Contains(err.Error(), "has no {hour}") {
		t.Errorf("err = %v", err)
	}
}

// Lines longer than a read chunk or a compression block come through
// whole, around ordinary lines.
func TestPackLongLines(t *testing.T) {
	e := newEnv(t, "lines_per_file: 2")
	long := strings.Repeat("x", 3<<20+17)
	e.writeInput("ods/dt=20241212/a.gz", row("1", "short"), row("2", long), row("3", "short"), row("4", long+"y"))
	m := e.mustPack("20241212")
	got := append(readGz(t, filepath.Join(e.outDir("20241212"), "a_10000_20241212_X_00_0001.dat.gz")),
		readGz(t, filepath.Join(e.outDir("20241212"), "a_10000_20241212_X_00_0002.dat.gz"))...)
	want := []string{"1|short", "2|" + long, "3|short", "4|" + long + "y"}
	if len(got) != 4 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] || m.Rows.Written != 4 {
		t.Errorf("long lines mangled: %d lines", len(got))
	}
}
