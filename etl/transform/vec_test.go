package transform

import (
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/chama-data/chama/config"
)

// specGen writes random, well-typed expressions over the test spec's
// columns: string expressions and predicates nested a few levels, with
// ?:, &&, ||, !, ==, in (SQL's NULL logic), the funcs package's functions
// and shapes only expr's VM runs (map indexing).
type specGen struct {
	r    *rand.Rand
	strs []string // string columns in scope
}

func (g *specGen) str(depth int) string {
	if depth <= 0 || g.r.IntN(4) == 0 {
		if g.r.IntN(5) == 0 {
			return fmt.Sprintf("%q", []string{"", "a", "app01", "Android", "210315_QYCS_42", "x/y"}[g.r.IntN(6)])
		}
		return g.strs[g.r.IntN(len(g.strs))]
	}
	d := depth - 1
	switch g.r.IntN(14) {
	case 0:
		return fmt.Sprintf("lower(%s)", g.str(d))
	case 1:
		return fmt.Sprintf("upper(%s)", g.str(d))
	case 2:
		return fmt.Sprintf("concat(%s, %s)", g.str(d), g.str(d))
	case 3:
		return fmt.Sprintf("nvl(%s, %s)", g.str(d), g.str(d))
	case 4:
		return fmt.Sprintf("substr(%s, %d, %d)", g.str(d), 1+g.r.IntN(3), 1+g.r.IntN(6))
	case 5:
		return fmt.Sprintf("split_part(%s, %q, %d)", g.str(d), []string{"_", "/", "."}[g.r.IntN(3)], 1+g.r.IntN(2))
	case 6:
		return fmt.Sprintf("(%s ? %s : %s)", g.pred(d), g.str(d), g.str(d))
	case 7:
		return fmt.Sprintf("empty_null(%s)", g.str(d))
	case 8:
		return fmt.Sprintf("coalesce(%s, %s, \"z\")", g.str(d), g.str(d))
	case 9:
		return fmt.Sprintf("ua_os(%s)", g.str(d))
	case 10:
		return fmt.Sprintf("get_json_object(%s, \"$.WT_av\")", g.str(d))
	case 11:
		return fmt.Sprintf("concat_ws(\",\", %s, %s)", g.str(d), g.str(d))
	case 12:
		return fmt.Sprintf("str_to_map(concat(\"k=\", %s), \",\", \"=\")[\"k\"]", g.str(d)) // map indexing: expr's VM
	}
	return fmt.Sprintf("case_map(%s, \"Android\", \"1\", \"iOS\", \"2\", \"9\")", g.str(d))
}

func (g *specGen) pred(depth int) string {
	d := depth - 1
	if depth <= 0 {
		d = 0
	}
	switch g.r.IntN(9) {
	case 0:
		return fmt.Sprintf("is_null(%s)", g.str(d))
	case 1:
		return fmt.Sprintf("str_contains(%s, %q)", g.str(d), []string{"a", "QYCS", "/"}[g.r.IntN(3)])
	case 2:
		return fmt.Sprintf("%s == %s", g.str(d), g.str(d))
	case 3:
		return fmt.Sprintf("%s != \"app01\"", g.str(d))
	case 4:
		return fmt.Sprintf("%s in [\"app01\", \"app02\", \"partner9\", \"Android\"]", g.str(d))
	case 5:
		return fmt.Sprintf("(%s && %s)", g.pred(d), g.pred(d))
	case 6:
		return fmt.Sprintf("(%s || %s)", g.pred(d), g.pred(d))
	case 7:
		return fmt.Sprintf("!(%s)", g.pred(d))
	}
	return fmt.Sprintf("len(nvl(%s, \"\")) > %d", g.str(d), g.r.IntN(12)) // expr's VM
}

// Random specs (derived columns reading earlier ones, filters, computed
// partition columns, VM-only shapes mixed in) give the same output column
// at a time as on expr's VM row by row, over batches spanning several
// windows.
func TestEvalModesAgreeRandomSpecs(t *testing.T) {
	base := newFixture(t, "text", nil)
	var rows [][]string
	sample := sampleRows(t)
	for i := 0; i < 1400; i++ {
		r := append([]string(nil), sample[(i*5+i/64)%len(sample)]...)
		r[0] = fmt.Sprintf("e%d", i)
		rows = append(rows, r)
	}
	base.writeText(t, "07", rows, 1400, false)
	spec := func(seed uint64) string {
		g := &specGen{r: rand.New(rand.NewPCG(seed, 7)), strs: []string{"event_id", "data_source_id", "user_key", "user_id", "user_agent", "ip", "mc_ev", "attributes"}}
		var b strings.Builder
		b.WriteString("  dwd:\n    events:\n      from: events\n      derive:\n")
		for k := range 4 {
			fmt.Fprintf(&b, "        d%d: '%s'\n", k, g.str(3))
			g.strs = append(g.strs, fmt.Sprintf("d%d", k))
		}
		b.WriteString("  ads:\n")
		for a := range 3 {
			fmt.Fprintf(&b, "    A%d:\n      from: events\n      filter: '%s'\n", a, g.pred(2))
			if a == 2 {
				b.WriteString("      partition: p\n")
			}
			b.WriteString("      columns:\n        id: event_id\n")
			if a == 2 {
				fmt.Fprintf(&b, "        p: 'nvl(substr(%s, 1, 1), \"-\")'\n", g.str(1))
			}
			for c := range 4 {
				fmt.Fprintf(&b, "        c%d: '%s'\n", c, g.str(3))
			}
		}
		return b.String()
	}
	tried, checked := 0, 0
	for seed := uint64(1); checked < 25 && tried < 200; seed++ {
		tried++
		y := spec(seed)
		cfgText := strings.Replace(string(mustRead(t, "../../testdata/transform/spec.yaml")), "batch_rows: 3", "batch_rows: 1100", 1)
		cfgText = cfgText[:strings.Index(cfgText, "  dwd:\n")] + y
		cfgText = strings.NewReplacer("{{WORK}}", base.work, "{{ROOT}}", base.root, "{{FORMAT}}", "text", "{{XDB}}", tinyXDB(t, t.TempDir())).Replace(cfgText)
		cfg, err := config.Parse([]byte(cfgText))
		if err != nil {
			continue // a random expression expr's checker refuses (a type mismatch)
		}
		vm, errVM := runMode(cfg, LayerADS, "2024121207", evalVM)
		vec, errVec := runMode(cfg, LayerADS, "2024121207", evalVector)
		if errVM != nil {
			// A runtime type error (nil + string): the VM oracle derives
			// every column of every row, the column evaluator only what
			// some output reads, so it may well not meet it.
			continue
		}
		if errVec != nil {
			t.Fatalf("seed %d: vector error %v, the VM's run was fine\n%s", seed, errVec, y)
		}
		checked++
		if !reflect.DeepEqual(vm, vec) {
			for k := range vm {
				if !reflect.DeepEqual(vm[k], vec[k]) {
					t.Fatalf("seed %d: %s differs (VM %d rows, vector %d)\n%s", seed, k, len(vm[k]), len(vec[k]), y)
				}
			}
			t.Fatalf("seed %d: outputs differ: VM %d, vector %d\n%s", seed, len(vm), len(vec), y)
		}
	}
	if checked < 25 {
		t.Fatalf("only %d of %d random specs compiled and ran", checked, tried)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A partition column with more distinct values than the evaluator keeps
// ids for (4096) loses no row when the ids are dropped in mid-run.
func TestManyPartitionValues(t *testing.T) {
	f := newFixture(t, "text", func(y string) string {
		y = strings.Replace(y, "batch_rows: 3", "batch_rows: 2500", 1)
		y = strings.Replace(y, "workers: 3", "workers: 1", 1) // one evaluator sees every value
		return strings.Replace(y, "    CM001:\n", `    CMX:
      from: events
      partition: event_id
      columns:
        event_id: event_id
    CM001:
`, 1)
	})
	var rows [][]string
	for i := 0; i < 6000; i++ {
		r := append([]string(nil), sampleRows(t)[i%8]...)
		r[0] = fmt.Sprintf("e%05d", max(i, 99)) // 100 rows share e00099: the 4096th value comes mid-window
		rows = append(rows, r)
	}
	f.writeText(t, "07", rows, 6000, false)
	got, err := runMode(f.cfg, LayerADS, "2024121207", evalVector)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for k, lines := range got {
		part, ok := strings.CutPrefix(k, "CMX/")
		if !ok {
			continue
		}
		for _, l := range lines {
			if l != part {
				t.Fatalf("part %s holds %q", part, l)
			}
		}
		n += len(lines)
	}
	if n != 6000 || len(got["CMX/e00099"]) != 100 {
		t.Fatalf("%d rows in CMX, %d in e00099; want 6000 and 100", n, len(got["CMX/e00099"]))
	}
}
