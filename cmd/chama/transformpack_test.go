package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/etl/funcs"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/ledger"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/internal/workdir"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/transform/golden/want from this run")

const goldenDir = "../../testdata/transform/golden"

// goldenConfig writes the golden config into a temporary folder, with its
// workdir there, the checked-in ODS fixture as the source root, a tiny
// ip2region database built here and an SFTP server on 127.0.0.1 as the
// target (remote is its root).
func goldenConfig(t *testing.T, edit func(string) string) (cfg, work, remote string) {
	t.Helper()
	t.Setenv("CHAMA_TEST_MOBILE_KEY", "00112233445566778899aabbccddeeff")
	dir := t.TempDir()
	srv, remote := startExchange(t, dir, "national", "province")
	ip := func(s string) uint32 { v, _ := funcs.ParseIPv4(s); return v }
	xdb, err := funcs.BuildXDB([]funcs.XDBRange{
		{Start: ip("1.0.0.0"), End: ip("1.0.0.255"), Region: "中国|0|江苏省|南京市|移动"},
		{Start: ip("36.0.0.0"), End: ip("36.3.255.255"), Region: "中国|0|北京|北京市|移动"},
		{Start: ip("36.4.0.0"), End: ip("36.4.0.9"), Region: "中国|0|浙江省|杭州市|电信"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ip.xdb"), xdb, 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := os.ReadFile(filepath.Join(goldenDir, "chama.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	work = filepath.Join(dir, "work")
	y := strings.NewReplacer("{{WORK}}", work, "{{ROOT}}", root, "{{XDB}}", filepath.Join(dir, "ip.xdb"),
		"__PORT__", strconv.Itoa(srv.Port()), "{{KEY}}", filepath.Join(dir, "id"), "{{KNOWN_HOSTS}}", filepath.Join(dir, "known_hosts")).Replace(string(spec))
	if edit != nil {
		y = edit(y)
	}
	cfg = filepath.Join(dir, "chama.yaml")
	if err := os.WriteFile(cfg, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg, work, remote
}

// readOutput maps every file chama published under <work>/out (relative
// path) to what the golden compares: a data file's decompressed lines
// (key without .gz), a .verf with its ctime column blanked, rejects.txt as
// written.
func readOutput(t *testing.T, out string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		rel = filepath.ToSlash(rel)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		switch {
		case strings.HasSuffix(rel, ".dat.gz"):
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("%s: %v", rel, err)
			}
			plain, err := io.ReadAll(zr)
			if err != nil {
				t.Fatalf("%s: %v", rel, err)
			}
			got[strings.TrimSuffix(rel, ".gz")] = string(plain)
		case strings.HasSuffix(rel, ".verf"):
			var b strings.Builder
			for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
				cols := strings.Split(line, "|") // name|bytes|lines|period|ctime|md5
				if len(cols) != 6 || !regexp.MustCompile(`^\d{14}$`).MatchString(cols[4]) {
					t.Fatalf("%s: bad .verf line %q", rel, line)
				}
				cols[4] = "CTIME"
				b.WriteString(strings.Join(cols, "|") + "\n")
			}
			got[rel] = b.String()
		case path.Base(rel) == workdir.RejectsFile:
			got[rel] = string(data)
		}
		// manifest.json is checked on its own; push's delivery records and
		// the period locks are not pack's output.
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// The golden test: the ODS fixture through `chama run` (transform
// + pack; no routes, so push and verify have nothing remote to do) gives
// exactly the expected interface files and .verf, routed to 51006, 51007
// and 51010 and split by province for CM001, with every interface's rows
// reconciling in manifest.json, and the same bytes again on a re-run.
func TestTransformPackGolden(t *testing.T) {
	cfg, work, remote := goldenConfig(t, nil)
	out, code, err := packCLI(t, "--config", cfg, "run", "--date", "20241212")
	if code != 0 {
		t.Fatalf("chama run: exit %d: %v\n%s", code, err, out)
	}
	for _, want := range []string{
		"CHAMA_PACK OK iface=51006 period=20241212 sets=1 files=1 read=12 rows=3 filtered=8 rejected=1 embedded_delimiters=1 ",
		"CHAMA_PACK OK iface=51007 period=20241212 sets=1 files=2 read=12 rows=4 filtered=7 rejected=1 embedded_delimiters=1 ",
		"CHAMA_PACK OK iface=51010 period=20241212 sets=1 files=1 read=12 rows=3 filtered=8 rejected=1 embedded_delimiters=0 ",
		"CHAMA_PACK OK iface=CM001 period=20241212 sets=3 files=4 read=12 rows=4 filtered=7 rejected=1 embedded_delimiters=1 ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status line %q missing:\n%s", want, out)
		}
	}
	for _, iface := range []string{"51006", "51007", "51010", "CM001"} {
		if !regexp.MustCompile(`(?m)^CHAMA_PUSH OK iface=` + iface + ` period=20241212 target=plat `).MatchString(out) {
			t.Errorf("push of %s missing:\n%s", iface, out)
		}
		if !regexp.MustCompile(`(?m)^CHAMA_VERIFY OK iface=` + iface + ` period=20241212`).MatchString(out) {
			t.Errorf("verify of %s missing:\n%s", iface, out)
		}
	}
	if _, err := os.Stat(filepath.Join(work, "stage")); !os.IsNotExist(err) {
		t.Errorf("transform + pack staged files: %v", err)
	}
	got := readOutput(t, filepath.Join(work, "out"))
	wantDir := filepath.Join(goldenDir, "want")
	if *updateGolden {
		os.RemoveAll(wantDir)
		for rel, data := range got {
			p := filepath.Join(wantDir, rel)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := map[string]string{}
	filepath.WalkDir(wantDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(wantDir, p)
		data, _ := os.ReadFile(p)
		want[filepath.ToSlash(rel)] = string(data)
		return nil
	})
	if len(want) == 0 {
		t.Fatal("no golden files: run with -update once and review them")
	}
	for _, k := range sortedKeys(want) {
		if got[k] != want[k] {
			t.Errorf("%s:\n got %q\nwant %q", k, got[k], want[k])
		}
	}
	for _, k := range sortedKeys(got) {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected output %s", k)
		}
	}

	// Accounting: read = written + filtered + rejected per interface, the
	// ODS files read listed as inputs.
	wantRows := map[string]manifest.Rows{
		"51006": {Read: 12, Written: 3, Filtered: 8, Rejected: 1, Delimiters: 1},
		"51007": {Read: 12, Written: 4, Filtered: 7, Rejected: 1, Delimiters: 1},
		"51010": {Read: 12, Written: 3, Filtered: 8, Rejected: 1},
		"CM001": {Read: 12, Written: 4, Filtered: 7, Rejected: 1, Delimiters: 1},
	}
	wantInputs := []manifest.Input{
		{Path: "ods/events/dt=20241212/000000_0", Lines: 5},
		{Path: "ods/events/dt=20241212/000001_0", Lines: 7},
	}
	for iface, wr := range wantRows {
		m := readManifest(t, filepath.Join(work, "out", iface, "20241212"))
		if m.Rows != wr || m.Rows.Check() != nil {
			t.Errorf("%s rows %+v, want %+v", iface, m.Rows, wr)
		}
		ins := m.Inputs
		for i := range ins {
			if ins[i].Bytes <= 0 {
				t.Errorf("%s input %s: bytes %d", iface, ins[i].Path, ins[i].Bytes)
			}
			ins[i].Bytes = 0
		}
		if !reflect.DeepEqual(ins, wantInputs) {
			t.Errorf("%s inputs %+v, want %+v", iface, ins, wantInputs)
		}
	}

	// The run ledger has a pack row per interface with the same counts.
	l, err := ledger.OpenSQLite(filepath.Join(work, workdir.LedgerFile))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := l.Rows(context.Background(), ledger.Query{Stages: []string{ledger.StagePack}})
	l.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("ledger pack rows: %d, want 4", len(rows))
	}
	for _, r := range rows {
		if w := wantRows[r.Iface]; r.Status != ledger.OK || r.RowsIn != w.Read || r.RowsOut != w.Written || r.Rejected != w.Rejected || r.Filtered != w.Filtered {
			t.Errorf("ledger %s: %+v", r.Iface, r.Result)
		}
	}

	// Every published data file and .verf arrived, byte for byte.
	local := rawFiles(t, filepath.Join(work, "out"), ".dat.gz", ".verf")
	arrived := rawFiles(t, remote, ".dat.gz", ".verf")
	if len(local) != 14 || len(arrived) != len(local) {
		t.Errorf("%d files published, %d arrived; want 14 (8 data files, 6 .verf)", len(local), len(arrived))
	}
	for name, data := range local {
		if arrived[name] != data {
			t.Errorf("%s did not arrive intact", name)
		}
	}

	// A re-run publishes byte-identical data files.
	before := rawFiles(t, filepath.Join(work, "out"), ".dat.gz")
	if out, code, err := packCLI(t, "--config", cfg, "run", "--date", "20241212"); code != 0 {
		t.Fatalf("re-run: exit %d: %v\n%s", code, err, out)
	}
	after := rawFiles(t, filepath.Join(work, "out"), ".dat.gz")
	if len(before) == 0 || !reflect.DeepEqual(before, after) {
		t.Errorf("re-run changed the data files:\nbefore %v\nafter  %v", sortedKeys(before), sortedKeys(after))
	}
}

// rawFiles maps every file under dir whose name ends in one of the
// suffixes (by its base name: names are unique per interface and period)
// to its bytes.
func rawFiles(t *testing.T, dir string, suffixes ...string) map[string]string {
	t.Helper()
	m := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		for _, s := range suffixes {
			if strings.HasSuffix(p, s) {
				b, _ := os.ReadFile(p)
				m[filepath.Base(p)] = string(b)
			}
		}
		return nil
	})
	return m
}

func readManifest(t *testing.T, dir string) *manifest.Manifest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// A spec error in a from: transform interface's ADS entry stops `chama
// run` before anything runs: exit 2, naming the key and the expression.
func TestTransformPackSpecErrorIsUsage(t *testing.T) {
	cfg, work, _ := goldenConfig(t, func(y string) string {
		return strings.Replace(y, "mc_ev: mc_ev", "mc_ev: upper(mc_evv)", 1)
	})
	out, code, err := packCLI(t, "--config", cfg, "run", "--date", "20241212")
	if code != exit.Usage || err == nil || !strings.Contains(err.Error(), "transform.ads.51006.columns.mc_ev") || !strings.Contains(err.Error(), "upper(mc_evv)") {
		t.Fatalf("exit %d, err %v; want 2 naming transform.ads.51006.columns.mc_ev and upper(mc_evv)\n%s", code, err, out)
	}
	if _, err := os.Stat(filepath.Join(work, "out")); !os.IsNotExist(err) {
		t.Errorf("nothing may be written on a config error: %v", err)
	}
}

// `chama transform` on its own still stages Parquet, and records each
// interface in the run ledger (stage transform) with its row counts.
func TestTransformStandaloneRecordsLedger(t *testing.T) {
	cfg, work, _ := goldenConfig(t, nil)
	out, code, err := packCLI(t, "--config", cfg, "transform", "--date", "20241212", "--iface", "51007,CM001")
	if code != 0 {
		t.Fatalf("exit %d: %v\n%s", code, err, out)
	}
	if !strings.Contains(out, "CHAMA_TRANSFORM OK layer=ads period=20241212 read=12 ") {
		t.Errorf("status line:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(work, "stage/ads/51007/20241212/part-00001.parquet")); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(work, "out")); !os.IsNotExist(err) {
		t.Errorf("chama transform must not pack: %v", err)
	}
	l, err := ledger.OpenSQLite(filepath.Join(work, workdir.LedgerFile))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rows, err := l.Rows(context.Background(), ledger.Query{Stages: []string{ledger.StageTransform}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]ledger.Result{}
	for _, r := range rows {
		if r.Period != "20241212" || r.Hour != "" {
			t.Errorf("ledger row %+v", r.Run)
		}
		got[r.Iface] = r.Result
	}
	want := map[string]ledger.Result{
		"51007": {RowsIn: 12, RowsOut: 4, Rejected: 1, Filtered: 7, Files: 1, Status: ledger.OK},
		"CM001": {RowsIn: 12, RowsOut: 4, Rejected: 1, Filtered: 7, Files: 3, Status: ledger.OK},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ledger transform rows:\n got %+v\nwant %+v", got, want)
	}
}

// from: transform is validated with key paths.
func TestFromTransformValidation(t *testing.T) {
	cfg, _, _ := goldenConfig(t, func(y string) string {
		y = strings.Replace(y, "  CM001:\n", `  "51099": {from: transform, path: "x/dt={date}", partition_field: 2}
  "51098": {from: hive}
  CM001:
    hourly_pack: true
`, 1)
		return strings.Replace(y, `  "51010":
    from: transform
`, `  "51010":
    from: transform
    granularity: hour
    file_name: "a_{period}_{iface}_{seq}.dat.gz"
    verf_name: "a_{period}_{iface}.verf"
`, 1)
	})
	_, err := config.Load(cfg)
	if err == nil {
		t.Fatal("config loaded")
	}
	for _, want := range []string{
		"interfaces.51099.from: from: transform needs a transform.ads.51099 entry",
		"interfaces.51099.path: not used with from: transform",
		"interfaces.51099.partition_field: not used with from: transform",
		`interfaces.51098.from: "hive" is not transform`,
		`interfaces.CM001.hourly_pack: hourly_pack reads one hour at a time: the path of the ODS table behind transform.ads.CM001 needs {hour} ("ods/events/dt={date}")`,
		`interfaces.51010.granularity: an hourly interface from transform needs {hour} in its ODS table's path ("ods/events/dt={date}")`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in\n%v", want, err)
		}
	}
}

// The 51010 rule as the team writes it, an inner join with a mapping
// table (here of data sources), through `chama run` to the SFTP target:
// the delivered files are those of the equivalent IN filter, byte for
// byte, and the rows the join dropped are counted filtered.
func TestTransformPackWithLookup(t *testing.T) {
	const inFilter = `filter: data_source_id in ["h5prov", "app01"]`
	old := `      from: events
      filter: data_source_id in ["h5prov"] || regexp_like(mc_ev, "^210315_QYCS_\\d+$")
      columns: *cols`
	run := func(edit func(string) string) (map[string]string, string) {
		cfg, work, remote := goldenConfig(t, func(y string) string {
			// app01's rows hold a '|' (as 51007's do).
			return strings.Replace(edit(y), "  \"51010\":\n    from: transform\n", "  \"51010\":\n    from: transform\n    embedded_delimiter: \"replace:/\"\n", 1)
		})
		out, code, err := packCLI(t, "--config", cfg, "run", "--date", "20241212")
		if code != 0 {
			t.Fatalf("chama run: exit %d: %v\n%s", code, err, out)
		}
		got := map[string]string{}
		for k, v := range readOutput(t, filepath.Join(work, "out")) {
			if strings.HasPrefix(k, "51010/") {
				got[k] = v
			}
		}
		if _, err := os.Stat(filepath.Join(remote, "national", "a_10000_20241212_51010_00.verf")); err != nil {
			t.Errorf("51010 not delivered: %v", err)
		}
		return got, out
	}
	want, _ := run(func(y string) string {
		if !strings.Contains(y, old) {
			t.Fatal("golden config changed: update this test")
		}
		return strings.Replace(y, old, "      from: events\n      "+inFilter+"\n      columns: *cols", 1)
	})
	dims := t.TempDir()
	// app02 maps to 51007 only (the where drops it), h5prov twice (distinct).
	mapping := "h5prov\x0151010\napp01\x0151010\napp02\x0151007\nh5prov\x0151010\n"
	if err := os.MkdirAll(filepath.Join(dims, "dim_source_interface/dt=20241212"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dims, "dim_source_interface/dt=20241212/000000_0"), []byte(mapping), 0o644); err != nil {
		t.Fatal(err)
	}
	got, out := run(func(y string) string {
		y = strings.Replace(y, "sources:\n", "sources:\n  dims: {type: file, root: \""+dims+"\"}\n", 1)
		y = strings.Replace(y, "  ods:\n", `  dims:
    dim_source_interface:
      source: dims
      path: dim_source_interface/dt={date}
      columns: {data_source_id: string, interface: string}
  ods:
`, 1)
		cols := "event_id, os, os_version, browser, prov, city, mobile, wt_av, page_id, channel_id, ts"
		return strings.Replace(y, old, `      select: |
        SELECT e.`+strings.ReplaceAll(cols, ", ", ", e.")+`
          FROM events e
          JOIN (SELECT DISTINCT data_source_id, interface
                  FROM dim_source_interface
                 WHERE interface = '51010') d
            ON e.data_source_id = d.data_source_id`, 1)
	})
	if len(want) == 0 || !reflect.DeepEqual(got, want) {
		t.Errorf("join output differs from the IN filter's:\n got %q\nwant %q", got, want)
	}
	if !strings.Contains(out, "CHAMA_PACK OK iface=51010 period=20241212 sets=1 files=1 read=12 rows=3 filtered=8 rejected=1 embedded_delimiters=1 ") {
		t.Errorf("51010's accounting:\n%s", out)
	}
}
