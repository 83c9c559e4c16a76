package pack

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/internal/workdir"
	"github.com/chama-data/chama/naming"
)

// tpEnv is a config whose interfaces T1 (flat) and T2 (partitioned by the
// ADS column p) come from a small transform spec over root/ods/dt={date}
// (three string columns a, b, p).
func tpEnv(t *testing.T, t1, t2 string, lines ...string) (*config.Config, string) {
	t.Helper()
	dir := t.TempDir()
	root, work := filepath.Join(dir, "src"), filepath.Join(dir, "work")
	in := filepath.Join(root, "ods", "dt=20241212")
	if err := os.MkdirAll(in, 0o755); err != nil {
		t.Fatal(err)
	}
	// Two input files, so rows cross file and batch boundaries.
	half := (len(lines) + 1) / 2
	for i, part := range [][]string{lines[:half], lines[half:]} {
		var b strings.Builder
		for _, l := range part {
			b.WriteString(strings.ReplaceAll(l, ",", "\x01") + "\n")
		}
		if err := os.WriteFile(filepath.Join(in, fmt.Sprintf("part-%05d", i)), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	y := fmt.Sprintf(`workdir: %s
sources:
  local: {type: file, root: %s}
interfaces:
  T1: {from: transform, %s}
  T2: {from: transform, %s}
transform:
  batch_rows: 2
  workers: 3
  readers: 2
  ods:
    ev: {source: local, path: "ods/dt={date}", columns: {a: string, b: string, p: string}}
  dwd:
    ev: {from: ev, derive: {b2: 'regexp_replace(b, "NL", "\n")'}}
  ads:
    T1:
      from: ev
      filter: a != "skip"
      columns: {a: a, b: b2}
    T2:
      from: ev
      filter: a != "skip"
      partition: p
      columns: {a: a, p: p}
`, work, root, t1, t2)
	c, err := config.Parse([]byte(y))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, y)
	}
	return c, work
}

func packT(t *testing.T, c *config.Config, iface, period string) (*manifest.Manifest, error) {
	t.Helper()
	return Run(context.Background(), Options{Config: c, Iface: c.Interfaces[iface], Period: naming.MustPeriod(period), Workers: 2})
}

// Rows cut across input files and batches into exactly lines_per_file
// lines, in input order; charset and embedded-delimiter policy as for text
// input; every kind of reject goes to rejects.txt and is counted; nothing
// but the published folder is written (no intermediate files).
func TestTransformPackConvertsAndAccounts(t *testing.T) {
	c, work := tpEnv(t, `lines_per_file: 3, charset: gbk, embedded_delimiter: strip, max_rejects: 3`, `lines_per_file: 3`,
		"r1,江苏,250",
		"r2,x|y,250",
		"skip,s,250",
		"bad line",
		"r3,😀,571",
		"r4,aNLb,571",
		"r5,e,571",
		"r6,f,100",
		"r7,g,100",
	)
	m, err := packT(t, c, "T1", "20241212")
	if err != nil {
		t.Fatal(err)
	}
	want := manifest.Rows{Read: 9, Written: 5, Filtered: 1, Rejected: 3, Delimiters: 1}
	if m.Rows != want {
		t.Errorf("rows %+v, want %+v", m.Rows, want)
	}
	out := workdir.New(c.Workdir).Out("T1", "20241212")
	dec := simplifiedchinese.GBK.NewDecoder()
	var got [][]string
	for _, f := range m.Sets[0].Files {
		var lines []string
		for _, l := range readGz(t, filepath.Join(out, f.Name)) {
			s, err := dec.String(l)
			if err != nil {
				t.Fatalf("%s: not GBK: %v", f.Name, err)
			}
			lines = append(lines, s)
		}
		got = append(got, lines)
	}
	if w := [][]string{{"r1|江苏", "r2|xy", "r5|e"}, {"r6|f", "r7|g"}}; !reflect.DeepEqual(got, w) {
		t.Errorf("files %q, want %q", got, w)
	}
	if len(m.Inputs) != 2 || m.Inputs[0].Path != "ods/dt=20241212/part-00000" || m.Inputs[0].Lines != 5 || m.Inputs[1].Lines != 4 {
		t.Errorf("inputs %+v", m.Inputs)
	}
	rej, _ := os.ReadFile(filepath.Join(out, workdir.RejectsFile))
	wantRej := "ods/dt=20241212/part-00000\t4\t1 fields, want 3\tbad line\n" +
		"transform.ads.T1 output (hour 20241212)\t3\tcharacter '😀' (U+1F600) at output byte 3 cannot be encoded in the output charset\tr3|😀\n" +
		"transform.ads.T1 output (hour 20241212)\t4\tcolumn 2 (b) holds a line break\tr4|a\\nb\n"
	if string(rej) != wantRej {
		t.Errorf("rejects.txt\n got %q\nwant %q", rej, wantRej)
	}
	es, _ := os.ReadDir(work)
	if len(es) != 1 || es[0].Name() != "out" {
		t.Errorf("workdir holds %v; want only out/ (no staged files)", es)
	}
}

// A transform reject past max_rejects fails the period: nothing is
// published and the reject list is kept beside the period folder.
func TestTransformPackMaxRejects(t *testing.T) {
	c, _ := tpEnv(t, `max_rejects: 0`, ``, "r1,a,250", "bad line", "r2,b,250")
	_, err := packT(t, c, "T1", "20241212")
	if err == nil || !strings.Contains(err.Error(), "interface T1 period 20241212") || !strings.Contains(err.Error(), "more than 0 rejected lines") ||
		!strings.Contains(err.Error(), "ods/dt=20241212/part-00000 line 2: 1 fields, want 3") {
		t.Fatalf("err %v", err)
	}
	if _, err := os.Stat(workdir.New(c.Workdir).Out("T1", "20241212")); !os.IsNotExist(err) {
		t.Errorf("published after a failure: %v", err)
	}
	if _, err := os.Stat(workdir.New(c.Workdir).Out("T1", "20241212") + "." + workdir.RejectsFile); err != nil {
		t.Errorf("reject list not kept: %v", err)
	}
}

// embedded_delimiter: fail names the interface, the output line and the
// column.
func TestTransformPackEmbeddedDelimiterFail(t *testing.T) {
	c, _ := tpEnv(t, `embedded_delimiter: fail`, ``, "r1,a,250", "r2,b|c,250")
	_, err := packT(t, c, "T1", "20241212")
	want := "interface T1 period 20241212: transform.ads.T1 output (hour 20241212) line 2: field 2 contains the output delimiter '|' (embedded_delimiter: fail)"
	if err == nil || err.Error() != want {
		t.Fatalf("err %v\nwant %s", err, want)
	}
}

// The ADS partition column splits the sets, numbered from 1 each; a value
// that cannot be a folder or {part} name is a counted reject; an empty one
// goes to the null part.
func TestTransformPackPartitions(t *testing.T) {
	c, _ := tpEnv(t, ``, `lines_per_file: 2, max_rejects: 1`, "r1,a,250", "r2,b,571", "r3,c,250", "r4,d,江苏", "r5,e,250", "r6,f,")
	m, err := packT(t, c, "T2", "20241212")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, s := range m.Sets {
		for _, f := range s.Files {
			got[s.Part] = append(got[s.Part], fmt.Sprintf("%s:%s", f.Name, strings.Join(readGz(t, filepath.Join(workdir.New(c.Workdir).Out("T2", "20241212"), s.Dir, f.Name)), ",")))
		}
	}
	want := map[string][]string{
		"250":  {"a_10000_20241212_T2_250_00_0001.dat.gz:r1|250,r3|250", "a_10000_20241212_T2_250_00_0002.dat.gz:r5|250"},
		"571":  {"a_10000_20241212_T2_571_00_0001.dat.gz:r2|571"},
		"null": {"a_10000_20241212_T2_null_00_0001.dat.gz:r6|"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sets\n got %v\nwant %v", got, want)
	}
	if m.Rows != (manifest.Rows{Read: 6, Written: 5, Rejected: 1}) {
		t.Errorf("rows %+v", m.Rows)
	}
	rej, _ := os.ReadFile(filepath.Join(workdir.New(c.Workdir).Out("T2", "20241212"), workdir.RejectsFile))
	// Row 5 of the output: r5 (part 250) is delivered before r4 in their batch.
	if !strings.Contains(string(rej), "\t5\tpartition value \"江苏\" (column p) is not letters, digits or '-'\tr4|江苏\n") {
		t.Errorf("rejects.txt %q", rej)
	}
}

// An hour of a day interface needs {hour} in the ODS table's path.
func TestTransformPackHourNeedsHourPath(t *testing.T) {
	c, _ := tpEnv(t, ``, ``, "r1,a,250")
	_, err := packT(t, c, "T1", "2024121207")
	if err == nil || !strings.Contains(err.Error(), `path "ods/dt={date}" has no {hour}`) {
		t.Fatalf("err %v", err)
	}
}

// RunAll packs the from: transform interfaces of one period and ODS
// table from one transform pass: the table is read once, and each
// interface's files are byte-identical to packing it on its own. One
// interface failing (here T1 past max_rejects) does not stop the others.
func TestTransformPackSharedPass(t *testing.T) {
	rows := []string{"r1,a,250", "r2,b,571", "bad line", "skip,s,250", "r3,c,250", "r4,d,100", "r5,e,250"}
	c, _ := tpEnv(t, `lines_per_file: 2, max_rejects: 1`, `lines_per_file: 2, max_rejects: 1`, rows...)
	var logBuf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logBuf, nil))
	var status bytes.Buffer
	err := RunAll(context.Background(), AllOptions{Config: c, Periods: []naming.Period{naming.MustPeriod("20241212")},
		Ifaces: []*config.Interface{c.Interfaces["T1"], c.Interfaces["T2"]}, Out: &status, Log: log, Workers: 2})
	if err != nil {
		t.Fatalf("%v\n%s", err, status.String())
	}
	if n := strings.Count(logBuf.String(), "msg=transform "); n != 1 {
		t.Errorf("the ODS table was read by %d transform passes, want 1:\n%s", n, logBuf.String())
	}
	if !strings.Contains(status.String(), "CHAMA_PACK OK iface=T1 period=20241212 sets=1 files=3 read=7 rows=5 filtered=1 rejected=1 ") ||
		!strings.Contains(status.String(), "CHAMA_PACK OK iface=T2 period=20241212 sets=3 files=4 read=7 rows=5 filtered=1 rejected=1 ") {
		t.Errorf("status:\n%s", status.String())
	}
	shared := map[string]string{}
	for _, iface := range []string{"T1", "T2"} {
		for k, v := range treeBytes(t, workdir.New(c.Workdir).Out(iface, "20241212")) {
			shared[iface+"/"+k] = v
		}
	}
	// Each on its own.
	for _, iface := range []string{"T1", "T2"} {
		m, err := packT(t, c, iface, "20241212")
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Rows.Check(); err != nil || m.Rows.Read != 7 || m.Rows.Rejected != 1 {
			t.Errorf("%s rows %+v %v", iface, m.Rows, err)
		}
		for k, v := range treeBytes(t, workdir.New(c.Workdir).Out(iface, "20241212")) {
			if shared[iface+"/"+k] != v {
				t.Errorf("%s/%s differs between the shared pass and a pack on its own", iface, k)
			}
			delete(shared, iface+"/"+k)
		}
	}
	if len(shared) != 0 {
		t.Errorf("only in the shared pass: %v", shared)
	}

	// T1 now fails on its first reject; T2 (max_rejects 1) still publishes.
	c.Interfaces["T1"].MaxRejects = 0
	status.Reset()
	err = RunAll(context.Background(), AllOptions{Config: c, Periods: []naming.Period{naming.MustPeriod("20241212")},
		Ifaces: []*config.Interface{c.Interfaces["T1"], c.Interfaces["T2"]}, Out: &status, Workers: 2})
	if exit.Code(err) != exit.Failure || !strings.Contains(status.String(), "CHAMA_PACK FAIL iface=T1 ") || !strings.Contains(status.String(), "CHAMA_PACK OK iface=T2 ") {
		t.Errorf("exit %d %v\n%s", exit.Code(err), err, status.String())
	}
}

// treeBytes maps the data files and .verf under dir (relative paths) to
// their bytes, with the .verf ctime column blanked.
func treeBytes(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, _ := os.ReadFile(p)
		switch {
		case strings.HasSuffix(p, ".dat.gz"), filepath.Base(p) == workdir.RejectsFile:
			m[rel] = string(b)
		case strings.HasSuffix(p, ".verf"):
			var lines []string
			for _, l := range strings.Split(string(b), "\n") {
				if f := strings.Split(l, "|"); len(f) == 6 {
					f[4] = "CTIME"
					l = strings.Join(f, "|")
				}
				lines = append(lines, l)
			}
			m[rel] = strings.Join(lines, "\n")
		}
		return nil
	})
	if len(m) == 0 {
		t.Fatalf("nothing under %s", dir)
	}
	return m
}

// A missing ODS partition is "not ready" (exit 4); a period whose rows
// all go elsewhere fails unless allow_empty, and then publishes an empty
// set with its .verf.
func TestTransformPackNotReadyAndEmpty(t *testing.T) {
	c, _ := tpEnv(t, ``, ``, "skip,a,250", "skip,b,571")
	_, err := packT(t, c, "T1", "20241213")
	if exit.Code(err) != exit.NotReady || !strings.Contains(err.Error(), "interface T1 period 20241213") {
		t.Errorf("missing partition: exit %d %v", exit.Code(err), err)
	}
	_, err = packT(t, c, "T1", "20241212")
	if err == nil || !strings.Contains(err.Error(), "none of the 2 rows read was routed to the interface (2 filtered, 0 rejected)") {
		t.Errorf("nothing routed: %v", err)
	}
	c.Interfaces["T1"].AllowEmpty = true
	m, err := packT(t, c, "T1", "20241212")
	if err != nil {
		t.Fatal(err)
	}
	if m.Rows != (manifest.Rows{Read: 2, Filtered: 2}) || len(m.Sets) != 1 || len(m.Sets[0].Files) != 0 {
		t.Errorf("empty period: %+v %+v", m.Rows, m.Sets)
	}
	if v, err := os.ReadFile(filepath.Join(workdir.New(c.Workdir).Out("T1", "20241212"), m.Sets[0].Verf)); err != nil || len(v) != 0 {
		t.Errorf(".verf %q %v", v, err)
	}
}

// Interrupted mid-way (after the first file is written), a transform pack
// publishes nothing, removes its temporary folder and leaves the previous
// output as it was; so does a shared pass, whose goroutines all end.
func TestTransformPackInterrupted(t *testing.T) {
	var rows []string
	for i := 0; i < 40; i++ {
		rows = append(rows, fmt.Sprintf("r%d,v%d,%d", i, i, 250+i%3))
	}
	c, _ := tpEnv(t, `lines_per_file: 5`, `lines_per_file: 5`, rows...)
	period := naming.MustPeriod("20241212")
	for _, iface := range []string{"T1", "T2"} {
		if _, err := packT(t, c, iface, "20241212"); err != nil {
			t.Fatal(err)
		}
	}
	before := map[string]map[string]string{"T1": treeBytes(t, workdir.New(c.Workdir).Out("T1", "20241212")), "T2": treeBytes(t, workdir.New(c.Workdir).Out("T2", "20241212"))}
	c.Interfaces["T1"].LinesPerFile, c.Interfaces["T2"].LinesPerFile = 2, 2
	defer func() { testHookFileDone = nil }()
	for _, shared := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		testHookFileDone = func(context.Context) { cancel() }
		var err error
		if shared {
			err = RunAll(ctx, AllOptions{Config: c, Periods: []naming.Period{period}, Ifaces: []*config.Interface{c.Interfaces["T1"], c.Interfaces["T2"]}, Workers: 2})
		} else {
			_, err = Run(ctx, Options{Config: c, Iface: c.Interfaces["T1"], Period: period, Workers: 2})
		}
		cancel()
		if err == nil {
			t.Fatalf("shared=%v: an interrupted pack succeeded", shared)
		}
		for _, iface := range []string{"T1", "T2"} {
			if after := treeBytes(t, workdir.New(c.Workdir).Out(iface, "20241212")); !reflect.DeepEqual(after, before[iface]) {
				t.Errorf("shared=%v: %s output changed by an interrupted run", shared, iface)
			}
			es, _ := os.ReadDir(filepath.Dir(workdir.New(c.Workdir).Out(iface, "20241212")))
			for _, e := range es {
				if strings.Contains(e.Name(), ".tmp-") {
					t.Errorf("shared=%v: %s: temporary folder %s left", shared, iface, e.Name())
				}
			}
		}
	}
}
