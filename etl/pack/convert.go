package pack

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"

	"github.com/chama-data/chama/config"
)

// converter turns one input line into one output line. It is used by a
// single goroutine and reuses its buffers, so the hot path allocates
// nothing.
type converter struct {
	in, out   byte
	fields    int    // expected field count, 0: any
	mode      string // embedded output delimiter: fail, strip or replace
	with      []byte
	partField int // 1-based, 0: none
	enc       transform.Transformer
	encBuf    []byte
	scratch   []byte // a value being re-emitted under the policy (emitRecord)
	// The batch emitRecord reads, and its string columns that hold no line
	// break and no output delimiter (nil: each value is checked); see
	// scanRecord.
	scanned arrow.RecordBatch
	clean   []*array.String
}

// verdict is what convert decided about a line.
type verdict struct {
	part     []byte // the partition value (a sub-slice of the input line)
	affected int    // values whose embedded output delimiter was stripped/replaced
	reject   string // non-empty: the line is rejected for this reason
	fatal    string // non-empty: the period fails (embedded_delimiter: fail)
}

func newConverter(i *config.Interface) (*converter, error) {
	pol, err := config.ParsePolicy(i.EmbeddedDelimiter)
	if err != nil {
		return nil, fmt.Errorf("interface %s: embedded_delimiter: %w", i.Name, err)
	}
	if len(i.Delimiter) != 1 || len(i.OutDelimiter) != 1 {
		return nil, fmt.Errorf("interface %s: delimiters must be single bytes", i.Name)
	}
	c := &converter{
		in: i.Delimiter[0], out: i.OutDelimiter[0],
		fields: i.Fields, mode: pol.Mode, with: []byte(pol.With),
		partField: i.PartitionField,
	}
	switch strings.ToLower(i.Charset) {
	case "", "utf-8", "utf8":
	case "gbk":
		c.enc = simplifiedchinese.GBK.NewEncoder()
	case "gb18030":
		c.enc = simplifiedchinese.GB18030.NewEncoder()
	default:
		return nil, fmt.Errorf("interface %s: charset %q is not utf-8, gbk or gb18030", i.Name, i.Charset)
	}
	return c, nil
}

// check drops a trailing '\r', counts the fields and finds the partition
// value; it returns the line to emit. It does not look at the content of
// the values, so the caller can pick the partition's buffer before emit.
func (c *converter) check(line []byte) ([]byte, verdict) {
	var v verdict
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if i := bytes.IndexByte(line, '\r'); i >= 0 {
		// Hive's and Java's line readers end a line at a lone CR too: the
		// row would be split downstream and the .verf count broken.
		v.reject = fmt.Sprintf("a carriage return at byte %d (a line break for Hive and Java readers)", i)
		return line, v
	}
	nf := bytes.Count(line, []byte{c.in}) + 1
	if c.fields > 0 && nf != c.fields {
		v.reject = fmt.Sprintf("%d fields, want %d", nf, c.fields)
		return line, v
	}
	if c.partField > 0 {
		p, ok := field(line, c.in, c.partField)
		if !ok {
			v.reject = fmt.Sprintf("no field %d for the partition value (%d fields)", c.partField, nf)
			return line, v
		}
		if !validPart(p) {
			v.reject = fmt.Sprintf("partition value %q (field %d) is not letters, digits or '-'", p, c.partField)
			return line, v
		}
		v.part = p
	}
	return line, v
}

// emit appends the converted line and '\n' to dst. When it sets v.reject
// or v.fatal, dst comes back with its original length.
func (c *converter) emit(dst, line []byte, v *verdict) []byte {
	start := len(dst)
	if c.in == c.out || bytes.IndexByte(line, c.out) < 0 {
		// Fast path: no embedded output delimiter, swap delimiters in place.
		dst = append(dst, line...)
		if c.in != c.out {
			swapByte(dst[start:], c.in, c.out)
		}
	} else {
		rest, k := line, 0
		for {
			k++
			i := bytes.IndexByte(rest, c.in)
			val := rest
			if i >= 0 {
				val = rest[:i]
			}
			var ok bool
			if dst, ok = c.value(dst, val, k, v); !ok {
				return dst[:start]
			}
			if i < 0 {
				break
			}
			dst = append(dst, c.out)
			rest = rest[i+1:]
		}
	}
	return c.finish(dst, start, v)
}

// value appends field k (1-based) of a line to dst, applying the
// embedded-delimiter policy when it holds the output delimiter. It
// returns false when the policy is fail (v.fatal says why).
func (c *converter) value(dst, val []byte, k int, v *verdict) ([]byte, bool) {
	if bytes.IndexByte(val, c.out) < 0 {
		return append(dst, val...), true
	}
	v.affected++
	switch c.mode {
	case "fail":
		v.fatal = fmt.Sprintf("field %d contains the output delimiter %q (embedded_delimiter: fail)", k, c.out)
		return dst, false
	case "strip":
		for _, b := range val {
			if b != c.out {
				dst = append(dst, b)
			}
		}
	default: // replace
		for _, b := range val {
			if b == c.out {
				dst = append(dst, c.with...)
			} else {
				dst = append(dst, b)
			}
		}
	}
	return dst, true
}

// finish converts the line dst[start:] to the output charset and ends it
// with '\n'. When it sets v.reject, dst comes back with length start.
//
// UTF-8 output must be valid UTF-8. GBK and GB18030 output is checked
// after encoding: the second byte of a double-byte character can be any
// of 0x40-0xFE, '|' (0x7C) included, and a reader that splits the line on
// the delimiter byte would cut that character in two.
func (c *converter) finish(dst []byte, start int, v *verdict) []byte {
	if isASCII(dst[start:]) {
		return append(dst, '\n')
	}
	if c.enc == nil {
		if !utf8.Valid(dst[start:]) {
			v.reject = fmt.Sprintf("invalid UTF-8 at output byte %d", invalidAt(dst[start:]))
			return dst[:start]
		}
		return append(dst, '\n')
	}
	var reason string
	dst, reason = c.encode(dst, start)
	if reason != "" {
		v.reject = reason
		return dst[:start]
	}
	if at := trailDelimiter(dst[start:], c.out); at >= 0 {
		v.affected++
		if c.mode == "fail" {
			v.fatal = fmt.Sprintf("a character whose encoding holds the output delimiter byte %q (bytes %#x %#x at output byte %d) (embedded_delimiter: fail)", c.out, dst[start+at-1], dst[start+at], at-1)
		} else {
			v.reject = fmt.Sprintf("a character whose encoding holds the output delimiter byte %q (bytes %#x %#x at output byte %d): a reader splitting on it would cut the character", c.out, dst[start+at-1], dst[start+at], at-1)
		}
		return dst[:start]
	}
	return append(dst, '\n')
}

// trailDelimiter returns the offset of the first byte of a GBK/GB18030
// multi-byte character in b that equals delim, or -1.
func trailDelimiter(b []byte, delim byte) int {
	for i := 0; i < len(b); {
		switch c := b[i]; {
		case c < 0x80 || i+1 >= len(b):
			i++
		case b[i+1] >= 0x30 && b[i+1] <= 0x39: // GB18030 four-byte form: no byte can be an ASCII delimiter but digits
			if b[i+1] == delim || (i+3 < len(b) && b[i+3] == delim) {
				return i + 1
			}
			i += 4
		default:
			if b[i+1] == delim {
				return i + 1
			}
			i += 2
		}
	}
	return -1
}

// invalidAt is the offset of the first invalid UTF-8 byte in b.
func invalidAt(b []byte) int {
	off := 0
	for off < len(b) {
		r, n := utf8.DecodeRune(b[off:])
		if r == utf8.RuneError && n == 1 {
			break
		}
		off += n
	}
	return off
}

// encode converts dst[start:] from UTF-8 to the output charset in place.
func (c *converter) encode(dst []byte, start int) ([]byte, string) {
	src := dst[start:]
	if !utf8.Valid(src) {
		return dst, fmt.Sprintf("invalid UTF-8 at output byte %d", invalidAt(src))
	}
	if cap(c.encBuf) < 2*len(src)+16 {
		c.encBuf = make([]byte, 2*len(src)+64)
	}
	c.enc.Reset()
	nDst, nSrc, err := c.enc.Transform(c.encBuf[:cap(c.encBuf)], src, true)
	if err != nil {
		r, _ := utf8.DecodeRune(src[nSrc:])
		return dst, fmt.Sprintf("character %q (U+%04X) at output byte %d cannot be encoded in the output charset", r, r, nSrc)
	}
	return append(dst[:start], c.encBuf[:nDst]...), ""
}

// field returns the k-th (1-based) field of line.
func field(line []byte, sep byte, k int) ([]byte, bool) {
	for ; k > 1; k-- {
		i := bytes.IndexByte(line, sep)
		if i < 0 {
			return nil, false
		}
		line = line[i+1:]
	}
	if i := bytes.IndexByte(line, sep); i >= 0 {
		line = line[:i]
	}
	return line, true
}

// validPart accepts what a {part} in a file name can carry.
func validPart(p []byte) bool {
	if len(p) == 0 || len(p) > 64 {
		return false
	}
	for _, b := range p {
		if !(b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '-') {
			return false
		}
	}
	return true
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// swapByte replaces every old byte of b with new, eight bytes at a time
// (the delimiter swap is the per-byte hot spot of pack).
func swapByte(b []byte, old, new byte) {
	pat := uint64(old) * lsb
	flip := uint64(old^new) * lsb
	i := 0
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		x := w ^ pat // zero bytes where w has old
		// Exact zero-byte mask: high bit set in each byte of x that is 0.
		z := ^(((x & ^uint64(msb)) + ^uint64(msb)) | x) & msb
		if z == 0 {
			continue
		}
		m := (z >> 7) * 0xff
		binary.LittleEndian.PutUint64(b[i:], w^(m&flip))
	}
	for ; i < len(b); i++ {
		if b[i] == old {
			b[i] = new
		}
	}
}

// isASCII reports whether b has no byte >= 0x80.
func isASCII(b []byte) bool {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])&msb != 0 {
			return false
		}
	}
	for ; i < len(b); i++ {
		if b[i] >= 0x80 {
			return false
		}
	}
	return true
}
