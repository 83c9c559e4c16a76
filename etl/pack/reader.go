package pack

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"

	"github.com/chama-data/chama/internal/progress"
	"github.com/chama-data/chama/transfer/pull"
	"github.com/chama-data/chama/transfer/source"
)

// chunkSize is how much decompressed text a reader hands over at a time.
// Chunks end on a line boundary, so the converter never sees half a line.
const chunkSize = 1 << 20

// maxLine bounds one input line; a longer one is an error, not unbounded
// memory.
const maxLine = 64 << 20

// chunkAhead is how many chunks each reader may decode ahead of the
// converter: the memory bound of reading is workers*chunkAhead*chunkSize.
const chunkAhead = 6

var chunkPool = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

func getChunk() *[]byte { return chunkPool.Get().(*[]byte) }

func putChunk(b *[]byte) {
	if cap(*b) == chunkSize {
		*b = (*b)[:chunkSize]
		chunkPool.Put(b)
	}
}

// chunk is whole lines of one input, or the error that ended it.
type chunk struct {
	data []byte
	buf  *[]byte
	err  error
}

// stream is one input file being decoded.
type stream struct {
	file source.FileInfo
	ch   chan chunk
}

// readAll decodes the inputs in order, up to `ahead` files at a time, and
// delivers their streams in input order on the returned channel, so the
// output order never depends on which file decompresses faster.
// m counts the input bytes read (progress for the operator).
func readAll(ctx context.Context, src source.Source, files []source.FileInfo, ahead int, m *progress.Meter) <-chan *stream {
	out := make(chan *stream, ahead)
	sem := make(chan struct{}, ahead)
	go func() {
		defer close(out)
		for _, f := range files {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			s := &stream{file: f, ch: make(chan chunk, chunkAhead)}
			go func() {
				defer func() { <-sem }()
				readInput(ctx, src, s, m)
			}()
			select {
			case out <- s:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// countingReader counts the bytes read from the source, so an error can
// name the offset in the compressed file.
type countingReader struct {
	r io.Reader
	n int64
	m *progress.Meter
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.m.Add(int64(n))
	return n, err
}

func readInput(ctx context.Context, src source.Source, s *stream, m *progress.Meter) {
	defer close(s.ch)
	send := func(c chunk) bool {
		select {
		case s.ch <- c:
			return true
		case <-ctx.Done():
			if c.buf != nil {
				putChunk(c.buf)
			}
			return false
		}
	}
	path := s.file.Path
	rc, err := src.Open(ctx, path)
	if err != nil {
		send(chunk{err: fmt.Errorf("open input %s: %w", path, err)})
		return
	}
	defer rc.Close()
	cr := &countingReader{r: rc, m: m}
	br := bufio.NewReaderSize(cr, 256<<10)
	offset := func() int64 { return cr.n - int64(br.Buffered()) }
	var r io.Reader = br
	gz := false
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		gz = true
		zr, err := gzip.NewReader(br)
		if err != nil {
			send(chunk{err: inputError(path, gz, err, offset(), s.file.Size)})
			return
		}
		defer zr.Close()
		r = zr
	}
	buf := getChunk()
	fill := 0
	var handed int64 // decompressed bytes handed over so far
	for {
		if err := ctx.Err(); err != nil {
			putChunk(buf)
			return
		}
		b := *buf
		var rerr error
		for fill < len(b) && rerr == nil {
			var n int
			n, rerr = r.Read(b[fill:])
			fill += n
		}
		if rerr != nil && rerr != io.EOF {
			putChunk(buf)
			send(chunk{err: inputError(path, gz, rerr, offset(), s.file.Size)})
			return
		}
		if rerr == io.EOF {
			if fill > 0 {
				if !send(chunk{data: b[:fill], buf: buf}) {
					return
				}
			} else {
				putChunk(buf)
			}
			return
		}
		// The buffer is full: hand over whole lines, keep the tail.
		k := bytes.LastIndexByte(b[:fill], '\n')
		if k < 0 {
			if len(b) >= maxLine {
				putChunk(buf)
				send(chunk{err: fmt.Errorf("input %s: a line longer than %d bytes after decompressed byte offset %d", path, maxLine, handed)})
				return
			}
			nb := make([]byte, 2*len(b))
			copy(nb, b[:fill])
			putChunk(buf)
			buf = &nb
			continue
		}
		next := getChunk()
		if len(b)-(k+1) > len(*next) {
			nb := make([]byte, len(b))
			next = &nb
		}
		fill = copy(*next, b[k+1:fill])
		handed += int64(k + 1)
		if !send(chunk{data: b[:k+1], buf: buf}) {
			putChunk(next)
			return
		}
		buf = next
	}
}

// inputError names the file and, for gzip, the compressed byte offset.
// A pulled copy that does not match its pull record is that error alone:
// it names the file, what was recorded and what was found.
func inputError(path string, gz bool, err error, off, size int64) error {
	var ce *pull.CopyError
	if errors.As(err, &ce) {
		return err
	}
	if !gz {
		return fmt.Errorf("read input %s at byte %d: %w", path, off, err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("truncated gzip input %s: the compressed stream ends at byte %d (file size %d) before the end of the data: %w", path, off, size, err)
	}
	return fmt.Errorf("corrupt gzip input %s at compressed byte offset %d (file size %d): %w", path, off, size, err)
}

// inferLines is how many lines inferFields reads.
const inferLines = 1000

// inferFields returns the most common field count among the first lines
// of f (and how many lines it read), for an interface without fields:
// the first good rows of the period fix the count. Ties go to the
// smaller count (an embedded delimiter only ever adds fields).
func inferFields(ctx context.Context, src source.Source, f source.FileInfo, delim byte) (int, int, error) {
	rc, err := src.Open(ctx, f.Path)
	if err != nil {
		return 0, 0, fmt.Errorf("open input %s: %w", f.Path, err)
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 256<<10)
	var r io.Reader = br
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return 0, 0, fmt.Errorf("input %s: %w", f.Path, err)
		}
		defer zr.Close()
		r = zr
	}
	counts := map[int]int{}
	lines := 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for lines < inferLines && sc.Scan() {
		line := bytes.TrimSuffix(sc.Bytes(), []byte{'\r'})
		if len(line) == 0 {
			continue
		}
		counts[bytes.Count(line, []byte{delim})+1]++
		lines++
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("input %s: %w", f.Path, err)
	}
	best, bestN := 0, 0
	for n, c := range counts {
		if c > bestN || (c == bestN && n < best) {
			best, bestN = n, c
		}
	}
	return best, lines, nil
}
