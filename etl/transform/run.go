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
	// (local folder or HDFS), closed at the end of the run.
	Source func(name string) (source.Source, error)
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
}

func (c *Counts) add(o Counts) {
	c.Read += o.Read
	c.Rejected += o.Rejected
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
	Outputs []StagedFile             `json:"outputs,omitempty"`
	Elapsed float64                  `json:"elapsed_seconds"`
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
	rw := &rejectWriter{path: o.RejectPath}
	defer rw.close()
	for _, st := range streams {
		ss, err := runStream(ctx, o, t, sh, st, rw, sink)
		if ss != nil {
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
			return sum, err
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

// inFile is one input file of one hour.
type inFile struct {
	hour string
	info source.FileInfo
}

// listInputs lists the period's files hour by hour.
func listInputs(ctx context.Context, o Options, st *stream) (source.Source, []inFile, error) {
	src, err := openSource(o, st.ods.Source)
	if err != nil {
		return nil, nil, err
	}
	var files []inFile
	fail := func(err error) (source.Source, []inFile, error) {
		if o.Source == nil {
			source.Close(src)
		}
		return nil, nil, err
	}
	// A partition is read only once it is ready by its source's rule
	// (source.Ready: the folder, and the marker, quiet period or command).
	for _, p := range source.Partitions(st.table, st.ods.Source, st.ods.Path, o.Period) {
		fs, reason, err := source.Ready(ctx, o.Config.Sources[st.ods.Source], src, p, time.Now())
		if err != nil {
			return fail(fmt.Errorf("ods %s: %w", st.table, err))
		}
		if reason != "" {
			return fail(fmt.Errorf("ods %s: %w", st.table, source.NotReady(p, reason, src)))
		}
		hour := o.Period.String()
		if p.Hour != "" {
			hour = o.Period.Date() + p.Hour
		}
		for _, f := range fs {
			files = append(files, inFile{hour: hour, info: f})
		}
	}
	return src, files, nil
}

func openSource(o Options, name string) (source.Source, error) {
	if o.Source != nil {
		return o.Source(name)
	}
	return source.Open(o.Config, name)
}

// runStream is the pipeline for one ODS table:
//
//	readers (t.Readers files at a time) -> chunks -> workers (t.Workers)
//	-> results, collected strictly in input order -> sink
//
// Each file has a queue of at most queueDepth chunks awaiting the
// collector, so memory stays near (readers*queueDepth + workers) batches
// whatever the partition size.
func runStream(ctx context.Context, o Options, t *config.Transform, sh *funcs.Shared, st *stream, rw *rejectWriter, sink Sink) (*StreamSummary, error) {
	src, files, err := listInputs(ctx, o, st)
	if err != nil {
		return nil, err
	}
	if o.Source == nil {
		defer source.Close(src)
	}
	ss := &StreamSummary{Table: st.table, Hours: map[string]Counts{}, Sunk: map[string]int64{}}
	for _, f := range files {
		ss.Inputs = append(ss.Inputs, manifest.Input{Path: f.info.Path, Bytes: f.info.Size})
	}
	// Compile before reading anything: a spec error fails fast.
	evs := make([]*evaluator, t.Workers)
	for i := range evs {
		if evs[i], err = newEvaluator(st, sh, o.Mem, o.mode); err != nil {
			return nil, exit.With(exit.Usage, err)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	const queueDepth = 2
	jobs := make(chan *chunk, t.Workers)
	queues := make([]chan *chunk, len(files))
	for i := range queues {
		queues[i] = make(chan *chunk, queueDepth)
	}
	var wg sync.WaitGroup
	// Workers.
	for w := 0; w < t.Workers; w++ {
		wg.Add(1)
		go func(ev *evaluator) {
			defer wg.Done()
			var dec *decoder
			if st.ods.Format == "text" {
				dec = newDecoder(o.Mem, st.schema, st.ods.Delimiter[0], st.ods.Null)
				defer dec.b.Release()
			}
			for ch := range jobs {
				ch.res <- work(ev, dec, o.Layer, ch)
			}
		}(evs[w])
	}
	// Readers, started in file order.
	readErr := make([]error, len(files))
	go func() {
		sem := make(chan struct{}, t.Readers)
		var rwg sync.WaitGroup
		for i, f := range files {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				for j := i; j < len(files); j++ {
					close(queues[j])
				}
				rwg.Wait()
				close(jobs)
				return
			}
			rwg.Add(1)
			go func(i int, f inFile) {
				defer rwg.Done()
				defer func() { <-sem }()
				defer close(queues[i])
				emit := func(ch *chunk) error {
					ch.res = make(chan *result, 1)
					select {
					case queues[i] <- ch:
					case <-ctx.Done():
						return ctx.Err()
					}
					select {
					case jobs <- ch:
					case <-ctx.Done():
						return ctx.Err()
					}
					return nil
				}
				var err error
				if st.ods.Format == "parquet" {
					err = readParquet(ctx, src, f.info.Path, f.hour, st.schema, t.BatchRows, o.Mem, workdir.New(o.Config.Workdir).Spool(), emit)
				} else {
					err = readText(ctx, src, f.info.Path, f.hour, t.BatchRows, emit)
				}
				readErr[i] = err
			}(i, f)
		}
		rwg.Wait()
		close(jobs)
	}()

	// Collector: strictly in input order.
	var runErr error
	fail := func(err error) {
		if runErr == nil {
			runErr = err
			cancel()
		}
	}
	for i := range files {
		var lines int64
		for ch := range queues[i] {
			var res *result
			select {
			case res = <-ch.res:
			case <-ctx.Done():
			}
			if res == nil {
				fail(ctx.Err())
				continue
			}
			if runErr != nil || res.err != nil {
				if res.out != nil {
					releaseOuts(res.out)
				}
				if res.err != nil {
					fail(fmt.Errorf("%s (batch from line %d): %w", ch.source, ch.firstLine, res.err))
				}
				continue
			}
			lines += res.read
			c := Counts{Read: res.read, Rejected: int64(len(res.rejected)), Routed: res.out.routed, Written: res.out.written}
			c.Filtered = res.out.rows - res.out.routed
			if testHookCounts != nil {
				testHookCounts(&c)
			}
			h := ss.Hours[ch.hour]
			h.add(c)
			ss.Hours[ch.hour] = h
			ss.Total.add(c)
			for _, rj := range res.rejected {
				if o.OnReject != nil {
					if err := o.OnReject(rj.source, rj.line, rj.reason, rj.raw); err != nil {
						fail(err)
					}
				} else if err := rw.write(rj); err != nil {
					fail(err)
				}
			}
			for _, out := range res.out.outs {
				if runErr == nil && sink != nil {
					if err := sink(ch.hour, out); err != nil {
						fail(fmt.Errorf("sink %s: %w", out.Name, err))
					}
				}
				ss.Sunk[out.Name] += out.Rec.NumRows()
				out.Rec.Release()
			}
		}
		ss.Inputs[i].Lines = lines
		if err := readErr[i]; err != nil && runErr == nil {
			fail(err)
		}
	}
	wg.Wait()
	if runErr != nil {
		return ss, runErr
	}
	if ss.Total.Written == nil {
		ss.Total.Written = map[string]int64{}
	}
	o.Log.Info("transform", "layer", o.Layer, logkey.Period, o.Period.String(), "table", st.table, "files", len(files),
		"read", ss.Total.Read, "routed", ss.Total.Routed, "filtered", ss.Total.Filtered, "rejected", ss.Total.Rejected)
	return ss, nil
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
