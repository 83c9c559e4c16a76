package pack

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/chunkstore"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/fence"
	"github.com/chama-data/chama/naming"
)

// numbered is a lease for the tests: a fencing number, and a check that
// fails once revoked.
type numbered struct {
	n       int64
	revoked bool
}

func (l *numbered) Check(context.Context) error {
	if l.revoked {
		return errors.New("taken over")
	}
	return nil
}

func (l *numbered) Number() (int64, string) { return l.n, "test" }

func openStore(t *testing.T, dir string) *chunkstore.Store {
	t.Helper()
	s, err := chunkstore.Open(&config.Config{ChunkStore: &config.ChunkStore{Type: "file", Dir: dir}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// An hour packed on one machine is put in the store under the lease's
// number; the same hour task on another machine fetches it instead of
// packing; a third machine assembles the day from the store alone, with
// the day a one-machine assembly gives.
func TestStoreHoursAcrossWorkdirs(t *testing.T) {
	store := t.TempDir()
	e1 := newEnv(t, hourlyKeys+"\nlines_per_file: 4")
	e1.writeHours("20241212", map[int]int{0: 3, 1: 6, 2: 2, 7: 9})
	s := openStore(t, store)
	opts := func(e *env, period string) Options {
		return Options{Config: e.cfg, Iface: e.cfg.Interfaces["X"], Period: naming.MustPeriod(period), Workers: 2, Store: s}
	}
	lease := &numbered{n: 7}
	ctx := fence.With(context.Background(), lease)
	for h := range 24 {
		if _, err := Run(ctx, opts(e1, "20241212"+twoDigit(h))); err != nil {
			t.Fatal(err)
		}
	}
	v, err := s.Latest(ctx, "X", "2024121207")
	if err != nil || v == nil || v.Fence != 7 {
		t.Fatalf("hour 07 in the store: %+v %v", v, err)
	}

	// Machine 2: same source, own workdir; the hour is fetched.
	e2 := newEnv(t, hourlyKeys+"\nlines_per_file: 4")
	e2.root = e1.root
	e2.cfg.Sources["local"].Root = e1.root
	before := chunkPacks.Load()
	if _, err := Run(ctx, opts(e2, "2024121207")); err != nil {
		t.Fatal(err)
	}
	if chunkPacks.Load() != before {
		t.Error("an hour the store held was packed again")
	}
	if vs, _ := s.Versions(ctx, "X"); len(vs) != 24 {
		t.Errorf("%d versions, want 24 (the fetch put none)", len(vs))
	}
	// --repack packs it, as a new version.
	o := opts(e2, "2024121207")
	o.Repack = true
	if _, err := Run(fence.With(context.Background(), &numbered{n: 8}), o); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Latest(ctx, "X", "2024121207"); v == nil || v.Fence != 8 {
		t.Errorf("repacked hour: %+v", v)
	}

	// Machine 3 assembles from the store alone; machine 1 assembles too.
	e3 := newEnv(t, hourlyKeys+"\nlines_per_file: 4")
	e3.cfg.Sources["local"].Root = t.TempDir() // no source data at all
	r3, err := Assemble(ctx, opts(e3, "20241212"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r3.Packed) != 0 || len(r3.Chunks) != 24 || !strings.Contains(r3.Chunks[7], "v000000000008-") {
		t.Errorf("assembly from the store: packed %v, chunks %v", r3.Packed, r3.Chunks)
	}
	r1, err := Assemble(ctx, opts(e1, "20241212"))
	if err != nil {
		t.Fatal(err)
	}
	if FileCount(r1.Manifest) != FileCount(r3.Manifest) || ByteCount(r1.Manifest) != ByteCount(r3.Manifest) {
		t.Errorf("days differ: %d files %d bytes vs %d %d", FileCount(r1.Manifest), ByteCount(r1.Manifest), FileCount(r3.Manifest), ByteCount(r3.Manifest))
	}
	for i, f := range r1.Manifest.Sets[0].Files {
		if g := r3.Manifest.Sets[0].Files[i]; g.MD5 != f.MD5 || g.Name != f.Name {
			t.Errorf("file %d: %s %s vs %s %s", i, f.Name, f.MD5, g.Name, g.MD5)
		}
	}
}

// A revoked lease publishes nothing: not the hour's folder, not its
// store version (exit 3).
func TestStoreFencedPutPublishesNothing(t *testing.T) {
	e := newEnv(t, hourlyKeys+"\nlines_per_file: 4")
	e.writeHours("20241212", map[int]int{3: 5})
	s := openStore(t, t.TempDir())
	lease := &numbered{n: 2, revoked: true}
	_, err := Run(fence.With(context.Background(), lease), Options{Config: e.cfg, Iface: e.cfg.Interfaces["X"], Period: naming.MustPeriod("2024121203"), Workers: 2, Store: s})
	if exit.Code(err) != exit.Partial || !strings.Contains(err.Error(), "taken over") {
		t.Fatalf("fenced hour: %v (exit %d)", err, exit.Code(err))
	}
	if v, _ := s.Latest(context.Background(), "X", "2024121203"); v != nil {
		t.Errorf("a fenced run's version is in the store: %+v", v)
	}
	if _, err := os.Stat(filepath.Join(chunkDir(e.cfg, "X", naming.MustPeriod("2024121203")), "manifest.json")); !os.IsNotExist(err) {
		t.Errorf("a fenced run published its chunk folder: %v", err)
	}
}

// An assembly that finds an hour in no store claims the hour's lease; an
// hour held elsewhere stops it (busy, exit 3) instead of packing it twice.
func TestStoreAssemblyWaitsForAnHourPackedElsewhere(t *testing.T) {
	e := newEnv(t, hourlyKeys+"\nlines_per_file: 4")
	e.writeHours("20241212", map[int]int{0: 2})
	s := openStore(t, t.TempDir())
	o := Options{Config: e.cfg, Iface: e.cfg.Interfaces["X"], Period: naming.MustPeriod("20241212"), Workers: 2, Store: s,
		ClaimHour: func(ctx context.Context, h naming.Period) (context.Context, func(), error) {
			if h.Hour() == "05" {
				return ctx, nil, exit.Busy(errors.New("pack/X/2024121205 is being run by m2"))
			}
			return fence.With(ctx, &numbered{n: 1}), func() {}, nil
		}}
	_, err := Assemble(context.Background(), o)
	if exit.Code(err) != exit.Partial || !strings.Contains(err.Error(), "hour 05 is in no chunk store yet") || !strings.Contains(err.Error(), "m2") {
		t.Fatalf("assembly: %v (exit %d)", err, exit.Code(err))
	}
	// Hours 00..04 were packed here under their own leases, and stored.
	if vs, _ := s.Versions(context.Background(), "X"); len(vs) != 5 {
		t.Errorf("%d hours stored, want 5", len(vs))
	}
}

func twoDigit(h int) string { return string(rune('0'+h/10)) + string(rune('0'+h%10)) }
