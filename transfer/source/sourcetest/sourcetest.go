// Package sourcetest is the conformance suite every source.Source
// implementation runs: listing (recursive, slash paths relative to the
// source root, sizes, modification times, sorted, hidden files left
// out), the error for a missing partition, Exists, whole and ranged
// reads, verification sums, awkward names and context cancellation.
//
// A source's test builds a Harness (a way to write files into the
// backing store and the Source that reads it) and calls Run:
//
//	func TestLocalConformance(t *testing.T) {
//		dir := t.TempDir()
//		sourcetest.Run(t, sourcetest.Harness{
//			Source: &source.Local{Root: dir},
//			Put:    sourcetest.DirPut(dir),
//			Mkdir:  sourcetest.DirMkdir(dir),
//		})
//	}
//
// Every subtest writes its files under a folder of its own, so the
// subtests are independent and one Harness serves them all.
package sourcetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chama-data/chama/transfer/source"
)

// Harness connects the suite to one source and its backing store.
type Harness struct {
	// Source reads the store Put writes to. The suite does not close it.
	Source source.Source
	// Put writes a file at p, a slash path relative to the source root,
	// creating its folders. A non-zero mtime is set as its modification
	// time (whole seconds).
	Put func(t testing.TB, p string, data []byte, mtime time.Time)
	// Mkdir creates the folder p (and its parents), relative to the
	// source root.
	Mkdir func(t testing.TB, p string)
	// ModTime says Put sets modification times and List reports them
	// (at least to the second). When false the suite does not check them.
	ModTime bool
	// Large is the size of the big file read whole and in ranges; it
	// should span several of the transport's units (SFTP packets, HDFS
	// blocks). Default DefaultLarge.
	Large int
	// Skip names subtests (by their name in Run, e.g. "OpenCancelled")
	// this source is known to fail, with the reason: they are skipped
	// with t.Skip(reason) instead of failing. Only for divergences that
	// are reported and understood.
	Skip map[string]string
}

// DefaultLarge is the default size of the big file: over 300 KB, more
// than nine 32 KiB SFTP packets and not a multiple of any usual block or
// chunk size.
const DefaultLarge = 320<<10 + 77

// mtime is the modification time the suite gives files: whole seconds,
// so sources that report seconds (SFTP v3) or milliseconds (HDFS) keep
// it exactly.
var mtime = time.Date(2024, 12, 12, 7, 30, 15, 0, time.UTC)

// Run runs the suite against h, each check a subtest of t.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.Source == nil || h.Put == nil || h.Mkdir == nil {
		t.Fatal("sourcetest: Harness needs Source, Put and Mkdir")
	}
	if h.Large <= 0 {
		h.Large = DefaultLarge
	}
	s := &suite{h: h}
	checks := []struct {
		name string
		f    func(*testing.T)
	}{
		{"List", s.list},
		{"ListHidden", s.listHidden},
		{"ListEmpty", s.listEmpty},
		{"ListMissing", s.listMissing},
		{"ListNotAFolder", s.listNotAFolder},
		{"ListRoot", s.listRoot},
		{"Exists", s.exists},
		{"Open", s.open},
		{"OpenMissing", s.openMissing},
		{"OpenRange", s.openRange},
		{"OpenRangePastEnd", s.openRangePastEnd},
		{"Verify", s.verify},
		{"Names", s.names},
		{"ConcurrentReads", s.concurrentReads},
		{"ListCancelled", s.listCancelled},
		{"OpenCancelled", s.openCancelled},
		{"ReadCancelled", s.readCancelled},
		{"UsableAfterCancel", s.usableAfterCancel},
	}
	names := map[string]bool{}
	for _, c := range checks {
		names[c.name] = true
	}
	for name := range h.Skip {
		if !names[name] {
			t.Fatalf("sourcetest: Harness.Skip names %q, which is not a subtest", name)
		}
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if why, ok := h.Skip[c.name]; ok {
				t.Skip(why)
			}
			c.f(t)
		})
	}
}

// DirPut is a Harness.Put for stores backed by the local folder root
// (a Local source, or a test server serving that folder).
func DirPut(root string) func(t testing.TB, p string, data []byte, mtime time.Time) {
	return func(t testing.TB, p string, data []byte, mtime time.Time) {
		t.Helper()
		f := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if !mtime.IsZero() {
			if err := os.Chtimes(f, mtime, mtime); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// DirMkdir is a Harness.Mkdir for stores backed by the local folder root.
func DirMkdir(root string) func(t testing.TB, p string) {
	return func(t testing.TB, p string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(root, filepath.FromSlash(p)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

type suite struct{ h Harness }

// Bytes returns n seeded pseudo-random bytes.
func Bytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// file is one file the suite writes.
type file struct {
	path string
	data []byte
}

func (s *suite) put(t *testing.T, fs ...file) {
	t.Helper()
	for _, f := range fs {
		s.h.Put(t, f.path, f.data, mtime)
	}
}

func ctx(t *testing.T) context.Context { return t.Context() }

// wantListing checks a listing against the files expected, in order.
func (s *suite) wantListing(t *testing.T, what string, got []source.FileInfo, want []file) {
	t.Helper()
	var gp, wp []string
	for _, fi := range got {
		gp = append(gp, fi.Path)
	}
	for _, f := range want {
		wp = append(wp, f.path)
	}
	if !slices.Equal(gp, wp) {
		t.Fatalf("%s lists\n  %q\nwant\n  %q", what, gp, wp)
	}
	for i, fi := range got {
		if fi.Size != int64(len(want[i].data)) {
			t.Errorf("%s: %s has size %d, want %d", what, fi.Path, fi.Size, len(want[i].data))
		}
		if s.h.ModTime && !fi.ModTime.Equal(mtime) {
			t.Errorf("%s: %s has mtime %v, want %v", what, fi.Path, fi.ModTime, mtime)
		}
	}
}

// sorted returns fs sorted by path, as List orders them.
func sorted(fs []file) []file {
	out := slices.Clone(fs)
	slices.SortFunc(out, func(a, b file) int { return strings.Compare(a.path, b.path) })
	return out
}

// readAll opens p and reads it whole with io.ReadAll (small reads).
func (s *suite) readAll(t *testing.T, c context.Context, p string) ([]byte, error) {
	t.Helper()
	r, err := s.h.Source.Open(c, p)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// List: the regular files under a folder, recursively, as slash paths
// relative to the source root (usable with Open), with their sizes and
// times, sorted by path (byte order, not walk order: "a-b" < "a/x").
func (s *suite) list(t *testing.T) {
	dir := "list/dt=20241212/hour=07"
	files := []file{
		{dir + "/000000_0", Bytes(1000, 1)},
		{dir + "/000001_0", Bytes(1, 2)},
		{dir + "/a/x", Bytes(10, 3)},
		{dir + "/a-b", Bytes(11, 4)},
		{dir + "/a.b", Bytes(12, 5)},
		{dir + "/a/b/c/d/deep", Bytes(13, 6)},
		{dir + "/B", Bytes(14, 7)},
		{dir + "/empty", nil},
		{dir + "/z_y", Bytes(15, 8)}, // '_' inside a name is not hidden
		{dir + "/x.tmp", Bytes(16, 9)},
	}
	s.put(t, files...)
	s.put(t, file{"list/dt=20241212/hour=08/other", Bytes(5, 10)}) // a sibling, not listed
	s.h.Mkdir(t, dir+"/a/emptydir")
	got, err := s.h.Source.List(ctx(t), dir)
	if err != nil {
		t.Fatal(err)
	}
	s.wantListing(t, "List("+dir+")", got, sorted(files))
	// Every path listed opens, and reads as many bytes as listed.
	for i, fi := range got {
		b, err := s.readAll(t, ctx(t), fi.Path)
		if err != nil {
			t.Errorf("Open(%s) of a listed path: %v", fi.Path, err)
			continue
		}
		if want := sorted(files)[i].data; !bytes.Equal(b, want) {
			t.Errorf("Open(%s): %d bytes, not the %d written", fi.Path, len(b), len(want))
		}
	}
	// A trailing slash and a subfolder give the same paths.
	got, err = s.h.Source.List(ctx(t), dir+"/a/")
	if err != nil {
		t.Fatal(err)
	}
	s.wantListing(t, "List("+dir+"/a/)", got, []file{files[5], files[2]})
}

// ListHidden: names source.Hidden reports (Hive/Spark markers and work
// files, _name and .name) are left out, files and whole folders, at
// every depth; Exists still sees them; a hidden folder named directly
// is listed (its own name is not filtered, only what is below).
func (s *suite) listHidden(t *testing.T) {
	dir := "hidden/dt=20241212"
	shown := []file{
		{dir + "/part-00000", Bytes(100, 1)},
		{dir + "/sub/part-00001", Bytes(101, 2)},
		{dir + "/sub/x_", Bytes(3, 3)},
		{dir + "/sub/x.", Bytes(4, 4)},
	}
	hidden := []file{
		{dir + "/_SUCCESS", nil},
		{dir + "/.part-00000.crc", Bytes(8, 5)},
		{dir + "/_temporary/0/_temporary/attempt_1/part-00000", Bytes(9, 6)},
		{dir + "/.hive-staging_hive_2024/-ext-10000/000000_0", Bytes(10, 7)},
		{dir + "/sub/_COPYING_", Bytes(11, 8)},
		{dir + "/sub/.000002_0.inprogress", Bytes(12, 9)},
		{dir + "/sub/_logs/history", Bytes(13, 10)},
	}
	for _, f := range shown {
		if hiddenPath(dir, f.path) {
			t.Fatalf("suite bug: %s is hidden by source.Hidden", f.path)
		}
	}
	for _, f := range hidden {
		if !hiddenPath(dir, f.path) {
			t.Fatalf("suite bug: %s is not hidden by source.Hidden", f.path)
		}
	}
	s.put(t, shown...)
	s.put(t, hidden...)
	got, err := s.h.Source.List(ctx(t), dir)
	if err != nil {
		t.Fatal(err)
	}
	s.wantListing(t, "List("+dir+")", got, sorted(shown))
	for _, p := range []string{dir + "/_SUCCESS", dir + "/.part-00000.crc", dir + "/_temporary", dir + "/sub/_logs/history"} {
		if ok, err := s.h.Source.Exists(ctx(t), p); !ok || err != nil {
			t.Errorf("Exists(%s) of a hidden name = %v, %v; want true", p, ok, err)
		}
	}
	got, err = s.h.Source.List(ctx(t), dir+"/_temporary/0")
	if err != nil {
		t.Fatal(err)
	}
	s.wantListing(t, "List of a hidden folder by name", got, nil) // only _temporary/attempt_1 below
	got, err = s.h.Source.List(ctx(t), dir+"/sub/_logs")
	if err != nil {
		t.Fatal(err)
	}
	s.wantListing(t, "List of a hidden folder by name", got, []file{hidden[6]})
}

// hiddenPath reports whether a component of p below dir is Hidden.
func hiddenPath(dir, p string) bool {
	for _, c := range strings.Split(strings.TrimPrefix(p, dir+"/"), "/") {
		if source.Hidden(c) {
			return true
		}
	}
	return false
}

// ListEmpty: a folder with no files, or with only hidden ones or only
// empty folders, lists as nothing and no error (it exists).
func (s *suite) listEmpty(t *testing.T) {
	s.h.Mkdir(t, "empty/none")
	s.h.Mkdir(t, "empty/dirs/a/b")
	s.h.Mkdir(t, "empty/dirs/c")
	s.put(t, file{"empty/markers/_SUCCESS", nil}, file{"empty/markers/.x.crc", Bytes(3, 1)})
	for _, d := range []string{"empty/none", "empty/dirs", "empty/markers"} {
		got, err := s.h.Source.List(ctx(t), d)
		if err != nil {
			t.Errorf("List(%s): %v, want no files and no error", d, err)
		} else if len(got) != 0 {
			t.Errorf("List(%s) = %+v, want nothing", d, got)
		}
	}
}

// ListMissing: a folder that does not exist is source.ErrNotFound (the
// partition has not landed yet), whether its parent exists or not.
func (s *suite) listMissing(t *testing.T) {
	s.put(t, file{"missing/dt=20241212/hour=07/f", Bytes(3, 1)})
	for _, d := range []string{"missing/dt=20241212/hour=08", "missing/dt=20241213/hour=00", "nosuchfolder"} {
		got, err := s.h.Source.List(ctx(t), d)
		if !errors.Is(err, source.ErrNotFound) {
			t.Errorf("List(%s) of a missing folder = %v, %v; want ErrNotFound", d, got, err)
		}
	}
}

// ListNotAFolder: listing a file is an error, and not ErrNotFound (the
// partition is there but is not a folder; waiting will not help).
func (s *suite) listNotAFolder(t *testing.T) {
	s.put(t, file{"notafolder/dt=20241212", Bytes(3, 1)})
	got, err := s.h.Source.List(ctx(t), "notafolder/dt=20241212")
	if err == nil || errors.Is(err, source.ErrNotFound) {
		t.Errorf("List of a file = %v, %v; want an error other than ErrNotFound", got, err)
	}
	t.Logf("List of a file: %v", err)
}

// ListRoot: List("") lists the whole source, paths still relative to
// the root.
func (s *suite) listRoot(t *testing.T) {
	fs := []file{{"rootfile", Bytes(7, 1)}, {"root/dir/f", Bytes(8, 2)}}
	s.put(t, fs...)
	got, err := s.h.Source.List(ctx(t), "")
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]source.FileInfo{}
	for i, fi := range got {
		byPath[fi.Path] = fi
		if i > 0 && got[i-1].Path >= fi.Path {
			t.Fatalf("List(\"\") not sorted: %q before %q", got[i-1].Path, fi.Path)
		}
		if strings.HasPrefix(fi.Path, "/") || strings.Contains(fi.Path, "\\") || hiddenPath("", fi.Path) {
			t.Errorf("List(\"\") gives path %q", fi.Path)
		}
	}
	for _, f := range fs {
		if fi, ok := byPath[f.path]; !ok || fi.Size != int64(len(f.data)) {
			t.Errorf("List(\"\") is missing %s (or has the wrong size): %+v", f.path, fi)
		}
	}
}

// Exists: true for files (empty ones and hidden markers too) and
// folders, false without an error for what is not there.
func (s *suite) exists(t *testing.T) {
	s.put(t, file{"exists/dt=20241212/_SUCCESS", nil}, file{"exists/dt=20241212/f", Bytes(10, 1)})
	s.h.Mkdir(t, "exists/emptydir")
	for p, want := range map[string]bool{
		"exists/dt=20241212/_SUCCESS": true,
		"exists/dt=20241212/f":        true,
		"exists/dt=20241212":          true,
		"exists/dt=20241212/":         true,
		"exists/emptydir":             true,
		"exists/dt=20241212/g":        false,
		"exists/dt=20241213/_SUCCESS": false,
		"exists/nope/nope/nope":       false,
	} {
		got, err := s.h.Source.Exists(ctx(t), p)
		if got != want || err != nil {
			t.Errorf("Exists(%s) = %v, %v; want %v, nil", p, got, err, want)
		}
	}
}

// Open: the whole file, whatever the reader's buffer size: small reads
// (io.ReadAll), odd-sized reads and reads larger than the transport's
// packets (a short answer must not be taken for the end of the file).
func (s *suite) open(t *testing.T) {
	fs := []file{
		{"open/large", Bytes(s.h.Large, 1)},
		{"open/small", Bytes(100, 2)},
		{"open/empty", nil},
	}
	s.put(t, fs...)
	for _, f := range fs {
		for _, bufSize := range []int{0, 7777, 1 << 20} {
			r, err := s.h.Source.Open(ctx(t), f.path)
			if err != nil {
				t.Fatalf("Open(%s): %v", f.path, err)
			}
			var got bytes.Buffer
			if bufSize == 0 {
				var b []byte
				b, err = io.ReadAll(r)
				got.Write(b)
			} else {
				// Hide ReaderFrom/WriterTo so the buffer size is what reads see.
				_, err = io.CopyBuffer(struct{ io.Writer }{&got}, struct{ io.Reader }{r}, make([]byte, bufSize))
			}
			if cerr := r.Close(); cerr != nil {
				t.Errorf("Close(%s): %v", f.path, cerr)
			}
			if err != nil {
				t.Fatalf("reading %s with %d-byte reads: %v", f.path, bufSize, err)
			}
			if !bytes.Equal(got.Bytes(), f.data) {
				t.Fatalf("reading %s with %d-byte reads: %d bytes, not the %d written (first difference at %d)",
					f.path, bufSize, got.Len(), len(f.data), firstDiff(got.Bytes(), f.data))
			}
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// OpenMissing: opening a file that is not there is an error that wraps
// fs.ErrNotExist (at Open, or at the latest at the first read).
func (s *suite) openMissing(t *testing.T) {
	s.h.Mkdir(t, "openmissing")
	for _, p := range []string{"openmissing/nope", "openmissing/nope/nope"} {
		r, err := s.h.Source.Open(ctx(t), p)
		if err == nil {
			_, err = io.ReadAll(r)
			r.Close()
		}
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open(%s) of a missing file: %v; want an error wrapping fs.ErrNotExist", p, err)
		}
	}
}

// OpenRange (RangeOpener): exactly n bytes from off, n < 0 to the end;
// a range running past the end is cut short there without an error.
func (s *suite) openRange(t *testing.T) {
	ro, ok := s.h.Source.(source.RangeOpener)
	if !ok {
		t.Skip("not a RangeOpener")
	}
	data := Bytes(s.h.Large, 3)
	s.put(t, file{"range/large", data}, file{"range/empty", nil})
	size := int64(len(data))
	for _, c := range []struct{ off, n int64 }{
		{0, 10}, {0, -1}, {1, -1}, {0, size}, {5, 0},
		{32<<10 - 1, 2}, {64<<10 - 3, 6},
		{32<<10 - 7, 32<<10 + 14}, {100_000, 150_000},
		{size - 10, 10}, {size - 10, -1}, {size - 1, 1},
		{size - 10, 100}, {0, size + 1}, {size, -1}, {size, 5},
	} {
		end := size
		if c.n >= 0 {
			end = min(size, c.off+c.n)
		}
		want := data[c.off:end]
		got, err := readRange(ctx(t), ro, "range/large", c.off, c.n)
		if err != nil {
			t.Errorf("OpenRange(%d, %d): %v", c.off, c.n, err)
		} else if !bytes.Equal(got, want) {
			t.Errorf("OpenRange(%d, %d): %d bytes, want %d (first difference at %d)", c.off, c.n, len(got), len(want), firstDiff(got, want))
		}
	}
	for _, n := range []int64{-1, 0, 10} {
		got, err := readRange(ctx(t), ro, "range/empty", 0, n)
		if err != nil || len(got) != 0 {
			t.Errorf("OpenRange(empty, 0, %d) = %d bytes, %v", n, len(got), err)
		}
	}
}

// OpenRangePastEnd: a range starting beyond the end gives no bytes; an
// error is allowed (the RangeOpener contract does not say which).
func (s *suite) openRangePastEnd(t *testing.T) {
	ro, ok := s.h.Source.(source.RangeOpener)
	if !ok {
		t.Skip("not a RangeOpener")
	}
	s.put(t, file{"rangepast/f", Bytes(1000, 1)})
	for _, n := range []int64{-1, 10} {
		got, err := readRange(ctx(t), ro, "rangepast/f", 1010, n)
		if len(got) != 0 {
			t.Errorf("OpenRange(1010, %d) of a 1000-byte file gave %d bytes", n, len(got))
		}
		t.Logf("OpenRange(1010, %d) of a 1000-byte file: %d bytes, error %v", n, len(got), err)
	}
}

func readRange(c context.Context, ro source.RangeOpener, p string, off, n int64) ([]byte, error) {
	r, err := ro.OpenRange(c, p, off, n)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// Verify (Verifier): the hash NewHash gives, fed the bytes Open reads,
// equals the Sum the store reports, with the file's size; for an
// AltVerifier, a file the store summed another way matches one of
// AltHashes instead. A missing file has no Sum.
func (s *suite) verify(t *testing.T) {
	v, ok := s.h.Source.(source.Verifier)
	if !ok {
		t.Skip("not a Verifier")
	}
	fs := []file{
		{"verify/large", Bytes(s.h.Large, 4)},
		{"verify/small", Bytes(1000, 5)},
		{"verify/one", Bytes(1, 6)},
		{"verify/empty", nil},
		{"verify/dt=20241212/o'brien data $x.csv", Bytes(2000, 7)},
	}
	s.put(t, fs...)
	for _, f := range fs {
		size, sum, err := v.Sum(ctx(t), f.path)
		if err != nil {
			t.Errorf("Sum(%s): %v", f.path, err)
			continue
		}
		if size != int64(len(f.data)) {
			t.Errorf("Sum(%s) size %d, want %d", f.path, size, len(f.data))
		}
		hs, names := s.hashes(t, v, f.path)
		r, err := s.h.Source.Open(ctx(t), f.path)
		if err != nil {
			t.Fatal(err)
		}
		ws := make([]io.Writer, len(hs))
		for i, h := range hs {
			ws[i] = h
		}
		var got bytes.Buffer
		_, err = io.Copy(io.MultiWriter(append(ws, &got)...), r)
		r.Close()
		if err != nil || !bytes.Equal(got.Bytes(), f.data) {
			t.Fatalf("reading %s: %d bytes, %v", f.path, got.Len(), err)
		}
		matched := ""
		for i, h := range hs {
			if bytes.Equal(h.Sum(nil), sum) {
				matched = names[i]
				break
			}
		}
		if matched == "" {
			t.Errorf("Sum(%s) = %x matches no hash of the bytes read (NewHash %x)", f.path, sum, hs[0].Sum(nil))
		} else if matched != "NewHash" {
			t.Logf("Sum(%s) matched %s", f.path, matched)
		}
	}
	if _, _, err := v.Sum(ctx(t), "verify/nope"); err == nil {
		t.Error("Sum of a missing file gave no error")
	}
}

// hashes returns NewHash's hash and, for an AltVerifier, AltHashes's.
func (s *suite) hashes(t *testing.T, v source.Verifier, p string) ([]hash.Hash, []string) {
	t.Helper()
	h, err := v.NewHash(ctx(t), p)
	if err != nil || h == nil {
		t.Fatalf("NewHash(%s) = %v, %v", p, h, err)
	}
	hs, names := []hash.Hash{h}, []string{"NewHash"}
	if av, ok := v.(source.AltVerifier); ok {
		alts, err := av.AltHashes(ctx(t), p)
		if err != nil {
			t.Fatalf("AltHashes(%s): %v", p, err)
		}
		for i, a := range alts {
			if a == nil || a == h {
				t.Fatalf("AltHashes(%s)[%d] is nil or NewHash's own hash", p, i)
			}
			hs = append(hs, a)
			names = append(names, fmt.Sprintf("AltHashes[%d]", i))
		}
	}
	return hs, names
}

// Names: partition-style folders (dt=20241212/hour=07) and file names
// with spaces, quotes, shell and URL characters and non-ASCII letters
// are listed, found, read and ranged as they are.
func (s *suite) names(t *testing.T) {
	dir := "names/dt=20241212/hour=07"
	fs := []file{
		{dir + "/part 00000 (copy).csv", Bytes(300, 1)},
		{dir + "/o'brien \"q\".csv", Bytes(301, 2)},
		{dir + "/a=b&c;d$e#f%20g+h.csv", Bytes(302, 3)},
		{dir + "/données-日本.csv", Bytes(303, 4)},
		{dir + "/sub dir/key=va lue/f", Bytes(304, 5)},
		{dir + "/ lead and trail ", Bytes(305, 6)},
	}
	s.put(t, fs...)
	got, err := s.h.Source.List(ctx(t), dir)
	if err != nil {
		t.Fatal(err)
	}
	s.wantListing(t, "List("+dir+")", got, sorted(fs))
	ro, _ := s.h.Source.(source.RangeOpener)
	for _, f := range fs {
		if ok, err := s.h.Source.Exists(ctx(t), f.path); !ok || err != nil {
			t.Errorf("Exists(%q) = %v, %v", f.path, ok, err)
		}
		b, err := s.readAll(t, ctx(t), f.path)
		if err != nil || !bytes.Equal(b, f.data) {
			t.Errorf("Open(%q): %d bytes, %v", f.path, len(b), err)
		}
		if ro != nil {
			b, err := readRange(ctx(t), ro, f.path, 100, 50)
			if err != nil || !bytes.Equal(b, f.data[100:150]) {
				t.Errorf("OpenRange(%q, 100, 50): %d bytes, %v", f.path, len(b), err)
			}
		}
	}
	if ok, err := s.h.Source.Exists(ctx(t), dir+"/part 00000"); ok || err != nil {
		t.Errorf("Exists of a prefix of a name with a space = %v, %v", ok, err)
	}
}

// ConcurrentReads: several files (or ranges) read at once through one
// source, as a pull does, each get their own bytes.
func (s *suite) concurrentReads(t *testing.T) {
	const n = 6
	data := Bytes(s.h.Large, 6)
	fs := []file{{"concurrent/large", data}}
	for i := range n {
		fs = append(fs, file{fmt.Sprintf("concurrent/f%d", i), Bytes(20_000+i*1000, uint64(10+i))})
	}
	s.put(t, fs...)
	ro, _ := s.h.Source.(source.RangeOpener)
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Go(func() {
			f := fs[1+i]
			b, err := s.readAll(t, ctx(t), f.path)
			if err != nil || !bytes.Equal(b, f.data) {
				errs <- fmt.Errorf("Open(%s) alongside others: %d bytes, %v", f.path, len(b), err)
			}
		})
		wg.Go(func() {
			chunk := (len(data) + n - 1) / n
			off := i * chunk
			want := data[off:min(len(data), off+chunk)]
			var b []byte
			var err error
			if ro != nil {
				b, err = readRange(ctx(t), ro, "concurrent/large", int64(off), int64(chunk))
			} else {
				b, err = s.readAll(t, ctx(t), "concurrent/large")
				if err == nil {
					b = b[off:min(len(b), off+chunk)]
				}
			}
			if err != nil || !bytes.Equal(b, want) {
				errs <- fmt.Errorf("part %d of the large file alongside others: %d bytes, %v", i, len(b), err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// ListCancelled: List with a cancelled context fails with its error.
func (s *suite) listCancelled(t *testing.T) {
	s.put(t, file{"cancel/list/a/f", Bytes(10, 1)}, file{"cancel/list/b/g", Bytes(10, 2)})
	c, cancel := context.WithCancel(ctx(t))
	cancel()
	got, err := s.h.Source.List(c, "cancel/list")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("List with a cancelled context = %d files, %v; want context.Canceled", len(got), err)
	}
}

// OpenCancelled: Open with a cancelled context fails, at Open or at the
// latest while reading, with the context's error.
func (s *suite) openCancelled(t *testing.T) {
	s.put(t, file{"cancel/open", Bytes(s.h.Large, 1)})
	c, cancel := context.WithCancel(ctx(t))
	cancel()
	r, err := s.h.Source.Open(c, "cancel/open")
	if err == nil {
		_, err = io.ReadAll(r)
		r.Close()
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Open and read with a cancelled context: %v; want context.Canceled", err)
	}
}

// ReadCancelled: cancelling the context of an Open stops the reads that
// follow with the context's error (bytes already on their way may still
// arrive first).
func (s *suite) readCancelled(t *testing.T) {
	s.put(t, file{"cancel/read", Bytes(s.h.Large, 2)})
	c, cancel := context.WithCancel(ctx(t))
	defer cancel()
	r, err := s.h.Source.Open(c, "cancel/read")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := io.ReadFull(r, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	cancel()
	n, err := io.Copy(io.Discard, r)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("reading on after the context was cancelled: %d more bytes, %v; want context.Canceled", n, err)
	}
}

// UsableAfterCancel: a cancelled call leaves the source usable with a
// new context (a connection it broke is replaced).
func (s *suite) usableAfterCancel(t *testing.T) {
	data := Bytes(s.h.Large, 3)
	s.put(t, file{"cancel/after/f", data})
	c, cancel := context.WithCancel(ctx(t))
	if r, err := s.h.Source.Open(c, "cancel/after/f"); err == nil {
		io.ReadFull(r, make([]byte, 1000))
		cancel()
		io.Copy(io.Discard, r)
		r.Close()
	}
	cancel()
	s.h.Source.List(c, "cancel/after")
	got, err := s.h.Source.List(ctx(t), "cancel/after")
	if err != nil || len(got) != 1 {
		t.Fatalf("List after a cancelled call: %+v, %v", got, err)
	}
	if ok, err := s.h.Source.Exists(ctx(t), "cancel/after/f"); !ok || err != nil {
		t.Fatalf("Exists after a cancelled call: %v, %v", ok, err)
	}
	b, err := s.readAll(t, ctx(t), "cancel/after/f")
	if err != nil || !bytes.Equal(b, data) {
		t.Fatalf("Open after a cancelled call: %d bytes, %v", len(b), err)
	}
}
