package verify

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/internal/workdir"
	"github.com/chama-data/chama/naming"
)

func TestVerifyCleanPeriodIsOK(t *testing.T) {
	p := pack(t, 25)
	rep, lines := runLines(t, p.options())
	if !rep.OK {
		t.Fatalf("clean period failed: %v", lines)
	}
	want := []string{"CHAMA_VERIFY OK iface=51007 period=20241212 files=3 lines=25"}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

// Each kind of local damage gives exactly the expected stable line(s).
func TestVerifyCatchesLocalDamage(t *testing.T) {
	const pre = "CHAMA_VERIFY FAIL iface=51007 period=20241212 "
	cases := []struct {
		name   string
		damage func(t *testing.T, p *packed) []string // returns the expected lines (details stripped)
		detail string                                 // a word the first finding's detail must hold
	}{
		{"truncated file", func(t *testing.T, p *packed) []string {
			if err := os.Truncate(p.path(1), p.entries[1].Bytes/2); err != nil {
				t.Fatal(err)
			}
			return []string{fmt.Sprintf(pre+"file=%s reason=size_mismatch where=local want=%d got=%d", p.names[1], p.entries[1].Bytes, p.entries[1].Bytes/2)}
		}, ""},
		{"flipped byte", func(t *testing.T, p *packed) []string {
			data, _ := os.ReadFile(p.path(0))
			data[len(data)/2] ^= 0x40
			os.WriteFile(p.path(0), data, 0o644)
			return []string{fmt.Sprintf(pre+"file=%s reason=checksum_mismatch where=local want=%s got=%s", p.names[0], p.entries[0].MD5, md5hex(data))}
		}, "gzip"},
		{"flipped byte, .verf of an older build without md5", func(t *testing.T, p *packed) []string {
			p.writeVerf(t, []string{"name", "bytes", "lines", "period", "ctime"}, p.entries)
			data, _ := os.ReadFile(p.path(0))
			data[len(data)/2] ^= 0x40
			os.WriteFile(p.path(0), data, 0o644)
			return []string{fmt.Sprintf(pre+"file=%s reason=bad_gzip where=local", p.names[0])}
		}, "gzip"},
		{"gzip trailer cut, size kept in .verf", func(t *testing.T, p *packed) []string {
			// The file and its .verf entry agree (as if packed from a broken
			// write): only decompression can tell.
			data, _ := os.ReadFile(p.path(2))
			data = data[:len(data)-4]
			os.WriteFile(p.path(2), data, 0o644)
			es := append([]Entry(nil), p.entries...)
			es[2].Bytes, es[2].MD5 = int64(len(data)), md5hex(data)
			p.writeVerf(t, []string{"name", "bytes", "lines", "period", "ctime", "md5"}, es)
			p.m.Sets[0].Files[2].Bytes, p.m.Sets[0].Files[2].MD5 = es[2].Bytes, es[2].MD5
			p.writeManifest(t)
			return []string{fmt.Sprintf(pre+"file=%s reason=bad_gzip where=local", p.names[2])}
		}, "truncated"},
		{"missing file", func(t *testing.T, p *packed) []string {
			os.Remove(p.path(2))
			return []string{fmt.Sprintf(pre+"file=%s reason=missing_file where=local", p.names[2])}
		}, "no such file"},
		{"extra file", func(t *testing.T, p *packed) []string {
			extra := strings.Replace(p.names[2], "_0003.", "_0004.", 1)
			os.WriteFile(filepath.Join(p.dir, extra), gz(t, 0, 3), 0o644)
			return []string{pre + "file=" + extra + " reason=extra_file where=local"}
		}, "listed in no .verf"},
		{"gap in sequence", func(t *testing.T, p *packed) []string {
			// File 2 gone from disk, .verf and manifest alike, rows adjusted:
			// only the numbering shows the hole.
			os.Remove(p.path(1))
			p.writeVerf(t, []string{"name", "bytes", "lines", "period", "ctime", "md5"}, []Entry{p.entries[0], p.entries[2]})
			s := &p.m.Sets[0]
			s.Files = []manifest.File{s.Files[0], s.Files[2]}
			p.m.Rows.Read -= 10
			p.m.Rows.Written -= 10
			p.writeManifest(t)
			return []string{pre + "file=" + p.names[1] + " reason=seq_gap where=local want=seq 2"}
		}, "has no file 2"},
		{"wrong line count", func(t *testing.T, p *packed) []string {
			es := append([]Entry(nil), p.entries...)
			es[0].Lines = 11
			p.writeVerf(t, []string{"name", "bytes", "lines", "period", "ctime", "md5"}, es)
			p.m.Sets[0].Files[0].Lines = 11
			p.m.Rows.Read++
			p.m.Rows.Written++
			p.writeManifest(t)
			return []string{pre + "file=" + p.names[0] + " reason=line_mismatch where=local want=11 got=10"}
		}, ""},
		{"missing .verf", func(t *testing.T, p *packed) []string {
			os.Remove(filepath.Join(p.dir, p.m.Sets[0].Verf))
			return []string{pre + "file=" + p.m.Sets[0].Verf + " reason=missing_verf where=local"}
		}, "no such file"},
		{"rows do not add up", func(t *testing.T, p *packed) []string {
			p.m.Rows.Read += 5
			p.writeManifest(t)
			return []string{pre + "file=- reason=rows_mismatch where=local want=30 got=25"}
		}, "read 33 - rejected 1 - filtered 2"},
		{".verf and manifest disagree", func(t *testing.T, p *packed) []string {
			p.m.Sets[0].Files[1].MD5 = "00000000000000000000000000000000"
			p.writeManifest(t)
			return []string{pre + "file=" + p.names[1] + " reason=manifest_mismatch where=local want=00000000000000000000000000000000 got=" + p.entries[1].MD5}
		}, "md5"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := pack(t, 25)
			want := c.damage(t, p)
			rep, lines := runLines(t, p.options())
			if rep.OK {
				t.Fatalf("damage not caught: %v", lines)
			}
			var got []string
			for _, l := range lines {
				got = append(got, stripDetail(l))
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
			}
			if c.detail != "" && !strings.Contains(rep.Results[0].Findings[0].Detail, c.detail) {
				t.Errorf("detail %q does not mention %q", rep.Results[0].Findings[0].Detail, c.detail)
			}
		})
	}
}

func TestVerifyOlderBuildWithoutManifest(t *testing.T) {
	p := pack(t, 25)
	p.writeVerf(t, []string{"name", "bytes", "lines", "period", "ctime"}, p.entries)
	os.Remove(filepath.Join(p.dir, workdir.ManifestFile))
	rep, lines := runLines(t, p.options())
	if !rep.OK {
		t.Fatalf("older output failed: %v", lines)
	}
	want := "CHAMA_VERIFY WARN iface=51007 period=20241212 file=manifest.json reason=no_manifest where=local\n" +
		"CHAMA_VERIFY OK iface=51007 period=20241212 files=3 lines=25"
	if got := stripDetail(lines[0]) + "\n" + lines[1]; got != want || len(lines) != 2 {
		t.Fatalf("lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), want)
	}
}

func TestVerifyNotPacked(t *testing.T) {
	p := pack(t, 5)
	os.RemoveAll(p.dir)
	rep, lines := runLines(t, p.options())
	if rep.OK || stripDetail(lines[0]) != "CHAMA_VERIFY FAIL iface=51007 period=20241212 file=- reason=not_packed where=local" {
		t.Fatalf("got %v", lines)
	}
}

func TestVerifyJSONExact(t *testing.T) {
	p := pack(t, 25)
	if err := os.Truncate(p.path(2), 7); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(t.Context(), p.options())
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteJSON(&b, rep); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`{
  "ok": false,
  "results": [
    {
      "iface": "51007",
      "period": "20241212",
      "ok": false,
      "sets": 1,
      "files": 3,
      "lines": 25,
      "bytes": %d,
      "findings": [
        {
          "severity": "FAIL",
          "iface": "51007",
          "period": "20241212",
          "file": "%s",
          "reason": "size_mismatch",
          "where": "local",
          "want": "%d",
          "got": "7",
          "fix": "chama pack --date 20241212 --iface 51007; then chama verify --date 20241212 --iface 51007"
        }
      ]
    }
  ]
}
`, p.entries[0].Bytes+p.entries[1].Bytes+p.entries[2].Bytes, p.names[2], p.entries[2].Bytes)
	if b.String() != want {
		t.Fatalf("json:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestVerifyTable(t *testing.T) {
	good := pack(t, 25)
	bad := pack(t, 25)
	os.Remove(bad.path(0))
	os.Remove(bad.path(1))
	repG, _ := Run(t.Context(), good.options())
	repB, _ := Run(t.Context(), bad.options())
	rep := &Report{Results: append(repG.Results, repB.Results...)}
	var b bytes.Buffer
	if err := WriteTable(&b, rep); err != nil {
		t.Fatal(err)
	}
	want := "IFACE  PERIOD    STATUS  FILES  LINES  PROBLEMS\n" +
		"51007  20241212  OK      3      25     -\n" +
		"51007  20241212  FAIL    3      25     missing_file x2 (" + bad.names[0] + ")\n" +
		"1 of 2 interface periods OK\n"
	if b.String() != want {
		t.Fatalf("table:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestVerifyHourOfDayInterfaceIsRefused(t *testing.T) {
	p := pack(t, 5)
	o := p.options()
	o.Periods[0].Hourly = true
	if _, err := Run(t.Context(), o); err == nil || !strings.Contains(err.Error(), "delivered per day") {
		t.Fatalf("err = %v", err)
	}
}

func TestVerifyRange(t *testing.T) {
	p := pack(t, 25)
	o := p.options()
	ps, err := naming.ParsePeriods("20241211..20241212")
	if err != nil {
		t.Fatal(err)
	}
	o.Periods = ps
	rep, lines := runLines(t, o)
	want := "CHAMA_VERIFY FAIL iface=51007 period=20241211 file=- reason=not_packed where=local\nCHAMA_VERIFY OK iface=51007 period=20241212 files=3 lines=25"
	if rep.OK || len(lines) != 2 || stripDetail(lines[0])+"\n"+lines[1] != want {
		t.Fatalf("lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), want)
	}
}
