package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/ledger"
)

// Hourly mode through the CLI: pack hour 00, deliver it early with push
// --partial (no .verf; a partial ledger row), assemble the day, push the
// rest and the .verf; then a re-packed hour 00 with one more file is
// refused by push before anything is sent; status --by-hour shows it all.
func TestHourlyCommands(t *testing.T) {
	dir := t.TempDir()
	srv, remote := startExchange(t, dir, "in")
	hour := func(h, n int) {
		in := filepath.Join(dir, "ods", "dt=20241212", fmt.Sprintf("hour=%02d", h))
		os.MkdirAll(in, 0o755)
		var b strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "%02d\x01%d\n", h, i)
		}
		os.WriteFile(filepath.Join(in, "part-00000"), []byte(b.String()), 0o644)
	}
	for h := range 24 {
		hour(h, 0)
	}
	hour(0, 4) // files of 3 and 1 lines
	hour(1, 3) // one file of 3
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
    path: dt={date}/hour={hour}
    hourly_pack: true
    allow_empty: true
    lines_per_file: 3
    routes: [{target: plat}]
`, srv.Port())), 0o644)
	run := func(wantCode int, args ...string) string {
		t.Helper()
		out, code, err := packCLI(t, append([]string{"--config", cfg}, args...)...)
		if code != wantCode {
			t.Fatalf("chama %v: exit %d (%v), want %d\n%s", args, code, err, wantCode, out)
		}
		return out + fmt.Sprint(err)
	}
	landed := func() []string {
		es, _ := os.ReadDir(filepath.Join(remote, "in"))
		var ns []string
		for _, e := range es {
			ns = append(ns, e.Name())
		}
		return ns
	}

	if out := run(0, "pack", "--date", "2024121200"); !strings.Contains(out, "CHAMA_PACK OK iface=51007 period=2024121200 sets=1 files=2 read=4 rows=4 ") {
		t.Errorf("hour pack: %s", out)
	}
	run(exit.NotReady, "push", "--date", "20241212") // not assembled: nothing without --partial
	// `chama run` for an hour re-packs it (same bytes), delivers the day's
	// known hours early and leaves verify to the assembled day.
	if out := run(0, "run", "--date", "2024121200"); !strings.Contains(out, "CHAMA_PUSH PARTIAL iface=51007 period=20241212 target=plat files=2 ") || strings.Contains(out, "CHAMA_VERIFY") {
		t.Errorf("partial push: %s", out)
	}
	if got := strings.Join(landed(), " "); got != "a_10000_20241212_51007_00_0001.dat.gz a_10000_20241212_51007_00_0002.dat.gz" {
		t.Errorf("after the partial push the target holds %s", got)
	}
	l, err := ledger.OpenSQLite(filepath.Join(dir, "work", "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := l.Rows(t.Context(), ledger.Query{Stages: []string{ledger.StagePush}})
	l.Close()
	if len(rows) != 2 || rows[len(rows)-1].Status != ledger.Partial {
		t.Errorf("push ledger rows %+v, want the --partial one recorded as partial", rows)
	}

	if out := run(0, "pack", "--date", "20241212"); !strings.Contains(out, "CHAMA_PACK OK iface=51007 period=20241212 sets=1 files=3 read=7 rows=7 ") {
		t.Errorf("assembly: %s", out)
	}
	if out := run(0, "push", "--date", "20241212"); !strings.Contains(out, "CHAMA_PUSH OK iface=51007 period=20241212 target=plat files=2 ") || !strings.Contains(out, "skipped=2") {
		t.Errorf("push of the assembled day: %s", out)
	}
	if n := len(landed()); n != 4 {
		t.Errorf("%d files on the target, want 3 and the .verf", n)
	}
	// The assembled day is an ordinary packed set to verify, here and there.
	if out := run(0, "verify", "--date", "20241212", "--remote", "--deep"); !strings.Contains(out, "CHAMA_VERIFY OK iface=51007 period=20241212 files=3 lines=7") {
		t.Errorf("verify: %s", out)
	}
	out := run(0, "status", "--date", "20241212", "--by-hour")
	for _, w := range []string{"51007  20241212  00    yes     2      4     day        1-2  plat 2/2", "51007  20241212  01    yes     1      3     day        3    plat 1/1", "51007  20241212  02    yes     0      0     day        -    plat 0/0"} {
		if !strings.Contains(out, w) {
			t.Errorf("status --by-hour lacks %q:\n%s", w, out)
		}
	}

	// Hour 00 re-packed with late rows: 7 lines, files of 3, 3, 1. The day
	// is rebuilt (hour 01's file becomes number 4); push refuses.
	hour(0, 7)
	run(0, "pack", "--date", "2024121200")
	before := len(srv.Events())
	out = run(exit.Failure, "push", "--date", "20241212")
	for _, w := range []string{"refusing to push a mixed set", "a_10000_20241212_51007_00_0002.dat.gz", "a_10000_20241212_51007_00_0003.dat.gz", "--resend 01", "--force"} {
		if !strings.Contains(out, w) {
			t.Errorf("refusal does not mention %q:\n%s", w, out)
		}
	}
	if evs := srv.Events()[before:]; len(evs) != 0 {
		t.Errorf("the refused push touched the target: %+v", evs)
	}
	if out := run(0, "status", "--date", "2024121200", "--by-hour"); !strings.Contains(out, "00    yes     3      7     day        1-3  plat 1/3") {
		t.Errorf("status of the re-packed hour:\n%s", out)
	}
	// The way out: a new re-send number, assembled from the same chunks.
	run(0, "pack", "--date", "20241212", "--resend", "1")
	if out := run(0, "push", "--date", "20241212", "--resend", "1"); !strings.Contains(out, "CHAMA_PUSH OK iface=51007 period=20241212 target=plat files=5 ") {
		t.Errorf("re-send push: %s", out)
	}
}
