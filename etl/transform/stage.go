package transform

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/internal/workdir"
)

// StagedFile is one Parquet file written by Run.
type StagedFile struct {
	Name string `json:"name"` // interface or DWD table
	Part string `json:"part,omitempty"`
	Path string `json:"path"` // relative to <workdir>/stage/<layer>
	Rows int64  `json:"rows"`
}

// StageDir is <workdir>/stage/<layer> (workdir.Layout.Stage).
func StageDir(root, layer string) string { return workdir.New(root).Stage(layer) }

// stager writes outputs as <stage>/<name>/<period>.partial/[<part>/]part-NNNNN.parquet
// and moves each <period>.partial into place when the run succeeded.
//
// Each output (name and part) has a lane: a goroutine that encodes and
// writes its batches in order, so Parquet encoding overlaps the
// transform instead of stalling the ordered collector.
type stager struct {
	root, period string
	maxRows      int64
	codec        compress.Compression
	lanes        map[string]*lane                  // by name + "\x00" + part; collector only
	nlanes       atomic.Int64                      // len(lanes), for the row-group budget
	groupBudget  int64                             // bytes of open row groups, all lanes together
	cleaned      map[string]bool                   // names whose .partial leftovers are gone
	types        map[string]map[int]arrow.DataType // ADS columns staged as numbers (stageTypes)
	dict         bool                              // transform.stage_dictionary
	mu           sync.Mutex                        // guards files
	files        []StagedFile
}

// lane writes one output's batches.
type lane struct {
	ch   chan Output
	done chan struct{}
	err  error // set by the lane goroutine; read after done
	stop atomic.Bool
	sf   *stageFile
}

// write queues a batch for its lane (retaining it until written).
func (s *stager) write(out Output) error {
	key := out.Name + "\x00" + out.Part
	l := s.lanes[key]
	if l == nil {
		if out.Part != "" && (!partSafe.MatchString(out.Part) || strings.HasPrefix(out.Part, ".")) {
			return fmt.Errorf("partition value %q of %s cannot be a folder name", out.Part, out.Name)
		}
		if err := s.clean(out.Name); err != nil {
			return err
		}
		l = &lane{ch: make(chan Output, 4), done: make(chan struct{})}
		s.lanes[key] = l
		s.nlanes.Store(int64(len(s.lanes)))
		go s.runLane(l)
	}
	out.Rec.Retain()
	select {
	case l.ch <- out:
		return nil
	case <-l.done:
		out.Rec.Release()
		return l.err
	}
}

// clean removes what a failed earlier run left in <period>.partial, once
// per name, so that no stale part file is moved into place.
func (s *stager) clean(name string) error {
	if s.cleaned[name] {
		return nil
	}
	s.cleaned[name] = true
	return removeOldStage(s.dir(name))
}

func (s *stager) runLane(l *lane) {
	defer close(l.done)
	for out := range l.ch {
		if l.err == nil && !l.stop.Load() {
			l.err = s.writeSync(l, out)
		}
		out.Rec.Release()
	}
	if l.err == nil && !l.stop.Load() && l.sf != nil {
		l.err = s.finish(l.sf)
	} else if l.sf != nil && l.sf.w != nil {
		l.sf.w.Close()
	}
}

// drain closes every lane and waits for it; the first error is returned.
func (s *stager) drain() error {
	var first error
	for _, k := range sortedKeys(s.lanes) {
		l := s.lanes[k]
		close(l.ch)
		<-l.done
		if l.err != nil && first == nil {
			first = l.err
		}
	}
	s.lanes = map[string]*lane{}
	return first
}

type stageFile struct {
	name, part string
	seq        int
	f          syncFile
	w          *pqarrow.FileWriter
	rows       int64
	groupBytes int64 // Arrow bytes in the open row group
}

// Row groups are buffered across batches: a partitioned output gets a few
// hundred rows per batch and part, and a row group per batch made tiny
// pages whose framing and compression cost more than the transform. An
// open row group is held in memory until it reaches its share of
// groupBudget, at least minGroup and at most maxGroup bytes.
const (
	defaultGroupBudget = 256 << 20
	minGroup           = 64 << 10
	maxGroup           = 16 << 20
)

func newStager(root, period string, maxRows int64, codec compress.Compression) *stager {
	return &stager{root: root, period: period, maxRows: maxRows, codec: codec,
		groupBudget: defaultGroupBudget, lanes: map[string]*lane{}, cleaned: map[string]bool{}}
}

// groupLimit is the size at which a lane closes its row group.
func (s *stager) groupLimit() int64 {
	n := s.nlanes.Load()
	if n < 1 {
		n = 1
	}
	return min(max(s.groupBudget/n, minGroup), maxGroup)
}

// recBytes is the size of a batch's Arrow buffers.
func recBytes(rec arrow.RecordBatch) int64 {
	var n int64
	for _, c := range rec.Columns() {
		for _, b := range c.Data().Buffers() {
			if b != nil {
				n += int64(b.Len())
			}
		}
	}
	return n
}

// syncFile is an output file whose Close (called by the Parquet writer
// after the footer) fsyncs it first, so a published stage file is on disk.
type syncFile struct{ *os.File }

func (f syncFile) Close() error {
	err := f.File.Sync()
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	return err
}

var partSafe = regexp.MustCompile(`^[A-Za-z0-9_.\-\p{Han}]+$`)

func (s *stager) dir(name string) string {
	return filepath.Join(s.root, name, workdir.StagePartial(s.period))
}

func (s *stager) writeSync(l *lane, out Output) error {
	rec, err := typed(out.Rec, s.types[out.Name], memory.DefaultAllocator)
	if err != nil {
		return fmt.Errorf("staging %s: %w", out.Name, err)
	}
	defer rec.Release()
	out.Rec = rec
	sf := l.sf
	if sf != nil && sf.rows >= s.maxRows {
		if err := s.finish(sf); err != nil {
			return err
		}
		sf = &stageFile{name: out.Name, part: out.Part, seq: sf.seq + 1}
		l.sf = sf
	}
	if sf == nil {
		sf = &stageFile{name: out.Name, part: out.Part, seq: 1}
		l.sf = sf
	}
	if sf.w == nil {
		dir := filepath.Join(s.dir(out.Name), out.Part)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		// Staged rows hold decrypted mobile numbers: the owner only.
		of, err := os.OpenFile(filepath.Join(dir, workdir.ParquetPart(sf.seq)), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		f := syncFile{of}
		var dict []string
		if s.dict {
			dict = dictColumns(out.Rec)
		}
		props := dictProps(stageOpts(s.codec), dict)
		w, err := pqarrow.NewFileWriter(out.Rec.Schema(), f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
		if err != nil {
			f.Close()
			return err
		}
		sf.f, sf.w = f, w
	}
	if sf.groupBytes >= s.groupLimit() {
		if err := sf.w.NewBufferedRowGroupChecked(); err != nil { // writes the full one out
			return fmt.Errorf("%s: %w", sf.f.Name(), err)
		}
		sf.groupBytes = 0
	}
	if err := sf.w.WriteBuffered(out.Rec); err != nil {
		return fmt.Errorf("%s: %w", sf.f.Name(), err)
	}
	sf.rows += out.Rec.NumRows()
	sf.groupBytes += recBytes(out.Rec)
	return nil
}

// stagePageBytes is the staged files' data page size. arrow-go grows a
// column's page buffer to twice the page size and zeroes it on release,
// and every open column of every open file holds one: with the default
// 1 MiB pages that buffer churn was a third of Parquet's CPU, and 31
// province files of 51 columns could hold 1.6 GB of pending pages. 16 KiB
// pages: 5% less CPU and 15% lower peak RSS for chama transform, 10% lower
// by province, for 3.5% larger files (docs/transform.md#bench).
const stagePageBytes = 16 << 10

// stageProps are the staged files' Parquet settings. Plain encoding by
// default: dictionary-encoding 51 string columns cost more CPU than the
// whole transform; dictColumns picks the columns where it pays.
func stageProps(codec compress.Compression) *parquet.WriterProperties {
	return parquet.NewWriterProperties(stageOpts(codec)...)
}

func stageOpts(codec compress.Compression) []parquet.WriterProperty {
	return []parquet.WriterProperty{parquet.WithCompression(codec), parquet.WithDictionaryDefault(false),
		parquet.WithStats(false), parquet.WithDataPageSize(stagePageBytes)}
}

func (s *stager) finish(sf *stageFile) error {
	if sf.w == nil {
		return nil
	}
	if err := sf.w.Close(); err != nil { // closes the file too
		return fmt.Errorf("%s: %w", sf.f.Name(), err)
	}
	rel, _ := filepath.Rel(s.root, sf.f.Name())
	rel = strings.Replace(rel, workdir.StagePartial(s.period), s.period, 1)
	s.mu.Lock()
	s.files = append(s.files, StagedFile{Name: sf.name, Part: sf.part, Path: filepath.ToSlash(rel), Rows: sf.rows})
	s.mu.Unlock()
	sf.w = nil
	return nil
}

// commit closes every file and moves each <period>.partial to <period>.
// Files of an earlier run are removed one by one, by their exact
// part-NNNNN.parquet names (never a folder sweep).
func (s *stager) commit(names []string) error {
	if err := s.drain(); err != nil {
		return err
	}
	sort.Slice(s.files, func(i, j int) bool { return s.files[i].Path < s.files[j].Path })
	for _, name := range names {
		if err := s.clean(name); err != nil {
			return err
		}
		partial := s.dir(name)
		final := filepath.Join(s.root, name, s.period)
		if _, err := os.Stat(partial); os.IsNotExist(err) {
			if err := os.MkdirAll(partial, 0o700); err != nil { // an empty output is still an output
				return err
			}
		}
		if err := removeOldStage(final); err != nil {
			return err
		}
		if err := syncTree(partial); err != nil {
			return err
		}
		if err := os.Rename(partial, final); err != nil {
			return err
		}
		if err := syncDir(filepath.Dir(final)); err != nil { // the rename itself
			return err
		}
	}
	return nil
}

// syncTree fsyncs dir and the folders in it (not the files: each was
// fsynced when closed), so the names inside are durable.
func syncTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		return syncDir(p)
	})
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	f.Close()
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

var stageFileName = regexp.MustCompile(`^part-\d{5,}\.parquet$`)

// removeOldStage deletes a previous run's part files and then the folders
// if they are empty; anything else in them stays, and so does the folder.
func removeOldStage(dir string) error {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if e.IsDir() {
			if err := removeOldStage(p); err != nil {
				return err
			}
			continue
		}
		if stageFileName.MatchString(e.Name()) {
			if err := os.Remove(p); err != nil {
				return err
			}
		}
	}
	if err := os.Remove(dir); err != nil {
		return fmt.Errorf("stage folder %s holds files chama did not write; move them away: %w", dir, err)
	}
	return nil
}

// abort stops the lanes and removes what this run wrote: its
// <period>.partial folders (only the part files chama writes in them).
func (s *stager) abort() {
	for _, l := range s.lanes {
		l.stop.Store(true) // lanes stop writing; open files are closed
	}
	s.drain()
	for _, name := range sortedKeys(s.cleaned) {
		removeOldStage(s.dir(name)) // a folder holding foreign files stays
	}
}

// Run runs the transform on its own: outputs go to Parquet under
// <workdir>/stage/<layer>/<name>/<period>/[<part>/]part-NNNNN.parquet, and
// the summary to <workdir>/stage/<layer>/<period>.summary.json.
func Run(ctx context.Context, o Options) (*Summary, error) {
	if o.Config == nil || o.Config.Transform == nil {
		return nil, fmt.Errorf("the config has no transform section")
	}
	root := StageDir(o.Config.Workdir, o.Layer)
	codec := map[string]compress.Compression{"snappy": compress.Codecs.Snappy, "zstd": compress.Codecs.Zstd,
		"gzip": compress.Codecs.Gzip, "none": compress.Codecs.Uncompressed}[o.Config.Transform.StageCompression]
	st := newStager(root, o.Period.String(), int64(o.Config.Transform.StageRowsPerFile), codec)
	st.types = stageTypes(o.Config.Transform, o.Layer)
	st.dict = o.Config.Transform.StageDictionary
	sum, err := Stream(ctx, o, func(_ string, out Output) error { return st.write(out) })
	if err != nil {
		st.abort()
		if sum != nil && len(sum.Streams) > 0 { // accounting had started: keep the record
			writeSummary(root, sum)
		}
		return sum, err
	}
	names := sortedKeys(sum.Rows)
	if err := st.commit(names); err != nil {
		return sum, err
	}
	sum.Outputs = st.files
	if err := writeSummary(root, sum); err != nil {
		return sum, err
	}
	return sum, nil
}

func writeSummary(root string, sum *Summary) error {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	data, err := jsonIndent(sum)
	if err != nil {
		return err
	}
	return manifest.WriteFileAtomic(filepath.Join(root, workdir.SummaryName(sum.Period)), data, 0o644)
}

func jsonIndent(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	return append(b, '\n'), err
}
