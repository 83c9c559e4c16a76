package pack

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/workdir"
)

func TestSwapByteMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 200 {
		b := make([]byte, n)
		for i := range b {
			b[i] = []byte{1, '|', 'a', 0x81, 0, 0xff}[r.IntN(6)]
		}
		want := bytes.ReplaceAll(b, []byte{1}, []byte{'|'})
		got := append([]byte(nil), b...)
		swapByte(got, 1, '|')
		if !bytes.Equal(got, want) {
			t.Fatalf("len %d: swapByte(%q) = %q, want %q", n, b, got, want)
		}
		if isASCII(b) != (bytes.IndexFunc(b, func(r rune) bool { return r >= 0x80 || r == 0xfffd }) < 0) {
			t.Fatalf("isASCII(%q) wrong", b)
		}
	}
}

// Each embedded-delimiter policy, visible in the manifest's count.
func TestPackEmbeddedDelimiterPolicies(t *testing.T) {
	lines := []string{row("a|b", "c"), row("d", "e"), row("f|g|h", "i|j")}
	for _, tc := range []struct {
		policy  string
		want    []string
		count   int64
		failErr string
	}{
		{policy: "strip", want: []string{"ab|c", "d|e", "fgh|ij"}, count: 3},
		{policy: "replace:_", want: []string{"a_b|c", "d|e", "f_g_h|i_j"}, count: 3},
		{policy: "replace:", want: []string{"ab|c", "d|e", "fgh|ij"}, count: 3},
		{policy: "replace:<PIPE>", want: []string{"a<PIPE>b|c", "d|e", "f<PIPE>g<PIPE>h|i<PIPE>j"}, count: 3},
		{policy: "fail", failErr: "part-0.gz line 1: field 1 contains the output delimiter '|'"},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			e := newEnv(t, `embedded_delimiter: "`+tc.policy+`"`)
			e.writeInput("ods/dt=20241212/part-0.gz", lines...)
			m, err := e.pack("20241212")
			if tc.failErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.failErr) {
					t.Fatalf("err = %v, want %q", err, tc.failErr)
				}
				if _, serr := os.Stat(e.outDir("20241212")); !os.IsNotExist(serr) {
					t.Error("output published after a fail policy error")
				}
				e.noTemporaries()
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := readGz(t, filepath.Join(e.outDir("20241212"), "a_10000_20241212_X_00_0001.dat.gz"))
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if m.Rows.Delimiters != tc.count {
				t.Errorf("embedded_delimiters = %d, want %d", m.Rows.Delimiters, tc.count)
			}
		})
	}
}

// UTF-8 input is written as GBK (decoding gives the original text back);
// a character GBK cannot hold is a counted reject with its reason.
func TestPackCharsetGBKRoundTrip(t *testing.T) {
	e := newEnv(t, "charset: gbk\nmax_rejects: 1\nfields: -1")
	in := []string{row("江苏", "南京市", "ascii"), row("北京", "€5"), row("emoji", "😀")}
	e.writeInput("ods/dt=20241212/a.gz", in...)
	m := e.mustPack("20241212")
	raw := readGz(t, filepath.Join(e.outDir("20241212"), "a_10000_20241212_X_00_0001.dat.gz"))
	if len(raw) != 2 {
		t.Fatalf("%d lines, want 2", len(raw))
	}
	if bytes.Equal([]byte(raw[0]), []byte("江苏|南京市|ascii")) {
		t.Fatal("output is still UTF-8")
	}
	dec := simplifiedchinese.GBK.NewDecoder()
	for k, want := range []string{"江苏|南京市|ascii", "北京|€5"} {
		got, err := dec.String(raw[k])
		if err != nil || got != want {
			t.Errorf("line %d decodes to %q (%v), want %q", k+1, got, err, want)
		}
	}
	if m.Rows.Rejected != 1 || m.Rows.Written != 2 || m.Rows.Read != 3 {
		t.Errorf("rows %+v", m.Rows)
	}
	rej, _ := os.ReadFile(filepath.Join(e.outDir("20241212"), workdir.RejectsFile))
	if !strings.HasPrefix(string(rej), "ods/dt=20241212/a.gz\t3\t") || !strings.Contains(string(rej), "U+1F600") {
		t.Errorf("rejects.txt = %q", rej)
	}
}

// GB18030 holds every character; invalid UTF-8 input is a reject, not a
// silent replacement character.
func TestPackCharsetGB18030(t *testing.T) {
	e := newEnv(t, "charset: gb18030\nmax_rejects: 1\nfields: -1")
	e.writeInput("ods/dt=20241212/a.gz", row("emoji", "😀"), "bad\xff\xfeutf8")
	m := e.mustPack("20241212")
	raw := readGz(t, filepath.Join(e.outDir("20241212"), "a_10000_20241212_X_00_0001.dat.gz"))
	got, err := simplifiedchinese.GB18030.NewDecoder().String(raw[0])
	if err != nil || got != "emoji|😀" {
		t.Errorf("decoded %q, %v", got, err)
	}
	rej, _ := os.ReadFile(filepath.Join(e.outDir("20241212"), workdir.RejectsFile))
	if m.Rows.Rejected != 1 || !strings.Contains(string(rej), "\t2\tinvalid UTF-8 at output byte 3") {
		t.Errorf("rows %+v rejects %q", m.Rows, rej)
	}
}

// CR/LF input becomes LF output; a last line without '\n' still counts.
func TestPackNormalisesCRLF(t *testing.T) {
	e := newEnv(t, "fields: 2")
	p := filepath.Join(e.root, "ods/dt=20241212/a")
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, []byte("a\x01b\r\nc\x01d\r\ne\x01f"), 0o644)
	m := e.mustPack("20241212")
	got := readGz(t, filepath.Join(e.outDir("20241212"), "a_10000_20241212_X_00_0001.dat.gz"))
	if strings.Join(got, ",") != "a|b,c|d,e|f" || m.Rows.Written != 3 {
		t.Errorf("got %q rows %+v", got, m.Rows)
	}
}

// sampleLine is a 51007-like row: 21 fields, ~400 bytes.
func sampleLine() []byte {
	f := []string{"0e8ff043-cef0-4cc1-9c00-e656535e73d4", "y3NTtZ7yva8ZaOH8EN/I5ImtRpsLIc/xxndqMss0aRo=", "$AppViewScreen",
		"1733932946313", "1733932945826", "$basic_userId", "I/TTqroINdvZxg7hIqvqrw==", "5f44d3873ff0fb25889b36724805a16b",
		"com.chinamobile.leadeon", "yingyongbao", "200000", "", "39.167.86.150", "leadeon/10.9.1 CFNetwork/1494.0.7 Darwin/23.4.0",
		"3.2.1", "25.198925", "109.254358", `{"WT_et":"clk","WT_event":"home_banner","WT_page":"https://h5.example.cn/p?id=123"}`, "791", "20241212", "00"}
	return []byte(strings.Join(f, "\x01"))
}

// The per-line hot path (check + emit into a reused buffer) allocates
// nothing, for UTF-8 and for GBK output alike.
func TestConvertDoesNotAllocate(t *testing.T) {
	for _, cs := range []string{"utf-8", "gbk"} {
		c, err := newConverter(&config.Interface{Name: "X", Delimiter: "\x01", OutDelimiter: "|", EmbeddedDelimiter: "replace: ", Charset: cs, Fields: 21, PartitionField: 19})
		if err != nil {
			t.Fatal(err)
		}
		line := append(sampleLine(), "江苏"...)
		dst := make([]byte, 0, 1<<16)
		allocs := testing.AllocsPerRun(1000, func() {
			l, v := c.check(line)
			dst = c.emit(dst[:0], l, &v)
			if v.reject != "" || v.fatal != "" {
				t.Fatal(v)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %.1f allocations per line, want 0", cs, allocs)
		}
	}
}

func BenchmarkConvert(b *testing.B) {
	c, _ := newConverter(&config.Interface{Name: "X", Delimiter: "\x01", OutDelimiter: "|", EmbeddedDelimiter: "replace: ", Charset: "utf-8", Fields: 21})
	line := sampleLine()
	dst := make([]byte, 0, 1<<20)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if len(dst) > 1<<19 {
			dst = dst[:0]
		}
		l, v := c.check(line)
		dst = c.emit(dst, l, &v)
	}
}

// GBK's second byte of 亅 (81 7C) is '|', the output delimiter: the row
// is rejected and counted (or fails the period under embedded_delimiter:
// fail), never written where a reader splitting on '|' would cut it.
func TestPackGBKTrailByteDelimiterIsCaught(t *testing.T) {
	e := newEnv(t, "charset: gbk\nmax_rejects: 5\nembedded_delimiter: strip")
	e.writeInput("ods/dt=20241212/a.gz", row("江苏", "ok"), row("亅", "x"), row("a", "億b"))
	m := e.mustPack("20241212")
	raw := readGz(t, filepath.Join(e.outDir("20241212"), "a_10000_20241212_X_00_0001.dat.gz"))
	if len(raw) != 1 || m.Rows.Rejected != 2 || m.Rows.Written != 1 || m.Rows.Read != 3 {
		t.Fatalf("%d lines written, rows %+v; want 1 written and 2 rejected", len(raw), m.Rows)
	}
	for _, l := range raw {
		if strings.Count(l, "|") != 1 {
			t.Errorf("line %q has %d delimiter bytes, want 1", l, strings.Count(l, "|"))
		}
	}
	rej, _ := os.ReadFile(filepath.Join(e.outDir("20241212"), workdir.RejectsFile))
	if !strings.Contains(string(rej), "holds the output delimiter byte") {
		t.Errorf("rejects.txt = %q", rej)
	}

	f := newEnv(t, "charset: gbk\nembedded_delimiter: fail")
	f.writeInput("ods/dt=20241212/a.gz", row("亅", "x"))
	if _, err := f.pack("20241212"); err == nil || !strings.Contains(err.Error(), "embedded_delimiter: fail") {
		t.Errorf("embedded_delimiter: fail: got %v", err)
	}
}

// With the default charset, invalid UTF-8 is a reject, as docs/pack.md
// says, not a row passed through.
func TestPackUTF8RejectsInvalidUTF8(t *testing.T) {
	e := newEnv(t, "max_rejects: 1\nfields: -1")
	e.writeInput("ods/dt=20241212/a.gz", row("ok", "江苏"), "bad\xff\xfeutf8")
	m := e.mustPack("20241212")
	rej, _ := os.ReadFile(filepath.Join(e.outDir("20241212"), workdir.RejectsFile))
	if m.Rows.Rejected != 1 || m.Rows.Written != 1 || !strings.Contains(string(rej), "\t2\tinvalid UTF-8 at output byte 3") {
		t.Errorf("rows %+v rejects %q", m.Rows, rej)
	}
}

// Without fields, the count is learnt from the first lines of the period
// (the most common count), so a row with an embedded input delimiter is a
// counted reject, not a line delivered with an extra field, as the old
// pipeline did. fields: -1 accepts any count.
func TestPackLearnsTheFieldCount(t *testing.T) {
	e := newEnv(t, "max_rejects: 5")
	e.writeInput("ods/dt=20241212/a.gz", row("1", "a", "x"), row("2", "b\x01B", "y"), row("3", "c", "z"))
	m := e.mustPack("20241212")
	rej, _ := os.ReadFile(filepath.Join(e.outDir("20241212"), workdir.RejectsFile))
	if m.Rows.Rejected != 1 || m.Rows.Written != 2 || !strings.Contains(string(rej), "\t2\t4 fields, want 3\t") {
		t.Errorf("rows %+v rejects %q", m.Rows, rej)
	}
	any := newEnv(t, "fields: -1")
	any.writeInput("ods/dt=20241212/a.gz", row("1", "a", "x"), row("2", "b\x01B", "y"))
	if m := any.mustPack("20241212"); m.Rows.Rejected != 0 || m.Rows.Written != 2 {
		t.Errorf("fields: -1: rows %+v", m.Rows)
	}
}
