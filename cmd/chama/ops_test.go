package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/ledger"
)

// opsRun runs chama in-process with args and returns what it printed on
// stdout and its exit code.
func opsRun(t *testing.T, args ...string) (string, int) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = w
	done := make(chan []byte)
	go func() { b, _ := io.ReadAll(r); done <- b }()
	root := newRoot()
	root.SetArgs(args)
	err = root.ExecuteContext(t.Context())
	w.Close()
	os.Stdout = saved
	out := <-done
	return string(out), exit.Code(err)
}

// TestVerifyStatusAndLedgerThroughTheCLI: gen -> pack -> verify records a
// verify row in the ledger that status shows; a damaged file turns verify
// and status to failed; metrics land in the textfile.
func TestVerifyStatusAndLedgerThroughTheCLI(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "chama.yaml")
	os.WriteFile(cfgPath, []byte(`workdir: work
sources:
  ods: {type: file, root: ods}
interfaces:
  "51007":
    source: ods
    path: dt={date}/hour={hour}
    lines_per_file: 100
    embedded_delimiter: strip
    file_name: a_10000_{date}_{iface}_{resend:02}_{seq}.dat.gz
    verf_name: a_10000_{date}_{iface}_{resend:02}.verf
`), 0o644)
	prom := filepath.Join(dir, "chama.prom")
	base := []string{"--config", cfgPath, "--metrics-file", prom}
	if out, code := opsRun(t, append(base, "gen", "--out", filepath.Join(dir, "ods"), "--date", "20241212", "--rows", "250")...); code != 0 {
		t.Fatalf("gen: %d %s", code, out)
	}
	if out, code := opsRun(t, append(base, "pack", "--date", "20241212")...); code != 0 {
		t.Fatalf("pack: %d %s", code, out)
	}
	out, code := opsRun(t, append(base, "verify", "--date", "20241212")...)
	if code != 0 || !strings.HasPrefix(out, "CHAMA_VERIFY OK iface=51007 period=20241212 files=3 lines=250\n") {
		t.Fatalf("verify: %d\n%s", code, out)
	}
	l, err := ledger.OpenSQLite(filepath.Join(dir, "work", "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rows, err := l.Rows(t.Context(), ledger.Query{Stages: []string{ledger.StageVerify}})
	if err != nil || len(rows) != 1 {
		t.Fatalf("verify rows %v %v", rows, err)
	}
	if r := rows[0]; r.Iface != "51007" || r.Period != "20241212" || r.Status != ledger.OK || r.Files != 3 || r.RowsOut != 250 || r.Finished.IsZero() {
		t.Errorf("verify row %+v", r)
	}
	out, _ = opsRun(t, append(base, "status", "--date", "20241212")...)
	// The table is aligned by tabwriter, so column widths vary with content.
	if !regexp.MustCompile(`51007\s+20241212\s+verify\s+done\s+-\s+250\s`).MatchString(out) {
		t.Errorf("status:\n%s", out)
	}

	files, _ := filepath.Glob(filepath.Join(dir, "work", "out", "51007", "20241212", "*_0002.dat.gz"))
	os.Truncate(files[0], 20)
	out, code = opsRun(t, append(base, "verify", "--date", "20241212", "--json")...)
	if code != exit.Failure || !strings.Contains(out, `"reason": "size_mismatch"`) {
		t.Fatalf("damaged verify: %d\n%s", code, out)
	}
	out, _ = opsRun(t, append(base, "status", "--date", "20241212")...)
	if !strings.Contains(out, "verify  failed") || !strings.Contains(out, "size_mismatch "+filepath.Base(files[0])) {
		t.Errorf("status after damage:\n%s", out)
	}
	m, _ := os.ReadFile(prom)
	for _, want := range []string{`chama_last_run_success{stage="verify",iface="51007"} 0`, `chama_runs_total{stage="verify",iface="51007",result="ok"} 1`, `chama_runs_total{stage="verify",iface="51007",result="failed"} 1`} {
		if !bytes.Contains(m, []byte(want+"\n")) {
			t.Errorf("metrics lack %s:\n%s", want, m)
		}
	}
}

func TestReportCleanAndAirflowThroughTheCLI(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "chama.yaml")
	os.WriteFile(cfgPath, []byte(`workdir: work
sources:
  ods: {type: file, root: ods}
alerts:
  volume_threshold: 0.9
interfaces:
  "51007":
    source: ods
    path: dt={date}/hour={hour}
    file_name: a_10000_{date}_{iface}_{resend:02}_{seq}.dat.gz
    verf_name: a_10000_{date}_{iface}_{resend:02}.verf
`), 0o644)
	l, err := ledger.OpenSQLite(filepath.Join(dir, "work", "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	for day, rows := range map[string]int64{"20241212": 850, "20241211": 1000} {
		id, _ := l.Start(t.Context(), ledger.Run{Stage: "pack", Iface: "51007", Period: day, Hour: "07"})
		l.Finish(t.Context(), id, ledger.Result{RowsOut: rows})
	}
	l.Close()
	base := []string{"--config", cfgPath}

	// 85% is under the configured 0.9, not under --threshold 0.8.
	out, code := opsRun(t, append(base, "report", "volume", "--date", "20241212")...)
	if code != exit.Failure || !strings.HasPrefix(out, "CHAMA_ALERT kind=volume iface=51007 period=20241212 hour=07 rows=850 base_period=20241211 base_rows=1000 ratio=0.85 threshold=0.90\n") {
		t.Fatalf("volume: %d\n%s", code, out)
	}
	if out, code = opsRun(t, append(base, "report", "volume", "--date", "20241212", "--threshold", "0.8")...); code != 0 || strings.Contains(out, "CHAMA_ALERT") {
		t.Fatalf("volume at 0.8: %d\n%s", code, out)
	}
	if _, code = opsRun(t, append(base, "report", "volume", "--date", "20241212", "--threshold", "1.5")...); code != exit.Usage {
		t.Fatalf("bad threshold: exit %d", code)
	}
	// Nothing was pushed for a day long past: missing.
	out, code = opsRun(t, append(base, "report", "deadline", "--date", "20241212", "--by", "09:00")...)
	if code != exit.Failure || !strings.Contains(out, "CHAMA_ALERT kind=deadline iface=51007 period=20241212 by=2024-12-13T09:00 state=missing missing=1\n") {
		t.Fatalf("deadline: %d\n%s", code, out)
	}
	if _, code = opsRun(t, append(base, "report", "deadline", "--by", "9h")...); code != exit.Usage {
		t.Fatalf("bad --by: exit %d", code)
	}

	old := filepath.Join(dir, "work", "out", "51007", "20241101", "a_10000_20241101_51007_00_0001.dat.gz")
	os.MkdirAll(filepath.Dir(old), 0o755)
	os.WriteFile(old, []byte("x"), 0o644)
	long := time.Now().Add(-40 * 24 * time.Hour)
	os.Chtimes(old, long, long)
	out, code = opsRun(t, append(base, "clean", "--dry-run")...)
	if code != 0 || !strings.Contains(out, "CHAMA_CLEAN WOULD_DELETE file=out/51007/20241101/a_10000_20241101_51007_00_0001.dat.gz bytes=1 ") {
		t.Fatalf("clean --dry-run: %d\n%s", code, out)
	}
	if _, err := os.Stat(old); err != nil {
		t.Fatal("dry run deleted")
	}
	if out, code = opsRun(t, append(base, "clean")...); code != 0 || !strings.Contains(out, "CHAMA_CLEAN OK files=1 bytes=1 dirs=2 ") {
		t.Fatalf("clean: %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "work", "ledger.db")); err != nil {
		t.Fatal("clean deleted the ledger")
	}

	out, code = opsRun(t, append(base, "airflow-dag", "--binary", "/opt/chama/bin/chama")...)
	if code != 0 || !strings.Contains(out, `CHAMA = "/opt/chama/bin/chama"`) || !strings.Contains(out, `CONFIG = "`+cfgPath+`"`) || !strings.Contains(out, "pack_51007 >> verify_51007") {
		t.Fatalf("airflow-dag: %d\n%s", code, out)
	}
}
