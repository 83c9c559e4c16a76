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
func scanFile(r io.Reader, wantSHA bool) (s scan, err error) {
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
	zr, gzErr := gzip.NewReader(tee)
	if gzErr == nil {
		_, gzErr = io.Copy(lc, zr)
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
