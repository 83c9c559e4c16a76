package pack

// The packer: every accepted row goes into its partition's open block,
// files are cut at exactly lines_per_file lines, and full blocks go to the
// block writer to be compressed (output.go). This is the per-row path.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/internal/progress"
	"github.com/chama-data/chama/internal/workdir"
	"github.com/chama-data/chama/naming"
	"github.com/chama-data/chama/transfer/pull"
	"github.com/chama-data/chama/transfer/source"
)

// packer is the state of one Pack call.
type packer struct {
	iface    *config.Interface
	period   naming.Period
	where    string
	conv     *converter
	tmp      string
	lpf      int64
	maxSeq   int
	parts    map[string]*partOut
	partList []*partOut
	flat     *partOut
	// partitioned: rows are split by partition_field or the ADS partition.
	partitioned bool
	// rec and row are the transform output row being added (nil: a line).
	rec     arrow.RecordBatch
	row     int
	outRows int64 // transform output rows seen, numbering them for messages
	bw      *blockWriter
	pending int64 // bytes in the open blocks of all partitions
	// countOnly is set once a partition needs more files than its width
	// allows: from then on rows are only counted, so the error can give
	// the exact number of files needed without writing them.
	countOnly bool

	rejects     *os.File
	rejectsW    *bufio.Writer
	listed      int64 // rejects written to the list
	listedBytes int64
	keptRejects string // where a failed run's reject list is kept
	rejected    int64
	firstReject string

	// input is where the period's rows came from (set by the feed).
	input pull.InputOf
}

// run reads every input through the converter into the block writer.
func (p *packer) run(ctx context.Context, src source.Source, inputs []source.FileInfo, workers int, m *progress.Meter) (manifest.Rows, []manifest.Input, error) {
	var rows manifest.Rows
	ins := make([]manifest.Input, 0, len(inputs))
	err := p.drive(ctx, workers, func(ctx context.Context, cancel context.CancelCauseFunc) error {
		// Several inputs decode at once, a few MiB ahead each, so decompression
		// (one core per gzip stream at most) keeps all compressors busy.
		streams := readAll(ctx, src, inputs, max(3, workers+1), m)
		err := p.convertAll(ctx, streams, &rows, &ins)
		if err != nil {
			cancel(err)
		}
		// Drain what the readers still hold (they stop at once when the pack
		// is abandoned) so every goroutine ends and its buffers go back.
		for s := range streams {
			for c := range s.ch {
				if c.buf != nil {
					putChunk(c.buf)
				}
			}
		}
		return err
	})
	return rows, ins, err
}

// drive runs the block writer around produce, which feeds lines through
// p.line or p.record; it flushes the open files when produce succeeded
// and waits until every file is written and closed.
func (p *packer) drive(ctx context.Context, workers int, produce func(context.Context, context.CancelCauseFunc) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	p.bw = newBlockWriter(ctx, cancel, p.iface.GzipLevel, workers)
	err := produce(ctx, cancel)
	if err == nil {
		p.flushAll()
	}
	werr := p.bw.finish()
	// Files left open by an abandoned run.
	for _, po := range p.partList {
		for _, f := range po.files {
			if f.f != nil {
				f.f.Close()
				f.f = nil
			}
		}
	}
	if err == nil {
		err = werr
	}
	if err == nil {
		if cerr := context.Cause(ctx); cerr != nil {
			err = cerr
		}
	}
	return err
}

func (p *packer) convertAll(ctx context.Context, streams <-chan *stream, rows *manifest.Rows, ins *[]manifest.Input) error {
	for s := range streams {
		in := manifest.Input{Path: s.file.Path, Bytes: s.file.Size}
		var lineNo int64
		for c := range s.ch {
			if c.err != nil {
				return c.err
			}
			if err := ctx.Err(); err != nil {
				putChunk(c.buf)
				return context.Cause(ctx)
			}
			data := c.data
			for len(data) > 0 {
				var line []byte
				if i := bytes.IndexByte(data, '\n'); i >= 0 {
					line, data = data[:i], data[i+1:]
				} else {
					line, data = data, nil
				}
				lineNo++
				if err := p.line(line, s.file.Path, lineNo, rows); err != nil {
					putChunk(c.buf)
					return err
				}
			}
			putChunk(c.buf)
		}
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		in.Lines = lineNo
		*ins = append(*ins, in)
	}
	return context.Cause(ctx)
}

// line handles one input line.
func (p *packer) line(line []byte, path string, lineNo int64, rows *manifest.Rows) error {
	rows.Read++
	line, v := p.conv.check(line)
	if v.reject != "" {
		return p.reject(path, lineNo, v.reject, line, rows)
	}
	po, err := p.part(v.part, path, lineNo)
	if err != nil {
		return err
	}
	return p.add(po, line, path, lineNo, &v, rows)
}

// part finds (or starts) the set of a partition value.
func (p *packer) part(name []byte, path string, lineNo int64) (*partOut, error) {
	if !p.partitioned {
		if p.flat == nil {
			p.flat = p.newPart("")
		}
		return p.flat, nil
	}
	po := p.parts[string(name)]
	if po == nil {
		if len(p.partList) >= maxParts {
			what := fmt.Sprintf("field %d); is partition_field the right column?", p.conv.partField)
			if p.iface.ADSPartition != "" {
				what = fmt.Sprintf("column %s of transform.ads.%s)", p.iface.ADSPartition, p.iface.Name)
			}
			return nil, fmt.Errorf("%s: %s line %d: more than %d partition values (%s", p.where, path, lineNo, maxParts, what)
		}
		po = p.newPart(string(name))
	}
	return po, nil
}

// add converts one accepted row into its partition's open block: the
// input line, or row p.row of p.rec when packing transform output.
func (p *packer) add(po *partOut, line []byte, path string, lineNo int64, v *verdict, rows *manifest.Rows) error {
	if p.countOnly {
		po.rows++
		rows.Written++
		return nil
	}
	if po.cur == nil && len(po.files) >= p.maxSeq {
		p.countOnly = true
		po.rows++
		rows.Written++
		return nil
	}
	if po.block == nil {
		po.block = p.newBlock(po)
	}
	capBefore := cap(*po.block)
	if p.rec != nil {
		*po.block = p.conv.emitRecord(*po.block, p.rec, p.row, v)
	} else {
		*po.block = p.conv.emit(*po.block, line, v)
	}
	p.hold(cap(*po.block) - capBefore) // a long line grew the block
	if v.fatal != "" {
		return fmt.Errorf("%s: %s line %d: %s", p.where, path, lineNo, v.fatal)
	}
	if v.reject != "" {
		if p.rec != nil {
			line = p.recordLine()
		}
		return p.reject(path, lineNo, v.reject, line, rows)
	}
	if po.cur == nil {
		// A file starts with its first accepted line, never empty.
		f := &outFile{part: po, seq: len(po.files) + 1}
		f.tmp = filepath.Join(po.dir, workdir.ChunkTemp(strconv.Itoa(f.seq)))
		po.files = append(po.files, f)
		po.cur = f
	}
	rows.Delimiters += int64(v.affected)
	rows.Written++
	po.rows++
	po.linesInFile++
	po.blockLines++
	if po.linesInFile == p.lpf {
		return p.flush(po, true)
	}
	if testHookHeld != nil {
		testHookHeld(p)
	}
	if len(*po.block) >= blockSize {
		return p.flush(po, false)
	}
	if p.pending > pendingLimit {
		return p.flushLargest()
	}
	return nil
}

// pendingLimit bounds the memory the open sets of all partitions hold
// together: their blocks and compression dictionaries, counted by
// capacity (a 1 MiB block holding one line still holds 1 MiB). Past half
// of it, new blocks start small and flushed blocks keep no dictionary;
// past it, the largest block is compressed early (a block may be any
// size). So memory stays bounded however many partition values a period
// has; only the compression ratio of such a period suffers.
var pendingLimit int64 = 128 << 20

// hold counts n more (or, negative, fewer) bytes held by open sets.
func (p *packer) hold(n int) {
	if p.partitioned {
		p.pending += int64(n)
	}
}

// pressed reports whether the open sets hold more than half the budget.
func (p *packer) pressed() bool { return p.partitioned && p.pending > pendingLimit/2 }

// testHookHeld lets a test measure the buffers held after each row.
var testHookHeld func(*packer)

func (p *packer) flushLargest() error {
	var big *partOut
	for _, po := range p.partList {
		if po.block != nil && (big == nil || len(*po.block) > len(*big.block)) {
			big = po
		}
	}
	if big != nil && len(*big.block) > 0 {
		return p.flush(big, false)
	}
	// Nothing to compress: what is held is empty blocks (their lines were
	// rejected) and dictionaries, which are only there for the ratio.
	for _, po := range p.partList {
		if po.block != nil {
			p.hold(-cap(*po.block))
			putBlock(po.block)
			po.block = nil
		}
		if po.dict != nil {
			p.hold(-cap(*po.dict))
			putDict(po.dict)
			po.dict = nil
		}
	}
	return nil
}

// maxParts bounds the partition values of one period: far more than the
// provinces of a CM interface, few enough that a partition_field pointing
// at an id column fails clearly instead of exhausting memory.
const maxParts = 20000

// newBlock gives a partition a block buffer. A partition's first block
// starts small, so many small partitions do not each hold a full block.
func (p *packer) newBlock(po *partOut) *[]byte {
	var b *[]byte
	if po.rows < 256 && len(p.partList) > 1 || p.pressed() {
		size := 64 << 10
		if p.pressed() {
			size = 4 << 10 // 20000 partitions (maxParts) still fit in the budget
		}
		s := make([]byte, 0, size)
		b = &s
	} else {
		b = blockPool.Get().(*[]byte)
	}
	p.hold(cap(*b))
	return b
}

func (p *packer) newPart(name string) *partOut {
	po := &partOut{name: name, dir: p.tmp}
	if name != "" {
		po.dir = filepath.Join(p.tmp, name)
	}
	p.parts[name] = po
	p.partList = append(p.partList, po)
	return po
}

// flush sends the partition's current block to be compressed.
func (p *packer) flush(po *partOut, last bool) error {
	if po.block == nil {
		po.block = p.newBlock(po)
	}
	// The block and the dictionary go with the job.
	p.hold(-cap(*po.block))
	if po.dict != nil {
		p.hold(-cap(*po.dict))
	}
	j := &job{file: po.cur, data: po.block, lines: po.blockLines, dict: po.dict, first: po.blockIdx == 0, last: last}
	po.dict = nil
	if !last && !p.pressed() {
		b := *po.block
		b = b[max(0, len(b)-dictSize):]
		var d *[]byte
		if len(b) == dictSize {
			d = dictPool.Get().(*[]byte)
		} else {
			s := make([]byte, 0, len(b)) // a short block: a short dictionary
			d = &s
		}
		*d = append((*d)[:0], b...)
		po.dict = d
		p.hold(cap(*d))
	}
	po.block, po.blockLines = nil, 0
	po.blockIdx++
	if last {
		po.cur, po.blockIdx, po.linesInFile = nil, 0, 0
	}
	if !p.bw.submit(j) {
		putBlock(j.data)
		return context.Cause(p.bw.ctx)
	}
	return nil
}

// flushAll ends every partition's open file.
func (p *packer) flushAll() {
	if p.countOnly {
		return
	}
	for _, po := range p.partList {
		if po.cur != nil {
			if p.flush(po, true) != nil {
				return
			}
		}
	}
}
