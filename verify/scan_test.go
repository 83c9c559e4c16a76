package verify

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"
)

// TestScanFileGzipErrorSaysGzipOnce: the finding's detail reads
// "gzip: invalid checksum", not "gzip: gzip: invalid checksum".
func TestScanFileGzipErrorSaysGzipOnce(t *testing.T) {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(strings.Repeat("a|b|c\n", 100)))
	zw.Close()
	data := b.Bytes()
	data[len(data)-6] ^= 0xff // the CRC32 in the trailer
	s, err := scanFile(bytes.NewReader(data), false)
	if err != nil {
		t.Fatal(err)
	}
	if s.GzErr == nil || s.GzErr.Error() != "gzip: invalid checksum" {
		t.Fatalf("GzErr = %v, want gzip: invalid checksum", s.GzErr)
	}
	if s.Lines != 100 || s.Bytes != int64(len(data)) {
		t.Errorf("lines %d bytes %d, want 100 %d", s.Lines, s.Bytes, len(data))
	}
}

// A GBK character whose second byte is '|' (亅 is 81 7C) is found by
// line; '|' as a plain byte, a GB18030 four-byte character and a lead
// byte split across writes are handled.
func TestDelimScanner(t *testing.T) {
	for _, c := range []struct {
		chunks [][]byte
		want   int64
	}{
		{[][]byte{[]byte("a|b\n"), {0xbd, 0xad, '|', 'x', '\n'}}, 0}, // 江 then a plain '|'
		{[][]byte{[]byte("a|b\n"), {'c', 0x81, 0x7c, '\n'}}, 2},      // 亅 on line 2
		{[][]byte{[]byte("x\ny\n"), {0x81}, {0x7c, '\n'}}, 3},        // lead byte at a write's end
		{[][]byte{{0x81, 0x30, 0x81, 0x30, '|', '\n'}}, 0},           // GB18030 four bytes, then '|'
	} {
		d := &delimScanner{delim: '|'}
		for _, ch := range c.chunks {
			d.Write(ch)
		}
		if d.found != c.want {
			t.Errorf("%q: found line %d, want %d", c.chunks, d.found, c.want)
		}
	}
}
