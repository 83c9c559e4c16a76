package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/ledger"
)

// packCLI runs chama in-process with its stdout captured.
func packCLI(t *testing.T, args ...string) (string, int, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = w // before newRoot, which takes os.Stdout as the commands' stdout
	done := make(chan string)
	go func() {
		var b bytes.Buffer
		b.ReadFrom(r)
		done <- b.String()
	}()
	root := newRoot()
	root.SetArgs(args)
	err = root.ExecuteContext(t.Context())
	w.Close()
	os.Stdout = saved
	return <-done, exit.Code(err), err
}

// chama pack: usage errors exit 2 naming the bad value; a real pack prints
// its status line and writes the files.
func TestPackCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "chama.yaml")
	os.WriteFile(cfg, []byte(`workdir: work
sources:
  ods: {type: file, root: ods}
interfaces:
  "51007":
    source: ods
    path: dt={date}/hour={hour}
    lines_per_file: 100
    embedded_delimiter: "replace: "
`), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"pack"}, "--date is required"},
		{[]string{"pack", "--date", "2024121"}, `"2024121"`},
		{[]string{"pack", "--date", "20241212", "--iface", "51008"}, `unknown interface "51008"`},
		{[]string{"pack", "--date", "20241212", "--resend", "100"}, "--resend 100"},
	} {
		_, code, err := packCLI(t, append([]string{"--config", cfg}, tc.args...)...)
		if code != exit.Usage || err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: exit %d, err %v; want 2 and %q", tc.args, code, err, tc.want)
		}
	}
	if out, code, err := packCLI(t, "--config", cfg, "gen", "--out", filepath.Join(dir, "ods"), "--date", "20241212", "--rows", "250"); code != 0 {
		t.Fatalf("gen: %v %s", err, out)
	}
	out, code, err := packCLI(t, "--config", cfg, "pack", "--date", "20241212", "--resend", "2")
	if code != 0 {
		t.Fatalf("pack: exit %d %v\n%s", code, err, out)
	}
	re := regexp.MustCompile(`(?m)^CHAMA_PACK OK iface=51007 period=20241212 sets=1 files=3 read=250 rows=250 filtered=0 rejected=0 embedded_delimiters=\d+ bytes=\d+ secs=[\d.]+ input=source$`)
	if !re.MatchString(out) {
		t.Errorf("status line missing:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "work/out/51007/20241212/a_10000_20241212_51007_02_0003.dat.gz")); err != nil {
		t.Error(err)
	}
	out, code, _ = packCLI(t, "--config", cfg, "pack", "--date", "20241213")
	if code != exit.NotReady || !strings.Contains(out, `CHAMA_PACK NOTREADY iface=51007 period=20241213 err="interface 51007 period 20241213: partition not found: `) {
		t.Errorf("missing day: exit %d\n%s", code, out)
	}

	// Both runs are in the run ledger, with the manifest's counts.
	c, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(c)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rows, err := l.Rows(t.Context(), ledger.Query{Stages: []string{ledger.StagePack}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Period != "20241212" || rows[0].Status != ledger.OK || rows[0].RowsOut != 250 || rows[0].Files != 3 ||
		rows[1].Period != "20241213" || rows[1].Status != ledger.NotReady || !strings.Contains(rows[1].Err, "partition not found") {
		t.Errorf("ledger rows %+v", rows)
	}
}
