package chunkstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/hdfstest"
)

// chunk writes a small chunk folder.
func chunk(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range map[string]string{"chunk_07_000001.dat.gz": body, "manifest.json": `{"period":"2024121207"}`, ".lock": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// exercise: the highest fencing number wins whatever the order of the
// writes; a version whose check failed is never visible; fetch checks
// sizes.
func exercise(t *testing.T, s *Store) {
	ctx := t.Context()
	if v, err := s.Latest(ctx, "51007", "2024121207"); v != nil || err != nil {
		t.Fatalf("empty store: %v %v", v, err)
	}
	newer, err := s.Put(ctx, "51007", "2024121207", chunk(t, "new holder"), 2, "m2:1:r2", nil)
	if err != nil {
		t.Fatal(err)
	}
	// A stale run (fence 1) finishing after the takeover: its version
	// is written but loses.
	if _, err := s.Put(ctx, "51007", "2024121207", chunk(t, "stale"), 1, "m1:1:r1", nil); err != nil {
		t.Fatal(err)
	}
	// A run whose fencing check fails publishes nothing.
	fenced := errors.New("taken over")
	if _, err := s.Put(ctx, "51007", "2024121207", chunk(t, "refused"), 3, "m3:1:r3", func(context.Context) error { return fenced }); !errors.Is(err, fenced) {
		t.Fatalf("fenced put: %v", err)
	}
	v, err := s.Latest(ctx, "51007", "2024121207")
	if err != nil || v == nil || v.Name != newer.Name || v.Owner != "m2:1:r2" || len(v.Files) != 2 {
		t.Fatalf("latest %+v %v, want the fence-2 version without .lock", v, err)
	}
	dst := filepath.Join(t.TempDir(), "2024121207")
	if err := s.Fetch(ctx, v, dst); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "chunk_07_000001.dat.gz")); string(b) != "new holder" {
		t.Errorf("fetched %q", b)
	}
	vs, err := s.Versions(ctx, "51007")
	if err != nil || len(vs) != 2 || vs[0].Fence != 1 || vs[1].Fence != 2 {
		t.Fatalf("versions %+v %v", vs, err)
	}
	// A commit record that lies about a size is caught at fetch.
	v.Files[0].Bytes++
	if err := s.Fetch(ctx, v, dst); err == nil || !strings.Contains(err.Error(), "its commit record says") {
		t.Errorf("short file fetched: %v", err)
	}
}

func TestStoreOnAFolder(t *testing.T) {
	exercise(t, New(&dirFS{root: t.TempDir()}))
}

// TestStoreOnHDFS: the same on the HDFS test server, through Open.
func TestStoreOnHDFS(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "chama/chunks"), 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := hdfstest.Start(hdfstest.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := &config.Config{
		Sources:    map[string]*config.Source{"hdfs1": {Type: "hdfs", Namenodes: c.Addrs(), User: "chama", Root: "/wh"}},
		ChunkStore: &config.ChunkStore{Type: "hdfs", Dir: "/chama/chunks", Source: "hdfs1"},
	}
	cfg.Sources["hdfs1"].HDFS.HadoopConfDir = "none"
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	exercise(t, s)
	if _, err := os.Stat(filepath.Join(root, "chama/chunks/51007/2024121207")); err != nil {
		t.Errorf("not on the cluster: %v", err)
	}
}

// Prune: days past the retention go whole; in the days kept, superseded
// and uncommitted versions go once settled; the latest stays.
func TestPrune(t *testing.T) {
	root := t.TempDir()
	s := New(&dirFS{root: root})
	ctx := t.Context()
	old, err := s.Put(ctx, "51007", "2024120107", chunk(t, "old day"), 1, "m1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "51007", "2024121207", chunk(t, "superseded"), 1, "m1", nil); err != nil {
		t.Fatal(err)
	}
	keep, err := s.Put(ctx, "51007", "2024121207", chunk(t, "latest"), 2, "m2", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "51007/2024121207/v000000000003-dead/x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "51007/2024121207/v000000000003-dead/x/chunk.gz"), []byte("abandoned"), 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	dry, err := s.Prune(ctx, "51007", "20241205", later, true)
	if err != nil || len(dry) != 4 {
		t.Fatalf("dry run: %+v %v", dry, err)
	}
	if v, _ := s.Latest(ctx, "51007", "2024120107"); v == nil || v.Name != old.Name {
		t.Fatal("a dry run removed something")
	}
	// Not settled yet: only the retention applies.
	if got, _ := s.Prune(ctx, "51007", "20241205", time.Now().Add(-time.Hour), false); len(got) != 1 || got[0].Why != "retention" {
		t.Fatalf("unsettled: %+v", got)
	}
	got, err := s.Prune(ctx, "51007", "20241205", later, false)
	if err != nil || len(got) != 3 {
		t.Fatalf("prune: %+v %v", got, err)
	}
	if v, _ := s.Latest(ctx, "51007", "2024121207"); v == nil || v.Name != keep.Name {
		t.Fatalf("the latest version went: %+v", v)
	}
	if vs, _ := s.Versions(ctx, "51007"); len(vs) != 1 {
		t.Errorf("left %d versions, want 1", len(vs))
	}
	if _, err := os.Stat(filepath.Join(root, "51007/2024121207/v000000000003-dead")); !os.IsNotExist(err) {
		t.Errorf("uncommitted version left: %v", err)
	}
}
