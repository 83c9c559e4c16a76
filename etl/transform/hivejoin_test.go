package transform

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/naming"
)

// joinCase is one case of testdata/hive/join/cases.yaml.
type joinCase struct {
	Name    string     `yaml:"name"`
	SQL     string     `yaml:"sql"`
	Dim     [][]string `yaml:"dim"`
	Rows    [][]string `yaml:"rows"`
	Want    []string   `yaml:"want"`
	Refused string     `yaml:"refused"`
	Source  string     `yaml:"source"`
}

const joinSpec = `workdir: "{{WORK}}"
sources:
  local: {type: file, root: "{{ROOT}}"}
interfaces:
  T: {source: local, path: "ads/T/dt={date}"}
transform:
  batch_rows: 2
  workers: 1
  dims:
    dim:
      source: local
      path: dim/dt={date}
      columns: {k: string, v: string, n: bigint}
  ods:
    events:
      source: local
      path: ods/events/dt={date}
      columns: {id: string, k: string, n: bigint}
  dwd:
    events: {from: events}
  ads:
    T:
      select: |
{{SQL}}
`

// runJoinCase gives the output rows of one case, or the error that
// stopped it (at config validation or in the run).
func runJoinCase(t *testing.T, c joinCase, mode evalMode) ([]string, error) {
	dir := t.TempDir()
	work, root := filepath.Join(dir, "work"), filepath.Join(dir, "root")
	sql := "        " + strings.ReplaceAll(strings.TrimSpace(c.SQL), "\n", "\n        ")
	y := strings.NewReplacer("{{WORK}}", work, "{{ROOT}}", root, "{{SQL}}", sql).Replace(joinSpec)
	cfg, err := config.Parse([]byte(y))
	if err != nil {
		return nil, err
	}
	writeLines(t, filepath.Join(root, "dim/dt=20241212/000000_0"), c.Dim)
	writeLines(t, filepath.Join(root, "ods/events/dt=20241212/000000_0"), c.Rows)
	var got []string
	_, err = Stream(context.Background(), Options{Config: cfg, Layer: LayerADS, Period: naming.MustPeriod("20241212"), Log: quiet, mode: mode},
		func(hour string, out Output) error {
			for r := 0; r < int(out.Rec.NumRows()); r++ {
				got = append(got, string(AppendLine(nil, out.Rec, r, '|', `\N`)))
			}
			return nil
		})
	return got, err
}

// TestHiveJoinConformance runs testdata/hive/join/cases.yaml: Hive's join
// answers, or a refusal naming the reason, never a different answer.
func TestHiveJoinConformance(t *testing.T) {
	b, err := os.ReadFile("../../testdata/hive/join/cases.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []joinCase
	if err := yaml.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	match, refused := 0, 0
	for _, c := range cases {
		if c.Source == "" || (c.Want != nil) == (c.Refused != "") {
			t.Errorf("%s: a case needs want or refused, and a source", c.Name)
		}
		for _, mode := range []evalMode{evalVector, evalVM} {
			got, err := runJoinCase(t, c, mode)
			switch {
			case c.Refused != "":
				if err == nil || !strings.Contains(err.Error(), c.Refused) {
					t.Errorf("%s (mode %d): want a refusal %q, got %q, %v", c.Name, mode, c.Refused, got, err)
				} else if mode == evalVector {
					refused++
				}
			case err != nil:
				t.Errorf("%s (mode %d): %v", c.Name, mode, err)
			case !reflect.DeepEqual(got, c.Want) && !(len(got) == 0 && len(c.Want) == 0):
				t.Errorf("%s (mode %d):\n  %s\n got %q\nwant %q (%s)", c.Name, mode, c.SQL, got, c.Want, c.Source)
			case mode == evalVector:
				match++
			}
		}
	}
	t.Logf("%d join cases: %d match Hive, %d refused", len(cases), match, refused)
	if len(cases) < 20 {
		t.Errorf("only %d join cases", len(cases))
	}
}
