package pack

// Adversarial inputs against the real pack path (real gzip, real files):
// every row is accounted for, every file holds exactly its lines, and
// bad input fails precisely or is a counted reject.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/delivery"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/internal/workdir"
	"github.com/chama-data/chama/naming"
)

// checkRows fails unless read = written + filtered + rejected and the
// data files of the manifest hold `written` lines in total.
func checkRows(t *testing.T, dir string, m *manifest.Manifest) {
	t.Helper()
	r := m.Rows
	if r.Read != r.Written+r.Filtered+r.Rejected {
		t.Errorf("rows do not reconcile: %+v", r)
	}
	var lines int64
	for _, s := range m.Sets {
		for _, f := range s.Files {
			got := int64(len(readGz(t, filepath.Join(dir, s.Dir, f.Name))))
			if got != f.Lines {
				t.Errorf("%s holds %d lines, manifest says %d", f.Name, got, f.Lines)
			}
			lines += got
		}
	}
	if lines != r.Written {
		t.Errorf("files hold %d lines, manifest says %d written", lines, r.Written)
	}
}

func writeRaw(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func gz(data string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(data))
	zw.Close()
	return b.Bytes()
}

// Empty lines, lines of only '\r', a last line without '\n', a zero-byte
// file and a multi-member gzip whose CRLF is split across two members:
// every line is read once, counted, and cut exactly.
func TestPackAdversarialLineShapes(t *testing.T) {
	e := newEnv(t, "lines_per_file: 3\nfields: -1")
	d := filepath.Join(e.root, "ods/dt=20241212")
	writeRaw(t, filepath.Join(d, "a"), []byte("a\x01b\n\nc\r\n\r\nlast")) // 5 lines
	writeRaw(t, filepath.Join(d, "b"), nil)                               // zero bytes
	writeRaw(t, filepath.Join(d, "c.gz"), append(gz("m\x01n\r"), gz("\no\x01p\r\n")...))
	writeRaw(t, filepath.Join(d, "d.gz"), gz("")) // a gzip without data
	m := e.mustPack("20241212")
	checkRows(t, e.outDir("20241212"), m)
	var got []string
	for _, f := range m.Sets[0].Files {
		got = append(got, readGz(t, filepath.Join(e.outDir("20241212"), f.Name))...)
	}
	want := []string{"a|b", "", "c", "", "last", "m|n", "o|p"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("got %q, want %q", got, want)
	}
	if m.Rows.Read != 7 || m.Rows.Written != 7 {
		t.Errorf("rows %+v, want 7 read and written", m.Rows)
	}
	lines := map[string]int64{}
	for _, in := range m.Inputs {
		lines[filepath.Base(in.Path)] = in.Lines
	}
	if lines["a"] != 5 || lines["b"] != 0 || lines["c.gz"] != 2 || lines["d.gz"] != 0 {
		t.Errorf("input line counts %v", lines)
	}
}

// With a field count, the same empty and '\r'-only lines are rejects,
// counted, each named with its file and line number.
func TestPackAdversarialEmptyLinesAreCountedRejects(t *testing.T) {
	e := newEnv(t, "fields: 2\nmax_rejects: 10")
	writeRaw(t, filepath.Join(e.root, "ods/dt=20241212/a"), []byte("a\x01b\n\n\r\nc\x01d"))
	m := e.mustPack("20241212")
	checkRows(t, e.outDir("20241212"), m)
	if m.Rows.Rejected != 2 || m.Rows.Written != 2 {
		t.Errorf("rows %+v", m.Rows)
	}
	rej, _ := os.ReadFile(filepath.Join(e.outDir("20241212"), workdir.RejectsFile))
	if !strings.Contains(string(rej), "\t2\t1 fields, want 2") || !strings.Contains(string(rej), "\t3\t1 fields, want 2") {
		t.Errorf("rejects %q", rej)
	}
}

// Partition values that could escape the output folder or cannot be a
// {part} in a name (empty, '/', '..', a Chinese province name) are
// counted rejects naming the value; nothing is written outside the set.
func TestPackAdversarialPartitionValues(t *testing.T) {
	e := newEnv(t, "partition_field: 1\nfields: 2\nmax_rejects: 10")
	e.writeInput("ods/dt=20241212/a.gz", row("250", "ok"), row("", "empty"), row("../x", "dots"),
		row("a/b", "slash"), row("..", "dotdot"), row("江苏", "hanzi"), row("100", "ok"))
	m := e.mustPack("20241212")
	checkRows(t, e.outDir("20241212"), m)
	if m.Rows.Rejected != 5 || m.Rows.Written != 2 || len(m.Sets) != 2 {
		t.Errorf("rows %+v sets %d", m.Rows, len(m.Sets))
	}
	tree := listTree(t, filepath.Join(e.work, "out"))
	for _, p := range tree {
		if !strings.HasPrefix(p, "X/20241212/") && !strings.HasPrefix(p, "X/.") {
			t.Errorf("file outside the period folder: %s", p)
		}
	}
	rej, _ := os.ReadFile(filepath.Join(e.outDir("20241212"), workdir.RejectsFile))
	if strings.Count(string(rej), "is not letters, digits or '-'") != 5 {
		t.Errorf("rejects %q", rej)
	}
}

// A character GBK cannot hold (an emoji, a rare CJK extension) is a
// counted reject that names it; the other lines convert.
func TestPackAdversarialOutsideGBK(t *testing.T) {
	e := newEnv(t, "charset: gbk\nmax_rejects: 5")
	e.writeInput("ods/dt=20241212/a.gz", row("江苏", "1"), row("x😀", "2"), row("𠀀", "3"), row("北京", "4"))
	m := e.mustPack("20241212")
	if m.Rows.Rejected != 2 || m.Rows.Written != 2 || m.Rows.Read != 4 {
		t.Errorf("rows %+v", m.Rows)
	}
	rej, _ := os.ReadFile(filepath.Join(e.outDir("20241212"), workdir.RejectsFile))
	if !strings.Contains(string(rej), "U+1F600") || !strings.Contains(string(rej), "U+20000") {
		t.Errorf("rejects %q", rej)
	}
}

// An embedded delimiter at the very start or end of a value, or a value
// that is only the delimiter: the policy applies and the field count of
// the output line is unchanged.
func TestPackAdversarialEmbeddedDelimiterAtEdges(t *testing.T) {
	for _, tc := range []struct{ policy, want string }{
		{"strip", "a|b||c"},
		{"replace:_", "_a|b_|_|_c_"},
	} {
		e := newEnv(t, `embedded_delimiter: "`+tc.policy+`"`)
		e.writeInput("ods/dt=20241212/a.gz", row("|a", "b|", "|", "|c|"))
		m := e.mustPack("20241212")
		got := readGz(t, filepath.Join(e.outDir("20241212"), "a_10000_20241212_X_00_0001.dat.gz"))
		if len(got) != 1 || got[0] != tc.want || m.Rows.Delimiters != 4 {
			t.Errorf("%s: got %q (delimiters %d), want %q", tc.policy, got, m.Rows.Delimiters, tc.want)
		}
	}
}

// A line longer than a read chunk at the very end of a file without a
// trailing newline, in a multi-member gzip.
func TestPackAdversarialLongLastLine(t *testing.T) {
	e := newEnv(t, "lines_per_file: 2")
	long := strings.Repeat("y", 2<<20+3)
	writeRaw(t, filepath.Join(e.root, "ods/dt=20241212/a.gz"), append(append(gz("1\n2\n"), gz(long[:1<<20])...), gz(long[1<<20:])...))
	m := e.mustPack("20241212")
	checkRows(t, e.outDir("20241212"), m)
	got := readGz(t, filepath.Join(e.outDir("20241212"), "a_10000_20241212_X_00_0002.dat.gz"))
	if len(got) != 1 || got[0] != long {
		t.Errorf("long last line mangled: %d lines", len(got))
	}
}

// Two packs of the same period at once: one publishes, the other fails
// naming the lock, and the published set is whole.
func TestPackAdversarialConcurrentSamePeriod(t *testing.T) {
	e := newEnv(t, "lines_per_file: 100")
	var lines []string
	for i := range 5000 {
		lines = append(lines, row(fmt.Sprint(i), "v"))
	}
	e.writeInput("ods/dt=20241212/a.gz", lines...)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for k := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[k] = e.pack("20241212")
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !strings.Contains(err.Error(), "another chama is packing this period"):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok == 0 {
		t.Fatal("no pack succeeded")
	}
	m, err := manifest.Read(e.outDir("20241212"))
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, e.outDir("20241212"), m)
	if FileCount(m) != 50 || len(listTree(t, e.outDir("20241212"))) != 52 {
		t.Errorf("files %d, tree %v", FileCount(m), len(listTree(t, e.outDir("20241212"))))
	}
	e.noTemporaries()
}

// --resend 99 fits {resend:02}; a template with a narrower width fails
// before any input is read, naming the number.
func TestPackAdversarialResend99(t *testing.T) {
	e := newEnv(t, "")
	e.writeInput("ods/dt=20241212/a.gz", row("1"))
	m := e.mustPack("20241212", func(o *Options) { o.Resend = 99 })
	if m.Sets[0].Files[0].Name != "a_10000_20241212_X_99_0001.dat.gz" || m.Sets[0].Verf != "a_10000_20241212_X_99.verf" {
		t.Errorf("names %+v", m.Sets[0])
	}
	e2 := newEnv(t, `file_name: "a_{date}_{iface}_{resend:1}_{seq}.dat.gz"`+"\n"+`verf_name: "a_{date}_{iface}_{resend:1}.verf"`)
	// No input at all: the name is checked before anything is read.
	_, err := e2.pack("20241212", func(o *Options) { o.Resend = 99 })
	if err == nil || !strings.Contains(err.Error(), "resend 99 does not fit in 1 digits") {
		t.Errorf("err = %v", err)
	}
	if _, serr := os.Stat(e2.outDir("20241212")); !os.IsNotExist(serr) {
		t.Error("published after a name error")
	}
	e2.noTemporaries()
}

// A cancelled context stops pack cleanly: an error, nothing published,
// no temporary left.
func TestPackAdversarialCancelled(t *testing.T) {
	e := newEnv(t, "lines_per_file: 10")
	var lines []string
	for i := range 2000 {
		lines = append(lines, row(fmt.Sprint(i), "v"))
	}
	e.writeInput("ods/dt=20241212/a.gz", lines...)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, Options{Config: e.cfg, Iface: e.cfg.Interfaces["X"], Period: naming.MustPeriod("20241212"), Workers: 2})
	if err == nil {
		t.Fatal("a cancelled pack succeeded")
	}
	if _, serr := os.Stat(e.outDir("20241212")); !os.IsNotExist(serr) {
		t.Error("published after cancel")
	}
	e.noTemporaries()
}

// Hourly mode: an hour whose partition holds files but no rows is an
// empty chunk, as the same hour is an empty stretch of a whole-day
// split; the day assembles from the other hours.
func TestHourlyAdversarialZeroRowHour(t *testing.T) {
	e := newEnv(t, "path: ods/dt={date}/hour={hour}\nhourly_pack: true\nfields: 3\nlines_per_file: 10")
	e.writeHours("20241212", map[int]int{})
	for h := range 24 {
		if h == 5 {
			e.writeInput(fmt.Sprintf("ods/dt=20241212/hour=%02d/part-0.gz", h)) // no rows
			continue
		}
		e.writeInput(fmt.Sprintf("ods/dt=20241212/hour=%02d/part-0.gz", h), row(fmt.Sprintf("%02d", h), "1", "x"))
	}
	m := e.mustPack("20241212")
	checkRows(t, e.outDir("20241212"), m)
	if FileCount(m) != 23 || m.Rows.Written != 23 {
		t.Errorf("files %d rows %+v", FileCount(m), m.Rows)
	}
	if whole := newEnv(t, "path: ods/dt={date}/hour={hour}\nfields: 3"); true {
		whole.root = e.root
		whole.cfg.Sources["local"].Root = e.root
		wm := whole.mustPack("20241212")
		if wm.Rows.Written != 23 {
			t.Errorf("whole-day rows %+v", wm.Rows)
		}
	}
	// Every hour empty: the day is empty, an error as in pack.
	empty := newEnv(t, "path: ods/dt={date}/hour={hour}\nhourly_pack: true\nfields: 3")
	for h := range 24 {
		empty.writeInput(fmt.Sprintf("ods/dt=20241212/hour=%02d/part-0.gz", h))
	}
	if _, err := empty.pack("20241212"); err == nil || !strings.Contains(err.Error(), "the day is empty") {
		t.Errorf("empty day: err = %v", err)
	}
	if _, err := manifest.Read(empty.outDir("20241212")); err == nil {
		t.Error("an empty day was assembled")
	}
}

// Hourly mode: a day whose hour 23 has not landed fails naming the
// missing partition, publishes no day, and leaves no temporary.
func TestHourlyAdversarialMissingLastHour(t *testing.T) {
	e := newEnv(t, "path: ods/dt={date}/hour={hour}\nhourly_pack: true\nfields: 3\nlines_per_file: 10")
	for h := range 23 {
		e.writeInput(fmt.Sprintf("ods/dt=20241212/hour=%02d/part-0.gz", h), row(fmt.Sprintf("%02d", h), "1", "x"))
	}
	_, err := e.pack("20241212")
	if err == nil || !strings.Contains(err.Error(), "partition not found") || !strings.Contains(err.Error(), "hour=23") {
		t.Fatalf("err = %v, want partition not found naming hour=23", err)
	}
	if _, err := manifest.Read(e.outDir("20241212")); err == nil {
		t.Error("a day without hour 23 was assembled")
	}
	e.noTemporaries()
}

// Many partition values (a partition_field pointing at a city column):
// the buffers the open sets hold (blocks and compression dictionaries,
// by capacity, not by the bytes in them) stay within the budget, and
// every file still holds exactly its lines.
func TestPackManyPartitionsMemoryBounded(t *testing.T) {
	old := pendingLimit
	pendingLimit = 1 << 20
	defer func() { pendingLimit = old }()
	var peak int64
	testHookHeld = func(p *packer) {
		var n int64
		for _, po := range p.partList {
			if po.block != nil {
				n += int64(cap(*po.block))
			}
			if po.dict != nil {
				n += int64(cap(*po.dict))
			}
		}
		peak = max(peak, n)
	}
	defer func() { testHookHeld = nil }()
	e := newEnv(t, "lines_per_file: 250\npartition_field: 1")
	var ls []string
	for i := range 60000 {
		ls = append(ls, row(fmt.Sprint(1000+i%200), fmt.Sprintf("v%06d", i)))
	}
	e.writeInput("ods/dt=20241212/a.gz", ls...)
	m := e.mustPack("20241212")
	checkRows(t, e.outDir("20241212"), m)
	if len(m.Sets) != 200 || FileCount(m) != 400 {
		t.Errorf("sets %d files %d", len(m.Sets), FileCount(m))
	}
	if limit := pendingLimit + 128<<10; peak > limit {
		t.Errorf("open sets held %d bytes of buffers, budget %d", peak, limit)
	}
}

// syncFailFile is an output file whose fsync fails (an I/O error the
// page cache hid until then).
type syncFailFile struct{ *os.File }

func (f syncFailFile) Sync() error {
	return &os.PathError{Op: "sync", Path: f.Name(), Err: syscall.EIO}
}

// waitGoroutines waits (bounded by scheduling rounds, not wall time) for
// the goroutine count to fall back to n, and fails naming the stacks.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < 2000 && runtime.NumGoroutine() > n; i++ {
		runtime.Gosched()
		runtime.GC()
	}
	if got := runtime.NumGoroutine(); got > n {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines left running (was %d):\n%s", got, n, buf[:runtime.Stack(buf, true)])
	}
}

// Every way a pack can fail part-way (too many rejects while later inputs
// are still being decoded, a full disk, an fsync error) ends every reader,
// compressor and writer goroutine, publishes nothing and removes the
// temporaries; the fsync error is reported, not lost.
func TestPackFailuresLeaveNoGoroutines(t *testing.T) {
	var big []string
	for i := range 40000 {
		big = append(big, row(fmt.Sprint(i), strings.Repeat("v", 60)))
	}
	for _, tc := range []struct {
		name, keys, want string
		create           func(orig func(string) (outWriter, error)) func(string) (outWriter, error)
	}{
		{name: "rejects", keys: "fields: 2\nlines_per_file: 1000", want: "more than 0 rejected lines"},
		{name: "disk full", keys: "lines_per_file: 1000", want: "no space left on device",
			create: func(orig func(string) (outWriter, error)) func(string) (outWriter, error) {
				return func(p string) (outWriter, error) {
					f, err := orig(p)
					if err != nil {
						return nil, err
					}
					return &failingFile{File: f.(*os.File), room: 100}, nil
				}
			}},
		{name: "fsync", keys: "lines_per_file: 1000", want: "input/output error",
			create: func(orig func(string) (outWriter, error)) func(string) (outWriter, error) {
				return func(p string) (outWriter, error) {
					f, err := orig(p)
					if err != nil {
						return nil, err
					}
					return syncFailFile{f.(*os.File)}, nil
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.keys)
			e.writeInput("ods/dt=20241212/a0.gz", row("1", "x"), "bad line", row("2", "x"))
			for i := 1; i <= 8; i++ {
				e.writeInput(fmt.Sprintf("ods/dt=20241212/a%d.gz", i), big...)
			}
			if tc.create != nil {
				orig := createFile
				createFile = tc.create(orig)
				defer func() { createFile = orig }()
			}
			base := runtime.NumGoroutine()
			_, err := e.pack("20241212")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			waitGoroutines(t, base)
			if _, serr := os.Stat(e.outDir("20241212")); !os.IsNotExist(serr) {
				t.Error("published after a failure")
			}
			e.noTemporaries()
		})
	}
}

// A shared transform pass whose packers fail (one, then both) ends its
// transform workers, readers and every packer's goroutines.
func TestTransformPackSharedPassFailuresLeaveNoGoroutines(t *testing.T) {
	rows := []string{"r1,a,250", "r2,b,571", "bad line", "skip,s,250", "r3,c,250", "r4,d,100", "r5,e,250"}
	c, _ := tpEnv(t, `lines_per_file: 2, max_rejects: 0`, `lines_per_file: 2, max_rejects: 1`, rows...)
	for _, both := range []bool{false, true} {
		if both {
			c.Interfaces["T2"].MaxRejects = 0
		}
		base := runtime.NumGoroutine()
		var status bytes.Buffer
		err := RunAll(context.Background(), AllOptions{Config: c, Periods: []naming.Period{naming.MustPeriod("20241212")},
			Ifaces: []*config.Interface{c.Interfaces["T1"], c.Interfaces["T2"]}, Out: &status, Workers: 2})
		if err == nil || strings.Count(status.String(), "CHAMA_PACK FAIL") != map[bool]int{false: 1, true: 2}[both] {
			t.Fatalf("both=%v: %v\n%s", both, err, status.String())
		}
		waitGoroutines(t, base)
	}
}

// An assembly that fails after carrying the day's delivery records into
// its temporary folder (here: cancelled just before publishing) removes
// that folder entirely, links of the records included; the published day
// and its records stay as they were.
func TestHourlyFailedAssemblyRemovesItsTemporary(t *testing.T) {
	e := newEnv(t, hourlyKeys+"\nlines_per_file: 2")
	e.writeHours("20241212", map[int]int{0: 3, 1: 2})
	e.mustPack("20241212")
	rec := filepath.Join(e.outDir("20241212"), "delivery-plat.json")
	os.WriteFile(rec, []byte(`{"target":"plat"}`), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	testHookDayStaged = func(string) { cancel() }
	defer func() { testHookDayStaged = nil }()
	_, err := Run(ctx, Options{Config: e.cfg, Iface: e.cfg.Interfaces["X"], Period: naming.MustPeriod("20241212"), Workers: 2})
	if err == nil {
		t.Fatal("a cancelled assembly succeeded")
	}
	e.noTemporaries()
	if data, err := os.ReadFile(rec); err != nil || string(data) != `{"target":"plat"}` {
		t.Errorf("the published day's record: %q %v", data, err)
	}
}

// A carriage return inside a line (not the CR of a CRLF end) is a line
// break for Hive's and Java's line readers downstream, so it would split
// the row there and break the .verf line count: it is a counted reject,
// as a value holding a line break is in the transform path.
func TestPackEmbeddedCarriageReturnIsAReject(t *testing.T) {
	e := newEnv(t, "max_rejects: 5\nfields: -1")
	writeRaw(t, filepath.Join(e.root, "ods/dt=20241212/a"), []byte("a\x01b\r\nc\rd\x01e\r\nf\x01g\r\r\n\r\n"))
	m := e.mustPack("20241212")
	checkRows(t, e.outDir("20241212"), m)
	got := readGz(t, filepath.Join(e.outDir("20241212"), "a_10000_20241212_X_00_0001.dat.gz"))
	if strings.Join(got, ",") != "a|b," || m.Rows.Rejected != 2 {
		t.Errorf("got %q rows %+v", got, m.Rows)
	}
	rej, _ := os.ReadFile(filepath.Join(e.outDir("20241212"), workdir.RejectsFile))
	if strings.Count(string(rej), "carriage return") != 2 || !strings.Contains(string(rej), "\t2\t") || !strings.Contains(string(rej), "\t3\t") {
		t.Errorf("rejects %q", rej)
	}
}

// The first pack of an interface creates <workdir>/out/<iface>: the parent
// of every folder it creates is fsynced, and so is the folder the period
// is renamed into, so a crash after "published" cannot lose the output.
func TestPackFsyncsTheFoldersItCreates(t *testing.T) {
	e := newEnv(t, "")
	e.writeInput("ods/dt=20241212/a.gz", row("1"))
	orig := syncDir
	synced := map[string]int{}
	var mu sync.Mutex
	syncDir = func(dir string) error {
		mu.Lock()
		synced[dir]++
		mu.Unlock()
		return orig(dir)
	}
	defer func() { syncDir = orig }()
	e.mustPack("20241212")
	for _, d := range []string{filepath.Dir(e.work), e.work, filepath.Join(e.work, "out"), filepath.Join(e.work, "out", "X")} {
		if synced[d] == 0 {
			t.Errorf("%s was not fsynced (synced: %v)", d, synced)
		}
	}
}

// At re-send 99 there is no higher re-send number: the way out offered
// after a re-packed hour changed delivered files is --force only.
func TestHourlyRepackAtResend99OffersNoResend100(t *testing.T) {
	e := newEnv(t, hourlyKeys+"\nlines_per_file: 3")
	e.writeHours("20241212", map[int]int{0: 4, 1: 3})
	m := e.mustPack("20241212", func(o *Options) { o.Resend = 99 })
	d := delivery.Record{Version: 1, Iface: "X", Period: "20241212", Target: "plat", Resend: 99, Complete: true}
	for _, f := range m.Sets[0].Files {
		d.Files = append(d.Files, delivery.File{Name: f.Name, Bytes: f.Bytes, MD5: f.MD5, Host: "h", Path: "/in/" + f.Name})
	}
	b, _ := json.Marshal(d)
	os.WriteFile(filepath.Join(e.outDir("20241212"), workdir.DeliveryFile("plat")), b, 0o644)
	e.writeHours("20241212", map[int]int{0: 7, 1: 3})
	var logs bytes.Buffer
	e.mustPack("2024121200", func(o *Options) { o.Log = slog.New(slog.NewTextHandler(&logs, nil)) })
	if !strings.Contains(logs.String(), "push refuses to send a mixed set") || !strings.Contains(logs.String(), "--force") {
		t.Fatalf("no way out logged:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "--resend 100") {
		t.Errorf("offers a re-send number that cannot exist:\n%s", logs.String())
	}
}
