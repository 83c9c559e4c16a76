package pack

// Hourly mode (hourly_pack: true on a day interface): each hour is packed
// on its own into an hour chunk as soon as its partition is ready, and the
// day's set is assembled from the 24 chunks by hard-linking their files
// under their final names. The data is compressed once, hour by hour, so
// the day is complete minutes after its last hour lands.
//
//	<workdir>/chunks/out/<iface>/<YYYYMMDDHH>/[<part>/]chunk_HH_000001.dat.gz
//	<workdir>/out/<iface>/<YYYYMMDD>/  the day, built from the chunks:
//	    manifest.json + .verf once assembled, partial.json before

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/delivery"
	"github.com/chama-data/chama/internal/logkey"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/internal/workdir"
	"github.com/chama-data/chama/naming"
	"github.com/chama-data/chama/transfer/pull"
	"github.com/chama-data/chama/verify"
)

// Chunk files carry neutral names: their final sequence is only known
// when the hours before them are packed.
const (
	chunkFileName = workdir.ChunkFileTemplate
	chunkVerfName = workdir.ChunkVerfTemplate
)

// chunkDir is the published chunk of one hour of an interface.
func chunkDir(c *config.Config, iface string, hour naming.Period) string {
	return workdir.New(c.Workdir).Chunks().Out(iface, hour.String())
}

// testHookDayStaged is called when a day folder is ready to publish.
var testHookDayStaged func(tmp string)

// linkFile is os.Link; tests make it fail to take the copy path.
var linkFile = os.Link

// chunkPacks counts hour chunks packed (compressed) by this process; tests
// use it to prove an assembly compressed nothing.
var chunkPacks atomic.Int64

// AssembleResult is what building a day folder from chunks did.
type AssembleResult struct {
	Manifest *manifest.Manifest
	// Partial is true when only the known prefix was written (partial.json).
	Partial bool
	// Hours covered, in order ("00".."23").
	Hours []string
	// Packed lists the hours packed first because their chunk was missing.
	Packed []string
	// Linked files were hard-linked; Copied ones copied byte for byte
	// (hard links impossible, e.g. another file system). Never recompressed.
	Linked, Copied int
	// Changed names the files whose content differs from the day folder
	// that was there before (a re-packed hour renumbered them).
	Changed []string
	// Delivered names the targets whose delivery record holds files that
	// differ from the new set: push refuses to add to such a mixed set.
	Delivered []string
	// Input is where the hours' input came from, merged (pull.InputOf).
	Input pull.InputOf
	// Chunks are the chunk store versions the day was built from, as
	// HH=version@owner (empty without a chunk store).
	Chunks []string
}

// Assemble builds the day of an hourly_pack interface from its hour
// chunks, packing the hours that have none first, and publishes it
// atomically in <workdir>/out/<iface>/<day>. o.Period may be the day or
// any hour of it.
func Assemble(ctx context.Context, o Options) (*AssembleResult, error) {
	if err := checkHourly(o); err != nil {
		return nil, err
	}
	unlock, err := lockDay(ctx, o)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return buildDay(ctx, o, o.Period.Day(), true)
}

// packHourly is Pack for an hourly_pack interface: an hour is packed into
// its chunk, then the day folder is refreshed (the known prefix as
// partial.json, or, when the day was already assembled, the whole day
// again); a day is assembled. Hours pack in parallel (each chunk has its
// own lock); the day folder changes only under the day's lock, which a
// run waits for.
func packHourly(ctx context.Context, o Options) (*manifest.Manifest, pull.InputOf, error) {
	var none pull.InputOf
	if err := checkHourly(o); err != nil {
		return nil, none, err
	}
	day := o.Period.Day()
	if !o.Period.Hourly {
		r, err := Assemble(ctx, o)
		if err != nil {
			return nil, none, err
		}
		return r.Manifest, r.Input, nil
	}
	m, input, err := packHour(ctx, o) // store.go: with a chunk store, maybe fetched
	if err != nil {
		return nil, none, err
	}
	unlock, err := lockDay(ctx, o)
	if err != nil {
		return nil, none, err
	}
	defer unlock()
	if _, err := buildDay(ctx, o, day, false); err != nil {
		return nil, none, fmt.Errorf("interface %s period %s: the hour is packed but its day folder was not refreshed: %w", o.Iface.Name, o.Period, err)
	}
	return m, input, nil
}

func checkHourly(o Options) error {
	if o.Config == nil || o.Iface == nil {
		return errors.New("pack: no config or interface")
	}
	if p := inputPath(o.Config, o.Iface); !strings.Contains(p, "{hour}") {
		return fmt.Errorf("interface %s: hourly_pack needs a path with {hour} (got %q)", o.Iface.Name, p)
	}
	return nil
}

// lockDay takes the lock of the day folder, waiting while another run
// (an assembly, the refresh after another hour) holds it: hours of one
// day are often packed at overlapping times.
func lockDay(ctx context.Context, o Options) (func(), error) {
	parent := workdir.New(o.Config.Workdir).OutIface(o.Iface.Name)
	if err := mkdirAllSynced(parent); err != nil {
		return nil, err
	}
	waited := false
	for {
		unlock, err := lockPeriod(parent, o.Period.Day().String())
		if err == nil {
			return unlock, nil
		}
		if !errors.Is(err, errLocked) {
			return nil, fmt.Errorf("interface %s period %s: %w", o.Iface.Name, o.Period.Day(), err)
		}
		if !waited && o.Log != nil {
			o.Log.Info("waiting for the day folder's lock", logkey.Iface, o.Iface.Name, logkey.Period, o.Period.Day().String(), logkey.Err, err)
		}
		waited = true
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("interface %s period %s: %w (%v)", o.Iface.Name, o.Period.Day(), context.Cause(ctx), err)
		case <-time.After(lockPoll):
		}
	}
}

// lockPoll is how often a waiting run retries the day lock.
var lockPoll = 200 * time.Millisecond

// chunkOptions turns the options of an hour into those of its chunk: the
// same interface under neutral names, published in the chunks workdir.
func chunkOptions(o Options) Options {
	if o.pulledRoot == "" {
		o.pulledRoot = o.Config.Workdir // pulled copies stay where pull put them
	}
	c := *o.Config
	c.Workdir = workdir.New(o.Config.Workdir).Chunks().Root
	ic := *o.Iface
	ic.HourlyPack = false
	ic.FileName, ic.VerfName = chunkFileName, chunkVerfName
	o.Config, o.Iface = &c, &ic
	o.Resend = 0 // the re-send number is given at assembly
	o.hourChunk = true
	return o
}

// packChunk packs one hour into its chunk (exact cuts, the hour's last
// file shorter) with the ordinary pack, atomically published.
func packChunk(ctx context.Context, o Options) (*manifest.Manifest, pull.InputOf, error) {
	chunkPacks.Add(1)
	return run(ctx, chunkOptions(o))
}

// srcFile is one chunk file on its way into the day.
type srcFile struct {
	path string
	f    manifest.File
	hour string
}

// buildDay writes the day folder from the chunks. full: every hour (the
// missing ones packed first), .verf and manifest.json; otherwise the
// contiguous prefix of packed hours from 00 as partial.json, no .verf —
// unless the day was already assembled, which is then assembled again.
// The caller holds the day lock.
func buildDay(ctx context.Context, o Options, day naming.Period, full bool) (*AssembleResult, error) {
	b := newDayBuild(o, day)
	prev, err := b.readPrevious(full)
	if err != nil {
		return nil, err
	}
	chunks, err := b.readChunks(ctx)
	if err != nil {
		return nil, err
	}
	if len(chunks) == 0 {
		return b.res, nil // hour 00 not packed: no file's name is known yet
	}
	d := b.merge(chunks)
	if err := b.check(d); err != nil {
		return nil, err
	}

	st, err := newStaging(b.parent, day.String(), func(dir string) error { return removeDayOutput(dir, b.o.Iface) }, b.log)
	if err != nil {
		return nil, err
	}
	defer st.discard()
	if err := b.stage(ctx, d, st.tmp); err != nil {
		return nil, err
	}
	m := d.m
	b.res.Changed = diffSets(prev, m)
	b.res.Delivered = deliveredDiffer(b.final, m)
	if testHookDayStaged != nil {
		testHookDayStaged(st.tmp)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkFence(ctx, b.where); err != nil {
		return nil, err
	}
	if err := st.publish(); err != nil {
		return nil, fmt.Errorf("%s: publish: %w", b.where, err)
	}
	b.res.Manifest = m
	b.report(m)
	return b.res, nil
}

// dayBuild is the state of one buildDay call.
type dayBuild struct {
	o     Options
	day   naming.Period
	full  bool
	log   *slog.Logger
	now   func() time.Time
	where string
	// parent holds the interface's period folders; final is the day's.
	parent, final string
	tpl, vtpl     *naming.Template
	width         int
	res           *AssembleResult
}

// newDayBuild fills in the defaults of o for building day.
func newDayBuild(o Options, day naming.Period) *dayBuild {
	b := &dayBuild{o: o, day: day, log: o.logger(day), now: time.Now}
	if o.Now != nil {
		b.now = o.Now
	}
	b.where = fmt.Sprintf("interface %s period %s", o.Iface.Name, day)
	b.parent = workdir.New(o.Config.Workdir).OutIface(o.Iface.Name)
	b.final = filepath.Join(b.parent, day.String())
	return b
}

// readPrevious reads the day folder as it is and settles what to build:
// an hour refresh keeps its re-send number, and a day once assembled is
// always assembled whole. It returns the folder's manifest (nil: none).
func (b *dayBuild) readPrevious(full bool) (*manifest.Manifest, error) {
	prev, prevFull, err := readDayFolder(b.final)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.where, err)
	}
	if !full && prev != nil {
		// An hour refresh keeps the day's re-send number; only packing
		// the day with --resend changes it.
		b.o.Resend = prev.Resend
	}
	if prevFull {
		full = true
	}
	b.full = full
	b.res = &AssembleResult{Partial: !full}
	b.tpl, b.vtpl, b.width, err = setNaming(b.o.Iface, b.day, b.o.Resend)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.where, err) // before any hour is packed
	}
	return prev, nil
}

// readChunks reads the chunk manifests in hour order: all 24, packing
// the missing ones, when full; else up to the first hour not packed.
func (b *dayBuild) readChunks(ctx context.Context) ([]*manifest.Manifest, error) {
	o, iface, res := b.o, b.o.Iface, b.res
	var chunks []*manifest.Manifest
	for _, h := range b.day.Hours() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if o.Store != nil {
			cm, ok, err := b.storeChunk(ctx, h) // store.go
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			chunks = append(chunks, cm)
			res.Hours = append(res.Hours, h.Hour())
			continue
		}
		cm, err := manifest.Read(chunkDir(o.Config, iface.Name, h))
		if errors.Is(err, fs.ErrNotExist) {
			if !b.full {
				break
			}
			ho := o
			ho.Period = h
			b.log.Info("hour not packed yet: packing it before assembling the day", "hour", h.Hour())
			if cm, _, err = packChunk(ctx, ho); err != nil {
				return nil, err
			}
			res.Packed = append(res.Packed, h.Hour())
		} else if err != nil {
			return nil, fmt.Errorf("%s: hour chunk %s: %w", b.where, h.Hour(), err)
		}
		chunks = append(chunks, cm)
		res.Hours = append(res.Hours, h.Hour())
	}
	return chunks, nil
}

// dayFiles is the chunks of a day merged.
type dayFiles struct {
	// m is the day's manifest, its sets still to be added.
	m *manifest.Manifest
	// parts holds the files of each partition value in hour order, then
	// file order; partNames the values, in the order first met.
	parts     map[string][]srcFile
	partNames []string
	// rejects are the chunks' reject lists.
	rejects []string
}

// merge sums the chunks' inputs and row counts into the day's manifest
// and lists each partition's files in the order they are numbered.
func (b *dayBuild) merge(chunks []*manifest.Manifest) *dayFiles {
	o, iface := b.o, b.o.Iface
	d := &dayFiles{parts: map[string][]srcFile{}}
	d.m = &manifest.Manifest{
		Version: manifest.Version, Iface: iface.Name, Period: b.day.String(),
		Resend: o.Resend, Created: b.now().UTC().Truncate(time.Second), Chama: o.Version,
	}
	m, parts := d.m, d.parts
	for i, cm := range chunks {
		hour := cm.Period[8:]
		cdir := chunkDir(o.Config, iface.Name, naming.MustPeriod(cm.Period))
		if in, err := readInputOf(cdir); err == nil {
			if i == 0 {
				b.res.Input = in
			} else {
				b.res.Input = b.res.Input.Merge(in)
			}
		}
		m.Inputs = append(m.Inputs, cm.Inputs...)
		m.Rows.Read += cm.Rows.Read
		m.Rows.Written += cm.Rows.Written
		m.Rows.Filtered += cm.Rows.Filtered
		m.Rows.Rejected += cm.Rows.Rejected
		m.Rows.Delimiters += cm.Rows.Delimiters
		if cm.Rows.Rejected > 0 {
			d.rejects = append(d.rejects, filepath.Join(cdir, workdir.RejectsFile))
		}
		for _, s := range cm.Sets {
			if _, ok := parts[s.Part]; !ok {
				d.partNames = append(d.partNames, s.Part)
				parts[s.Part] = nil
			}
			files := slices.Clone(s.Files)
			slices.SortFunc(files, func(a, b manifest.File) int { return a.Seq - b.Seq })
			for _, f := range files {
				parts[s.Part] = append(parts[s.Part], srcFile{path: filepath.Join(cdir, s.Dir, f.Name), f: f, hour: hour})
			}
		}
	}
	return d
}

// check refuses, before anything is written, a day with too many
// rejects, rows that do not reconcile, an empty whole day, or a set
// with more files than the width rule allows. It sorts d.partNames.
func (b *dayBuild) check(d *dayFiles) error {
	iface, m, where := b.o.Iface, d.m, b.where
	if b.full && m.Rows.Rejected > int64(iface.MaxRejects) {
		return fmt.Errorf("%s: the day's hours hold %d rejected lines, more than max_rejects %d (each hour is checked on its own, the day as a whole too); see the hours' rejects.txt under %s", where, m.Rows.Rejected, iface.MaxRejects, workdir.New(b.o.Config.Workdir).Chunks().OutIface(iface.Name))
	}
	if err := m.Rows.Check(); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	if b.full && m.Rows.Written == 0 && !iface.AllowEmpty {
		// Hours may be empty on their own; the day may not (as pack).
		return fmt.Errorf("%s: the day is empty: its 24 hours hold %d rows, %d rejected, nothing to deliver (set allow_empty: true if that is normal)", where, m.Rows.Read, m.Rows.Rejected)
	}
	if len(d.partNames) == 0 && iface.PartitionField == 0 {
		d.partNames = []string{""} // allow_empty: an empty flat day still gets its .verf
	}
	slices.Sort(d.partNames)

	// The width rule of the day, checked before anything is written.
	for _, p := range d.partNames {
		if err := naming.CheckCapacity(iface.Name, b.day.String(), len(d.parts[p]), b.width); err != nil {
			if p != "" {
				err = fmt.Errorf("partition %s: %w", p, err)
			}
			return err
		}
	}
	return nil
}

// stage fills the temporary day folder tmp: the linked sets, the
// chunks' rejects, the carried delivery records and manifest.json (or
// partial.json), synced.
func (b *dayBuild) stage(ctx context.Context, d *dayFiles, tmp string) error {
	m, where := d.m, b.where
	ctime := b.now().Format("20060102150405")
	for _, p := range d.partNames {
		if err := ctx.Err(); err != nil {
			return err
		}
		set, err := linkSet(b.o, b.day, p, d.parts[p], tmp, b.tpl, b.vtpl, b.width, ctime, b.full, b.res)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		m.Sets = append(m.Sets, set)
	}
	if b.res.Copied > 0 {
		b.log.Warn("hard links impossible: chunk files were copied (not recompressed)", "copied", b.res.Copied)
	}
	if len(d.rejects) > 0 {
		if err := concatFiles(filepath.Join(tmp, workdir.RejectsFile), d.rejects); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
	}
	if err := carryRecords(b.final, tmp); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	var err error
	if b.full {
		err = writeManifest(tmp, m, b.res.Input)
	} else {
		err = writePartial(tmp, m, b.res.Input)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	if err := syncDirs(tmp); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	return nil
}

// report logs what the published day changed, what it means for the
// targets that already received files, and what was built.
func (b *dayBuild) report(m *manifest.Manifest) {
	res, day, log := b.res, b.day, b.log
	if len(res.Changed) > 0 {
		log.Warn("the day's set changed: a re-packed hour renumbered or changed these files", "files", summarize(res.Changed))
	}
	if len(res.Delivered) > 0 {
		way := fmt.Sprintf("pack the day with a new re-send number (chama pack --date %s --resend %02d, then chama push --date %s --resend %02d), or ", day, b.o.Resend+1, day, b.o.Resend+1)
		if b.o.Resend >= 99 {
			way = "" // no re-send number is left
		}
		log.Warn(fmt.Sprintf("files already delivered differ from the new set: push refuses to send a mixed set; way out: %schama push --date %s --force to replace the differing files", way, day),
			"targets", strings.Join(res.Delivered, ", "))
	}
	what := "day assembled"
	if !b.full {
		what = "day prefix linked (partial.json)"
	}
	args := []any{"hours", len(res.Hours), "files", FileCount(m), "linked", res.Linked, "copied", res.Copied, "packed_first", strings.Join(res.Packed, ",")}
	if len(res.Chunks) > 0 {
		// Which machine packed each hour, and which version was used.
		args = append(args, "chunks", strings.Join(res.Chunks, ","))
	}
	log.Info(what, args...)
}

// linkSet names one partition's files 1..N and links them into tmp.
func linkSet(o Options, day naming.Period, part string, files []srcFile, tmp string, tpl, vtpl *naming.Template, width int, ctime string, full bool, res *AssembleResult) (manifest.Set, error) {
	set := manifest.Set{Part: part, Dir: part}
	dir := filepath.Join(tmp, part)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return set, err
	}
	fields := naming.Fields{Date: day.Date(), Iface: o.Iface.Name, Part: part, Resend: o.Resend}
	entries := make([]verify.Entry, 0, len(files))
	for i, sf := range files {
		fields.Seq = i + 1
		name, err := tpl.Format(fields, width)
		if err != nil {
			return set, err
		}
		dst := filepath.Join(dir, name)
		if err := linkFile(sf.path, dst); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return set, fmt.Errorf("hour %s: chunk file %s is missing: re-pack the hour (chama pack --date %s%s)", sf.hour, sf.path, day.Date(), sf.hour)
			}
			if err := copyFile(sf.path, dst); err != nil {
				return set, err
			}
			res.Copied++
		} else {
			res.Linked++
		}
		st, err := os.Stat(dst)
		if err != nil {
			return set, err
		}
		if st.Size() != sf.f.Bytes {
			return set, fmt.Errorf("hour %s: chunk file %s is %d bytes but its manifest says %d: re-pack the hour", sf.hour, sf.path, st.Size(), sf.f.Bytes)
		}
		set.Files = append(set.Files, manifest.File{Name: name, Seq: i + 1, Bytes: sf.f.Bytes, Lines: sf.f.Lines, MD5: sf.f.MD5, Hour: sf.hour})
		entries = append(entries, verify.Entry{Name: name, Bytes: sf.f.Bytes, Lines: sf.f.Lines, Period: day.String(), Ctime: ctime, MD5: sf.f.MD5, Seq: i + 1})
	}
	if !full {
		return set, nil
	}
	fields.Seq = 0
	vname, err := vtpl.Format(fields, width)
	if err != nil {
		return set, err
	}
	set.Verf = vname
	data, err := verify.FormatVerf(o.Iface.VerfColumns, entries)
	if err != nil {
		return set, err
	}
	return set, writeSynced(filepath.Join(dir, vname), data)
}

// readDayFolder reads the day folder's manifest.json (full true) or else
// its partial.json; neither is (nil, false, nil).
func readDayFolder(dir string) (*manifest.Manifest, bool, error) {
	m, err := manifest.Read(dir)
	if err == nil {
		return m, true, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	m, err = ReadPartial(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	return m, false, err
}

// ReadPartial loads dir/partial.json.
func ReadPartial(dir string) (*manifest.Manifest, error) {
	p := filepath.Join(dir, workdir.PartialFile)
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var m manifest.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return &m, nil
}

func writePartial(dir string, m *manifest.Manifest, input pull.InputOf) error {
	return writeJSON(filepath.Join(dir, workdir.PartialFile), manifestFile{m, input})
}

// diffSets lists the data files of prev whose content differs in m or
// that m no longer has (same re-send number only: a new re-send renames
// every file on purpose).
func diffSets(prev, m *manifest.Manifest) []string {
	if prev == nil || prev.Resend != m.Resend {
		return nil
	}
	now := map[string]manifest.File{}
	for _, s := range m.Sets {
		for _, f := range s.Files {
			now[filepath.Join(s.Dir, f.Name)] = f
		}
	}
	var out []string
	for _, s := range prev.Sets {
		for _, f := range s.Files {
			k := filepath.Join(s.Dir, f.Name)
			n, ok := now[k]
			switch {
			case !ok:
				out = append(out, k+" (no longer in the set)")
			case n.MD5 != f.MD5 || n.Bytes != f.Bytes:
				out = append(out, fmt.Sprintf("%s (md5 %s, was %s)", k, n.MD5, f.MD5))
			}
		}
	}
	return out
}

// deliveredDiffer names the targets whose delivery record (in the day
// folder) has data files that differ from m.
func deliveredDiffer(dir string, m *manifest.Manifest) []string {
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		n := e.Name()
		target, ok := workdir.DeliveryTarget(n)
		if !ok {
			continue
		}
		d, err := delivery.Read(dir, target)
		if err != nil || d == nil {
			continue
		}
		if diff := delivery.SetChanges(m, d); len(diff) > 0 {
			out = append(out, fmt.Sprintf("%s: %s", target, summarize(diff)))
		}
	}
	return out
}

func summarize(ss []string) string {
	if len(ss) > 5 {
		return strings.Join(ss[:5], ", ") + fmt.Sprintf(" and %d more", len(ss)-5)
	}
	return strings.Join(ss, ", ")
}

// carryRecords hard-links the records other stages keep in the day folder
// (delivery-<target>.json and the like, see isRecord) into the new
// folder, so a rebuilt day keeps what was already delivered.
func carryRecords(final, tmp string) error {
	ents, err := os.ReadDir(final)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		n := e.Name()
		if !isRecord(e) {
			continue
		}
		if err := os.Link(filepath.Join(final, n), filepath.Join(tmp, n)); err != nil {
			if err := copyFile(filepath.Join(final, n), filepath.Join(tmp, n)); err != nil {
				return err
			}
		}
	}
	return nil
}

// isRecord tells a record of another stage in a day folder: every
// top-level .json file assembly does not write itself.
func isRecord(e fs.DirEntry) bool {
	n := e.Name()
	return e.Type().IsRegular() && !strings.HasPrefix(n, ".") && strings.HasSuffix(n, ".json") &&
		n != workdir.ManifestFile && n != workdir.PartialFile && n != workdir.RejectsFile
}

// removeDayOutput removes what assembly writes in a day folder that is
// not the published one (a temporary, a leftover or the replaced day):
// pack's files, partial.json, and the records carried into it (links or
// copies of the published day's records, which stay there).
func removeDayOutput(dir string, iface *config.Interface) error {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if isRecord(e) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	os.Remove(filepath.Join(dir, workdir.PartialFile))
	return removeOutput(dir, iface)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if serr := out.Sync(); err == nil {
		err = serr
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	return nil
}

func concatFiles(dst string, srcs []string) error {
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	for _, s := range srcs {
		in, err := os.Open(s)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			out.Close()
			return err
		}
		_, err = io.Copy(out, in)
		in.Close()
		if err != nil {
			out.Close()
			return fmt.Errorf("write %s: %w", dst, err)
		}
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
