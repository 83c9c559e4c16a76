package pack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chama-data/chama/internal/delivery"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/internal/workdir"
	"github.com/chama-data/chama/naming"
)

const hourlyKeys = `path: ods/dt={date}/hour={hour}
hourly_pack: true
allow_empty: true
fields: 3`

// writeHours creates the 24 hour folders of day (empty unless sizes says
// otherwise) and writes sizes[h] rows "HH|n|x" into hour h, split over two
// input files so cuts run across input boundaries.
func (e *env) writeHours(day string, sizes map[int]int) {
	e.t.Helper()
	for h := range 24 {
		dir := fmt.Sprintf("ods/dt=%s/hour=%02d", day, h)
		if err := os.MkdirAll(filepath.Join(e.root, dir), 0o755); err != nil {
			e.t.Fatal(err)
		}
		n := sizes[h]
		if n == 0 {
			continue
		}
		var a, b []string
		for i := 1; i <= n; i++ {
			r := row(fmt.Sprintf("%02d", h), fmt.Sprint(i), "x")
			if i <= n/2 {
				a = append(a, r)
			} else {
				b = append(b, r)
			}
		}
		if len(a) > 0 {
			e.writeInput(dir+"/part-0.gz", a...)
		}
		e.writeInput(dir+"/part-1", b...)
	}
}

func hourRows(h, from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("%02d|%d|x", h, i))
	}
	return out
}

// The golden rule: 3 hours of 25, 10 and 7 lines with lines_per_file 10
// give the day files of 10, 10, 5, 10 and 7 lines numbered 1..5, each the
// very bytes of its hour chunk's file, with one .verf over the day.
func TestHourlyAssembleGolden(t *testing.T) {
	e := newEnv(t, hourlyKeys+"\nlines_per_file: 10")
	e.writeHours("20241212", map[int]int{0: 25, 1: 10, 2: 7})
	for _, h := range []string{"00", "01", "02"} {
		e.mustPack("20241212" + h)
	}
	m := e.mustPack("20241212")
	out := e.outDir("20241212")
	want := []struct {
		hour  string
		chunk string
		rows  []string
	}{
		{"00", "chunk_00_000001.dat.gz", hourRows(0, 1, 10)},
		{"00", "chunk_00_000002.dat.gz", hourRows(0, 11, 20)},
		{"00", "chunk_00_000003.dat.gz", hourRows(0, 21, 25)},
		{"01", "chunk_01_000001.dat.gz", hourRows(1, 1, 10)},
		{"02", "chunk_02_000001.dat.gz", hourRows(2, 1, 7)},
	}
	if len(m.Sets) != 1 || len(m.Sets[0].Files) != len(want) {
		t.Fatalf("manifest sets %+v, want one set of %d files", m.Sets, len(want))
	}
	for i, w := range want {
		f := m.Sets[0].Files[i]
		name := fmt.Sprintf("a_10000_20241212_X_00_%04d.dat.gz", i+1)
		if f.Name != name || f.Seq != i+1 || f.Hour != w.hour || f.Lines != int64(len(w.rows)) {
			t.Errorf("file %d: %+v, want %s seq %d hour %s lines %d", i+1, f, name, i+1, w.hour, len(w.rows))
		}
		if got := readGz(t, filepath.Join(out, name)); strings.Join(got, "\n") != strings.Join(w.rows, "\n") {
			t.Errorf("%s holds %q, want %q", name, got, w.rows)
		}
		day, _ := os.ReadFile(filepath.Join(out, name))
		chunk, err := os.ReadFile(filepath.Join(chunkDir(e.cfg, "X", naming.MustPeriod("20241212"+w.hour)), w.chunk))
		if err != nil || !bytes.Equal(day, chunk) {
			t.Errorf("%s is not the bytes of hour %s's %s (%v)", name, w.hour, w.chunk, err)
		}
	}
	verf, err := os.ReadFile(filepath.Join(out, "a_10000_20241212_X_00.verf"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(verf)), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[4], "a_10000_20241212_X_00_0005.dat.gz|") || !strings.Contains(lines[2], "|5|20241212|") {
		t.Errorf(".verf does not cover the day's 5 files:\n%s", verf)
	}
	if m.Rows.Read != 42 || m.Rows.Written != 42 || len(m.Inputs) != 6 {
		t.Errorf("rows %+v, %d inputs", m.Rows, len(m.Inputs))
	}
	if _, err := os.Stat(filepath.Join(out, workdir.PartialFile)); !os.IsNotExist(err) {
		t.Errorf("partial.json left in the assembled day: %v", err)
	}
	if got, _ := manifest.Read(out); got == nil || got.Sets[0].Files[3].Hour != "01" {
		t.Errorf("manifest.json on disk lacks the hours: %+v", got)
	}
	e.noTemporaries()
}

// Assembling a day whose hour 01 was never packed packs it first, and its
// rows land between hour 00's and hour 02's.
func TestHourlyAssemblePacksMissingHourFirst(t *testing.T) {
	e := newEnv(t, hourlyKeys+"\nlines_per_file: 4")
	e.writeHours("20241212", map[int]int{0: 3, 1: 6, 2: 2})
	e.mustPack("2024121200")
	e.mustPack("2024121202")
	if _, err := os.Stat(chunkDir(e.cfg, "X", naming.MustPeriod("2024121201"))); !os.IsNotExist(err) {
		t.Fatalf("hour 01 has a chunk before assembly: %v", err)
	}
	r, err := Assemble(context.Background(), Options{Config: e.cfg, Iface: e.cfg.Interfaces["X"], Period: naming.MustPeriod("20241212"), Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Packed) != 22 || r.Packed[0] != "01" || r.Packed[1] != "03" {
		t.Errorf("packed first %v, want 01 and 03..23", r.Packed)
	}
	var got []string
	for _, f := range r.Manifest.Sets[0].Files {
		got = append(got, readGz(t, filepath.Join(e.outDir("20241212"), f.Name))...)
	}
	want := append(append(hourRows(0, 1, 3), hourRows(1, 1, 6)...), hourRows(2, 1, 2)...)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("day rows %q, want %q", got, want)
	}
	// 00: 3 lines; 01: 4 + 2; 02: 2.
	var hours []string
	for _, f := range r.Manifest.Sets[0].Files {
		hours = append(hours, fmt.Sprintf("%s:%d", f.Hour, f.Lines))
	}
	if strings.Join(hours, " ") != "00:3 01:4 01:2 02:2" {
		t.Errorf("files %v", hours)
	}
}

// Assembling a day whose hours are all packed compresses nothing: every
// day file is the chunk's file itself (a hard link), and no chunk is
// packed.
func TestHourlyAssembleDoesNotRecompress(t *testing.T) {
	e := newEnv(t, hourlyKeys+"\nlines_per_file: 5")
	sizes := map[int]int{}
	for h := range 24 {
		sizes[h] = 3 + h%4*3
	}
	e.writeHours("20241212", sizes)
	for _, h := range naming.MustPeriod("20241212").Hours() {
		e.mustPack(h.String())
	}
	before := chunkPacks.Load()
	m := e.mustPack("20241212")
	if n := chunkPacks.Load() - before; n != 0 {
		t.Errorf("assembly packed %d chunks, want 0", n)
	}
	if FileCount(m) < 24 {
		t.Fatalf("%d files", FileCount(m))
	}
	seen := map[string]int{}
	for _, f := range m.Sets[0].Files {
		seen[f.Hour]++
		day, err := os.Stat(filepath.Join(e.outDir("20241212"), f.Name))
		if err != nil {
			t.Fatal(err)
		}
		chunk, err := os.Stat(filepath.Join(chunkDir(e.cfg, "X", naming.MustPeriod("20241212"+f.Hour)), fmt.Sprintf("chunk_%s_%06d.dat.gz", f.Hour, seen[f.Hour])))
		if err != nil {
			t.Fatal(err)
		}
		if !os.SameFile(day, chunk) {
			t.Errorf("%s is not the chunk file itself (not hard-linked)", f.Name)
		}
	}
}

// The sequence width of the assembled day follows the day's rule (3
// digits before 20241219, 4 from it), and the day's capacity is checked
// on the whole day before anything is published, even when each hour
// alone fits.
func TestHourlyAssembleWidthRule(t *testing.T) {
	e := newEnv(t, hourlyKeys+`
lines_per_file: 1
seq_width:
  - {from: "20240101", width: 3}
  - {from: "20241219", width: 4}`)
	for _, d := range []string{"20241218", "20241219"} {
		e.writeHours(d, map[int]int{0: 1, 5: 1})
		e.mustPack(d)
	}
	for _, f := range []string{
		"20241218/a_10000_20241218_X_00_001.dat.gz", "20241218/a_10000_20241218_X_00_002.dat.gz",
		"20241219/a_10000_20241219_X_00_0001.dat.gz", "20241219/a_10000_20241219_X_00_0002.dat.gz",
	} {
		if _, err := os.Stat(filepath.Join(e.work, "out", "X", f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}

	o := newEnv(t, hourlyKeys+`
lines_per_file: 1
seq_width: [{from: "20240101", width: 1}]`)
	o.writeHours("20241212", map[int]int{0: 5, 1: 5})
	o.mustPack("2024121200")
	// Hour 01 alone fits in 1 digit; its chunk is packed, but the day's
	// known prefix no longer fits, which the hour already reports.
	_, herr := o.pack("2024121201")
	if _, err := os.Stat(filepath.Join(chunkDir(o.cfg, "X", naming.MustPeriod("2024121201")), workdir.ManifestFile)); err != nil {
		t.Errorf("hour 01's chunk: %v", err)
	}
	_, err := o.pack("20241212")
	for _, err := range []error{herr, err} {
		if err == nil {
			t.Fatal("hour 01 or the day succeeded; want a width overflow")
		}
		for _, s := range []string{"interface X", "period 20241212", "needs 10 files", "width 1 allows only 9"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q does not contain %q", err, s)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(o.outDir("20241212"), workdir.ManifestFile)); !os.IsNotExist(err) {
		t.Errorf("day published despite the overflow: %v", err)
	}
	o.noTemporaries()
}

// Before the day is assembled, the day folder holds the files of the
// contiguous packed hours from 00 under their final names, listed in
// partial.json, with no .verf and no manifest.json.
func TestHourlyPartialPrefix(t *testing.T) {
	e := newEnv(t, hourlyKeys+"\nlines_per_file: 2")
	e.writeHours("20241212", map[int]int{0: 3, 1: 2, 2: 1, 3: 2})
	e.mustPack("2024121201") // hour 00 not packed: no name is known yet
	if _, err := ReadPartial(e.outDir("20241212")); !os.IsNotExist(err) {
		t.Fatalf("partial.json without hour 00: %v", err)
	}
	e.mustPack("2024121200")
	e.mustPack("2024121203") // 02 is missing: 03 waits
	p, err := ReadPartial(e.outDir("20241212"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range p.Sets[0].Files {
		names = append(names, f.Name+"@"+f.Hour)
	}
	if strings.Join(names, " ") != "a_10000_20241212_X_00_0001.dat.gz@00 a_10000_20241212_X_00_0002.dat.gz@00 a_10000_20241212_X_00_0003.dat.gz@01" {
		t.Errorf("partial set %v", names)
	}
	if p.Sets[0].Verf != "" {
		t.Errorf("partial set has a .verf %q", p.Sets[0].Verf)
	}
	tree := strings.Join(listTree(t, e.outDir("20241212")), ",")
	if strings.Contains(tree, ".verf") || strings.Contains(tree, workdir.ManifestFile) {
		t.Errorf("day folder before assembly: %s", tree)
	}
	e.mustPack("2024121202")
	p, _ = ReadPartial(e.outDir("20241212"))
	if n := len(p.Sets[0].Files); n != 5 || p.Sets[0].Files[4].Hour != "03" {
		t.Errorf("after hour 02: %d files, want 5 ending with hour 03", n)
	}
}

// Partitioned interfaces assemble one set per partition value, each
// numbered from 1 in hour order.
func TestHourlyAssemblePerPartition(t *testing.T) {
	e := newEnv(t, hourlyKeys+"\nlines_per_file: 2\npartition_field: 3")
	for h := range 24 {
		os.MkdirAll(filepath.Join(e.root, fmt.Sprintf("ods/dt=20241212/hour=%02d", h)), 0o755)
	}
	e.writeInput("ods/dt=20241212/hour=00/a", row("00", "1", "250"), row("00", "2", "100"), row("00", "3", "250"), row("00", "4", "250"))
	e.writeInput("ods/dt=20241212/hour=02/a", row("02", "1", "100"), row("02", "2", "250"))
	m := e.mustPack("20241212")
	got := map[string][]string{}
	for _, s := range m.Sets {
		for _, f := range s.Files {
			got[s.Part] = append(got[s.Part], fmt.Sprintf("%s:%s:%s", f.Name, f.Hour, strings.Join(readGz(t, filepath.Join(e.outDir("20241212"), s.Dir, f.Name)), ";")))
		}
		if _, err := os.Stat(filepath.Join(e.outDir("20241212"), s.Dir, s.Verf)); err != nil {
			t.Errorf("set %s: .verf %v", s.Part, err)
		}
	}
	want := map[string][]string{
		"100": {"a_10000_20241212_X_100_00_0001.dat.gz:00:00|2|100", "a_10000_20241212_X_100_00_0002.dat.gz:02:02|1|100"},
		"250": {"a_10000_20241212_X_250_00_0001.dat.gz:00:00|1|250;00|3|250", "a_10000_20241212_X_250_00_0002.dat.gz:00:00|4|250", "a_10000_20241212_X_250_00_0003.dat.gz:02:02|2|250"},
	}
	for p, w := range want {
		if strings.Join(got[p], " ") != strings.Join(w, " ") {
			t.Errorf("partition %s: %v, want %v", p, got[p], w)
		}
	}
}

// Re-packing an hour of a delivered day with a different file count is
// detected when the day is rebuilt: the files that differ are named, the
// delivery record is kept for push (which refuses the mixed set), and the
// way out is given.
func TestHourlyRepackDetected(t *testing.T) {
	e := newEnv(t, hourlyKeys+"\nlines_per_file: 3")
	e.writeHours("20241212", map[int]int{0: 4, 1: 3})
	m := e.mustPack("20241212")
	if FileCount(m) != 3 {
		t.Fatalf("%d files", FileCount(m))
	}
	// What push writes once the day reached target plat.
	d := delivery.Record{Version: 1, Iface: "X", Period: "20241212", Target: "plat", Complete: true}
	for _, f := range m.Sets[0].Files {
		d.Files = append(d.Files, delivery.File{Name: f.Name, Bytes: f.Bytes, MD5: f.MD5, Host: "h", Path: "/in/" + f.Name, Time: time.Now()})
	}
	b, _ := json.Marshal(d)
	rec := filepath.Join(e.outDir("20241212"), workdir.DeliveryFile("plat"))
	os.WriteFile(rec, b, 0o644)

	// Hour 00 gets late rows: 7 lines now, three files instead of two.
	e.writeHours("20241212", map[int]int{0: 7, 1: 3})
	var logs bytes.Buffer
	e.mustPack("2024121200", func(o *Options) { o.Log = slog.New(slog.NewTextHandler(&logs, nil)) })
	m2, err := manifest.Read(e.outDir("20241212"))
	if err != nil {
		t.Fatal(err)
	}
	if FileCount(m2) != 4 || m2.Sets[0].Files[3].Hour != "01" {
		t.Fatalf("day not re-assembled after the re-pack: %d files", FileCount(m2))
	}
	for _, s := range []string{"the day's set changed", "a_10000_20241212_X_00_0002.dat.gz", "a_10000_20241212_X_00_0003.dat.gz", "push refuses to send a mixed set", "--resend 01", "--force", "plat"} {
		if !strings.Contains(logs.String(), s) {
			t.Errorf("log does not mention %q:\n%s", s, logs.String())
		}
	}
	if _, err := os.Stat(rec); err != nil {
		t.Errorf("delivery record not carried into the rebuilt day: %v", err)
	}
	got, _ := delivery.Read(e.outDir("20241212"), "plat")
	if diff := delivery.SetChanges(m2, got); len(diff) != 2 {
		t.Errorf("changes %v, want files 2 and 3", diff)
	}
	e.noTemporaries()
}

// Hours of one day pack at overlapping times: an hour whose chunk is done
// waits for the day folder's lock instead of failing, then refreshes it.
func TestHourlyRefreshWaitsForDayLock(t *testing.T) {
	e := newEnv(t, hourlyKeys+"\nlines_per_file: 2")
	e.writeHours("20241212", map[int]int{0: 3})
	parent := filepath.Join(e.work, "out", "X")
	os.MkdirAll(parent, 0o755)
	unlock, err := lockPeriod(parent, "20241212")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := e.pack("2024121200"); done <- err }()
	chunk := filepath.Join(chunkDir(e.cfg, "X", naming.MustPeriod("2024121200")), workdir.ManifestFile)
	for {
		if _, err := os.Stat(chunk); err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("pack ended while the day was locked: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	// The chunk is published; the day folder is not touched while locked.
	if _, err := ReadPartial(e.outDir("20241212")); !os.IsNotExist(err) {
		t.Errorf("day folder refreshed under another run's lock: %v", err)
	}
	unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if p, err := ReadPartial(e.outDir("20241212")); err != nil || len(p.Sets[0].Files) != 2 {
		t.Errorf("partial after the lock was released: %v", err)
	}
}

// Re-packing an hour keeps the re-send number the day was assembled with.
func TestHourlyRepackKeepsDayResend(t *testing.T) {
	e := newEnv(t, hourlyKeys+"\nlines_per_file: 2")
	e.writeHours("20241212", map[int]int{0: 3, 1: 1})
	e.mustPack("20241212", func(o *Options) { o.Resend = 1 })
	e.mustPack("2024121201") // no --resend given: 0
	m, err := manifest.Read(e.outDir("20241212"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Resend != 1 || m.Sets[0].Files[2].Name != "a_10000_20241212_X_01_0003.dat.gz" || m.Sets[0].Verf != "a_10000_20241212_X_01.verf" {
		t.Errorf("after re-packing hour 01: resend %d, files %+v", m.Resend, m.Sets[0].Files)
	}
}

// A killed assembly leaves a hidden temporary day folder (links, a copied
// delivery record, partial.json); the next run removes it, and nothing
// else.
func TestHourlyAssembleCleansLeftovers(t *testing.T) {
	e := newEnv(t, hourlyKeys+"\nlines_per_file: 2")
	e.writeHours("20241212", map[int]int{0: 3})
	stale := filepath.Join(e.work, "out", "X", ".20241212.tmp-123")
	os.MkdirAll(stale, 0o755)
	for _, n := range []string{"a_10000_20241212_X_00_0001.dat.gz", "delivery-plat.json", workdir.PartialFile, workdir.ManifestFile} {
		os.WriteFile(filepath.Join(stale, n), []byte("x"), 0o644)
	}
	e.mustPack("20241212")
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("leftover folder still there: %v %v", err, listTree(t, stale))
	}
	e.noTemporaries()
}

// Where a hard link is impossible (another file system), assembly copies
// the chunk files byte for byte: still no recompression.
func TestHourlyAssembleCopiesWhenLinksFail(t *testing.T) {
	e := newEnv(t, hourlyKeys+"\nlines_per_file: 2")
	e.writeHours("20241212", map[int]int{0: 3, 4: 2})
	for _, h := range naming.MustPeriod("20241212").Hours() {
		e.mustPack(h.String())
	}
	linkFile = func(a, b string) error { return &os.LinkError{Op: "link", Old: a, New: b, Err: syscall.EXDEV} }
	defer func() { linkFile = os.Link }()
	before := chunkPacks.Load()
	r, err := Assemble(context.Background(), Options{Config: e.cfg, Iface: e.cfg.Interfaces["X"], Period: naming.MustPeriod("20241212")})
	if err != nil {
		t.Fatal(err)
	}
	if r.Copied != 3 || r.Linked != 0 || chunkPacks.Load() != before {
		t.Errorf("copied %d linked %d packed %d, want 3 copies and nothing packed", r.Copied, r.Linked, chunkPacks.Load()-before)
	}
	for i, f := range r.Manifest.Sets[0].Files {
		chunk := filepath.Join(chunkDir(e.cfg, "X", naming.MustPeriod("20241212"+f.Hour)), fmt.Sprintf("chunk_%s_%06d.dat.gz", f.Hour, []int{1, 2, 1}[i]))
		a, _ := os.ReadFile(chunk)
		b, _ := os.ReadFile(filepath.Join(e.outDir("20241212"), f.Name))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s differs from %s", f.Name, chunk)
		}
	}
}

// A chunk file that is not what its manifest says (size) stops the
// assembly, naming the file and the way out; nothing is published.
func TestHourlyAssembleRefusesDamagedChunk(t *testing.T) {
	e := newEnv(t, hourlyKeys+"\nlines_per_file: 2")
	e.writeHours("20241212", map[int]int{0: 3, 1: 1})
	for _, h := range naming.MustPeriod("20241212").Hours() {
		e.mustPack(h.String())
	}
	bad := filepath.Join(chunkDir(e.cfg, "X", naming.MustPeriod("2024121201")), "chunk_01_000001.dat.gz")
	if err := os.Truncate(bad, 10); err != nil {
		t.Fatal(err)
	}
	_, err := e.pack("20241212")
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "is 10 bytes but its manifest says") || !strings.Contains(err.Error(), "re-pack the hour") {
		t.Fatalf("error %v", err)
	}
	if _, err := os.Stat(filepath.Join(e.outDir("20241212"), workdir.ManifestFile)); !os.IsNotExist(err) {
		t.Errorf("day published with a damaged chunk: %v", err)
	}
	e.noTemporaries()
}
