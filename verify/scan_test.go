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
