package pack

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"hash/crc32"
	"os"
	"path/filepath"
	"sync"

	"github.com/klauspost/compress/flate"
)

// Output files are compressed pigz-style: every file is cut into blocks of
// blockSize uncompressed bytes, the blocks of all files are deflated by a
// pool of workers (each block primed with the last 32 KiB of the block
// before it, and ended with a sync flush), and one writer concatenates
// them in order behind a fixed gzip header. The result is one ordinary
// gzip member; it depends only on the data, the level and blockSize, never
// on the number of workers, so re-runs are byte-identical.
var blockSize = 1 << 20

const dictSize = 32 << 10

var blockPool = sync.Pool{New: func() any { b := make([]byte, 0, blockSize+64<<10); return &b }}

var dictPool = sync.Pool{New: func() any { b := make([]byte, 0, dictSize); return &b }}

// putBlock returns a full-size block to the pool (small ones to the GC).
func putBlock(b *[]byte) {
	if cap(*b) >= blockSize {
		*b = (*b)[:0]
		blockPool.Put(b)
	}
}

// putDict returns a full-size dictionary buffer to the pool.
func putDict(d *[]byte) {
	if cap(*d) == dictSize {
		dictPool.Put(d)
	}
}

var outPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// outFile is one data file being written under a temporary name.
type outFile struct {
	part  *partOut
	seq   int
	tmp   string // path inside the temp folder
	lines int64
	bytes int64
	md5   string

	f     outWriter
	h     hash.Hash
	crc   uint32
	isize uint32
}

// partOut is the converter's state for one partition value.
type partOut struct {
	name  string // partition value; "" when not partitioned
	dir   string // folder in the temp output
	files []*outFile
	rows  int64

	cur         *outFile
	linesInFile int64
	block       *[]byte
	blockLines  int64
	blockIdx    int
	dict        *[]byte // tail of the previous block of cur
}

// job is one block on its way from the converter to the file.
type job struct {
	file        *outFile
	data        *[]byte
	lines       int64
	dict        *[]byte
	first, last bool
	out         *bytes.Buffer
	done        chan struct{}
}

// blockWriter runs the compression workers and the ordered writer.
type blockWriter struct {
	ctx     context.Context
	fail    func(error)
	level   int
	work    chan *job
	ordered chan *job
	tokens  chan struct{}
	closing chan *outFile
	wg      sync.WaitGroup
	errMu   sync.Mutex
	err     error
	// fileDone is a test hook called after each file is complete.
	fileDone func(ctx context.Context)
}

var testHookFileDone func(ctx context.Context)

func newBlockWriter(ctx context.Context, fail func(error), level, workers int) *blockWriter {
	inflight := 3 * workers
	w := &blockWriter{
		ctx: ctx, fail: fail, level: level,
		work:     make(chan *job, inflight),
		ordered:  make(chan *job, inflight),
		tokens:   make(chan struct{}, inflight),
		closing:  make(chan *outFile, 64),
		fileDone: testHookFileDone,
	}
	for range workers {
		w.wg.Add(1)
		go w.compressor()
	}
	w.wg.Add(2)
	go w.writer()
	go w.closer()
	return w
}

func (w *blockWriter) setErr(err error) {
	w.errMu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.errMu.Unlock()
	w.fail(err)
}

// submit hands a block over; it blocks while too many are in flight,
// which bounds memory. It returns false when the pack is being abandoned.
func (w *blockWriter) submit(j *job) bool {
	select {
	case w.tokens <- struct{}{}:
	case <-w.ctx.Done():
		return false
	}
	j.done = make(chan struct{})
	w.ordered <- j // never blocks: capacity equals the tokens
	w.work <- j
	return true
}

// finish waits until every submitted block is written and every file is
// synced and closed.
func (w *blockWriter) finish() error {
	close(w.work)
	close(w.ordered)
	w.wg.Wait()
	return w.err
}

func (w *blockWriter) compressor() {
	defer w.wg.Done()
	fw, err := flate.NewWriter(nil, w.level)
	if err != nil {
		w.setErr(err)
	}
	for j := range w.work {
		if err != nil || w.ctx.Err() != nil {
			close(j.done)
			continue
		}
		out := outPool.Get().(*bytes.Buffer)
		out.Reset()
		var dict []byte
		if j.dict != nil {
			dict = *j.dict
		}
		fw.ResetDict(out, dict)
		fw.Write(*j.data) // writes to a bytes.Buffer cannot fail
		if j.last {
			fw.Close()
		} else {
			fw.Flush()
		}
		j.out = out
		close(j.done)
	}
}

// gzipHeader is fixed: no name, no time, so re-runs are byte-identical.
func gzipHeader(level int) []byte {
	xfl := byte(0)
	switch level {
	case flate.BestCompression:
		xfl = 2
	case flate.BestSpeed:
		xfl = 4
	}
	return []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255}
}

func (w *blockWriter) writer() {
	defer w.wg.Done()
	defer close(w.closing)
	header := gzipHeader(w.level)
	var failed bool
	for j := range w.ordered {
		<-j.done
		if !failed && j.out == nil {
			failed = true // abandoned: the error is already recorded
		}
		if !failed {
			if err := w.write(j, header); err != nil {
				failed = true
				w.setErr(err)
			}
		}
		if failed && j.file.f != nil {
			j.file.f.Close()
			j.file.f = nil
		}
		if j.out != nil {
			outPool.Put(j.out)
		}
		if j.dict != nil {
			putDict(j.dict)
		}
		putBlock(j.data)
		<-w.tokens
	}
}

func (w *blockWriter) write(j *job, header []byte) error {
	f := j.file
	if j.first {
		var err error
		if f.f, err = createFile(f.tmp); err != nil {
			return err
		}
		f.h = md5.New()
		if _, err := f.f.Write(header); err != nil {
			return fmt.Errorf("write %s: %w", f.tmp, err)
		}
		f.h.Write(header)
		f.bytes = int64(len(header))
	}
	out := j.out.Bytes()
	if _, err := f.f.Write(out); err != nil {
		return fmt.Errorf("write %s: %w", f.tmp, err)
	}
	f.h.Write(out)
	f.bytes += int64(len(out))
	f.crc = crc32.Update(f.crc, crc32.IEEETable, *j.data)
	f.isize += uint32(len(*j.data))
	f.lines += j.lines
	if j.last {
		var tr [8]byte
		binary.LittleEndian.PutUint32(tr[:4], f.crc)
		binary.LittleEndian.PutUint32(tr[4:], f.isize)
		if _, err := f.f.Write(tr[:]); err != nil {
			return fmt.Errorf("write %s: %w", f.tmp, err)
		}
		f.h.Write(tr[:])
		f.bytes += 8
		f.md5 = hex.EncodeToString(f.h.Sum(nil))
		w.closing <- f
		if w.fileDone != nil {
			w.fileDone(w.ctx)
		}
	}
	return nil
}

// closer syncs and closes finished files off the writer's path, so the
// writer keeps feeding the workers while the disk catches up.
func (w *blockWriter) closer() {
	defer w.wg.Done()
	for f := range w.closing {
		if f.f == nil {
			continue
		}
		err := f.f.Sync()
		if cerr := f.f.Close(); err == nil {
			err = cerr
		}
		f.f = nil
		if err != nil {
			w.setErr(fmt.Errorf("write %s: %w", f.tmp, err))
		}
	}
}

// outWriter is an open output file.
type outWriter interface {
	Write([]byte) (int, error)
	Sync() error
	Close() error
}

// createFile makes a new output file; tests replace it to simulate a full
// disk.
var createFile = func(path string) (outWriter, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	return os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
}
