package ledger

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/pgtest"
)

// exerciseLeases runs the lease rules on two handles of one ledger (two
// machines), with one injected clock.
func exerciseLeases(t *testing.T, a, b *Ledger) {
	t.Helper()
	ctx := t.Context()
	clock := time.Date(2024, 12, 13, 1, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	a.Now, b.Now = now, now
	a.machine, b.machine = "m1", "m2"
	unit := Unit(Run{Stage: StagePack, Iface: "51007", Period: "20241212", Hour: "07"})
	if unit != "pack/51007/20241212/07" {
		t.Fatalf("unit %q", unit)
	}
	la, err := a.Acquire(ctx, unit, a.Owner("r1"), 2*time.Minute)
	if err != nil || la.Fence != 1 {
		t.Fatalf("first acquire: %+v %v", la, err)
	}
	// A live lease of another owner: busy, naming the holder.
	_, err = b.Acquire(ctx, unit, b.Owner("r2"), 2*time.Minute)
	var busy *BusyError
	if !errors.As(err, &busy) || busy.Owner != la.Owner || busy.Fence != 1 {
		t.Fatalf("second machine: %v, want busy", err)
	}
	// The heartbeat keeps it: still busy past the first TTL.
	clock = clock.Add(90 * time.Second)
	if err := la.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(90 * time.Second)
	if _, err := b.Acquire(ctx, unit, b.Owner("r2"), 2*time.Minute); !errors.As(err, &busy) {
		t.Fatalf("renewed lease taken: %v", err)
	}
	if err := la.Check(ctx); err != nil {
		t.Fatalf("holder's check: %v", err)
	}
	// The holder dies (no more renewals): after expiry the other takes
	// over with the next fencing number; the old holder cannot publish.
	clock = clock.Add(3 * time.Minute)
	lb, err := b.Acquire(ctx, unit, b.Owner("r2"), 2*time.Minute)
	if err != nil || lb.Fence != 2 {
		t.Fatalf("takeover: %+v %v", lb, err)
	}
	var fenced *FencedError
	if err := la.Check(ctx); !errors.As(err, &fenced) || fenced.Now != 2 || fenced.By != lb.Owner {
		t.Fatalf("stale holder's check: %v", err)
	}
	if err := la.Renew(ctx); !errors.As(err, &fenced) {
		t.Fatalf("stale holder's renew: %v", err)
	}
	if err := la.Release(ctx); err != nil { // releases nothing
		t.Fatal(err)
	}
	if err := lb.Check(ctx); err != nil {
		t.Fatalf("new holder after the stale release: %v", err)
	}
	// Expired but not yet taken over: the holder's own check fails too.
	clock = clock.Add(5 * time.Minute)
	if err := lb.Check(ctx); !errors.As(err, &fenced) {
		t.Fatalf("expired holder's check: %v", err)
	}
	// Released: taken at once, fencing number still growing.
	lb2, err := b.Acquire(ctx, unit, b.Owner("r3"), time.Minute)
	if err != nil || lb2.Fence != 3 {
		t.Fatalf("re-acquire: %+v %v", lb2, err)
	}
	if err := lb2.Release(ctx); err != nil {
		t.Fatal(err)
	}
	lc, err := a.Acquire(ctx, unit, a.Owner("r4"), time.Minute)
	if err != nil || lc.Fence != 4 {
		t.Fatalf("after release: %+v %v", lc, err)
	}
	rows, err := a.Leases(ctx, "pack/51007/")
	if err != nil || len(rows) != 1 || rows[0].Owner != lc.Owner || rows[0].Fence != 4 {
		t.Fatalf("leases: %+v %v", rows, err)
	}
	if rows, _ := a.Leases(ctx, "pack/5100_/"); len(rows) != 0 {
		t.Errorf("LIKE wildcards in the prefix matched: %+v", rows)
	}
}

// raceLeases: machines racing for one unit, each through its own
// connection: exactly one gets it.
func raceLeases(t *testing.T, open func() *Ledger) {
	t.Helper()
	const n = 8
	var wg sync.WaitGroup
	wins := make(chan int64, n)
	for i := range n {
		l := open()
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := l.Acquire(t.Context(), "push/51007/20241212/plat", l.Owner(string(rune('a'+i))), time.Minute)
			var busy *BusyError
			switch {
			case err == nil:
				wins <- s.Fence
			case !errors.As(err, &busy):
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	close(wins)
	if len(wins) != 1 {
		t.Fatalf("%d machines got the lease, want 1", len(wins))
	}
}

func TestLeasesSQLite(t *testing.T) {
	p := filepath.Join(t.TempDir(), "ledger.db")
	open := func() *Ledger {
		l, err := OpenSQLite(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	}
	exerciseLeases(t, open(), open())
	raceLeases(t, open)
}

// TestLeasesPostgres: the same on a real PostgreSQL server, the shared
// ledger of several machines.
func TestLeasesPostgres(t *testing.T) {
	t.Setenv("CHAMA_TEST_LEASE_DSN", pgtest.Start(t))
	open := func() *Ledger {
		l, err := Open(&config.Config{Ledger: config.Ledger{Driver: "postgres", DSNEnv: "CHAMA_TEST_LEASE_DSN"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	}
	exerciseLeases(t, open(), open())
	raceLeases(t, open)
}

// TestHoldHeartbeat: the heartbeat keeps the lease past its TTL; once the
// lease is taken over, the holder's context is cancelled with the
// *FencedError as cause.
func TestHoldHeartbeat(t *testing.T) {
	p := filepath.Join(t.TempDir(), "ledger.db")
	a, err := OpenSQLite(p)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := OpenSQLite(p)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var mu sync.Mutex
	clock := time.Date(2024, 12, 13, 1, 0, 0, 0, time.UTC)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	a.Now, b.Now = now, now
	ctx, h, err := a.Hold(t.Context(), "pack/x/20241212", a.Owner("r1"), time.Minute, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	// Each beat renews: wait until one has moved the expiry past a point
	// the clock then crosses (no wall-clock deadline: the beats are polled).
	advance(50 * time.Second)
	for {
		rows, _ := a.Leases(t.Context(), "pack/x/")
		if len(rows) == 1 && rows[0].Expires.After(clock.Add(59*time.Second)) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	advance(50 * time.Second) // past the first expiry, within the renewed one
	if _, err := b.Acquire(t.Context(), "pack/x/20241212", b.Owner("r2"), time.Minute); err == nil {
		t.Fatal("a renewed lease was taken")
	}
	// Take it over behind the holder's back, as a machine that thought
	// it dead would (the beats would renew an expiry reset by hand).
	if _, err := b.db.Exec(`UPDATE chama_leases SET owner = 'm2:2:r2', fence = fence + 1`); err != nil {
		t.Fatal(err)
	}
	<-ctx.Done()
	var fenced *FencedError
	if !errors.As(context.Cause(ctx), &fenced) {
		t.Fatalf("cause %v, want fenced", context.Cause(ctx))
	}
	if err := h.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// A holder that cannot reach the ledger past its lease's expiry fences
// itself: its context is cancelled with a FencedError saying so.
func TestHoldFencesItselfWhenTheLedgerIsGone(t *testing.T) {
	a, err := OpenSQLite(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	clock := time.Date(2024, 12, 13, 1, 0, 0, 0, time.UTC)
	a.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); clock = clock.Add(time.Second); return clock }
	ctx, h, err := a.Hold(t.Context(), "push/x/20241212/plat", a.Owner("r1"), time.Minute, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	a.db.Close() // the ledger is gone; each beat advances the clock a second
	<-ctx.Done()
	var fenced *FencedError
	if !errors.As(context.Cause(ctx), &fenced) || fenced.Lost == "" || !strings.Contains(fenced.Error(), "expired while the ledger could not be reached") {
		t.Fatalf("cause %v", context.Cause(ctx))
	}
	h.Stop(t.Context()) // the release fails quietly
}
