package transform

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/klauspost/compress/gzip"

	"github.com/chama-data/chama/transfer/source"
)

// chunk is one input batch: raw text lines (decoded by a worker, so that
// splitting and typing run in parallel) or a Parquet record.
type chunk struct {
	hour      string
	source    string
	firstLine int64  // 1-based line number of the first line (text)
	raw       []byte // text: lines, each ended by '\n' (the last may not be)
	lines     int
	rec       arrow.RecordBatch // parquet
	res       chan *result
}

// reject is one input line that could not be used.
type reject struct {
	source string
	line   int64
	reason string
	raw    []byte
}

// result is a worker's answer for one chunk.
type result struct {
	read     int64
	rejected []reject
	nulled   int64 // fields set to NULL by a bad_value/bad_line: null policy
	out      *batchOut
	err      error
}

// countedInput tells where reading a file stopped, for precise errors.
type countedInput struct {
	r    io.Reader
	n    int64
	gz   bool
	path string
	br   *bufio.Reader
}

func (c *countedInput) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// wrap names the file and, for gzip, the compressed byte offset, and
// tells a truncated stream from a corrupt one.
func (c *countedInput) wrap(err error, line int64) error {
	off := c.n - int64(c.br.Buffered())
	switch {
	case !c.gz:
		return fmt.Errorf("read input %s at byte %d (line %d): %w", c.path, off, line, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("truncated gzip input %s: the compressed stream ends at byte %d (line %d) before the end of the data: %w", c.path, off, line, err)
	}
	return fmt.Errorf("corrupt gzip input %s at compressed byte offset %d (line %d): %w", c.path, off, line, err)
}

// openCounted opens a file, undoing gzip when it starts with gzip's magic
// bytes (Hive writes .gz, .deflate-less text or plain files).
func openCounted(ctx context.Context, src source.Source, path string) (io.Reader, io.Closer, *countedInput, error) {
	rc, err := src.Open(ctx, path)
	if err != nil {
		return nil, nil, nil, err
	}
	ci := &countedInput{r: rc, path: path}
	br := bufio.NewReaderSize(ci, 1<<20)
	ci.br = br
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		ci.gz = true
		zr, err := gzip.NewReader(br)
		if err != nil {
			rc.Close()
			return nil, nil, nil, ci.wrap(err, 1)
		}
		return bufio.NewReaderSize(zr, 1<<20), rc, ci, nil
	}
	return br, rc, ci, nil
}

// maxLine bounds one text line, so a file without line breaks is an
// error rather than unbounded memory (pack has the same bound).
var maxLine = 64 << 20

// readText cuts a text file into chunks of up to batch lines and passes
// each to emit, in order. The file is read in blocks straight into the
// chunk's buffer (taken from rawPool, returned by the worker once the
// chunk is decoded); only the part of a block past a chunk's last line is
// copied, into the next chunk.
func readText(ctx context.Context, src source.Source, path, hour string, batch int, emit func(*chunk) error) error {
	r, c, ci, err := openCounted(ctx, src, path)
	if err != nil {
		return err
	}
	defer c.Close()
	const minRead = 64 << 10
	sizeHint := 1 << 16
	first := int64(1) // line number of the chunk's first line
	buf := getRaw(sizeHint)
	scanned, lines := 0, 0 // buf[:scanned] holds lines whole lines
	eof := false
	for {
		for lines < batch {
			i := bytes.IndexByte(buf[scanned:], '\n')
			if i < 0 {
				break
			}
			scanned += i + 1
			lines++
		}
		if lines < batch && eof && scanned < len(buf) {
			buf = append(buf, '\n') // the last line has no line break
			scanned, lines = len(buf), lines+1
		}
		if lines == batch || (eof && lines > 0) {
			if n := scanned; n > sizeHint {
				sizeHint = n + n/8
			}
			next := getRaw(max(sizeHint, len(buf)-scanned+minRead))
			next = append(next, buf[scanned:]...)
			if e := emit(&chunk{hour: hour, source: path, firstLine: first, raw: buf[:scanned], lines: lines}); e != nil {
				return e // the chunk belongs to the workers now
			}
			first += int64(lines)
			buf, scanned, lines = next, 0, 0
			continue
		}
		if eof {
			putRaw(buf)
			return nil
		}
		if len(buf)-scanned > maxLine {
			return fmt.Errorf("%s: line %d is longer than %d bytes (no line break): is it a text file with the right format?", path, first+int64(lines), maxLine)
		}
		if cap(buf)-len(buf) < minRead {
			grown := getRaw(2*cap(buf) + minRead)
			grown = append(grown, buf...)
			putRaw(buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			eof = true
		} else if err != nil {
			return ci.wrap(err, first+int64(lines))
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// rawPool recycles chunk buffers: a batch of text is megabytes, and
// allocating (and zeroing) one per batch kept the collector busy.
var rawPool sync.Pool

// getRaw returns an empty buffer of at least n bytes' capacity.
func getRaw(n int) []byte {
	if p, _ := rawPool.Get().(*[]byte); p != nil && cap(*p) >= n {
		return (*p)[:0]
	}
	return make([]byte, 0, n)
}

// putRaw recycles a buffer nothing refers to any longer.
func putRaw(b []byte) {
	b = b[:0]
	rawPool.Put(&b)
}

// decoder turns text chunks into Arrow records of the ODS schema.
type decoder struct {
	schema *arrow.Schema
	fs     []arrow.Field // schema.Fields() copies on every call
	mem    memory.Allocator
	delim  byte
	null   []byte
	b      *array.RecordBuilder // numeric columns
	pos    []int32              // the current line's field bounds, start and end of each
	nums   []int                // numeric columns
	ints   []int64              // bigint fields of the current line, parsed when validated
	// lastBytes per column, to size the string data of the next batch at
	// once instead of growing it by doubling.
	lastBytes []int
	// Row policies (bad_value, bad_line: null), the current line's
	// numeric fields that did not parse, and the fields the last decode
	// set to NULL under them.
	nullBad, nullLine bool
	badNum            []bool
	nulled            int64
}

func newDecoder(mem memory.Allocator, schema *arrow.Schema, delim byte, null string) *decoder {
	return newDecoderPolicy(mem, schema, delim, null, false, false)
}

// newDecoderPolicy is newDecoder with the table's row policies: nullBad
// (bad_value: null) keeps a line whose number does not parse with that
// field NULL; nullLine (bad_line: null) keeps a line with the wrong field
// count, missing fields NULL and extra ones ignored, as Hive's text SerDe
// does. Each such field is counted in nulled.
func newDecoderPolicy(mem memory.Allocator, schema *arrow.Schema, delim byte, null string, nullBad, nullLine bool) *decoder {
	d := &decoder{schema: schema, fs: schema.Fields(), mem: mem, delim: delim, null: []byte(null),
		b: array.NewRecordBuilder(mem, schema), lastBytes: make([]int, len(schema.Fields())),
		ints: make([]int64, len(schema.Fields())), nullBad: nullBad, nullLine: nullLine,
		badNum: make([]bool, len(schema.Fields()))}
	for i, f := range d.fs {
		if f.Type.ID() != arrow.STRING {
			d.nums = append(d.nums, i)
		}
	}
	return d
}

// appendNum appends numeric field i of a validated line.
func (d *decoder) appendNum(i int, fv []byte) {
	isNull := len(fv) == 0 || bytes.Equal(fv, d.null) || d.badNum[i]
	switch bb := d.b.Field(i).(type) {
	case *array.Int64Builder:
		if isNull {
			bb.AppendNull()
		} else {
			bb.Append(d.ints[i]) // parsed by the check above
		}
	case *array.Float64Builder:
		if isNull {
			bb.AppendNull()
		} else {
			v, _ := strconv.ParseFloat(bstr(fv), 64)
			bb.Append(v)
		}
	}
}

// parseInt is strconv.ParseInt(b, 10, 64) with a fast path for up to 18
// digits (no overflow possible): event times are 13 digits, two a row,
// and ParseInt was a seventh of decoding.
func parseInt(b []byte) (int64, error) {
	digits := b
	if len(digits) > 0 && (digits[0] == '-' || digits[0] == '+') {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 18 {
		return strconv.ParseInt(bstr(b), 10, 64)
	}
	var v int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return strconv.ParseInt(bstr(b), 10, 64) // for its error
		}
		v = v*10 + int64(c-'0')
	}
	if b[0] == '-' {
		v = -v
	}
	return v, nil
}

// fitFields makes a line's field bounds ncol long (bad_line: null): a
// missing field is an empty range at the end of the line, read as NULL,
// and fields past ncol are dropped. Each changed field is counted.
func (d *decoder) fitFields(pos []int32, ncol, end int) []int32 {
	have := len(pos) / 2
	if have > ncol {
		d.nulled += int64(have - ncol)
		return pos[:2*ncol]
	}
	d.nulled += int64(ncol - have)
	for len(pos) < 2*ncol {
		pos = append(pos, -1, -1) // -1: missing, NULL
	}
	d.pos = pos
	return pos
}

// field is field i of a line, and whether the line has it at all.
func field(line []byte, pos []int32, i int) ([]byte, bool) {
	if pos[2*i] < 0 {
		return nil, false
	}
	return line[pos[2*i]:pos[2*i+1]], true
}

// checkNums parses the line's numeric fields, keeping bigints for
// appendNum. A field that does not parse rejects the line (the reason is
// returned) or, under bad_value: null, is marked NULL and counted.
func (d *decoder) checkNums(line []byte, pos []int32) string {
	for _, i := range d.nums {
		d.badNum[i] = false
		fv, ok := field(line, pos, i)
		if !ok || len(fv) == 0 || bytes.Equal(fv, d.null) {
			continue
		}
		var err error
		if d.fs[i].Type.ID() == arrow.INT64 {
			d.ints[i], err = parseInt(fv)
		} else {
			_, err = strconv.ParseFloat(bstr(fv), 64)
		}
		if err == nil {
			continue
		}
		if !d.nullBad {
			return fmt.Sprintf("field %d (%s) %q is not a %s", i+1, d.fs[i].Name, fv, d.fs[i].Type)
		}
		d.badNum[i] = true
		d.nulled++
	}
	return ""
}

func bstr(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// decode splits and types the chunk's lines. A line with the wrong number
// of fields, or a bigint/double field that does not parse, is rejected.
// String columns are built with strCol, numeric ones with arrow builders.
func (d *decoder) decode(ch *chunk) (arrow.RecordBatch, []reject) {
	var rejects []reject
	d.nulled = 0
	ncol := len(d.fs)
	strs := make([]*strCol, ncol)
	for i, f := range d.fs {
		if f.Type.ID() == arrow.STRING {
			strs[i] = newStrCol(d.mem, ch.lines, d.lastBytes[i]+d.lastBytes[i]/16)
		} else {
			d.b.Field(i).Reserve(ch.lines)
		}
	}
	raw := ch.raw
	lineNo := ch.firstLine
	rows := 0
	for len(raw) > 0 {
		end := bytes.IndexByte(raw, '\n')
		line := raw[:end]
		raw = raw[end+1:]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1] // CRLF input: the '\r' is not part of the last field (as in pack)
		}
		no := lineNo
		lineNo++
		// Field boundaries first (start and end of each), so that a line
		// with the wrong field count or a bad number appends nothing.
		pos := d.pos[:0]
		start := 0
		for {
			i := bytes.IndexByte(line[start:], d.delim)
			if i < 0 {
				pos = append(pos, int32(start), int32(len(line)))
				break
			}
			pos = append(pos, int32(start), int32(start+i))
			start += i + 1
		}
		d.pos = pos
		if len(pos) != 2*ncol {
			if !d.nullLine {
				rejects = append(rejects, reject{ch.source, no, fmt.Sprintf("%d fields, want %d", len(pos)/2, ncol), append([]byte(nil), line...)})
				continue
			}
			pos = d.fitFields(pos, ncol, len(line))
		}
		if bad := d.checkNums(line, pos); bad != "" {
			rejects = append(rejects, reject{ch.source, no, bad, append([]byte(nil), line...)})
			continue
		}
		rows++
		nl := len(d.null)
		for i, c := range strs {
			fv, ok := field(line, pos, i)
			if c == nil {
				d.appendNum(i, fv)
				continue
			}
			if !ok || len(fv) == nl && bytes.Equal(fv, d.null) {
				c.appendNull()
			} else {
				c.appendBytes(fv)
			}
		}
	}
	cols := make([]arrow.Array, ncol)
	for i := range cols {
		if c := strs[i]; c != nil {
			d.lastBytes[i] = c.size * max(ch.lines, 1) / max(rows, 1)
			cols[i] = c.finish()
		} else {
			cols[i] = d.b.Field(i).NewArray()
		}
	}
	rec := array.NewRecordBatch(d.schema, cols, int64(rows))
	for _, c := range cols {
		c.Release()
	}
	return rec, rejects
}

// readParquet reads the ODS columns of a Parquet file by name, in batches.
// A source that cannot seek (HDFS streams) has its Parquet file spooled
// to spoolDir, so memory stays bounded whatever the file size.
func readParquet(ctx context.Context, src source.Source, path, hour string, schema *arrow.Schema, batch int, mem memory.Allocator, spoolDir string, emit func(*chunk) error) error {
	rc, err := src.Open(ctx, path)
	if err != nil {
		return err
	}
	defer rc.Close()
	ras, ok := rc.(parquet.ReaderAtSeeker)
	if !ok {
		f, err := spool(rc, spoolDir)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		defer f.Close()
		ras = f
	}
	pf, err := file.NewParquetReader(ras)
	if err != nil {
		return fmt.Errorf("%s: not a readable Parquet file: %w", path, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: int64(batch)}, mem)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	fileSchema, err := fr.Schema()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var idx []int
	for _, f := range schema.Fields() {
		is := fileSchema.FieldIndices(f.Name)
		if len(is) == 0 {
			return fmt.Errorf("%s: no column %q (the ODS schema needs it)", path, f.Name)
		}
		idx = append(idx, is[0])
	}
	rr, err := fr.GetRecordReader(ctx, idx, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer rr.Release()
	for rr.Next() {
		rec, err := conform(rr.RecordBatch(), schema, mem)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := emit(&chunk{hour: hour, source: path, rec: rec}); err != nil {
			rec.Release()
			return err
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// testHookSpooled is called with each spool file's (already unlinked) name.
var testHookSpooled func(name string)

// spool copies r into an unlinked temporary file in dir (nothing is left
// behind, even by a kill) and returns it, positioned at the start.
func spool(r io.Reader, dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, ".parquet-spool-*")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name())
	if testHookSpooled != nil {
		testHookSpooled(f.Name())
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return nil, fmt.Errorf("spool to %s: %w", dir, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// conform returns rec (retained) with the ODS schema's column order, names
// and types, converting the integer, float and binary variants Hive and
// Spark write.
func conform(rec arrow.RecordBatch, schema *arrow.Schema, mem memory.Allocator) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, len(schema.Fields()))
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, f := range schema.Fields() {
		src := rec.Column(i)
		if arrow.TypeEqual(src.DataType(), f.Type) {
			src.Retain()
			cols[i] = src
			continue
		}
		b := array.NewBuilder(mem, f.Type)
		n := src.Len()
		for r := 0; r < n; r++ {
			if src.IsNull(r) {
				b.AppendNull()
				continue
			}
			switch bb := b.(type) {
			case *array.StringBuilder:
				switch a := src.(type) {
				case *array.LargeString:
					bb.Append(a.Value(r))
				case *array.Binary:
					bb.BinaryBuilder.Append(a.Value(r))
				default:
					b.Release()
					return nil, fmt.Errorf("column %s is %s, want a string", f.Name, src.DataType())
				}
			case *array.Int64Builder:
				switch a := src.(type) {
				case *array.Int32:
					bb.Append(int64(a.Value(r)))
				default:
					b.Release()
					return nil, fmt.Errorf("column %s is %s, want bigint", f.Name, src.DataType())
				}
			case *array.Float64Builder:
				switch a := src.(type) {
				case *array.Float32:
					bb.Append(float64(a.Value(r)))
				case *array.Int64:
					bb.Append(float64(a.Value(r)))
				default:
					b.Release()
					return nil, fmt.Errorf("column %s is %s, want double", f.Name, src.DataType())
				}
			}
		}
		cols[i] = b.NewArray()
		b.Release()
	}
	return array.NewRecordBatch(schema, cols, rec.NumRows()), nil
}
