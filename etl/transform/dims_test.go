package transform

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/hdfstest"
	"github.com/chama-data/chama/naming"
)

// The team's 51010 routing: DWD events joined with the mapping table
// dim_domain_interface_di (select distinct domain, interface ... where
// interface = '51010') on events.domain = dim.domain.
const dimSpec = `workdir: "{{WORK}}"
sources:
  local: {type: file, root: "{{ROOT}}"}
interfaces:
  "51010": {source: local, path: "ads/51010/dt={date}"}
transform:
  batch_rows: 2
  workers: 2
  dims:
    dim_domain_interface_di:
      source: local
      path: dim/dim_domain_interface_di/dt={date}
      columns: {domain: string, interface: string, weight: bigint}
{{DIMEXTRA}}
  ods:
    events:
      source: local
      path: ods/events/dt={date}
      columns: {event_id: string, url: string, n: bigint}
  dwd:
    events:
      from: events
      derive:
        domain: parse_url(url, "HOST")
{{DWDEXTRA}}
  ads:
{{ADS}}
`

const dimADSYAML = `    "51010":
      from: events
      lookups:
        - dim: dim_domain_interface_di
          as: d
          on: {domain: domain}
          where: interface == "51010"
          distinct: true
          columns: {iface: interface}
      columns: {event_id: event_id, domain: domain, iface: iface}
`

const dimADSSQL = `    "51010":
      select: |
        SELECT e.event_id, e.domain, d.interface AS iface
          FROM events e
          JOIN (SELECT DISTINCT domain, interface
                  FROM dim_domain_interface_di
                 WHERE interface = '51010') d
            ON e.domain = d.domain
`

// dimRows: two rows of one (domain, interface) (distinct collapses
// them), one of another interface (where drops it), one NULL key.
var dimRows = [][]string{
	{"a.10086.cn", "51010", "1"},
	{"a.10086.cn", "51010", "2"},
	{"b.10086.cn", "51007", "1"},
	{"c.10086.cn", "51010", "1"},
	{`\N`, "51010", "1"},
}

var dimEvents = [][]string{
	{"e1", "http://a.10086.cn/x", "1"},
	{"e2", "http://b.10086.cn/x", "2"},
	{"e3", `\N`, "3"},
	{"e4", "https://c.10086.cn/p?q=1", "4"},
	{"e5", "http://zzz/", "5"},
}

type dimFixture struct {
	work, root string
	cfg        *config.Config
}

func newDimFixture(t *testing.T, ads, dwdExtra, dimExtra string, dim [][]string) *dimFixture {
	t.Helper()
	dir := t.TempDir()
	f := &dimFixture{work: filepath.Join(dir, "work"), root: filepath.Join(dir, "root")}
	y := strings.NewReplacer("{{WORK}}", f.work, "{{ROOT}}", f.root, "{{ADS}}", ads, "{{DWDEXTRA}}", dwdExtra, "{{DIMEXTRA}}", dimExtra).Replace(dimSpec)
	var err error
	if f.cfg, err = config.Parse([]byte(y)); err != nil {
		t.Fatal(err)
	}
	writeLines(t, filepath.Join(f.root, "ods/events/dt=20241212/part-0"), dimEvents)
	if dim != nil {
		writeLines(t, filepath.Join(f.root, "dim/dim_domain_interface_di/dt=20241212/000000_0"), dim)
	}
	return f
}

func writeLines(t *testing.T, path string, rows [][]string) {
	t.Helper()
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(strings.Join(r, "\x01") + "\n")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (f *dimFixture) run(t *testing.T, layer string, mode evalMode) (map[string][]string, *Summary, error) {
	t.Helper()
	got := map[string][]string{}
	sum, err := Stream(context.Background(), Options{Config: f.cfg, Layer: layer, Period: naming.MustPeriod("20241212"), Log: quiet, mode: mode},
		func(hour string, out Output) error {
			for r := 0; r < int(out.Rec.NumRows()); r++ {
				got[out.Name] = append(got[out.Name], string(AppendLine(nil, out.Rec, r, '|', `\N`)))
			}
			return nil
		})
	return got, sum, err
}

// TestLookupInner51010: the inner lookup keeps the events whose domain
// the mapping lists for 51010, in YAML and as a SELECT, in both
// evaluators; the others are counted filtered, and the dimension's own
// rows are accounted for.
func TestLookupInner51010(t *testing.T) {
	want := []string{"e1|a.10086.cn|51010", "e4|c.10086.cn|51010"}
	for name, ads := range map[string]string{"yaml": dimADSYAML, "select": dimADSSQL} {
		for _, mode := range []evalMode{evalVector, evalVM} {
			f := newDimFixture(t, ads, "", "", dimRows)
			got, sum, err := f.run(t, LayerADS, mode)
			if err != nil {
				t.Fatalf("%s mode %d: %v", name, mode, err)
			}
			if !reflect.DeepEqual(got["51010"], want) {
				t.Errorf("%s mode %d: got %q, want %q", name, mode, got["51010"], want)
			}
			r := sum.Rows["51010"]
			if r.Read != 5 || r.Written != 2 || r.Filtered != 3 || r.Rejected != 0 {
				t.Errorf("%s: rows %+v, want read 5 = written 2 + filtered 3", name, r)
			}
			if len(sum.Lookups) != 1 {
				t.Fatalf("%s: lookups %+v", name, sum.Lookups)
			}
			l := sum.Lookups[0]
			if l.ID != "ads.51010.d" || l.Read != 5 || l.Kept != 2 || l.WhereDropped != 1 || l.NullKeys != 1 || l.Collapsed != 1 || len(l.Files) != 1 {
				t.Errorf("%s: lookup summary %+v", name, l)
			}
		}
	}
}

// TestLookupLeft: a left lookup keeps every row, with NULL columns where
// no dim row matches; in a DWD table its columns follow the derived ones.
func TestLookupLeft(t *testing.T) {
	dwd := `      lookups:
        - dim: dim_domain_interface_di
          type: left
          on: {domain: domain}
          where: interface == "51010"
          distinct: true
          columns: {iface: interface}
`
	ads := `    "51010":
      from: events
      lookups:
        - {dim: dim_domain_interface_di, as: m, type: left, on: {domain: domain}, where: 'interface == "51007"', columns: {other: interface, w: weight}}
      filter: is_null(other)
      columns: {event_id: event_id, iface: iface, other: other, w: w}
`
	for _, mode := range []evalMode{evalVector, evalVM} {
		f := newDimFixture(t, ads, dwd, "", dimRows)
		got, _, err := f.run(t, LayerDWD, mode)
		if err != nil {
			t.Fatal(err)
		}
		wantDWD := []string{"e1|http://a.10086.cn/x|1|a.10086.cn|51010", "e2|http://b.10086.cn/x|2|b.10086.cn|\\N", "e3|\\N|3|\\N|\\N",
			"e4|https://c.10086.cn/p?q=1|4|c.10086.cn|51010", "e5|http://zzz/|5|zzz|\\N"}
		if !reflect.DeepEqual(got["events"], wantDWD) {
			t.Errorf("mode %d dwd: got %q\nwant %q", mode, got["events"], wantDWD)
		}
		got, _, err = f.run(t, LayerADS, mode)
		if err != nil {
			t.Fatal(err)
		}
		wantADS := []string{"e1|51010|\\N|\\N", "e3|\\N|\\N|\\N", "e4|51010|\\N|\\N", "e5|\\N|\\N|\\N"}
		if !reflect.DeepEqual(got["51010"], wantADS) {
			t.Errorf("mode %d ads: got %q\nwant %q", mode, got["51010"], wantADS)
		}
	}
}

// TestLookupRefusals: what a Hive join would do differently, or a dim
// that cannot be used, stops the run with the place and the reason.
func TestLookupRefusals(t *testing.T) {
	noDistinct := strings.Replace(dimADSYAML, "          distinct: true\n", "", 1)
	for _, c := range []struct {
		name, ads, dimExtra string
		dim                 [][]string
		want                []string
		code                int
	}{
		{"duplicate key", noDistinct, "", dimRows,
			[]string{"key domain=\"a.10086.cn\" appears twice", "000000_0 line 1 and", "000000_0 line 2", "a Hive join would repeat every matching row"}, exit.Failure},
		{"max_rows", dimADSYAML, "      max_rows: 1", dimRows,
			[]string{"lookup ads.51010.d holds more than max_rows (1) rows at", "000000_0 line 4", "raise transform.dims.dim_domain_interface_di.max_rows"}, exit.Failure},
		{"max_bytes", dimADSYAML, "      max_bytes: 40", dimRows,
			[]string{"holds more than max_bytes (40)"}, exit.Failure},
		{"missing partition", dimADSYAML, "", nil,
			[]string{"dim dim_domain_interface_di: partition not found: dim/dim_domain_interface_di/dt=20241212"}, exit.NotReady},
		{"bad line", dimADSYAML, "", [][]string{{"a.10086.cn", "51010", "1"}, {"x", "51010"}},
			[]string{"000000_0 line 2: 2 fields, want 3", "a dimension table must read whole"}, exit.Failure},
		{"bad number", dimADSYAML, "", [][]string{{"a.10086.cn", "51010", "x1"}},
			[]string{"000000_0 line 1:", "weight"}, exit.Failure},
		{"string against bigint", strings.Replace(dimADSYAML, "on: {domain: domain}", "on: {weight: event_id}", 1), "", dimRows,
			[]string{"key weight of dim dim_domain_interface_di is a bigint but the row's value e1 is a string", "Hive would compare them as doubles, chama refuses"}, exit.Failure},
	} {
		f := newDimFixture(t, c.ads, "", c.dimExtra, c.dim)
		_, _, err := f.run(t, LayerADS, evalVector)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error lacks %q:\n%v", c.name, w, err)
			}
		}
		if got := exit.Code(err); got != c.code {
			t.Errorf("%s: exit %d, want %d (%v)", c.name, got, c.code, err)
		}
	}
}

// TestLookupParquetDim: a dimension table in Parquet, named as one file.
func TestLookupParquetDim(t *testing.T) {
	f := newDimFixture(t, dimADSYAML, "", "", nil)
	d := f.cfg.Transform.Dims["dim_domain_interface_di"]
	d.Format, d.Path, d.File = "parquet", "", "dim/mapping.parquet"
	writeParquetRows(t, filepath.Join(f.root, "dim/mapping.parquet"), dimSchema(d), dimRows)
	got, _, err := f.run(t, LayerADS, evalVector)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"e1|a.10086.cn|51010", "e4|c.10086.cn|51010"}; !reflect.DeepEqual(got["51010"], want) {
		t.Errorf("got %q, want %q", got["51010"], want)
	}
}

// TestLookupDimFromHDFS: the dimension table is a Hive partition on HDFS
// (a namenode and a datanode on 127.0.0.1), ready once its _SUCCESS
// marker is there.
func TestLookupDimFromHDFS(t *testing.T) {
	hroot := t.TempDir()
	c, err := hdfstest.Start(hdfstest.Options{Root: hroot})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f := newDimFixture(t, dimADSSQL, "", "", nil)
	f.cfg.Sources["hdfs1"] = &config.Source{Type: "hdfs", Namenodes: c.Addrs(), User: "chama", Root: "/wh", Ready: "marker", Marker: "_SUCCESS"}
	f.cfg.Transform.Dims["dim_domain_interface_di"].Source = "hdfs1"
	part := filepath.Join(hroot, "wh/dim/dim_domain_interface_di/dt=20241212")
	writeLines(t, filepath.Join(part, "000000_0"), dimRows)
	_, _, err = f.run(t, LayerADS, evalVector)
	if exit.Code(err) != exit.NotReady || !strings.Contains(err.Error(), "no _SUCCESS marker") {
		t.Fatalf("without its marker: %v (exit %d), want not ready", err, exit.Code(err))
	}
	if err := os.WriteFile(filepath.Join(part, "_SUCCESS"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got, sum, err := f.run(t, LayerADS, evalVector)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"e1|a.10086.cn|51010", "e4|c.10086.cn|51010"}; !reflect.DeepEqual(got["51010"], want) {
		t.Errorf("got %q, want %q", got["51010"], want)
	}
	if l := sum.Lookups[0]; l.Read != 5 || l.Kept != 2 || !reflect.DeepEqual(l.Files, []string{"dim/dim_domain_interface_di/dt=20241212/000000_0"}) {
		t.Errorf("lookup summary %+v", l)
	}
}

// TestLookupParquetPositions: rows of a Parquet dimension are numbered
// through the file, past the first batch.
func TestLookupParquetPositions(t *testing.T) {
	f := newDimFixture(t, strings.Replace(dimADSYAML, "          distinct: true\n", "", 1), "", "", nil)
	d := f.cfg.Transform.Dims["dim_domain_interface_di"]
	d.Format, d.Path, d.File = "parquet", "", "dim/mapping.parquet"
	var rows [][]string
	for i := range 9000 {
		rows = append(rows, []string{"d" + strconv.Itoa(i), "51010", "1"})
	}
	rows = append(rows, []string{"d0", "51010", "2"})
	writeParquetRows(t, filepath.Join(f.root, "dim/mapping.parquet"), dimSchema(d), rows)
	_, _, err := f.run(t, LayerADS, evalVector)
	if err == nil || !strings.Contains(err.Error(), "mapping.parquet row 1 and ") || !strings.Contains(err.Error(), "mapping.parquet row 9001)") {
		t.Errorf("want the duplicate at rows 1 and 9001: %v", err)
	}
}

// TestLookupWaitsForODS: while the ODS partition is not ready the run is
// "not ready" (exit 4) without reading the dimension, even a bad one.
func TestLookupWaitsForODS(t *testing.T) {
	f := newDimFixture(t, dimADSYAML, "", "", [][]string{{"only two", "fields"}})
	if err := os.RemoveAll(filepath.Join(f.root, "ods")); err != nil {
		t.Fatal(err)
	}
	_, _, err := f.run(t, LayerADS, evalVector)
	if exit.Code(err) != exit.NotReady || !strings.Contains(err.Error(), "ods events") {
		t.Errorf("got %v (exit %d), want the ODS partition not ready", err, exit.Code(err))
	}
}
