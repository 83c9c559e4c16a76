package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chama-data/chama/internal/ledger"
)

// TestDemoRunsEveryStageUnderOneRunID drives `chama demo` (gen, pack,
// push to the in-process SFTP server, verify) and checks what arrived, the
// ledger rows of every stage under one run id, and the metrics file.
func TestDemoRunsEveryStageUnderOneRunID(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	prom := filepath.Join(t.TempDir(), "chama.prom")
	out, code := opsRun(t, "demo", "--dir", dir, "--rows", "30000", "--metrics-file", prom)
	if code != 0 {
		t.Fatalf("demo exit %d:\n%s", code, out)
	}
	for _, want := range []string{
		"CHAMA_PACK OK iface=51007 period=20241219",
		"CHAMA_PACK OK iface=CM001 period=20241219",
		"CHAMA_PUSH OK iface=51007 period=20241219 target=exchange",
		"CHAMA_VERIFY OK iface=51007 period=20241219 files=1 lines=30000",
		"CHAMA_VERIFY OK iface=CM001 period=20241219",
		"incoming/national/a_10000_20241219_51007_00_0001.dat.gz",
		"incoming/national/a_10000_20241219_51007_00.verf",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "exchange", "incoming", "province", "a_10000_20241219_CM001_250_00_0001.dat.gz")); err != nil {
		t.Errorf("province file did not arrive with a 4-digit sequence: %v", err)
	}

	l, err := ledger.OpenSQLite(filepath.Join(dir, "work", "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rows, err := l.Rows(t.Context(), ledger.Query{})
	if err != nil {
		t.Fatal(err)
	}
	stages := map[string]int{}
	runIDs := map[string]bool{}
	for _, r := range rows {
		stages[r.Stage]++
		runIDs[r.RunID] = true
		if r.Status != ledger.OK {
			t.Errorf("ledger row %s %s %s: status %s (%s)", r.Stage, r.Iface, r.Period, r.Status, r.Err)
		}
	}
	if stages["pack"] != 2 || stages["push"] != 2 || stages["verify"] != 2 {
		t.Errorf("ledger rows per stage %v, want 2 each", stages)
	}
	if len(runIDs) != 1 {
		t.Errorf("one chama run should record one run id, got %v", runIDs)
	}
	m, err := os.ReadFile(prom)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`stage="pack",iface="CM001"`, `stage="push",iface="51007"`, `stage="verify",iface="51007"`} {
		if !strings.Contains(string(m), want) {
			t.Errorf("metrics lack %s:\n%s", want, m)
		}
	}

	// A second run delivers nothing new: every file is already confirmed.
	out, code = opsRun(t, "demo", "--dir", dir, "--rows", "30000")
	if code != 0 || !strings.Contains(out, "CHAMA_PUSH OK iface=51007 period=20241219 target=exchange files=0") {
		t.Errorf("re-run: exit %d\n%s", code, out)
	}
}
