package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/hdfstest"
	"github.com/chama-data/chama/internal/ledger"
	"github.com/chama-data/chama/internal/workdir"
	"github.com/chama-data/chama/transfer/pull"
)

// chama pull against the HDFS test server: not ready is exit 4 with the
// stable line; once the marker is there the hour is staged (exit 0), and
// --json gives the summary.
func TestPullCommand(t *testing.T) {
	dir := t.TempDir()
	hdfsDir := filepath.Join(dir, "hdfs")
	part := filepath.Join(hdfsDir, "wh", "ods", "dt=20241212", "hour=07")
	os.MkdirAll(part, 0o755)
	os.WriteFile(filepath.Join(part, "000000_0"), []byte("a\x01b\nc\x01d\n"), 0o644)
	c, err := hdfstest.Start(hdfstest.Options{Root: hdfsDir})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := filepath.Join(dir, "chama.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`workdir: work
sources:
  hdfs1:
    type: hdfs
    namenodes: [%q]
    user: chama
    root: /wh
interfaces:
  "51007":
    source: hdfs1
    path: ods/dt={date}/hour={hour}
`, c.Addrs()[0])), 0o644)

	if _, code, err := packCLI(t, "--config", cfg, "pull", "--date", "2024121207", "--wait", "-1s"); code != exit.Usage {
		t.Errorf("negative --wait: exit %d (%v)", code, err)
	}
	out, code, _ := packCLI(t, "--config", cfg, "pull", "--date", "2024121207")
	want := `CHAMA_PULL NOTREADY iface=51007 period=2024121207 path=ods/dt=20241212/hour=07 source=hdfs1 reason="no _SUCCESS marker"`
	if code != exit.NotReady || strings.TrimSpace(out) != want {
		t.Fatalf("exit %d, output %q; want 4 and %q", code, out, want)
	}
	os.WriteFile(filepath.Join(part, "_SUCCESS"), nil, 0o644)
	out, code, err = packCLI(t, "--config", cfg, "pull", "--date", "2024121207", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %v\n%s", code, err, out)
	}
	var res pull.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Files != 1 || res.Bytes != 8 {
		t.Fatalf("json summary %q: %v", out, err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "work", "raw", "51007", "20241212", "ods", "dt=20241212", "hour=07", "000000_0"))
	if err != nil || string(got) != "a\x01b\nc\x01d\n" {
		t.Fatalf("staged %q, %v", got, err)
	}
	// Both runs are in the run ledger.
	l, err := ledger.OpenSQLite(filepath.Join(dir, "work", workdir.LedgerFile))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rows, err := l.Rows(t.Context(), ledger.Query{Stages: []string{ledger.StagePull}})
	if err != nil || len(rows) != 2 {
		t.Fatalf("ledger rows %+v, %v", rows, err)
	}
	if r := rows[0]; r.Status != ledger.NotReady || r.Period != "2024121207" || r.Hour != "07" || r.Host != "hdfs1" {
		t.Errorf("first run: %+v", r)
	}
	if r := rows[1]; r.Status != ledger.OK || r.Files != 1 || r.Bytes != 8 {
		t.Errorf("second run: %+v", r)
	}
}
