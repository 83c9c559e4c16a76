package pack

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/chama-data/chama/internal/workdir"
	"github.com/chama-data/chama/transfer/source"
	"github.com/chama-data/chama/verify"
)

// Lines with the wrong field count go to rejects.txt with file and line,
// are counted, and fail the period once they pass max_rejects.
func TestPackRejectThreshold(t *testing.T) {
	e := newEnv(t, "fields: 3\nmax_rejects: 2")
	e.writeInput("ods/dt=20241212/a.gz", row("1", "2", "3"), row("short", "x"), row("4", "5", "6"))
	e.writeInput("ods/dt=20241212/b.gz", row("7", "8", "9", "extra"), row("10", "11", "12"))
	m := e.mustPack("20241212")
	if m.Rows.Read != 5 || m.Rows.Written != 3 || m.Rows.Rejected != 2 {
		t.Errorf("rows %+v", m.Rows)
	}
	rej, err := os.ReadFile(filepath.Join(e.outDir("20241212"), workdir.RejectsFile))
	if err != nil {
		t.Fatal(err)
	}
	want := "ods/dt=20241212/a.gz\t2\t2 fields, want 3\tshort\x01x\n" +
		"ods/dt=20241212/b.gz\t1\t4 fields, want 3\t7\x018\x019\x01extra\n"
	if string(rej) != want {
		t.Errorf("rejects.txt = %q, want %q", rej, want)
	}

	// One more bad line passes the threshold: the period fails, the
	// published output stays the previous one, the list is kept beside it.
	e.writeInput("ods/dt=20241212/c.gz", row("bad"))
	_, err = e.pack("20241212")
	if err == nil || !strings.Contains(err.Error(), "more than 2 rejected lines") || !strings.Contains(err.Error(), "first: ods/dt=20241212/a.gz line 2: 2 fields, want 3") ||
		!strings.Contains(err.Error(), "the rejected lines are listed in "+e.outDir("20241212")+"."+workdir.RejectsFile) {
		t.Fatalf("err = %v", err)
	}
	m2, rerr := readManifest(e.outDir("20241212"))
	if rerr != nil || m2.Rows.Rejected != 2 {
		t.Errorf("previous output changed: %v %+v", rerr, m2)
	}
	kept, _ := os.ReadFile(e.outDir("20241212") + "." + workdir.RejectsFile)
	if !strings.Contains(string(kept), "ods/dt=20241212/c.gz\t1\t1 fields, want 3") {
		t.Errorf("kept rejects = %q", kept)
	}
	e.noTemporaries()
}

// A corrupt gzip input names the file and the compressed offset, and
// nothing is published; so does a truncated one.
func TestPackCorruptAndTruncatedGzip(t *testing.T) {
	var ls []string
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 5000 {
		ls = append(ls, row(fmt.Sprint(i), fmt.Sprint(r.Uint64()), fmt.Sprint(r.Uint64())))
	}
	for _, tc := range []struct {
		name string
		mod  func([]byte) []byte
		want []string
	}{
		{"corrupt", func(b []byte) []byte {
			for i := 4000; i < 4100; i++ {
				b[i] ^= 0x5a
			}
			return b
		}, []string{"corrupt gzip input ods/dt=20241212/b.gz at compressed byte offset "}},
		{"truncated", func(b []byte) []byte { return b[:len(b)/2] }, []string{"truncated gzip input ods/dt=20241212/b.gz", "ends at byte"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, "lines_per_file: 1000")
			e.writeInput("ods/dt=20241212/a.gz", ls...)
			p := e.writeInput("ods/dt=20241212/b.gz", ls...)
			data, _ := os.ReadFile(p)
			os.WriteFile(p, tc.mod(data), 0o644)
			_, err := e.pack("20241212")
			if err == nil {
				t.Fatal("pack succeeded")
			}
			t.Log(err)
			if tc.name == "corrupt" {
				// The damage starts at byte 4000: the offset must point there.
				var off int
				msg := err.Error()
				fmt.Sscanf(msg[strings.Index(msg, "offset ")+7:], "%d", &off)
				if off < 4000 || off > 4200 {
					t.Errorf("offset %d does not point at the damage (4000-4100)", off)
				}
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("err %q does not contain %q", err, s)
				}
			}
			if _, err := os.Stat(e.outDir("20241212")); !os.IsNotExist(err) {
				t.Error("output published")
			}
			e.noTemporaries()
		})
	}
}

func readManifestFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range listTree(t, dir) {
		if strings.HasSuffix(f, ".dat.gz") {
			b, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			out[f] = b
		}
	}
	return out
}

// Re-running a period over the same inputs gives byte-identical files,
// whatever the number of workers, and the files hold no name or time.
func TestPackRerunIsByteIdentical(t *testing.T) {
	old := blockSize
	blockSize = 4 << 10 // many blocks per file
	defer func() { blockSize = old }()
	e := newEnv(t, "lines_per_file: 700\npartition_field: 1")
	r := rand.New(rand.NewPCG(5, 6))
	for f := range 3 {
		var ls []string
		for i := range 1500 {
			ls = append(ls, row([]string{"250", "100"}[r.IntN(2)], fmt.Sprint(f, i), fmt.Sprintf("%x", r.Uint64())))
		}
		e.writeInput(fmt.Sprintf("ods/dt=20241212/p%d.gz", f), ls...)
	}
	e.mustPack("20241212", func(o *Options) { o.Workers = 1 })
	first := readManifestFiles(t, e.outDir("20241212"))
	e.mustPack("20241212", func(o *Options) { o.Workers = 5 })
	second := readManifestFiles(t, e.outDir("20241212"))
	if len(first) < 6 || len(first) != len(second) {
		t.Fatalf("%d then %d files", len(first), len(second))
	}
	for name, b := range first {
		if !bytes.Equal(b, second[name]) {
			t.Errorf("%s differs between runs", name)
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if zr.Name != "" || !zr.ModTime.IsZero() || b[4]|b[5]|b[6]|b[7] != 0 {
			t.Errorf("%s: gzip header carries name %q time %v", name, zr.Name, zr.ModTime)
		}
	}
}

// Every .verf line matches its file: size, lines, md5 and period.
func TestPackVerfMatchesFiles(t *testing.T) {
	e := newEnv(t, "lines_per_file: 40\npartition_field: 1")
	var ls []string
	for i := range 300 {
		ls = append(ls, row([]string{"250", "571"}[i%2], fmt.Sprint(i)))
	}
	e.writeInput("ods/dt=20241212/a.gz", ls...)
	m := e.mustPack("20241212", func(o *Options) { o.Resend = 3 })
	out := e.outDir("20241212")
	n := 0
	for _, set := range m.Sets {
		data, err := os.ReadFile(filepath.Join(out, set.Dir, set.Verf))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(set.Verf, "_03.verf") {
			t.Errorf("verf %s does not carry resend 03", set.Verf)
		}
		es, err := verify.ParseVerf(e.cfg.Interfaces["X"].VerfColumns, data)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != len(set.Files) || len(es) != 4 {
			t.Fatalf("%s: %d entries, %d files", set.Verf, len(es), len(set.Files))
		}
		for k, en := range es {
			b, err := os.ReadFile(filepath.Join(out, set.Dir, en.Name))
			if err != nil {
				t.Fatal(err)
			}
			sum := md5.Sum(b)
			lines := int64(len(readGz(t, filepath.Join(out, set.Dir, en.Name))))
			if en.Bytes != int64(len(b)) || en.Lines != lines || en.MD5 != hex.EncodeToString(sum[:]) || en.Period != "20241212" || len(en.Ctime) != 14 {
				t.Errorf("%s: verf %+v, file bytes %d lines %d md5 %x", en.Name, en, len(b), lines, sum)
			}
			if f := set.Files[k]; f.Name != en.Name || f.MD5 != en.MD5 || f.Lines != en.Lines || f.Bytes != en.Bytes {
				t.Errorf("manifest %+v != verf %+v", f, en)
			}
			n++
		}
	}
	if n != 8 {
		t.Errorf("%d files checked, want 8", n)
	}
}

// Re-running a period replaces its output completely: files of the old
// run that the new one does not make are gone.
func TestPackRerunReplacesOutput(t *testing.T) {
	e := newEnv(t, "lines_per_file: 2")
	e.writeInput("ods/dt=20241212/a.gz", row("1"), row("2"), row("3"), row("4"), row("5"))
	e.mustPack("20241212")
	if n := len(listTree(t, e.outDir("20241212"))); n != 5 {
		t.Fatalf("%d files after the first run, want 3 data + verf + manifest", n)
	}
	e.cfg.Interfaces["X"].LinesPerFile = 10
	e.mustPack("20241212")
	got := listTree(t, e.outDir("20241212"))
	want := []string{"a_10000_20241212_X_00.verf", "a_10000_20241212_X_00_0001.dat.gz", "manifest.json"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("after the re-run: %v, want %v", got, want)
	}
	e.noTemporaries()
}

// failingFile fails like a full disk once it has taken `room` bytes.
type failingFile struct {
	*os.File
	room int
}

func (f *failingFile) Write(b []byte) (int, error) {
	if len(b) > f.room {
		n, _ := f.File.Write(b[:f.room])
		f.room = 0
		return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	f.room -= len(b)
	return f.File.Write(b)
}

// A full disk stops the pack cleanly: the error says so, temporaries are
// removed and the previous output stays.
func TestPackDiskFullRemovesTemporaries(t *testing.T) {
	e := newEnv(t, "lines_per_file: 3000")
	r := rand.New(rand.NewPCG(7, 8))
	var ls []string
	for i := range 10000 {
		ls = append(ls, row(fmt.Sprint(i), fmt.Sprintf("%x%x", r.Uint64(), r.Uint64())))
	}
	e.writeInput("ods/dt=20241212/a.gz", ls[:10]...)
	e.mustPack("20241212")
	e.writeInput("ods/dt=20241212/a.gz", ls...)

	orig := createFile
	defer func() { createFile = orig }()
	made := 0
	createFile = func(path string) (outWriter, error) {
		f, err := orig(path)
		if err != nil {
			return nil, err
		}
		made++
		room := 1 << 30
		if made == 3 {
			room = 5000
		}
		return &failingFile{File: f.(*os.File), room: room}, nil
	}
	_, err := e.pack("20241212")
	if err == nil || !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "no space left on device") {
		t.Fatalf("err = %v, want ENOSPC", err)
	}
	m, rerr := readManifest(e.outDir("20241212"))
	if rerr != nil || m.Rows.Read != 10 {
		t.Errorf("previous output not intact: %v", rerr)
	}
	e.noTemporaries()
}

// A line rejected by the charset right after a full file does not open an
// empty file: every published file has lines.
func TestPackRejectAfterFullFileMakesNoEmptyFile(t *testing.T) {
	e := newEnv(t, "charset: gbk\nlines_per_file: 2\nmax_rejects: 5")
	e.writeInput("ods/dt=20241212/a.gz", row("1"), row("2"), row("😀"))
	m := e.mustPack("20241212")
	if FileCount(m) != 1 || m.Sets[0].Files[0].Lines != 2 || m.Rows.Rejected != 1 {
		t.Errorf("files %+v rows %+v", m.Sets, m.Rows)
	}
}

// A failing input stops the readers at once: a pack over many inputs
// after a corrupt first file fails without reading the rest.
func TestPackCorruptFirstInputStopsReading(t *testing.T) {
	e := newEnv(t, "")
	p := e.writeInput("ods/dt=20241212/a.gz", row("1"), row("2"))
	os.WriteFile(p, []byte("\x1f\x8b\x08\x00garbage-garbage-garbage"), 0o644)
	for i := range 50 {
		e.writeInput(fmt.Sprintf("ods/dt=20241212/b%02d", i), row("x"))
	}
	src := &countingSource{Local: source.Local{Root: e.root}}
	_, err := e.pack("20241212", func(o *Options) { o.Source = src })
	if err == nil || !strings.Contains(err.Error(), "ods/dt=20241212/a.gz") {
		t.Fatalf("err = %v", err)
	}
	if n := src.opened.Load(); n > 10 {
		t.Errorf("%d inputs opened after the first failed; want the readers stopped", n)
	}
	e.noTemporaries()
}

type countingSource struct {
	source.Local
	opened atomic.Int64
}

func (s *countingSource) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	s.opened.Add(1)
	return s.Local.Open(ctx, p)
}

// A re-pack keeps push's delivery records: they say what the targets
// hold, and push needs them to see that the set changed. A failed re-pack
// leaves the old folder, records included, and no temporaries.
func TestPackRerunKeepsDeliveryRecords(t *testing.T) {
	e := newEnv(t, "lines_per_file: 2")
	e.writeInput("ods/dt=20241212/a.gz", row("1"), row("2"), row("3"))
	e.mustPack("20241212")
	rec := filepath.Join(e.outDir("20241212"), "delivery-plat.json")
	if err := os.WriteFile(rec, []byte(`{"target":"plat"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	e.cfg.Interfaces["X"].LinesPerFile = 10
	e.mustPack("20241212")
	if b, err := os.ReadFile(rec); err != nil || string(b) != `{"target":"plat"}` {
		t.Errorf("delivery record after a re-pack: %q %v", b, err)
	}
	e.noTemporaries()

	e.writeInput("ods/dt=20241212/b.gz", "not\x01a\x01gzip")
	os.WriteFile(filepath.Join(e.root, "ods/dt=20241212/b.gz"), []byte("\x1f\x8b\x08garbage"), 0o644)
	if _, err := e.pack("20241212"); err == nil {
		t.Fatal("a corrupt input packed")
	}
	if _, err := os.Stat(rec); err != nil {
		t.Errorf("the failed re-pack lost the record: %v", err)
	}
	e.noTemporaries()
}

// With max_rejects 0 a failure still reports the whole extent: every
// reject of the run is counted and kept, not just the first.
func TestPackCountsEveryRejectBeforeFailing(t *testing.T) {
	e := newEnv(t, "fields: 3")
	e.writeInput("ods/dt=20241212/a.gz", row("1", "2", "3"), row("bad"), row("4", "5", "6"), row("also", "bad"))
	e.writeInput("ods/dt=20241212/b.gz", row("x"), row("7", "8", "9"))
	_, err := e.pack("20241212")
	if err == nil || !strings.Contains(err.Error(), "more than 0 rejected lines (max_rejects 0): 3 in all") {
		t.Fatalf("err = %v, want the total of 3", err)
	}
	kept, _ := os.ReadFile(e.outDir("20241212") + "." + workdir.RejectsFile)
	if n := strings.Count(string(kept), "\n"); n != 3 {
		t.Errorf("kept rejects hold %d lines, want all 3:\n%s", n, kept)
	}
}

// The rejects list stops growing at its cap; every reject is still
// counted, and the error says how many are listed.
func TestPackRejectsListIsCapped(t *testing.T) {
	old := maxListedRejects
	maxListedRejects = 2
	defer func() { maxListedRejects = old }()
	e := newEnv(t, "fields: 3")
	e.writeInput("ods/dt=20241212/a.gz", row("1", "2", "3"), row("a"), row("b"), row("c"), row("d"))
	_, err := e.pack("20241212")
	if err == nil || !strings.Contains(err.Error(), "4 in all") || !strings.Contains(err.Error(), "the first 2 of them") {
		t.Fatalf("err = %v", err)
	}
	kept, _ := os.ReadFile(e.outDir("20241212") + "." + workdir.RejectsFile)
	if n := strings.Count(string(kept), "\n"); n != 2 {
		t.Errorf("kept rejects hold %d lines, want the cap of 2", n)
	}
}
