// Package pack is the pack stage. It turns the Hive partitions of an interface into its delivered
// files: it reads a period's inputs in order, converts every line, cuts
// exactly lines_per_file lines per file, gzips them on all cores, writes
// the .verf and manifest.json, and publishes the set atomically.
package pack

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/logkey"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/internal/progress"
	"github.com/chama-data/chama/internal/workdir"
	"github.com/chama-data/chama/naming"
	"github.com/chama-data/chama/transfer/source"
	"github.com/chama-data/chama/verify"
)

// Options says what to pack.
type Options struct {
	Config *config.Config
	Iface  *config.Interface
	Period naming.Period
	// Resend is the re-send number that goes into {resend}.
	Resend int
	// Source overrides the interface's configured source (tests, pull).
	Source source.Source
	Log    *slog.Logger
	// Workers compress in parallel; 0 means one per CPU.
	Workers int
	// Now stamps the .verf ctime and the manifest; nil means time.Now.
	Now func() time.Time
	// Version is recorded in the manifest as the build that wrote it.
	Version string
	// Bars, when set, is the terminal a progress bar of the input read is
	// drawn on; otherwise a progress line is logged every ProgressEvery
	// (default 10s).
	Bars          io.Writer
	ProgressEvery time.Duration

	// hourChunk: the period is one hour of an hourly_pack day. An hour
	// whose files hold no rows (or only rejects) is then an empty chunk,
	// as it is an empty stretch of a whole-day split; whether the day is
	// empty is decided when the day is assembled.
	hourChunk bool

	// shared is this interface's share of a transform pass run for
	// several from: transform interfaces at once (RunAll; transformpack.go).
	shared *passSub
}

// Run packs one interface for one period and publishes the result in
// <workdir>/out/<iface>/<period>. On any error nothing is published and
// the previous output, if any, is left as it was.
func Run(ctx context.Context, o Options) (*manifest.Manifest, error) {
	if o.Config == nil || o.Iface == nil {
		return nil, errors.New("pack: no config or interface")
	}
	if o.Iface.HourlyPack {
		return packHourly(ctx, o) // hour chunks and day assembly (hourly.go)
	}
	iface, period := o.Iface, o.Period
	log := o.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	log = log.With(logkey.Iface, iface.Name, logkey.Period, period.String())
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	workers := o.Workers
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	where := fmt.Sprintf("interface %s period %s", iface.Name, period)
	if iface.Granularity == "hour" && !period.Hourly {
		return nil, fmt.Errorf("%s: the interface is hourly: pack its hours (2024121200..2024121223), not a day", where)
	}
	if in := inputPath(o.Config, iface); period.Hourly && !strings.Contains(in, "{hour}") {
		return nil, fmt.Errorf("%s: path %q has no {hour}, so one hour cannot be read on its own: pack the day", where, in)
	}
	conv, err := newConverter(iface)
	if err != nil {
		return nil, err
	}
	tpl, vtpl, width, err := setNaming(iface, period, o.Resend)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	// feed produces the rows: the text partitions of the interface's
	// source, or its transform.ads entry run for the period (transformpack.go).
	var feed func(ctx context.Context, p *packer) (manifest.Rows, []manifest.Input, error)
	if iface.From == config.FromTransform {
		feed = transformFeed(o, log, workers)
	} else {
		src := o.Source
		if src == nil {
			if src, err = source.Open(o.Config, iface.Source); err != nil {
				return nil, err
			}
			defer source.Close(src)
		}
		inputs, err := listInputs(ctx, o.Config, iface, period, src, now())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		log = log.With("inputs", len(inputs))
		if iface.Fields == 0 && len(inputs) > 0 {
			// Without a configured count, rows with an embedded input
			// delimiter would go out as lines with extra fields. Learn the
			// count from the input instead, and say so.
			n, seen, err := inferFields(ctx, src, inputs[0], iface.Delimiter[0])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			if n > 0 {
				conv.fields = n
				log.Info("fields is not set: expecting the most common field count of the first lines of the first input; lines with another count are rejects (set fields: N to pin it, or fields: -1 to accept any count)",
					"fields", n, "lines", seen, logkey.File, inputs[0].Path)
			}
		}
		var total int64
		for _, f := range inputs {
			total += f.Size
		}
		feed = func(ctx context.Context, p *packer) (manifest.Rows, []manifest.Input, error) {
			m := progress.New(progress.Options{Label: fmt.Sprintf("pack %s %s input", iface.Name, period), Total: total,
				Bars: o.Bars, Log: log, Every: o.ProgressEvery})
			defer m.Close()
			return p.run(ctx, src, inputs, workers, m)
		}
	}

	parent := workdir.New(o.Config.Workdir).OutIface(iface.Name)
	final := filepath.Join(parent, period.String())
	if err := mkdirAllSynced(parent); err != nil {
		return nil, err
	}
	unlock, err := lockPeriod(parent, period.String())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	defer unlock()
	// removeDayOutput also drops the delivery records carried into a
	// temporary folder (copies) and left in the replaced one (links).
	st, err := newStaging(parent, period.String(), func(dir string) error { return removeDayOutput(dir, iface) }, log)
	if err != nil {
		return nil, err
	}
	defer st.discard()
	tmp := st.tmp
	log.Info("pack started", "workers", workers)

	p := &packer{
		iface: iface, period: period, where: where, conv: conv, tmp: tmp,
		lpf: int64(iface.LinesPerFile), maxSeq: naming.MaxSeq(width),
		parts: map[string]*partOut{}, partitioned: iface.Partitioned(),
		keptRejects: workdir.FailedRejects(final),
	}
	rows, ins, err := feed(ctx, p)
	if err == nil {
		err = p.tooManyRejects()
	}
	if p.rejects != nil {
		if cerr := p.closeRejects(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		p.keepRejects(p.keptRejects)
		if !strings.HasPrefix(err.Error(), where) {
			err = fmt.Errorf("%s: %w", where, err)
		}
		return nil, err
	}
	if p.countOnly {
		worst := p.partList[0]
		for _, po := range p.partList {
			if po.rows > worst.rows {
				worst = po
			}
		}
		n := int((worst.rows + p.lpf - 1) / p.lpf)
		err := naming.CheckCapacity(iface.Name, period.String(), n, width)
		if worst.name != "" {
			err = fmt.Errorf("partition %s: %w", worst.name, err)
		}
		return nil, err
	}
	emptyOK := iface.AllowEmpty || o.hourChunk
	if rows.Read == 0 && !emptyOK {
		return nil, fmt.Errorf("%s: the period is empty: %d input files hold no rows (set allow_empty: true if that is normal)", where, len(ins))
	}
	if rows.Written == 0 && !emptyOK {
		if rows.Filtered > 0 { // from: transform: the filter took no row
			return nil, fmt.Errorf("%s: none of the %d rows read was routed to the interface (%d filtered, %d rejected); nothing to deliver (set allow_empty: true if that is normal)", where, rows.Read, rows.Filtered, rows.Rejected)
		}
		return nil, fmt.Errorf("%s: every one of the %d rows was rejected; nothing to deliver", where, rows.Read)
	}
	if err := rows.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}

	m := &manifest.Manifest{
		Version: manifest.Version, Iface: iface.Name, Period: period.String(),
		Resend: o.Resend, Created: now().UTC().Truncate(time.Second), Chama: o.Version,
		Inputs: ins, Rows: rows,
	}
	ctime := now().Format("20060102150405")
	if len(p.partList) == 0 && !iface.Partitioned() {
		// allow_empty: an empty set still gets its .verf, so downstream
		// learns the period is complete and empty.
		p.partList = append(p.partList, &partOut{dir: tmp})
	}
	slices.SortFunc(p.partList, func(a, b *partOut) int { return strings.Compare(a.name, b.name) })
	for _, po := range p.partList {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		set, err := p.finishSet(po, tpl, vtpl, width, o.Resend, ctime)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		m.Sets = append(m.Sets, set)
	}
	// Push's delivery records stay with the period: they say what the
	// targets hold, and push needs them to see that a re-packed set changed.
	if err := carryRecords(final, tmp); err != nil {
		return nil, fmt.Errorf("%s: keeping the delivery records: %w", where, err)
	}
	if err := manifest.Write(tmp, m); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if err := syncDirs(tmp); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := st.publish(); err != nil {
		return nil, fmt.Errorf("%s: publish: %w", where, err)
	}
	os.Remove(workdir.FailedRejects(final)) // a failed run's list is stale now
	log.Info("pack done", "files", FileCount(m), logkey.Rows, rows.Written, "rejected", rows.Rejected)
	return m, nil
}

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

// The rejects list holds at most this many lines or bytes; past them
// rejects are still counted (and reported) but not copied, so a wrong
// delimiter cannot copy a day's input into the list. (Variables for tests.)
var (
	maxListedRejects int64 = 1_000_000
	maxListedBytes   int64 = 1 << 30
)

// reject records a bad line. The run goes on to the end of its input even
// past max_rejects, so that the operator learns the whole extent at once
// (every reject counted and listed); Pack fails afterwards (tooManyRejects).
func (p *packer) reject(path string, lineNo int64, reason string, line []byte, rows *manifest.Rows) error {
	rows.Rejected++
	p.rejected++
	if p.firstReject == "" {
		p.firstReject = fmt.Sprintf("%s line %d: %s", path, lineNo, reason)
	}
	if p.rejects == nil {
		// Raw input lines, personal data, never delivered: the owner only.
		f, err := os.OpenFile(filepath.Join(p.tmp, workdir.RejectsFile), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		p.rejects, p.rejectsW = f, bufio.NewWriterSize(f, 64<<10)
	}
	if p.listed >= maxListedRejects || p.listedBytes >= maxListedBytes {
		return nil // counted, not listed: a wrong delimiter would copy the whole input here
	}
	p.listed++
	p.listedBytes += int64(len(path) + len(reason) + len(line) + 24)
	w := p.rejectsW
	w.WriteString(path)
	w.WriteByte('\t')
	w.WriteString(strconv.FormatInt(lineNo, 10))
	w.WriteByte('\t')
	w.WriteString(reason)
	w.WriteByte('\t')
	if bytes.IndexByte(line, '\r') >= 0 { // one line per reject
		line = bytes.ReplaceAll(line, []byte{'\r'}, []byte(`\r`))
	}
	w.Write(line)
	w.WriteByte('\n')
	return nil
}

// tooManyRejects is the run's failure once every line was read, or nil.
func (p *packer) tooManyRejects() error {
	if p.rejected <= int64(p.iface.MaxRejects) {
		return nil
	}
	listed := "every one of them"
	if p.listed < p.rejected {
		listed = fmt.Sprintf("the first %d of them", p.listed)
	}
	return fmt.Errorf("%s: more than %d rejected lines (max_rejects %d): %d in all; first: %s; the rejected lines are listed in %s, %s (fix the input, or raise max_rejects if they may be dropped)",
		p.where, p.iface.MaxRejects, p.iface.MaxRejects, p.rejected, p.firstReject, p.keptRejects, listed)
}

func (p *packer) closeRejects() error {
	err := p.rejectsW.Flush()
	if serr := p.rejects.Sync(); err == nil {
		err = serr
	}
	if cerr := p.rejects.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		err = fmt.Errorf("%s: write %s: %w", p.where, workdir.RejectsFile, err)
	}
	return err
}

// keepRejects saves the reject list of a failed run beside the period
// folder, where an operator can read it.
func (p *packer) keepRejects(dst string) {
	if p.rejects == nil {
		return
	}
	os.Rename(filepath.Join(p.tmp, workdir.RejectsFile), dst)
}

// finishSet names the files of one partition, writes its .verf and
// returns its manifest entry.
func (p *packer) finishSet(po *partOut, tpl, vtpl *naming.Template, width, resend int, ctime string) (manifest.Set, error) {
	fields := naming.Fields{Date: p.period.Date(), Hour: p.period.Hour(), Iface: p.iface.Name, Part: po.name, Resend: resend}
	if err := naming.CheckCapacity(p.iface.Name, p.period.String(), len(po.files), width); err != nil {
		return manifest.Set{}, err
	}
	set := manifest.Set{Part: po.name, Dir: po.name}
	entries := make([]verify.Entry, 0, len(po.files))
	if err := os.MkdirAll(po.dir, 0o755); err != nil {
		return set, err
	}
	for _, f := range po.files {
		fields.Seq = f.seq
		name, err := tpl.Format(fields, width)
		if err != nil {
			return set, err
		}
		if err := os.Rename(f.tmp, filepath.Join(po.dir, name)); err != nil {
			return set, err
		}
		set.Files = append(set.Files, manifest.File{Name: name, Seq: f.seq, Bytes: f.bytes, Lines: f.lines, MD5: f.md5})
		entries = append(entries, verify.Entry{Name: name, Bytes: f.bytes, Lines: f.lines, Period: p.period.String(), Ctime: ctime, MD5: f.md5, Seq: f.seq})
	}
	fields.Seq = 0
	vname, err := vtpl.Format(fields, width)
	if err != nil {
		return set, err
	}
	set.Verf = vname
	data, err := verify.FormatVerf(p.iface.VerfColumns, entries)
	if err != nil {
		return set, err
	}
	if err := writeSynced(filepath.Join(po.dir, vname), data); err != nil {
		return set, err
	}
	return set, nil
}

// setNaming gives the name templates of a period's sets and the
// sequence width of the period (the template's own, else the seq_width
// rule in force), and formats a first file name and the .verf name, so a
// value the templates cannot hold (a re-send number wider than
// {resend:N}) fails before any input is read.
func setNaming(iface *config.Interface, period naming.Period, resend int) (tpl, vtpl *naming.Template, width int, err error) {
	tpl, vtpl = iface.Template(), iface.VerfTemplate()
	if width = tpl.SeqWidth(); width == 0 {
		width = naming.SeqWidth(iface.SeqWidth, period.String())
	}
	f := naming.Fields{Date: period.Date(), Hour: period.Hour(), Iface: iface.Name, Resend: resend, Seq: 1}
	if iface.Partitioned() {
		f.Part = "0"
	}
	if _, err = tpl.Format(f, width); err == nil {
		f.Seq = 0
		_, err = vtpl.Format(f, width)
	}
	return tpl, vtpl, width, err
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// listInputs finds the period's input files in order: the partition
// folders (24 hour folders for a day whose path has {hour}) in time
// order, the files of each sorted by path.
func listInputs(ctx context.Context, c *config.Config, iface *config.Interface, period naming.Period, src source.Source, now time.Time) ([]source.FileInfo, error) {
	var out []source.FileInfo
	for _, p := range source.Partitions(iface.Name, iface.Source, iface.Path, period) {
		files, reason, err := source.Ready(ctx, c.Sources[iface.Source], src, p, now)
		if err != nil {
			return nil, err
		}
		if reason != "" {
			return nil, source.NotReady(p, reason, src)
		}
		if len(files) == 0 && !iface.AllowEmpty {
			return nil, fmt.Errorf("partition empty: %s in %s has no data files (set allow_empty: true if that is normal)", p.Path, src)
		}
		out = append(out, files...)
	}
	return out, nil
}

// FileCount is the number of data files in a manifest.
func FileCount(m *manifest.Manifest) int {
	n := 0
	for _, s := range m.Sets {
		n += len(s.Files)
	}
	return n
}

// ByteCount is the total size of the data files in a manifest.
func ByteCount(m *manifest.Manifest) int64 {
	var n int64
	for _, s := range m.Sets {
		for _, f := range s.Files {
			n += f.Bytes
		}
	}
	return n
}
