package source

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chama-data/chama/internal/hdfstest"
)

// writeAll writes data through the source in pieces of step bytes and
// closes the file.
func writeAll(t *testing.T, h *HDFS, ctx context.Context, p string, data []byte, step int) {
	t.Helper()
	w, err := h.Create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	for s := 0; s < len(data); s += step {
		if _, err := w.Write(data[s:min(s+step, len(data))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func readAll(t *testing.T, h *HDFS, ctx context.Context, p string) []byte {
	t.Helper()
	r, err := h.Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// names lists a folder of the backing store, hidden files included.
func names(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range des {
		out = append(out, d.Name())
	}
	return out
}

func TestHDFSWriteReadBackRenameRemove(t *testing.T) {
	c, dir := hdfsCluster(t, hdfstest.Options{BlockSize: 32 << 10, Datanodes: 2})
	if err := os.Mkdir(filepath.Join(dir, "warehouse"), 0o755); err != nil {
		t.Fatal(err)
	}
	h := hdfsSource(t, c.Addrs(), "/warehouse")
	ctx := context.Background()
	part := filepath.Join(dir, "warehouse", "chunks", "dt=20241212")

	if err := h.MkdirAll(ctx, "chunks/dt=20241212"); err != nil {
		t.Fatal(err)
	}
	if err := h.MkdirAll(ctx, "chunks/dt=20241212"); err != nil {
		t.Fatalf("mkdirall of an existing folder: %v", err)
	}
	a := make([]byte, 100_000)
	for i := range a {
		a[i] = byte(i * 7)
	}
	w, err := h.Create(ctx, "chunks/dt=20241212/h07")
	if err != nil {
		t.Fatal(err)
	}
	for s := 0; s < len(a); s += 9999 {
		if _, err := w.Write(a[s:min(s+9999, len(a))]); err != nil {
			t.Fatal(err)
		}
	}
	// Not there under its name, nor listed, until Close.
	if ok, err := h.Exists(ctx, "chunks/dt=20241212/h07"); ok || err != nil {
		t.Fatalf("file visible before Close: %v %v", ok, err)
	}
	if fis, err := h.List(ctx, "chunks"); err != nil || len(fis) != 0 {
		t.Fatalf("listing while writing: %+v %v", fis, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
	if got := readAll(t, h, ctx, "chunks/dt=20241212/h07"); !bytes.Equal(got, a) {
		t.Fatalf("read back %d bytes, differing from the %d written", len(got), len(a))
	}
	if disk, err := os.ReadFile(filepath.Join(part, "h07")); err != nil || !bytes.Equal(disk, a) {
		t.Fatalf("on disk: %d bytes, %v", len(disk), err)
	}
	if got := names(t, part); len(got) != 1 || got[0] != "h07" {
		t.Fatalf("folder holds %v", got)
	}
	// The checksum HDFS reports is the one the source computes.
	size, sum, err := h.Sum(ctx, "chunks/dt=20241212/h07")
	if err != nil || size != int64(len(a)) {
		t.Fatalf("sum: %d %v", size, err)
	}
	x, err := h.NewHash(ctx, "chunks/dt=20241212/h07")
	if err != nil {
		t.Fatal(err)
	}
	x.Write(a)
	if !bytes.Equal(x.Sum(nil), sum) {
		t.Fatal("the checksum of a written file is not the one computed from its bytes")
	}

	// Create replaces at Close.
	b := []byte("second version\n")
	writeAll(t, h, ctx, "chunks/dt=20241212/h07", b, 4)
	if got := readAll(t, h, ctx, "chunks/dt=20241212/h07"); !bytes.Equal(got, b) {
		t.Fatalf("after a second create: %q", got)
	}

	// Rename over an existing file.
	writeAll(t, h, ctx, "chunks/dt=20241212/h08.part", a[:5000], 5000)
	if err := h.Rename(ctx, "chunks/dt=20241212/h08.part", "chunks/dt=20241212/h07"); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, h, ctx, "chunks/dt=20241212/h07"); !bytes.Equal(got, a[:5000]) {
		t.Fatalf("after rename over: %d bytes", len(got))
	}
	if got := names(t, part); len(got) != 1 || got[0] != "h07" {
		t.Fatalf("folder holds %v after the rename", got)
	}
	err = h.Rename(ctx, "chunks/dt=20241212/missing", "chunks/dt=20241212/h07")
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "hdfs test:/warehouse/chunks/dt=20241212/missing") {
		t.Fatalf("rename of a missing file: %v", err)
	}

	// Remove.
	if err := h.RemoveAll(ctx, "chunks"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "warehouse", "chunks")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("removed folder: %v", err)
	}
	if err := h.RemoveAll(ctx, "chunks"); err != nil {
		t.Fatalf("removeall of a missing folder: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "warehouse")); err != nil {
		t.Fatalf("the root went: %v", err)
	}
}

func TestHDFSWriteRefusalsAndErrors(t *testing.T) {
	c, dir := hdfsCluster(t, hdfstest.Options{})
	if err := os.MkdirAll(filepath.Join(dir, "w", "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	h := hdfsSource(t, c.Addrs(), "/w")
	ctx := context.Background()
	for _, p := range []string{"", ".", "d/../..", "../x"} {
		if err := h.RemoveAll(ctx, p); err == nil {
			t.Errorf("RemoveAll(%q) was not refused", p)
		}
		if _, err := h.Create(ctx, p); err == nil {
			t.Errorf("Create(%q) was not refused", p)
		}
		if err := h.Rename(ctx, "d", p); err == nil {
			t.Errorf("Rename to %q was not refused", p)
		}
	}
	if err := h.MkdirAll(ctx, "../x"); err == nil {
		t.Error("MkdirAll out of the root was not refused")
	}
	if _, err := h.Create(ctx, "missing/f"); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "hdfs test:/w/missing/f") {
		t.Errorf("create in a missing folder: %v", err)
	}
	if _, err := h.Create(ctx, "d"); !errors.Is(err, os.ErrExist) {
		t.Errorf("create over a folder: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "w", "d")); err != nil {
		t.Fatal(err)
	}
}

func TestHDFSCreateAbandonedIsNotPublished(t *testing.T) {
	c, dir := hdfsCluster(t, hdfstest.Options{BlockSize: 32 << 10})
	h := hdfsSource(t, c.Addrs(), "/")
	old := []byte("old content")
	if err := os.WriteFile(filepath.Join(dir, "f"), old, 0o644); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 80_000)

	// A cancelled context: Close removes the hidden file and says why.
	ctx, cancel := context.WithCancel(context.Background())
	w, err := h.Create(ctx, "f")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := w.Close(); !errors.Is(err, context.Canceled) {
		t.Fatalf("close after cancel: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "f")); !bytes.Equal(got, old) {
		t.Fatalf("an abandoned file replaced the old one: %q", got)
	}
	if got := names(t, dir); len(got) != 1 {
		t.Fatalf("left behind: %v", got)
	}

	// A datanode that dies mid-block: the write or the close fails, the
	// old file stays.
	c.Datanodes[0].SetFault(hdfstest.Fault{CutWriteAfter: 1000})
	w, err = h.Create(context.Background(), "f")
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.Write(data)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil || !strings.Contains(err.Error(), "hdfs test:/f") {
		t.Fatalf("a cut write: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "f")); !bytes.Equal(got, old) {
		t.Fatalf("a failed file replaced the old one: %q", got)
	}
	if got := names(t, dir); len(got) != 1 {
		t.Fatalf("left behind: %v", got)
	}
}
