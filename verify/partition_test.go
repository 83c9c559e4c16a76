package verify

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/internal/workdir"
	"github.com/chama-data/chama/naming"
)

// packParts writes a CM001 period partitioned by province: one set per
// part in its own sub-folder, default templates (3-digit sequences before
// 20241219, 4 from then on).
func packParts(t *testing.T, period string, parts map[string]int) (*config.Config, *manifest.Manifest) {
	t.Helper()
	work := t.TempDir()
	c, err := config.Parse([]byte(fmt.Sprintf(`
workdir: %q
sources:
  local: {type: file, root: %q}
targets:
  t1:
    primary: [{host: 127.0.0.1, port: 2222}]
    user: chama
    auth: {password_env: CHAMA_TEST_UNUSED}
    insecure_ignore_host_key: true
    dir: /province
interfaces:
  CM001:
    source: local
    path: dt={date}/hour={hour}
    partition_field: 3
    lines_per_file: 10
    seq_width: [{from: "20240101", width: 3}, {from: "20241219", width: 4}]
    routes: [{target: t1}]
`, work, work)))
	if err != nil {
		t.Fatal(err)
	}
	ifc := c.Interfaces["CM001"]
	m := &manifest.Manifest{Version: 1, Iface: "CM001", Period: period, Created: time.Now()}
	for _, part := range []string{"100", "250", "571"} {
		rows, ok := parts[part]
		if !ok {
			continue
		}
		dir := filepath.Join(workdir.New(c.Workdir).Out("CM001", period), part)
		os.MkdirAll(dir, 0o755)
		verf, _ := ifc.VerfTemplate().Format(naming.Fields{Date: period, Iface: "CM001", Part: part}, 0)
		set := manifest.Set{Part: part, Dir: part, Verf: verf}
		var es []Entry
		for seq, first := 1, 0; first < rows; seq, first = seq+1, first+10 {
			n := min(10, rows-first)
			name, err := ifc.Template().Format(naming.Fields{Date: period, Iface: "CM001", Part: part, Seq: seq}, naming.SeqWidth(ifc.SeqWidth, period))
			if err != nil {
				t.Fatal(err)
			}
			data := gz(t, first, n)
			os.WriteFile(filepath.Join(dir, name), data, 0o644)
			sum := md5.Sum(data)
			e := Entry{Name: name, Bytes: int64(len(data)), Lines: int64(n), Period: period, Ctime: "20241213011500", MD5: hex.EncodeToString(sum[:])}
			es = append(es, e)
			set.Files = append(set.Files, manifest.File{Name: name, Seq: seq, Bytes: e.Bytes, Lines: e.Lines, MD5: e.MD5})
		}
		data, _ := FormatVerf(ifc.VerfColumns, es)
		os.WriteFile(filepath.Join(dir, verf), data, 0o644)
		m.Sets = append(m.Sets, set)
		m.Rows.Read += int64(rows)
		m.Rows.Written += int64(rows)
	}
	if err := manifest.Write(workdir.New(c.Workdir).Out("CM001", period), m); err != nil {
		t.Fatal(err)
	}
	return c, m
}

func TestVerifyPartitionedSets(t *testing.T) {
	for _, period := range []string{"20241218", "20241219"} { // 3-digit, then 4-digit sequences
		t.Run(period, func(t *testing.T) {
			c, m := packParts(t, period, map[string]int{"250": 12, "100": 5})
			o := Options{Config: c, Periods: []naming.Period{naming.MustPeriod(period)}, Ifaces: []*config.Interface{c.Interfaces["CM001"]}}
			rep, lines := runLines(t, o)
			if !rep.OK || lines[0] != "CHAMA_VERIFY OK iface=CM001 period="+period+" files=3 lines=17" {
				t.Fatalf("%v", lines)
			}
			// Remote: both provinces in one flat folder; a third province's
			// file of the period there is a stray.
			root := t.TempDir()
			in := filepath.Join(root, "province")
			os.MkdirAll(in, 0o755)
			for _, s := range m.Sets {
				for _, n := range append([]string{s.Verf}, names(s)...) {
					data, _ := os.ReadFile(filepath.Join(workdir.New(c.Workdir).Out("CM001", period), s.Dir, n))
					os.WriteFile(filepath.Join(in, n), data, 0o644)
				}
			}
			stray := strings.Replace(names(m.Sets[1])[0], "_250_", "_571_", 1)
			os.WriteFile(filepath.Join(in, stray), []byte("x"), 0o644)
			// A gap in province 250: file 1 gone locally, everywhere.
			first := names(m.Sets[1])[0]
			os.Remove(filepath.Join(workdir.New(c.Workdir).Out("CM001", period), "250", first))
			o.Remote, o.Deep, o.Dial = true, true, dirDialer(root)
			rep, lines = runLines(t, o)
			var got []string
			for _, l := range lines {
				got = append(got, stripDetail(l))
			}
			want := []string{
				"CHAMA_VERIFY FAIL iface=CM001 period=" + period + " file=" + first + " reason=missing_file where=local",
				"CHAMA_VERIFY FAIL iface=CM001 period=" + period + " file=" + stray + " reason=stray_file where=target:t1 host=fake:22",
			}
			if rep.OK || strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
			}
			wantWidth := map[string]string{"20241218": "_001.dat.gz", "20241219": "_0001.dat.gz"}[period]
			if !strings.HasSuffix(first, wantWidth) {
				t.Errorf("%s: names %s, want suffix %s", period, first, wantWidth)
			}
		})
	}
}

func names(s manifest.Set) []string {
	var out []string
	for _, f := range s.Files {
		out = append(out, f.Name)
	}
	return out
}

// An hourly interface asked for a day is verified hour by hour.
func TestVerifyHourlyInterfaceDayExpands(t *testing.T) {
	ifc := &config.Interface{Name: "99001", Granularity: "hour"}
	ps, err := Expand(ifc, naming.MustPeriod("20241212"))
	if err != nil || len(ps) != 24 || ps[0] != "2024121200" || ps[23] != "2024121223" {
		t.Fatalf("%v %v", ps, err)
	}
}
