package verify

import (
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/chama-data/chama/config"
)

// The default (quick) check stats files and never reads them: a 100 GB
// file listed with its size is checked at once, while presence, size,
// sequences and the manifest are still checked. --full reads every byte
// and finds same-size damage that quick cannot see.
func TestVerifyQuickStatsAndFullReads(t *testing.T) {
	p := pack(t, 25)
	// A same-size corruption: only reading can find it.
	b, _ := os.ReadFile(p.path(0))
	b[len(b)/2] ^= 0xff
	os.WriteFile(p.path(0), b, 0o644)
	// File 2 becomes a sparse 100 GB file, listed with that size: reading
	// it would take hours, stat takes nothing.
	const huge = 100 << 30
	if err := os.Truncate(p.path(1), huge); err != nil {
		t.Skipf("no sparse files here: %v", err)
	}
	es := append([]Entry(nil), p.entries...)
	es[1].Bytes = huge
	p.m.Sets[0].Files[1].Bytes = huge
	p.writeVerf(t, config.DefaultVerfColumns, es)
	p.writeManifest(t)

	o := p.options()
	o.Quick = true
	rep, lines := runLines(t, o)
	if !rep.OK {
		t.Fatalf("quick: %s", strings.Join(lines, "\n"))
	}

	// A missing file is found by quick, with its repair.
	os.Remove(p.path(2))
	rep, lines = runLines(t, o)
	if rep.OK || !strings.Contains(lines[0], "reason=missing_file") || !strings.Contains(lines[0], `fix="chama pack --date 20241212 --iface 51007`) {
		t.Fatalf("quick, missing file: %s", strings.Join(lines, "\n"))
	}

	// --full reads every byte: file 1's same-size corruption is found
	// (file 2 is made small again first).
	os.Truncate(p.path(1), p.entries[1].Bytes)
	es[1].Bytes = p.entries[1].Bytes
	p.m.Sets[0].Files[1].Bytes = p.entries[1].Bytes
	p.writeVerf(t, config.DefaultVerfColumns, es)
	p.writeManifest(t)
	o.Quick = false
	_, lines = runLines(t, o)
	if !strings.Contains(strings.Join(lines, "\n"), "file="+p.names[0]+" reason=checksum_mismatch") {
		t.Errorf("full: the same-size corruption is not found:\n%s", strings.Join(lines, "\n"))
	}
}

// BenchmarkVerify4000Files is the on-call answer for a 51007-sized day:
// 4,000 files. quick: every file sparse at 125 MiB (500 GB listed), so a
// reading check would take hours and quick must not care; full: the same
// 4,000 files at their real few hundred bytes, for the per-file cost of
// reading. go test ./verify -run '^$' -bench Verify4000 -benchtime 3x
func BenchmarkVerify4000Files(b *testing.B) {
	for _, mode := range []string{"quick", "full"} {
		b.Run(mode, func(b *testing.B) {
			p := pack(b, 40000) // lines_per_file 10: 4,000 files
			if mode == "quick" {
				es := append([]Entry(nil), p.entries...)
				for i := range es {
					es[i].Bytes = 125 << 20
					p.m.Sets[0].Files[i].Bytes = es[i].Bytes
					if err := os.Truncate(p.path(i), es[i].Bytes); err != nil {
						b.Skip(err)
					}
				}
				p.writeVerf(b, config.DefaultVerfColumns, es)
				p.writeManifest(b)
			}
			o := p.options()
			o.Quick = mode == "quick"
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				rep, err := Run(b.Context(), o)
				if err != nil || !rep.OK {
					b.Fatalf("%v %+v", err, rep.Results[0].Findings[:min(3, len(rep.Results[0].Findings))])
				}
			}
		})
	}
}

// verify --full of a GBK interface finds a character whose second byte
// is the delimiter (written by an older build or another tool).
func TestVerifyFullFindsDelimiterInsideGBKCharacter(t *testing.T) {
	p := pack(t, 25)
	p.ifc.Charset = "gbk"
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	for i := 0; i < int(p.entries[0].Lines); i++ {
		if i == 3 {
			zw.Write([]byte("row\x81\x7cx|x|y\n")) // 亅 in GBK: 81 7C
			continue
		}
		fmt.Fprintf(zw, "row-%05d|x|y\n", i)
	}
	zw.Close()
	os.WriteFile(p.path(0), buf.Bytes(), 0o644)
	sum := md5.Sum(buf.Bytes())
	es := append([]Entry(nil), p.entries...)
	es[0].Bytes, es[0].MD5 = int64(buf.Len()), hex.EncodeToString(sum[:])
	p.m.Sets[0].Files[0].Bytes, p.m.Sets[0].Files[0].MD5 = es[0].Bytes, es[0].MD5
	p.writeVerf(t, config.DefaultVerfColumns, es)
	p.writeManifest(t)
	o := p.options()
	rep, lines := runLines(t, o)
	if rep.OK || !strings.Contains(strings.Join(lines, "\n"), "reason=delimiter_in_character") || !strings.Contains(strings.Join(lines, "\n"), "line 4:") {
		t.Errorf("full check:\n%s", strings.Join(lines, "\n"))
	}
	o.Quick = true // stat level cannot see it, by design
	if rep, _ := runLines(t, o); !rep.OK {
		t.Error("quick check read the files")
	}
}
