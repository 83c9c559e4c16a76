package transform

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"gopkg.in/yaml.v3"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/naming"
)

// The Hive conformance suite: every case of testdata/hive/*.yaml runs
// through transform.Run, once column at a time and once on expr's VM row
// by row, over a one-row ODS table, and the staged value must be Hive's.
//
// A case file is a YAML list of:
//
//   - expr: 'a == b'          # a DWD derived column r = expr, written by ADS T
//     filter: true            # or: expr is T's filter; want is kept or dropped
//     row: {a: null, n: "5"}  # ODS values (text as Hive stores it; omitted: \N)
//     want: null              # Hive's result as text (null: NULL)
//     refused: "message part" # or: chama refuses the spec at validation, on purpose
//     differs: "why"          # or: a known difference; want is then chama's answer
//     source: "where Hive's answer comes from"
//
// A case may give sql instead of expr: a Hive SQL expression, written as
// T's `select: SELECT <sql> AS r FROM t` (a filter case: `SELECT 'kept'
// AS r FROM t WHERE <sql>`) and translated by internal/hivesql.
//
// The ODS table has the string columns a, b, c, bigint n, m and double d.
type hiveCase struct {
	Expr    string             `yaml:"expr"`
	SQL     string             `yaml:"sql"`
	Filter  bool               `yaml:"filter"`
	Row     map[string]*string `yaml:"row"`
	Want    yaml.Node          `yaml:"want"` // null: "null"; absent: refused
	Refused string             `yaml:"refused"`
	Differs string             `yaml:"differs"`
	Source  string             `yaml:"source"`
	Bad     string             `yaml:"bad_value"` // the ODS table's bad_value policy
	file    string
	line    int
}

// want is the expected text; NULL is "null".
func (c hiveCase) want() string {
	if c.Want.Tag == "!!null" {
		return "null"
	}
	return c.Want.Value
}

var hiveCols = []struct{ name, typ string }{{"a", "string"}, {"b", "string"}, {"c", "string"}, {"n", "bigint"}, {"m", "bigint"}, {"d", "double"}}

func loadHiveCases(t *testing.T) []hiveCase {
	t.Helper()
	files, err := filepath.Glob("../../testdata/hive/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no case files under testdata/hive (%v)", err)
	}
	sort.Strings(files)
	var all []hiveCase
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(doc.Content) == 0 {
			continue
		}
		for _, n := range doc.Content[0].Content {
			var c hiveCase
			if err := n.Decode(&c); err != nil {
				t.Fatalf("%s:%d: %v", f, n.Line, err)
			}
			c.file, c.line = filepath.Base(f), n.Line
			if (c.Expr == "") == (c.SQL == "") || c.Source == "" || (c.Want.Kind == 0) == (c.Refused == "") {
				t.Fatalf("%s:%d: a case needs expr or sql (one of them), source, and want or refused (one of them)", f, n.Line)
			}
			all = append(all, c)
		}
	}
	return all
}

// hiveConfig is the spec of one case.
func hiveConfig(c hiveCase, work, root string) map[string]any {
	cols := map[string]any{}
	colNode := &yaml.Node{Kind: yaml.MappingNode}
	for _, col := range hiveCols {
		cols[col.name] = col.typ
		colNode.Content = append(colNode.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: col.name}, &yaml.Node{Kind: yaml.ScalarNode, Value: col.typ})
	}
	ods := map[string]any{"source": "local", "path": "ods/t/dt={date}/hour={hour}", "format": "text", "columns": colNode}
	if c.Bad != "" {
		ods["bad_value"] = c.Bad
	}
	ads := map[string]any{"from": "t", "columns": map[string]any{"r": "r"}}
	derive := map[string]any{"r": c.Expr}
	if c.Filter {
		derive = map[string]any{"r": `"kept"`}
		ads["filter"] = c.Expr
	}
	dwd := map[string]any{"from": "t", "derive": derive}
	if c.SQL != "" {
		dwd = map[string]any{"from": "t"}
		ads = map[string]any{"select": "SELECT " + c.SQL + " AS r\nFROM t"}
		if c.Filter {
			ads["select"] = "SELECT 'kept' AS r\nFROM t\nWHERE " + c.SQL
		}
	}
	return map[string]any{
		"workdir":    work,
		"sources":    map[string]any{"local": map[string]any{"type": "file", "root": root}},
		"interfaces": map[string]any{"T": map[string]any{"source": "local", "path": "ads/T/dt={date}"}},
		"transform": map[string]any{
			"batch_rows": 4, "workers": 1, "time_zone": "Asia/Shanghai",
			"ods": map[string]any{"t": ods},
			"dwd": map[string]any{"t": dwd},
			"ads": map[string]any{"T": ads},
		},
	}
}

// runHiveCase gives the staged value of r ("dropped" when a filter case
// kept no row), or the error that stopped the spec.
func runHiveCase(t *testing.T, c hiveCase, mode evalMode) (string, error) {
	dir := t.TempDir()
	work, root := filepath.Join(dir, "work"), filepath.Join(dir, "root")
	y, err := yaml.Marshal(hiveConfig(c, work, root))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(y)
	if err != nil {
		return "", err
	}
	var fields []string
	for _, col := range hiveCols {
		v := `\N`
		if p, ok := c.Row[col.name]; ok && p != nil {
			v = *p
		}
		fields = append(fields, v)
	}
	part := filepath.Join(root, "ods/t/dt=20241212/hour=07")
	if err := os.MkdirAll(part, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(part, "000000_0"), []byte(strings.Join(fields, "\x01")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), Options{Config: cfg, Layer: LayerADS, Period: naming.MustPeriod("2024121207"), Log: quiet, mode: mode}); err != nil {
		return "", err
	}
	p := filepath.Join(StageDir(work, LayerADS), "T", "2024121207", "part-00001.parquet")
	if _, err := os.Stat(p); err != nil {
		return "dropped", nil
	}
	vals := readStagedStrings(t, p, "r")
	switch {
	case len(vals) == 0:
		return "dropped", nil
	case len(vals) > 1:
		t.Fatalf("%d rows from one", len(vals))
	}
	return vals[0], nil
}

// readStagedStrings reads a string column of a staged file, null as "null".
func readStagedStrings(t *testing.T, path, col string) []string {
	tbl := readParquetTable(t, path)
	defer tbl.Release()
	var out []string
	for _, chunk := range tbl.Column(tbl.Schema().FieldIndices(col)[0]).Data().Chunks() {
		a := chunk.(*array.String)
		for i := 0; i < a.Len(); i++ {
			if a.IsNull(i) {
				out = append(out, "null")
			} else {
				out = append(out, a.Value(i))
			}
		}
	}
	return out
}

func TestHiveConformance(t *testing.T) {
	cases := loadHiveCases(t)
	var match, refused, differs int
	for _, c := range cases {
		name := fmt.Sprintf("%s:%d", c.file, c.line)
		if c.SQL != "" {
			c.Expr = "SQL " + c.SQL // for messages
		}
		for _, mode := range []evalMode{evalVector, evalVM} {
			got, err := runHiveCase(t, c, mode)
			switch {
			case c.Refused != "":
				if err == nil || !strings.Contains(err.Error(), c.Refused) {
					t.Errorf("%s %s: want a refusal containing %q, got %q, %v", name, c.Expr, c.Refused, got, err)
				}
			case err != nil:
				t.Errorf("%s %s (%s): %v", name, c.Expr, c.Source, err)
			case got != c.want():
				t.Errorf("%s %s with %s: got %q, want %q (%s)", name, c.Expr, rowString(c.Row), got, c.want(), c.Source)
			}
		}
		switch {
		case c.Refused != "":
			refused++
		case c.Differs != "":
			differs++
		default:
			match++
		}
	}
	t.Logf("Hive conformance: %d cases: %d match, %d refused on purpose, %d differ", len(cases), match, refused, differs)
	if len(cases) < 150 {
		t.Errorf("only %d cases; the suite keeps at least 150", len(cases))
	}
}

func rowString(r map[string]*string) string {
	var ks []string
	for k, v := range r {
		if v == nil {
			ks = append(ks, k+"=NULL")
		} else {
			ks = append(ks, fmt.Sprintf("%s=%q", k, *v))
		}
	}
	sort.Strings(ks)
	return "{" + strings.Join(ks, " ") + "}"
}
