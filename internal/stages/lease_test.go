package stages

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/fence"
	"github.com/chama-data/chama/internal/ledger"
	"github.com/chama-data/chama/internal/obs"
)

// Two runs (two machines' run ids) claiming one unit: the second is busy
// until the first releases; the claimed context carries the fence.
func TestLeasesClaim(t *testing.T) {
	on := true
	c := &config.Config{Ledger: config.Ledger{Driver: "sqlite", Leases: &on, LeaseTTL: config.Duration(time.Minute)}}
	l, err := ledger.OpenSQLite(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	a, err := NewLeases(c, &obs.Recorder{Ledger: l, RunID: "run-a"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewLeases(c, &obs.Recorder{Ledger: l, RunID: "run-b"})
	run := ledger.Run{Stage: ledger.StagePack, Iface: "51007", Period: "2024121207", Hour: "07"}
	ctx, check, release, err := a.Claim(t.Context(), run)
	if err != nil {
		t.Fatal(err)
	}
	if err := fence.Check(ctx); err != nil || check(ctx) != nil {
		t.Fatalf("holder's fence: %v", err)
	}
	_, _, _, err = b.Claim(t.Context(), run)
	if exit.Code(err) != exit.Partial || !strings.Contains(err.Error(), "run-a") {
		t.Fatalf("second claim: %v (exit %d), want busy naming run-a", err, exit.Code(err))
	}
	release()
	if err := fence.Check(ctx); err == nil {
		t.Error("a released lease still passes its fence")
	}
	if _, _, rel, err := b.Claim(t.Context(), run); err != nil {
		t.Fatalf("after release: %v", err)
	} else {
		rel()
	}
	// Leases on but no ledger: not started.
	if _, err := NewLeases(c, &obs.Recorder{}); exit.Code(err) != exit.Partial {
		t.Errorf("no ledger: %v", err)
	}
	// Leases off: none taken, claims pass.
	off := false
	c.Ledger.Leases = &off
	n, err := NewLeases(c, &obs.Recorder{Ledger: l})
	if err != nil || n != nil || n.Push() != nil {
		t.Errorf("leases off: %v %v", n, err)
	}
}
