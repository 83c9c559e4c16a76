package transform

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/etl/funcs"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/logkey"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/internal/workdir"
	"github.com/chama-data/chama/naming"
	"github.com/chama-data/chama/transfer/pull"
	"github.com/chama-data/chama/transfer/source"
)

// Options says what one transform run computes.
type Options struct {
	Config *config.Config
	Layer  string // LayerDWD or LayerADS
	Period naming.Period
	// Names are the interfaces (ads) or DWD tables (dwd) to produce;
	// empty: all of the layer.
	Names []string
	// Source opens a configured source by name; nil: source.Open
	// (local folder or HDFS), closed at the end of the run. A source
	// given here is read as it is: pulled copies are not looked for.
	Source func(name string) (source.Source, error)
	// Input is where the ODS partitions are read from: pull.Auto (default)
	// reads a partition's verified pulled copy (<workdir>/raw/ods.<table>/)
	// when there is one, else the source; pull.Pulled only pulled copies
	// (a partition not pulled is not ready); pull.Origin always the
	// source. Dimension tables always read their own source.
	Input pull.Mode
	// RejectPath is where rejected lines are written ("" : <workdir>/stage/
	// <layer>/<period>.rejects.txt). The file is only created when a line
	// is rejected.
	RejectPath string
	// OnReject, when set, receives every rejected line (from the collector
	// goroutine, in input order) instead of the reject file; an error
	// fails the run (pack's max_rejects).
	OnReject func(source string, line int64, reason string, raw []byte) error
	Log      *slog.Logger
	// Mem allocates the Arrow buffers (default a recycling pool).
	Mem memory.Allocator

	mode evalMode // tests: rows at a time, or expr's VM
}

// Sink receives every output batch, in input order: for each input file
// in listing order (hours ascending), for each batch in file order, the
// batch's outputs by DWD table and interface name and then partition value.
// It is called from one goroutine; out.Rec is released after it returns
// (Retain it to keep it).
type Sink func(hour string, out Output) error

// Counts are one hour's (or the whole period's) rows.
type Counts struct {
	// Read input lines (text) or rows (Parquet).
	Read int64 `json:"read"`
	// Rejected lines: wrong field count, undecodable typed field.
	Rejected int64 `json:"rejected"`
	// Filtered rows matched no interface (always 0 for layer dwd).
	Filtered int64 `json:"filtered"`
	// Routed rows went to at least one output. A row routed to several
	// interfaces counts once here and once in each interface's Written.
	Routed int64 `json:"routed"`
	// Written rows per interface (ads) or DWD table (dwd).
	Written map[string]int64 `json:"written"`
	// NullFields are fields set to NULL by the table's bad_value or
	// bad_line: null policy; their rows are kept (in Routed or Filtered).
	NullFields int64 `json:"null_fields,omitempty"`
}

func (c *Counts) add(o Counts) {
	c.Read += o.Read
	c.Rejected += o.Rejected
	c.NullFields += o.NullFields
	c.Filtered += o.Filtered
	c.Routed += o.Routed
	if c.Written == nil {
		c.Written = map[string]int64{}
	}
	for k, v := range o.Written {
		c.Written[k] += v
	}
}

// Check is the accounting identity read = routed + filtered + rejected.
func (c Counts) Check() error {
	if c.Read != c.Routed+c.Filtered+c.Rejected {
		return fmt.Errorf("rows do not reconcile: read %d != routed %d + filtered %d + rejected %d", c.Read, c.Routed, c.Filtered, c.Rejected)
	}
	for k, v := range c.Written {
		if v > c.Routed {
			return fmt.Errorf("rows do not reconcile: %s wrote %d rows but only %d were routed", k, v, c.Routed)
		}
	}
	return nil
}

// Rows is the manifest view of one output: read = written + filtered +
// rejected, where filtered is every valid row the output did not take
// (matched no interface, or only other interfaces).
func (c Counts) Rows(name string) manifest.Rows {
	w := c.Written[name]
	return manifest.Rows{Read: c.Read, Written: w, Filtered: c.Read - c.Rejected - w, Rejected: c.Rejected}
}

// StreamSummary accounts for one ODS table.
type StreamSummary struct {
	Table  string            `json:"table"`
	Inputs []manifest.Input  `json:"inputs"`
	Hours  map[string]Counts `json:"hours"`
	Total  Counts            `json:"total"`
	// Sunk counts the rows the sink received per output, independently of
	// the workers' Written; they must agree.
	Sunk map[string]int64 `json:"sunk"`
	// InputOf says where the table's partitions were read from (input:
	// pulled, source or mixed; pulled_partitions).
	pull.InputOf
}

// Summary is the record of one run, written as JSON next to the stage.
type Summary struct {
	Layer   string          `json:"layer"`
	Period  string          `json:"period"`
	Created time.Time       `json:"created"`
	Streams []StreamSummary `json:"streams"`
	// Rows per output (interface or DWD table) in manifest form.
	Rows    map[string]manifest.Rows `json:"rows"`
	Rejects string                   `json:"rejects,omitempty"`
	// Lookups account for the dimension rows each lookup read.
	Lookups []LookupSummary `json:"lookups,omitempty"`
	Outputs []StagedFile    `json:"outputs,omitempty"`
	Elapsed float64         `json:"elapsed_seconds"`
	// InputOf says where the ODS partitions were read from, over every
	// table (input: pulled, source or mixed; pulled_partitions).
	pull.InputOf
}

// Check verifies every identity of the run.
func (s *Summary) Check() error {
	var errs []error
	for _, st := range s.Streams {
		for _, h := range sortedKeys(st.Hours) {
			if err := st.Hours[h].Check(); err != nil {
				errs = append(errs, fmt.Errorf("%s hour %s: %w", st.Table, h, err))
			}
		}
		if err := st.Total.Check(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", st.Table, err))
		}
		for k, v := range st.Total.Written {
			if st.Sunk[k] != v {
				errs = append(errs, fmt.Errorf("%s: %s: workers wrote %d rows but the sink received %d", st.Table, k, v, st.Sunk[k]))
			}
		}
	}
	for k, r := range s.Rows {
		if err := r.Check(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", k, err))
		}
	}
	for _, l := range s.Lookups {
		if err := l.Check(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// testHookCounts lets a test break the accounting to see it reported.
var testHookCounts func(*Counts)

// Stream computes one period and hands every output batch to sink. The
// summary is returned even on error when accounting had started.
func Stream(ctx context.Context, o Options, sink Sink) (*Summary, error) {
	start := time.Now()
	if o.Config == nil || o.Config.Transform == nil {
		return nil, exit.Usagef("the config has no transform section")
	}
	t := o.Config.Transform
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Mem == nil {
		o.Mem = newPoolAllocator()
	}
	if o.RejectPath == "" {
		o.RejectPath = workdir.New(o.Config.Workdir).StageRejects(o.Layer, o.Period.String())
	}
	streams, err := buildPlan(t, o.Layer, o.Names)
	if err != nil {
		return nil, exit.With(exit.Usage, err)
	}
	res, err := OpenResources(t) // resources.go; closed when the run ends
	if err != nil {
		return nil, exit.With(exit.Usage, err)
	}
	defer res.Close()
	sh := res.Shared
	sum := &Summary{Layer: o.Layer, Period: o.Period.String(), Created: time.Now().UTC(), Rows: map[string]manifest.Rows{}}
	// Every ODS partition must be ready before the dimension tables are
	// read: a retry while waiting should cost a listing, not a dimension.
	ins := make([]streamInput, len(streams))
	for i, st := range streams {
		if ins[i].src, ins[i].files, err = listInputs(ctx, o, st); err != nil {
			closeInputs(ins)
			return nil, unavailable(err)
		}
	}
	defer closeInputs(ins)
	// The dimension tables, read whole before any row (dims.go).
	if sh.Lookups, sum.Lookups, err = loadLookups(ctx, o, t, sh, streams); err != nil {
		return nil, unavailable(err)
	}
	rw := &rejectWriter{path: o.RejectPath}
	defer rw.close()
	for i, st := range streams {
		ss, err := runStream(ctx, o, t, sh, st, ins[i], rw, sink)
		if err == nil {
			// Every pulled file was read to its end and matched its
			// record, or the run fails before anything is published.
			err = ins[i].src.Verified()
		}
		// A damaged pulled copy may fail its reader before its end (a
		// gzip error): name the copy and its checksums instead.
		err = copyFailure(st.table, ins[i].src.Diagnose(ctx, err))
		if ss != nil {
			ss.InputOf = ins[i].src.InputOf()
			if len(sum.Streams) == 0 {
				sum.InputOf = ss.InputOf
			} else {
				sum.InputOf = sum.InputOf.Merge(ss.InputOf)
			}
			sum.Streams = append(sum.Streams, *ss)
			for k := range ss.Total.Written {
				sum.Rows[k] = ss.Total.Rows(k)
			}
			for _, d := range st.dwds {
				for _, a := range d.ads {
					if _, ok := sum.Rows[a.iface]; !ok {
						sum.Rows[a.iface] = ss.Total.Rows(a.iface)
					}
				}
			}
		}
		if err != nil {
			return sum, unavailable(err)
		}
	}
	if err := rw.close(); err != nil {
		return sum, err
	}
	if rw.n > 0 {
		sum.Rejects = rw.path
	}
	sum.Elapsed = time.Since(start).Seconds()
	if err := sum.Check(); err != nil {
		return sum, fmt.Errorf("accounting: %w", err)
	}
	return sum, nil
}

// unavailable gives exit 3 (exit.Partial: a run again can succeed) to
// the error of a source that could not be reached at all (an HDFS
// cluster with no namenode answering: source.ErrUnavailable). An error
// that already carries an exit code keeps it.
func unavailable(err error) error {
	var ee *exit.Error
	if errors.Is(err, source.ErrUnavailable) && !errors.As(err, &ee) {
		return exit.With(exit.Partial, err)
	}
	return err
}

// streamInput is a stream's source and its listed files.
type streamInput struct {
	src   *pull.Inputs
	files []inFile
}

// closeInputs releases the pulled copies read and closes the sources
// Stream opened (not those of o.Source).
func closeInputs(ins []streamInput) {
	for _, in := range ins {
		if in.src != nil {
			in.src.Close()
		}
	}
}

// copyFailure is the error of a stream that met a pulled copy that does
// not match its pull record: that alone (exit 1), however the reader
// that met it worded it.
func copyFailure(table string, err error) error {
	var ce *pull.CopyError
	if errors.As(err, &ce) {
		return exit.With(exit.Failure, fmt.Errorf("ods %s: %w", table, ce))
	}
	return err
}

// inFile is one input file of one hour.
type inFile struct {
	hour string
	info source.FileInfo
}

// listInputs lists the period's files hour by hour, each hour from its
// verified pulled copy or from the source, as o.Input says.
func listInputs(ctx context.Context, o Options, st *stream) (*pull.Inputs, []inFile, error) {
	in, err := openInputs(o, st)
	if err != nil {
		return nil, nil, err
	}
	var files []inFile
	fail := func(err error) (*pull.Inputs, []inFile, error) {
		in.Close()
		return nil, nil, err
	}
	// A partition is read only once it is ready by its source's rule
	// (source.Ready: the folder, and the marker, quiet period or
	// command), or from a pulled copy, which pull took once it was.
	for _, p := range source.Partitions(st.table, st.ods.Source, st.ods.Path, o.Period) {
		fs, err := in.Partition(ctx, p, time.Now())
		if err != nil {
			return fail(fmt.Errorf("ods %s: %w", st.table, err))
		}
		hour := o.Period.String()
		if p.Hour != "" {
			hour = o.Period.Date() + p.Hour
		}
		for _, f := range fs {
			files = append(files, inFile{hour: hour, info: f})
		}
	}
	return in, files, nil
}

func openSource(o Options, name string) (source.Source, error) {
	if o.Source != nil {
		return o.Source(name)
	}
	return source.Open(o.Config, name)
}

// openInputs is the source an ODS table's partitions are read through:
// its pulled copies (raw/ods.<table>/, staged by chama pull for the
// from: transform interfaces) or its configured source (pull.Inputs).
func openInputs(o Options, st *stream) (*pull.Inputs, error) {
	mode := o.Input
	switch {
	case o.Source != nil:
		mode = pull.Origin // a source given is read as it is
	case !workdir.ValidTableName(st.table) && mode == pull.Pulled:
		return nil, exit.Usagef("ods %s: the table's name cannot name a folder of pulled copies (letters, digits, _, - and .): read it with --source origin", st.table)
	case !workdir.ValidTableName(st.table):
		mode = pull.Origin // pull stages no such table
	}
	var src source.Source
	if mode != pull.Pulled { // pulled copies only: the source is not even opened
		var err error
		if src, err = openSource(o, st.ods.Source); err != nil {
			return nil, err
		}
	}
	return pull.NewInputs(pull.InputOptions{Config: o.Config, Mode: mode, Dir: workdir.RawTableName(st.table),
		Source: st.ods.Source, Origin: src, OwnOrigin: o.Source == nil, Period: o.Period, Log: o.Log}), nil
}

// runStream is the pipeline for one ODS table:
//
//	readers (t.Readers files at a time) -> chunks -> workers (t.Workers)
//	-> results, collected strictly in input order -> sink
//
// Each file has a queue of at most queueDepth chunks awaiting the
// collector, so memory stays near (readers*queueDepth + workers) batches
// whatever the partition size.
func runStream(ctx context.Context, o Options, t *config.Transform, sh *funcs.Shared, st *stream, in streamInput, rw *rejectWriter, sink Sink) (*StreamSummary, error) {
	src, files := in.src, in.files
	ss := newStreamSummary(st.table, files)
	// Compile before reading anything: a spec error fails fast.
	evs, err := compileWorkers(o, t, sh, st)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	p := newStreamRun(o, t, st, files, rw, sink, ss, cancel)
	var wg sync.WaitGroup
	p.startWorkers(&wg, evs)
	go p.readAll(ctx, src)
	p.collect(ctx)
	wg.Wait()
	if p.runErr != nil {
		return ss, p.runErr
	}
	p.summarize()
	return ss, nil
}

// newStreamSummary starts a stream's accounting with its input files.
func newStreamSummary(table string, files []inFile) *StreamSummary {
	ss := &StreamSummary{Table: table, Hours: map[string]Counts{}, Sunk: map[string]int64{}}
	for _, f := range files {
		ss.Inputs = append(ss.Inputs, manifest.Input{Path: f.info.Path, Bytes: f.info.Size})
	}
	return ss
}

// compileWorkers compiles one evaluator per worker (each has its own
// function caches); a spec error is a usage error.
func compileWorkers(o Options, t *config.Transform, sh *funcs.Shared, st *stream) ([]*evaluator, error) {
	evs := make([]*evaluator, t.Workers)
	for i := range evs {
		var err error
		if evs[i], err = newEvaluator(st, sh, o.Mem, o.mode); err != nil {
			return nil, exit.With(exit.Usage, err)
		}
	}
	return evs, nil
}

// queueDepth is how many chunks of a file may await the collector.
const queueDepth = 2

// streamRun is the state runStream's phases share: the channels between
// readers, workers and collector, and the collector's outcome.
type streamRun struct {
	o     Options
	t     *config.Transform
	st    *stream
	files []inFile
	rw    *rejectWriter
	sink  Sink
	ss    *StreamSummary
	// jobs feeds the workers; queues[i] holds file i's chunks in order
	// for the collector, which waits on each chunk's res.
	jobs    chan *chunk
	queues  []chan *chunk
	readErr []error // by file, set before its queue is closed
	// runErr is the first error; setting it cancels the run.
	runErr error
	cancel context.CancelFunc
}

func newStreamRun(o Options, t *config.Transform, st *stream, files []inFile, rw *rejectWriter, sink Sink, ss *StreamSummary, cancel context.CancelFunc) *streamRun {
	p := &streamRun{
		o: o, t: t, st: st, files: files, rw: rw, sink: sink, ss: ss, cancel: cancel,
		jobs:    make(chan *chunk, t.Workers),
		queues:  make([]chan *chunk, len(files)),
		readErr: make([]error, len(files)),
	}
	for i := range p.queues {
		p.queues[i] = make(chan *chunk, queueDepth)
	}
	return p
}

// fail records the run's first error and stops the readers and workers.
func (p *streamRun) fail(err error) {
	if p.runErr == nil {
		p.runErr = err
		p.cancel()
	}
}

// startWorkers starts one worker per evaluator; wg is done when jobs is
// closed and drained.
func (p *streamRun) startWorkers(wg *sync.WaitGroup, evs []*evaluator) {
	for w := 0; w < p.t.Workers; w++ {
		wg.Add(1)
		go func(ev *evaluator) {
			defer wg.Done()
			p.worker(ev)
		}(evs[w])
	}
}

// worker decodes and evaluates chunks until jobs is closed, answering on
// each chunk's res.
func (p *streamRun) worker(ev *evaluator) {
	var dec *decoder
	if p.st.ods.Format == "text" {
		o := p.st.ods
		dec = newDecoderPolicy(p.o.Mem, p.st.schema, o.Delimiter[0], o.Null, o.BadValue == config.PolicyNull, o.BadLine == config.PolicyNull)
		defer dec.b.Release()
	}
	for ch := range p.jobs {
		ch.res <- work(ev, dec, p.o.Layer, ch)
	}
}

// readAll starts the readers in file order, at most t.Readers at a time,
// and closes jobs when they are done. On cancellation the queues of the
// files not started are closed so that the collector does not wait.
func (p *streamRun) readAll(ctx context.Context, src source.Source) {
	sem := make(chan struct{}, p.t.Readers)
	var rwg sync.WaitGroup
	for i, f := range p.files {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			for j := i; j < len(p.files); j++ {
				close(p.queues[j])
			}
			rwg.Wait()
			close(p.jobs)
			return
		}
		rwg.Add(1)
		go func(i int, f inFile) {
			defer rwg.Done()
			defer func() { <-sem }()
			defer close(p.queues[i])
			p.readErr[i] = p.readFile(ctx, src, i, f)
		}(i, f)
	}
	rwg.Wait()
	close(p.jobs)
}

// readFile reads file i into chunks, each queued for the collector and
// then handed to a worker.
func (p *streamRun) readFile(ctx context.Context, src source.Source, i int, f inFile) error {
	emit := func(ch *chunk) error {
		ch.res = make(chan *result, 1)
		select {
		case p.queues[i] <- ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case p.jobs <- ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	}
	if p.st.ods.Format == "parquet" {
		return readParquet(ctx, src, f.info.Path, f.hour, p.st.schema, p.t.BatchRows, p.o.Mem, workdir.New(p.o.Config.Workdir).Spool(), emit)
	}
	return readText(ctx, src, f.info.Path, f.hour, p.t.BatchRows, emit)
}

// collect takes the results strictly in input order, file by file, and
// records each file's lines and read error.
func (p *streamRun) collect(ctx context.Context) {
	for i := range p.files {
		var lines int64
		for ch := range p.queues[i] {
			lines += p.collectChunk(ctx, ch)
		}
		p.ss.Inputs[i].Lines = lines
		if err := p.readErr[i]; err != nil && p.runErr == nil {
			p.fail(err)
		}
	}
}

// collectChunk waits for one chunk's result and routes it: counts,
// rejects, outputs. After an error, results are only released. It returns
// the lines read that were accounted for.
func (p *streamRun) collectChunk(ctx context.Context, ch *chunk) int64 {
	var res *result
	select {
	case res = <-ch.res:
	case <-ctx.Done():
	}
	if res == nil {
		p.fail(ctx.Err())
		return 0
	}
	if p.runErr != nil || res.err != nil {
		if res.out != nil {
			releaseOuts(res.out)
		}
		if res.err != nil {
			p.fail(fmt.Errorf("%s (batch from line %d): %w", ch.source, ch.firstLine, res.err))
		}
		return 0
	}
	p.count(ch.hour, res)
	p.writeRejects(res.rejected)
	p.writeOuts(ch.hour, res.out.outs)
	return res.read
}

// count adds a result to its hour's and the stream's counts.
func (p *streamRun) count(hour string, res *result) {
	c := Counts{Read: res.read, Rejected: int64(len(res.rejected)), Routed: res.out.routed, Written: res.out.written, NullFields: res.nulled}
	c.Filtered = res.out.rows - res.out.routed
	if testHookCounts != nil {
		testHookCounts(&c)
	}
	h := p.ss.Hours[hour]
	h.add(c)
	p.ss.Hours[hour] = h
	p.ss.Total.add(c)
}

// writeRejects hands rejected lines to OnReject, or else the reject file.
func (p *streamRun) writeRejects(rejected []reject) {
	for _, rj := range rejected {
		if p.o.OnReject != nil {
			if err := p.o.OnReject(rj.source, rj.line, rj.reason, rj.raw); err != nil {
				p.fail(err)
			}
		} else if err := p.rw.write(rj); err != nil {
			p.fail(err)
		}
	}
}

// writeOuts hands a result's outputs to the sink (until an error) and
// releases them, counting the rows sunk either way.
func (p *streamRun) writeOuts(hour string, outs []Output) {
	for _, out := range outs {
		if p.runErr == nil && p.sink != nil {
			if err := p.sink(hour, out); err != nil {
				p.fail(fmt.Errorf("sink %s: %w", out.Name, err))
			}
		}
		p.ss.Sunk[out.Name] += out.Rec.NumRows()
		out.Rec.Release()
	}
}

// summarize completes a successful stream's summary and logs it.
func (p *streamRun) summarize() {
	ss := p.ss
	if ss.Total.Written == nil {
		ss.Total.Written = map[string]int64{}
	}
	p.o.Log.Info("transform", "layer", p.o.Layer, logkey.Period, p.o.Period.String(), "table", p.st.table, "files", len(p.files),
		"read", ss.Total.Read, "routed", ss.Total.Routed, "filtered", ss.Total.Filtered, "rejected", ss.Total.Rejected)
	if n := ss.Total.NullFields; n > 0 {
		o := p.st.ods
		p.o.Log.Warn("fields set to NULL by the table's row policy (the rows are kept)", "table", p.st.table, "null_fields", n,
			"bad_value", o.BadValue, "bad_line", o.BadLine)
	}
}

func releaseOuts(b *batchOut) {
	for _, o := range b.outs {
		o.Rec.Release()
	}
}

// work decodes (text) and evaluates one chunk.
func work(ev *evaluator, dec *decoder, layer string, ch *chunk) (res *result) {
	defer func() {
		if r := recover(); r != nil {
			res = &result{err: fmt.Errorf("internal error: %v", r)}
		}
	}()
	res = &result{}
	rec := ch.rec
	if rec == nil {
		res.read = int64(ch.lines)
		rec, res.rejected = dec.decode(ch)
		res.nulled = dec.nulled
		putRaw(ch.raw) // decode copied what it kept
		ch.raw = nil
	} else {
		res.read = rec.NumRows()
	}
	defer rec.Release()
	res.out, res.err = ev.eval(layer, rec)
	return res
}

// rejectWriter writes rejected lines as `source:line: reason: "quoted line"`.
type rejectWriter struct {
	path string
	f    *os.File
	w    *bufio.Writer
	n    int64
}

func (r *rejectWriter) write(rj reject) error {
	if r.f == nil {
		if err := os.MkdirAll(filepath.Dir(r.path), 0o755); err != nil {
			return err
		}
		// Raw rows, personal data, never delivered: the owner only.
		f, err := os.OpenFile(r.path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return fmt.Errorf("reject file: %w", err)
		}
		r.f, r.w = f, bufio.NewWriter(f)
	}
	r.n++
	_, err := fmt.Fprintf(r.w, "%s:%d: %s: %s\n", rj.source, rj.line, rj.reason, strconv.Quote(string(rj.raw)))
	return err
}

func (r *rejectWriter) close() error {
	if r.f == nil {
		return nil
	}
	err := r.w.Flush()
	if e := r.f.Close(); err == nil {
		err = e
	}
	r.f = nil
	return err
}
