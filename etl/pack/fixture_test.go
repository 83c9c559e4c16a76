package pack

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/workdir"
	"github.com/chama-data/chama/naming"
)

// The checked-in fixture (testdata/pack): a two-member gzip file and a
// plain CRLF file, split by province, converted to GBK, one reject. The
// expected tree and lines are in testdata/pack/want.
func TestPackFixture(t *testing.T) {
	c, err := config.Load("../../testdata/pack/chama.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c.Workdir = t.TempDir()
	m, err := Run(context.Background(), Options{Config: c, Iface: c.Interfaces["CM001"], Period: naming.MustPeriod("20241212")})
	if err != nil {
		t.Fatal(err)
	}
	out := workdir.New(c.Workdir).Out("CM001", "20241212")
	wantTree, _ := os.ReadFile("../../testdata/pack/want/tree.txt")
	if got := strings.Join(listTree(t, out), "\n") + "\n"; got != string(wantTree) {
		t.Errorf("tree:\n%s\nwant:\n%s", got, wantTree)
	}
	wantLines, _ := os.ReadFile("../../testdata/pack/want/lines.txt")
	dec := simplifiedchinese.GBK.NewDecoder()
	for _, l := range strings.Split(strings.TrimSpace(string(wantLines)), "\n") {
		f := strings.Fields(l)
		raw := readGz(t, filepath.Join(out, f[0]))
		var got []string
		for _, r := range raw {
			s, err := dec.String(r)
			if err != nil {
				t.Fatalf("%s: not GBK: %v", f[0], err)
			}
			got = append(got, s)
		}
		if strings.Join(got, " ") != strings.Join(f[1:], " ") {
			t.Errorf("%s = %q, want %q", f[0], got, f[1:])
		}
	}
	if m.Rows.Read != 8 || m.Rows.Written != 7 || m.Rows.Rejected != 1 || m.Rows.Delimiters != 1 {
		t.Errorf("rows %+v", m.Rows)
	}
	rej, _ := os.ReadFile(filepath.Join(out, workdir.RejectsFile))
	if string(rej) != "dt=20241212/part-00001\t2\t3 fields, want 4\t6\x01100\x01bad line\n" {
		t.Errorf("rejects %q", rej)
	}
	if m.Inputs[0].Lines != 4 || m.Inputs[1].Lines != 4 {
		t.Errorf("inputs %+v", m.Inputs)
	}
}
