package verify

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/internal/workdir"
	"github.com/chama-data/chama/naming"
)

// testConfig is a one-interface config: 51007, 10 lines per file, names
// without a partition, one route to target t1 folder /incoming.
func testConfig(t testing.TB, workdir string) *config.Config {
	return testConfigTarget(t, workdir, `
    primary: [{host: 127.0.0.1, port: 2222}]
    user: chama
    auth: {password_env: CHAMA_TEST_UNUSED}
    insecure_ignore_host_key: true
    dir: /incoming`)
}

// testConfigTarget is testConfig with target t1's body given.
func testConfigTarget(t testing.TB, workdir, target string) *config.Config {
	t.Helper()
	y := fmt.Sprintf(`
workdir: %q
sources:
  local: {type: file, root: %q}
targets:
  t1:%s
interfaces:
  "51007":
    source: local
    path: ods/dt={date}/hour={hour}
    lines_per_file: 10
    file_name: a_10000_{date}_{iface}_{resend:02}_{seq}.dat.gz
    verf_name: a_10000_{date}_{iface}_{resend:02}.verf
    routes: [{target: t1}]
`, workdir, workdir, target)
	c, err := config.Parse([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// gz compresses lines "row-<first>".."row-<first+n-1>".
func gz(t testing.TB, first, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	for i := first; i < first+n; i++ {
		fmt.Fprintf(zw, "row-%05d|x|y\n", i)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// packed is a fixture period on disk.
type packed struct {
	cfg     *config.Config
	ifc     *config.Interface
	period  string
	dir     string
	names   []string
	entries []Entry
	m       *manifest.Manifest
}

// pack writes a period the way the pack stage publishes it: rows split
// into files of lines_per_file, a .verf with the default columns, and a
// manifest whose rows reconcile (2 filtered, 1 rejected).
func pack(t testing.TB, rows int) *packed {
	t.Helper()
	work := t.TempDir()
	return packWith(t, testConfig(t, work), rows)
}

// packWith is pack with a config of the caller's.
func packWith(t testing.TB, cfg *config.Config, rows int) *packed {
	t.Helper()
	ifc := cfg.Interfaces["51007"]
	p := &packed{cfg: cfg, ifc: ifc, period: "20241212", dir: workdir.New(cfg.Workdir).Out("51007", "20241212")}
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	set := manifest.Set{Verf: "a_10000_20241212_51007_00.verf"}
	for seq, first := 1, 0; first < rows; seq, first = seq+1, first+ifc.LinesPerFile {
		n := min(ifc.LinesPerFile, rows-first)
		name, err := ifc.Template().Format(naming.Fields{Date: p.period, Iface: "51007", Seq: seq}, naming.SeqWidth(ifc.SeqWidth, p.period))
		if err != nil {
			t.Fatal(err)
		}
		data := gz(t, first, n)
		if err := os.WriteFile(filepath.Join(p.dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum(data)
		e := Entry{Name: name, Bytes: int64(len(data)), Lines: int64(n), Period: p.period, Ctime: "20241213011500", MD5: hex.EncodeToString(sum[:])}
		p.names = append(p.names, name)
		p.entries = append(p.entries, e)
		set.Files = append(set.Files, manifest.File{Name: name, Seq: seq, Bytes: e.Bytes, Lines: e.Lines, MD5: e.MD5})
	}
	p.m = &manifest.Manifest{Version: 1, Iface: "51007", Period: p.period, Created: time.Date(2024, 12, 13, 1, 15, 0, 0, time.UTC),
		Rows: manifest.Rows{Read: int64(rows) + 3, Written: int64(rows), Filtered: 2, Rejected: 1}, Sets: []manifest.Set{set}}
	p.writeVerf(t, config.DefaultVerfColumns, p.entries)
	p.writeManifest(t)
	return p
}

func (p *packed) writeVerf(t testing.TB, cols []string, es []Entry) {
	t.Helper()
	data, err := FormatVerf(cols, es)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.dir, p.m.Sets[0].Verf), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (p *packed) writeManifest(t testing.TB) {
	t.Helper()
	if err := manifest.Write(p.dir, p.m); err != nil {
		t.Fatal(err)
	}
}

func (p *packed) path(i int) string { return filepath.Join(p.dir, p.names[i]) }

func (p *packed) options() Options {
	return Options{Config: p.cfg, Periods: []naming.Period{naming.MustPeriod(p.period)}, Ifaces: []*config.Interface{p.ifc}, Jobs: 2}
}

// lines runs verify and returns its stable lines.
func runLines(t *testing.T, o Options) (*Report, []string) {
	t.Helper()
	rep, err := Run(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteLines(&b, rep); err != nil {
		t.Fatal(err)
	}
	return rep, strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
}

// stripDetail cuts the free-text detail off a line, for findings whose
// detail carries an OS or library message.
func stripDetail(l string) string {
	for _, k := range []string{" detail=", " fix="} {
		if i := strings.Index(l, k); i >= 0 {
			l = l[:i]
		}
	}
	return l
}
