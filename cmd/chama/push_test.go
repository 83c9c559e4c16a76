package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/ledger"
	"github.com/chama-data/chama/transfer"
)

// chama push through the CLI: pack a small day, push it to an in-process
// SFTP server, re-run (nothing sent), --json, and usage errors.
func TestPushCommand(t *testing.T) {
	dir := t.TempDir()
	srv, remote := startExchange(t, dir, "in")

	in := filepath.Join(dir, "ods", "dt=20241212")
	os.MkdirAll(in, 0o755)
	var b strings.Builder
	for i := 0; i < 250; i++ {
		fmt.Fprintf(&b, "%d\x01event\x01%d\n", i, i*7)
	}
	os.WriteFile(filepath.Join(in, "part-00000"), []byte(b.String()), 0o644)
	cfg := filepath.Join(dir, "chama.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`workdir: work
sources:
  ods: {type: file, root: ods}
targets:
  plat:
    primary: [{host: 127.0.0.1, port: %d}]
    user: chama
    auth: {key_file: id}
    known_hosts: known_hosts
    dir: /in
interfaces:
  "51007":
    source: ods
    path: dt={date}
    lines_per_file: 100
    routes: [{target: plat}]
`, srv.Port())), 0o644)

	if out, code, err := packCLI(t, "--config", cfg, "pack", "--date", "20241212"); code != 0 {
		t.Fatalf("pack: %d %v\n%s", code, err, out)
	}
	out, code, err := packCLI(t, "--config", cfg, "push", "--date", "20241212")
	if code != 0 || !strings.Contains(out, "CHAMA_PUSH OK iface=51007 period=20241212 target=plat files=4 ") {
		t.Fatalf("push: exit %d %v\n%s", code, err, out)
	}
	es, _ := os.ReadDir(filepath.Join(remote, "in"))
	if len(es) != 4 {
		t.Errorf("%d files arrived, want 3 data files and the .verf", len(es))
	}
	out, code, _ = packCLI(t, "--config", cfg, "push", "--date", "20241212", "--json")
	var res transfer.PushResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 0 {
		t.Fatalf("--json: exit %d, %v\n%s", code, err, out)
	}
	if res.Files != 0 || res.Skipped != 4 || len(res.Jobs) != 1 || !res.Jobs[0].OK {
		t.Errorf("re-run summary %+v", res)
	}
	// Each delivery is a push row in the run ledger, with its target and host.
	l, err := ledger.OpenSQLite(filepath.Join(dir, "work", "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := l.Rows(t.Context(), ledger.Query{Stages: []string{ledger.StagePush}})
	l.Close()
	if err != nil || len(rows) != 2 {
		t.Fatalf("push ledger rows: %v %v", rows, err)
	}
	for _, r := range rows {
		if r.Target != "plat" || r.Status != ledger.OK || r.Iface != "51007" {
			t.Errorf("ledger row %+v", r)
		}
		if r.Files == 4 && r.Host != srv.Addr() {
			t.Errorf("the first push's row should name the host: %+v", r)
		}
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"push", "--date", "20241212", "--resend", "100"}, exit.Usage, "--resend 100"},
		{[]string{"push", "--date", "20241212", "--resend", "1"}, exit.Usage, "re-send 00, not 01"},
		{[]string{"push", "--date", "20241213"}, exit.NotReady, "pack the period first"},
		{[]string{"push", "--date", "2024121207"}, exit.Usage, "interface 51007 is delivered per day: push --date 20241212"},
	} {
		out, code, err := packCLI(t, append([]string{"--config", cfg}, tc.args...)...)
		if code != tc.code || !strings.Contains(out+fmt.Sprint(err), tc.want) {
			t.Errorf("%v: exit %d (%v), want %d and %q\n%s", tc.args, code, err, tc.code, tc.want, out)
		}
	}
}
