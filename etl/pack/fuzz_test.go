package pack

import (
	"bytes"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/chama-data/chama/config"
)

// FuzzConvert: whatever a line holds, a converted line is one line
// ending in '\n', with exactly as many output delimiters as the input had
// field separators (so a reader splitting on it sees the same fields),
// valid in its charset; otherwise it is a counted reject or a fatal
// verdict, and nothing is written.
func FuzzConvert(f *testing.F) {
	f.Add([]byte("a\x01b\x01c"), "utf-8", "replace: ")
	f.Add([]byte("江苏\x01亅\x01x|y"), "gbk", "strip")
	f.Add([]byte("bad\xff\xfe\x01z\r"), "gb18030", "fail")
	f.Fuzz(func(t *testing.T, line []byte, charset, policy string) {
		switch charset {
		case "utf-8", "gbk", "gb18030":
		default:
			charset = "utf-8"
		}
		switch policy {
		case "fail", "strip", "replace: ", "replace:_":
		default:
			policy = "strip"
		}
		if bytes.IndexByte(line, '\n') >= 0 {
			return // the reader splits lines before convert
		}
		c, err := newConverter(&config.Interface{Name: "X", Delimiter: "\x01", OutDelimiter: "|", EmbeddedDelimiter: policy, Charset: charset})
		if err != nil {
			t.Fatal(err)
		}
		prefix := []byte("keep")
		out, v := c.convert(append([]byte{}, prefix...), line)
		if !bytes.HasPrefix(out, prefix) {
			t.Fatalf("dst prefix damaged: %q", out)
		}
		got := out[len(prefix):]
		if v.reject != "" || v.fatal != "" {
			if len(got) != 0 {
				t.Fatalf("a rejected line was written: %q (%s%s)", got, v.reject, v.fatal)
			}
			return
		}
		if len(got) == 0 || got[len(got)-1] != '\n' || bytes.ContainsAny(got[:len(got)-1], "\r\n") {
			t.Fatalf("not one line: %q", got)
		}
		body := got[:len(got)-1]
		in := bytes.TrimSuffix(line, []byte("\r"))
		if want, n := bytes.Count(in, []byte{1}), bytes.Count(body, []byte("|")); n != want {
			t.Fatalf("%q -> %q: %d delimiters, want %d", line, body, n, want)
		}
		switch charset {
		case "utf-8":
			if !utf8.Valid(body) {
				t.Fatalf("invalid UTF-8 written: %q", body)
			}
		case "gbk":
			if _, err := simplifiedchinese.GBK.NewDecoder().Bytes(body); err != nil {
				t.Fatalf("invalid GBK written: %q", body)
			}
		}
	})
}

// convert is check then emit, as pack does line by line: it appends the converted line and a '\n' to dst. line excludes its
// '\n'. On a reject or fatal verdict dst is returned unchanged.
func (c *converter) convert(dst, line []byte) ([]byte, verdict) {
	line, v := c.check(line)
	if v.reject != "" {
		return dst, v
	}
	dst = c.emit(dst, line, &v)
	return dst, v
}
