// Package pack is the pack stage. It turns the Hive partitions of an interface into its delivered
// files: it reads a period's inputs in order, converts every line, cuts
// exactly lines_per_file lines per file, gzips them on all cores, writes
// the .verf and manifest.json, and publishes the set atomically.
package pack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/chunkstore"
	"github.com/chama-data/chama/internal/logkey"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/internal/progress"
	"github.com/chama-data/chama/internal/workdir"
	"github.com/chama-data/chama/naming"
	"github.com/chama-data/chama/transfer/pull"
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
	// It is read as it is: pulled copies are not looked for.
	Source source.Source
	// Input is where partitions are read from: pull.Auto (default) reads
	// a partition's verified pulled copy (<workdir>/raw/) when there is
	// one, else the source; pull.Pulled only pulled copies (a partition
	// not pulled is not ready); pull.Origin always the source.
	Input pull.Mode
	Log   *slog.Logger
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

	// pulledRoot is the workdir pull staged in, kept when an hour chunk
	// is packed into the nested chunks workdir ("": Config.Workdir).
	pulledRoot string

	// Store is the shared chunk store of hourly_pack interfaces (config
	// chunk_store; nil: the hour chunks stay in the workdir): an hour
	// packed here is put in it, a day is assembled from it (store.go).
	Store *chunkstore.Store
	// ClaimHour takes the lease of one hour of the day being assembled
	// whose chunk is in no store yet, before packing it here (busy: the
	// hour is being packed elsewhere). nil: no leases.
	ClaimHour func(ctx context.Context, hour naming.Period) (context.Context, func(), error)
	// Repack packs an hour even when the store holds its chunk already
	// (by default such an hour is done: its chunk is fetched, not packed).
	Repack bool
}

// Run packs one interface for one period and publishes the result in
// <workdir>/out/<iface>/<period>. On any error nothing is published and
// the previous output, if any, is left as it was.
func Run(ctx context.Context, o Options) (*manifest.Manifest, error) {
	m, _, err := run(ctx, o)
	return m, err
}

// run is Run, also saying where the period's input came from.
func run(ctx context.Context, o Options) (*manifest.Manifest, pull.InputOf, error) {
	var none pull.InputOf
	if o.Config == nil || o.Iface == nil {
		return nil, none, errors.New("pack: no config or interface")
	}
	if o.Iface.HourlyPack {
		return packHourly(ctx, o) // hour chunks and day assembly (hourly.go)
	}
	r, err := newPackRun(o)
	if err != nil {
		return nil, none, err
	}
	iface, period, where := r.iface, r.period, r.where
	var feed feedFunc
	if iface.From == config.FromTransform {
		feed = transformFeed(o, r.log, r.workers)
	} else {
		in, err := openInputs(o, r.log)
		if err != nil {
			return nil, none, err
		}
		defer in.Close()
		if feed, err = r.sourceFeed(ctx, in); err != nil {
			return nil, none, err
		}
	}

	parent := workdir.New(o.Config.Workdir).OutIface(iface.Name)
	final := filepath.Join(parent, period.String())
	if err := mkdirAllSynced(parent); err != nil {
		return nil, none, err
	}
	unlock, err := lockPeriod(parent, period.String())
	if err != nil {
		return nil, none, fmt.Errorf("%s: %w", where, err)
	}
	defer unlock()
	// removeDayOutput also drops the delivery records carried into a
	// temporary folder (copies) and left in the replaced one (links).
	st, err := newStaging(parent, period.String(), func(dir string) error { return removeDayOutput(dir, iface) }, r.log)
	if err != nil {
		return nil, none, err
	}
	defer st.discard()
	r.log.Info("pack started", "workers", r.workers)

	p := &packer{
		iface: iface, period: period, where: where, conv: r.conv, tmp: st.tmp,
		lpf: int64(iface.LinesPerFile), maxSeq: naming.MaxSeq(r.width),
		parts: map[string]*partOut{}, partitioned: iface.Partitioned(),
		keptRejects: workdir.FailedRejects(final),
	}
	rows, ins, err := p.runFeed(ctx, feed)
	if err != nil {
		return nil, none, err
	}
	if p.countOnly {
		return nil, none, p.capacityError(r.width)
	}
	if err := r.checkCounts(rows, ins); err != nil {
		return nil, none, err
	}
	m, err := r.finishSets(ctx, p, rows, ins)
	if err != nil {
		return nil, none, err
	}
	if err := r.commit(ctx, st, final, m, p.input); err != nil {
		return nil, none, err
	}
	r.log.Info("pack done", "files", FileCount(m), logkey.Rows, rows.Written, "rejected", rows.Rejected, "input", p.input.Input)
	return m, p.input, nil
}

// openInputs is the source an interface's text partitions are read
// through: each partition from its verified pulled copy or from the
// configured source, as o.Input says (pull.Inputs). An o.Source given is
// read as it is.
func openInputs(o Options, log *slog.Logger) (*pull.Inputs, error) {
	iface := o.Iface
	opts := pull.InputOptions{Config: o.Config, Workdir: o.pulledRoot, Mode: o.Input, Dir: iface.Name, Source: iface.Source,
		Origin: o.Source, Period: o.Period, Log: log}
	switch {
	case o.Source != nil:
		opts.Mode = pull.Origin
	case o.Input == pull.Pulled:
		// Pulled copies only: the source is not even opened.
	default:
		src, err := source.Open(o.Config, iface.Source)
		if err != nil {
			return nil, err
		}
		opts.Origin, opts.OwnOrigin = src, true
	}
	return pull.NewInputs(opts), nil
}

// feedFunc produces a period's rows into the packer.
type feedFunc = func(ctx context.Context, p *packer) (manifest.Rows, []manifest.Input, error)

// packRun is what Run settles before it reads any input: the options'
// defaults, the converter and the naming of the period's sets.
type packRun struct {
	o         Options
	iface     *config.Interface
	period    naming.Period
	log       *slog.Logger
	now       func() time.Time
	workers   int
	where     string
	conv      *converter
	tpl, vtpl *naming.Template
	width     int
}

// newPackRun fills in the defaults of o and refuses, before any input is
// read, a period the interface cannot be packed for or names its
// templates cannot hold.
func newPackRun(o Options) (*packRun, error) {
	iface, period := o.Iface, o.Period
	r := &packRun{o: o, iface: iface, period: period, log: o.logger(period), now: time.Now, workers: o.Workers}
	if o.Now != nil {
		r.now = o.Now
	}
	if r.workers < 1 {
		r.workers = runtime.GOMAXPROCS(0)
	}
	r.where = fmt.Sprintf("interface %s period %s", iface.Name, period)
	if iface.Granularity == "hour" && !period.Hourly {
		return nil, fmt.Errorf("%s: the interface is hourly: pack its hours (2024121200..2024121223), not a day", r.where)
	}
	if in := inputPath(o.Config, iface); period.Hourly && !strings.Contains(in, "{hour}") {
		return nil, fmt.Errorf("%s: path %q has no {hour}, so one hour cannot be read on its own: pack the day", r.where, in)
	}
	conv, err := newConverter(iface)
	if err != nil {
		return nil, err
	}
	r.conv = conv
	if r.tpl, r.vtpl, r.width, err = setNaming(iface, period, o.Resend); err != nil {
		return nil, fmt.Errorf("%s: %w", r.where, err)
	}
	return r, nil
}

// sourceFeed lists the period's text partitions in src and returns the
// feed that reads them. From here on r.log carries the input count.
func (r *packRun) sourceFeed(ctx context.Context, src *pull.Inputs) (feedFunc, error) {
	o, iface, period, workers := r.o, r.iface, r.period, r.workers
	inputs, err := listInputs(ctx, iface, period, src, r.now())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.where, err)
	}
	log := r.log.With("inputs", len(inputs))
	r.log = log
	if iface.Fields == 0 && len(inputs) > 0 {
		// Without a configured count, rows with an embedded input
		// delimiter would go out as lines with extra fields. Learn the
		// count from the input instead, and say so.
		n, seen, err := inferFields(ctx, src, inputs[0], iface.Delimiter[0])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.where, err)
		}
		if n > 0 {
			r.conv.fields = n
			log.Info("fields is not set: expecting the most common field count of the first lines of the first input; lines with another count are rejects (set fields: N to pin it, or fields: -1 to accept any count)",
				"fields", n, "lines", seen, logkey.File, inputs[0].Path)
		}
	}
	var total int64
	for _, f := range inputs {
		total += f.Size
	}
	return func(ctx context.Context, p *packer) (manifest.Rows, []manifest.Input, error) {
		m := progress.New(progress.Options{Label: fmt.Sprintf("pack %s %s input", iface.Name, period), Total: total,
			Bars: o.Bars, Log: log, Every: o.ProgressEvery})
		defer m.Close()
		p.input = src.InputOf()
		rows, ins, err := p.run(ctx, src, inputs, workers, m)
		if err == nil {
			// Every pulled file was read to its end and matched its
			// record, or nothing is published.
			err = src.Verified()
		}
		// A damaged pulled copy may fail its reader before its end (a
		// gzip error): name the copy and its checksums instead.
		return rows, ins, src.Diagnose(ctx, err)
	}, nil
}

// runFeed packs every row feed produces, then settles the reject list: a
// failed run (too many rejects included) keeps it beside the period
// folder, and its error names the interface and period.
func (p *packer) runFeed(ctx context.Context, feed feedFunc) (manifest.Rows, []manifest.Input, error) {
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
		if !strings.HasPrefix(err.Error(), p.where) {
			err = fmt.Errorf("%s: %w", p.where, err)
		}
		return rows, ins, err
	}
	return rows, ins, nil
}

// capacityError is the failure of a run that stopped writing (countOnly):
// it names the partition needing the most files, and how many.
func (p *packer) capacityError(width int) error {
	worst := p.partList[0]
	for _, po := range p.partList {
		if po.rows > worst.rows {
			worst = po
		}
	}
	n := int((worst.rows + p.lpf - 1) / p.lpf)
	err := naming.CheckCapacity(p.iface.Name, p.period.String(), n, width)
	if worst.name != "" {
		err = fmt.Errorf("partition %s: %w", worst.name, err)
	}
	return err
}

// checkCounts refuses a period with nothing to deliver, unless it may be
// empty, and rows that do not reconcile.
func (r *packRun) checkCounts(rows manifest.Rows, ins []manifest.Input) error {
	where := r.where
	emptyOK := r.iface.AllowEmpty || r.o.hourChunk
	if rows.Read == 0 && !emptyOK {
		return fmt.Errorf("%s: the period is empty: %d input files hold no rows (set allow_empty: true if that is normal)", where, len(ins))
	}
	if rows.Written == 0 && !emptyOK {
		if rows.Filtered > 0 { // from: transform: the filter took no row
			return fmt.Errorf("%s: none of the %d rows read was routed to the interface (%d filtered, %d rejected); nothing to deliver (set allow_empty: true if that is normal)", where, rows.Read, rows.Filtered, rows.Rejected)
		}
		return fmt.Errorf("%s: every one of the %d rows was rejected; nothing to deliver", where, rows.Read)
	}
	if err := rows.Check(); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	return nil
}

// finishSets names the files of every set in partition order, writes
// their .verf files and returns the period's manifest.
func (r *packRun) finishSets(ctx context.Context, p *packer, rows manifest.Rows, ins []manifest.Input) (*manifest.Manifest, error) {
	m := &manifest.Manifest{
		Version: manifest.Version, Iface: r.iface.Name, Period: r.period.String(),
		Resend: r.o.Resend, Created: r.now().UTC().Truncate(time.Second), Chama: r.o.Version,
		Inputs: ins, Rows: rows,
	}
	ctime := r.now().Format("20060102150405")
	if len(p.partList) == 0 && !r.iface.Partitioned() {
		// allow_empty: an empty set still gets its .verf, so downstream
		// learns the period is complete and empty.
		p.partList = append(p.partList, &partOut{dir: p.tmp})
	}
	slices.SortFunc(p.partList, func(a, b *partOut) int { return strings.Compare(a.name, b.name) })
	for _, po := range p.partList {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		set, err := p.finishSet(po, r.tpl, r.vtpl, r.width, r.o.Resend, ctime)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.where, err)
		}
		m.Sets = append(m.Sets, set)
	}
	return m, nil
}

// commit writes the manifest (with where the input came from) beside
// the sets and publishes the staged period in place of the old one.
func (r *packRun) commit(ctx context.Context, st *staging, final string, m *manifest.Manifest, input pull.InputOf) error {
	where, tmp := r.where, st.tmp
	// Push's delivery records stay with the period: they say what the
	// targets hold, and push needs them to see that a re-packed set changed.
	if err := carryRecords(final, tmp); err != nil {
		return fmt.Errorf("%s: keeping the delivery records: %w", where, err)
	}
	if err := writeManifest(tmp, m, input); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	if err := syncDirs(tmp); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkFence(ctx, where); err != nil {
		return err
	}
	if err := st.publish(); err != nil {
		return fmt.Errorf("%s: publish: %w", where, err)
	}
	os.Remove(workdir.FailedRejects(final)) // a failed run's list is stale now
	return nil
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
// order, the files of each sorted by path; each partition from its
// pulled copy or from the source, as src decides.
func listInputs(ctx context.Context, iface *config.Interface, period naming.Period, src *pull.Inputs, now time.Time) ([]source.FileInfo, error) {
	var out []source.FileInfo
	for _, p := range source.Partitions(iface.Name, iface.Source, iface.Path, period) {
		files, err := src.Partition(ctx, p, now)
		if err != nil {
			return nil, err
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
