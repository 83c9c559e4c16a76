package verify

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/klauspost/compress/gzip"
)

// scan is what one pass over a compressed file tells.
type scan struct {
	Bytes  int64
	MD5    string
	SHA256 string // only when asked for
	Lines  int64
	GzErr  error // nil when the whole file is one or more valid gzip members
	// DelimLine is the first line with a GBK/GB18030 character holding
	// the delimiter byte (0: none, or not looked for).
	DelimLine int64
}

// countingWriter counts the compressed bytes that went through the hashes.
type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// lineCounter counts decompressed lines; a last line without '\n' counts.
type lineCounter struct {
	n    int64
	last byte
	any  bool
}

func (l *lineCounter) Write(p []byte) (int, error) {
	if len(p) > 0 {
		l.n += int64(bytes.Count(p, []byte{'\n'}))
		l.last, l.any = p[len(p)-1], true
	}
	return len(p), nil
}

// delimScanner finds the first line where a GBK/GB18030 character's
// second byte is the output delimiter: a reader splitting on the
// delimiter byte would cut the character (pack rejects such rows; an
// older build or another tool may not have).
type delimScanner struct {
	delim byte
	line  int64 // lines seen so far
	lead  bool  // the previous byte began a multi-byte character
	skip  int   // bytes left of a four-byte GB18030 character
	found int64 // 1-based line of the first hit, 0: none
}

func (d *delimScanner) Write(p []byte) (int, error) {
	if d.found > 0 {
		return len(p), nil
	}
	for _, b := range p {
		switch {
		case d.skip > 0:
			d.skip--
		case d.lead:
			d.lead = false
			switch {
			case b >= 0x30 && b <= 0x39:
				d.skip = 2 // GB18030 four-byte form
			case b == d.delim:
				d.found = d.line + 1
				return len(p), nil
			}
		case b >= 0x81 && b <= 0xfe:
			d.lead = true
		case b == '\n':
			d.line++
		}
	}
	return len(p), nil
}

func (l *lineCounter) lines() int64 {
	if l.any && l.last != '\n' {
		return l.n + 1
	}
	return l.n
}

// scanFile reads r once: checksums of the compressed bytes, and a full
// decompression that counts lines and proves the gzip stream whole (CRC
// and size trailer of every member, nothing after the last one). An error
// reading r itself is returned as err; a gzip problem is in GzErr.
func scanFile(r io.Reader, wantSHA bool) (s scan, err error) { return scanFileDelim(r, wantSHA, 0) }

// scanFileDelim is scanFile that also looks, when delim is not 0, for a
// GBK/GB18030 character holding the delimiter byte (scan.DelimLine).
func scanFileDelim(r io.Reader, wantSHA bool, delim byte) (s scan, err error) {
	m := md5.New()
	var sh hash.Hash
	cw := &countingWriter{}
	ws := []io.Writer{m, cw}
	if wantSHA {
		sh = sha256.New()
		ws = append(ws, sh)
	}
	// Read errors of r come back through the tee; tell them apart from
	// gzip errors by wrapping r.
	rr := &readErr{r: r}
	tee := io.TeeReader(rr, io.MultiWriter(ws...))
	lc := &lineCounter{}
	var out io.Writer = lc
	var ds *delimScanner
	if delim != 0 {
		ds = &delimScanner{delim: delim}
		out = io.MultiWriter(lc, ds)
	}
	zr, gzErr := gzip.NewReader(tee)
	if gzErr == nil {
		_, gzErr = io.Copy(out, zr)
		if gzErr == nil {
			gzErr = zr.Close()
		}
	}
	// Whatever the gzip reader left unread still counts for size and checksum.
	if _, derr := io.Copy(io.Discard, tee); derr != nil && rr.err == nil {
		rr.err = derr
	}
	if rr.err != nil {
		return s, rr.err
	}
	if gzErr != nil {
		if errors.Is(gzErr, io.EOF) || errors.Is(gzErr, io.ErrUnexpectedEOF) {
			gzErr = fmt.Errorf("truncated gzip stream (%v) after %d compressed bytes", gzErr, cw.n)
		} else if !strings.HasPrefix(gzErr.Error(), "gzip: ") {
			gzErr = fmt.Errorf("gzip: %v", gzErr)
		}
	}
	s = scan{Bytes: cw.n, MD5: hex.EncodeToString(m.Sum(nil)), Lines: lc.lines(), GzErr: gzErr}
	if ds != nil {
		s.DelimLine = ds.found
	}
	if sh != nil {
		s.SHA256 = hex.EncodeToString(sh.Sum(nil))
	}
	return s, nil
}

type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}
