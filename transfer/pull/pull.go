// Package pull stages an interface's partitions from its source (HDFS, an
// SFTP relay or a local mount) under <workdir>/raw/<iface>/<day>/, many
// files at a time, only once each partition is complete, and proves every
// copy whole before it gets its final name.
//
// The staged tree mirrors the source: the file <path> of the source is
// <workdir>/raw/<iface>/<day>/<path>, where <day> is the period's day
// (YYYYMMDD, for hourly periods too: the source paths already hold the
// hour, and hours pulled one by one as they land assemble into the day).
// So Staged (a source.Local on that folder) serves the same paths as the
// source, and pack can read either with the same interface path template.
package pull

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/logkey"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/internal/progress"
	"github.com/chama-data/chama/internal/retry"
	"github.com/chama-data/chama/internal/workdir"
	"github.com/chama-data/chama/naming"
	"github.com/chama-data/chama/transfer/source"
)

// Options for Run.
type Options struct {
	Config  *config.Config
	Periods []naming.Period
	Ifaces  []*config.Interface
	// Wait keeps polling partitions that are not ready for this long
	// (0: check once).
	Wait time.Duration
	// Poll is the pause between readiness checks (default 1m, at most Wait/2).
	Poll time.Duration
	// Concurrency overrides the source's concurrency (files in flight).
	Concurrency int
	// Log gets progress and retries (default: discard).
	Log *slog.Logger
	// Out gets the stable CHAMA_PULL status lines (default: discard).
	Out io.Writer
	// OpenSource builds a source by name (default source.Open).
	OpenSource func(cfg *config.Config, name string) (source.Source, error)
	// Now is the clock for quiet periods and waits (default time.Now).
	Now func() time.Time
	// Progress, a terminal, gets a progress bar; without it progress is
	// logged every ProgressEvery (default 30s).
	Progress      io.Writer
	ProgressEvery time.Duration
	// Track, when set, is called when a partition's pull starts; the
	// function it returns is called once with the partition's final state
	// (the run ledger hooks in here).
	Track func(ctx context.Context, p *Partition) func(*Partition)
}

// Result is what a pull did, as printed by --json.
type Result struct {
	Partitions []*Partition `json:"partitions"`
	Files      int          `json:"files"`   // staged by this run
	Skipped    int          `json:"skipped"` // already staged and verified
	Bytes      int64        `json:"bytes"`   // staged by this run
}

// Partition is one source folder of one interface and period.
type Partition struct {
	Iface  string `json:"iface"`
	Period string `json:"period"` // the period asked for (a day or an hour)
	Hour   string `json:"hour,omitempty"`
	Path   string `json:"path"` // the folder in the source
	// Table is the ODS table of a partition pulled for a from: transform
	// interface (staged under raw/ods.<table>/, see workdir.RawTableName).
	Table string `json:"table,omitempty"`
	// Status: ok, notready or failed.
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	// Source is the source the files came from; Fallback says it is the
	// primary's fallback, and PrimaryError why the primary was left.
	Source       string `json:"source"`
	Fallback     bool   `json:"fallback,omitempty"`
	PrimaryError string `json:"primary_error,omitempty"`
	Files        []File `json:"files"`
	Skipped      int    `json:"skipped"`
	Bytes        int64  `json:"bytes"`
	Error        string `json:"error,omitempty"`
	// Removed are staged files deleted because the source no longer has
	// them; Foreign are files found in the staged folder that pull did
	// not put there (left alone).
	Removed []string `json:"removed,omitempty"`
	Foreign []string `json:"foreign,omitempty"`

	err  error
	code int
	// dir is the raw/ folder it is staged in (the interface, or
	// ods.<table>); primary is the configured source it is read from.
	dir, primary string
	// bad is why the partition cannot be pulled at all (a usage error).
	bad error
}

// File is one staged file.
type File struct {
	Path     string `json:"path"`
	Bytes    int64  `json:"bytes"`
	Checksum string `json:"checksum,omitempty"` // hex; the store's kind
	// CRC32C is the read checksum: the CRC-32C (Castagnoli) of the staged
	// copy's bytes, in hex, computed while they were written (and checked
	// against the source's checksum). Pack and transform recompute it as
	// they read the copy and refuse a copy that differs (Inputs).
	CRC32C  string `json:"crc32c,omitempty"`
	Skipped bool   `json:"skipped,omitempty"`
}

// Err is why the partition failed (nil unless Status is failed).
func (p *Partition) Err() error { return p.err }

// ExitCode is the partition's own exit code: 0 ok, 4 not ready, 3 failed,
// 1 a copy that did not match its source.
func (p *Partition) ExitCode() int {
	switch p.Status {
	case StatusOK:
		return exit.OK
	case StatusNotReady:
		return exit.NotReady
	}
	return p.code
}

// Statuses of a partition.
const (
	StatusOK       = "ok"
	StatusNotReady = "notready"
	StatusFailed   = "failed"
)

// stageDir is where an interface's period is staged (workdir.Raw).
func stageDir(c *config.Config, iface, period string) string {
	return workdir.New(c.Workdir).Raw(iface, period)
}

// Staged is a source on the staged copy of an interface's period (its
// day): same paths as the interface's source, read from local disk.
func Staged(c *config.Config, iface, period string) source.Source {
	return &source.Local{Root: stageDir(c, iface, period)}
}

// ReadRecord loads the pull record of a staged period's day.
func ReadRecord(c *config.Config, iface, period string) ([]*Partition, error) {
	return readRecord(stageDir(c, iface, period))
}

func readRecord(dir string) ([]*Partition, error) {
	data, err := os.ReadFile(filepath.Join(dir, workdir.PullRecordFile))
	if err != nil {
		return nil, err
	}
	var ps []*Partition
	return ps, json.Unmarshal(data, &ps)
}

// Partitions are the partitions of an interface's period
// (source.Partitions: one folder, or one per hour of a day).
func Partitions(iface *config.Interface, period naming.Period) []*Partition {
	var out []*Partition
	for _, sp := range source.Partitions(iface.Name, "", iface.Path, period) {
		out = append(out, &Partition{Iface: sp.Iface, Period: sp.Period, Hour: sp.Hour, Path: sp.Path, dir: iface.Name, primary: iface.Source})
	}
	return out
}

// tablePartitions are the partitions of the ODS table a from: transform
// interface reads, for a period, staged under raw/ods.<table>/ (nil when
// the config names no such table).
func tablePartitions(c *config.Config, iface *config.Interface, period naming.Period) []*Partition {
	table, ods := odsTableOf(c, iface)
	if ods == nil {
		return nil
	}
	var bad error
	if !workdir.ValidTableName(table) {
		bad = exit.Usagef("ODS table %q of interface %s cannot name a folder under raw/ (letters, digits, _, - and .)", table, iface.Name)
	}
	var out []*Partition
	for _, sp := range source.Partitions(iface.Name, ods.Source, ods.Path, period) {
		out = append(out, &Partition{Iface: sp.Iface, Period: sp.Period, Hour: sp.Hour, Path: sp.Path, Table: table,
			dir: workdir.RawTableName(table), primary: ods.Source, bad: bad})
	}
	return out
}

// odsTableOf is the name and spec of the ODS table behind a from:
// transform interface (ads -> dwd -> ods), or "", nil.
func odsTableOf(c *config.Config, iface *config.Interface) (string, *config.ODSTable) {
	if c == nil || c.Transform == nil {
		return "", nil
	}
	a := c.Transform.ADS[iface.Name]
	if a == nil || c.Transform.DWD[a.From] == nil {
		return "", nil
	}
	name := c.Transform.DWD[a.From].From
	return name, c.Transform.ODS[name]
}

// stage is the folder a partition is staged in: <workdir>/raw/<dir>/<day>.
func (p *Partition) stage(c *config.Config) string {
	return stageDir(c, p.dir, p.Period)
}

// reset forgets a partition's outcome, before it is tried again.
func (p *Partition) reset() {
	*p = Partition{Iface: p.Iface, Period: p.Period, Hour: p.Hour, Path: p.Path, Table: p.Table, dir: p.dir, primary: p.primary, bad: p.bad}
}

// Run pulls every partition of the interfaces and periods. The error
// carries the exit code: 4 when partitions are not ready (after --wait),
// 3 when some failed in a way a re-run may fix, 1 on a checksum mismatch
// that retries did not clear.
func Run(ctx context.Context, o Options) (*Result, error) {
	o = o.withDefaults()
	r := &runner{o: o, sources: map[string]*sourceState{}, meter: newMeter(o.Progress, o.Log, o.ProgressEvery)}
	defer r.close()
	defer r.unlockPartitions()

	res := &Result{Partitions: listPartitions(o.Config, o.Ifaces, o.Periods)}
	ends := track(ctx, o.Track, res.Partitions)
	// An ODS table read by several from: transform interfaces is pulled
	// once; the others share the outcome.
	work, shared := splitShared(o.Config, res.Partitions)
	pending := r.lockPartitions(work)
	r.pullUntilSettled(ctx, pending)
	r.meter.Close()
	mirror(shared)
	r.writeRecords(work)
	return res, r.report(res, ends)
}

// splitShared separates the partitions staged in the same folder as an
// earlier one (the ODS table of several from: transform interfaces, or a
// period asked for twice) from those to pull. shared maps each of them
// to the partition that is pulled.
func splitShared(c *config.Config, parts []*Partition) (work []*Partition, shared map[*Partition]*Partition) {
	first := map[string]*Partition{}
	shared = map[*Partition]*Partition{}
	for _, p := range parts {
		k := p.stage(c) + "\x00" + p.Path
		if f, ok := first[k]; ok {
			shared[p] = f
			continue
		}
		first[k] = p
		work = append(work, p)
	}
	return work, shared
}

// mirror gives each shared partition the outcome of the one pulled for
// it; its files count as skipped (staged once, by the other).
func mirror(shared map[*Partition]*Partition) {
	for p, f := range shared {
		p.Status, p.Reason, p.Source, p.Fallback, p.PrimaryError = f.Status, f.Reason, f.Source, f.Fallback, f.PrimaryError
		p.Error, p.err, p.code = f.Error, f.err, f.code
		p.Files, p.Skipped, p.Bytes = nil, 0, 0
		for _, file := range f.Files {
			file.Skipped = true
			p.Files = append(p.Files, file)
			p.Skipped++
		}
	}
}

// withDefaults fills in the options left zero, and caps Poll at half of
// Wait so a wait gets at least a second look.
func (o Options) withDefaults() Options {
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.OpenSource == nil {
		o.OpenSource = source.Open
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Poll <= 0 {
		o.Poll = time.Minute
	}
	if o.Wait > 0 && o.Poll > o.Wait/2 {
		o.Poll = max(o.Wait/2, 10*time.Millisecond)
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 30 * time.Second
	}
	return o
}

// listPartitions lists the partitions of every interface and period,
// interface by interface. A from: transform interface has no partitions
// of its own: its are those of the ODS table its transform reads.
func listPartitions(c *config.Config, ifaces []*config.Interface, periods []naming.Period) []*Partition {
	var out []*Partition
	for _, iface := range ifaces {
		for _, p := range periods {
			if iface.From != "" {
				out = append(out, tablePartitions(c, iface, p)...)
				continue
			}
			out = append(out, Partitions(iface, p)...)
		}
	}
	return out
}

// track starts the tracking of every partition (Options.Track) before
// any is locked, so a partition that fails on its lock is recorded too.
// It returns each partition's end function.
func track(ctx context.Context, start func(context.Context, *Partition) func(*Partition), parts []*Partition) map[*Partition]func(*Partition) {
	ends := map[*Partition]func(*Partition){}
	if start != nil {
		for _, part := range parts {
			ends[part] = start(ctx, part)
		}
	}
	return ends
}

// lockPartitions takes each partition's lock, in order, so only one pull
// at a time stages a partition (an overlapping cron run). A partition
// whose lock cannot be taken fails; the others are returned. The locks
// are held until unlockPartitions.
func (r *runner) lockPartitions(parts []*Partition) []*Partition {
	var runnable []*Partition
	for _, part := range parts {
		if part.bad != nil {
			r.fail(part, part.primary, part.bad)
			part.code = exit.Usage
			continue
		}
		unlock, err := lockPartition(part.stage(r.o.Config), part.Path)
		if err != nil {
			r.fail(part, part.primary, err)
			continue
		}
		r.unlocks = append(r.unlocks, unlock)
		runnable = append(runnable, part)
	}
	return runnable
}

// unlockPartitions releases the partition locks, the last taken first.
func (r *runner) unlockPartitions() {
	for i := len(r.unlocks) - 1; i >= 0; i-- {
		r.unlocks[i]()
	}
	r.unlocks = nil
}

// pullUntilSettled pulls the partitions, then again those that were not
// ready, every Poll until none is left, ctx ends or Wait has passed
// since the first round began. A partition tried again starts afresh.
func (r *runner) pullUntilSettled(ctx context.Context, pending []*Partition) {
	deadline := r.o.Now().Add(r.o.Wait)
	for {
		r.pullAll(ctx, pending)
		pending = notReady(pending)
		if len(pending) == 0 || ctx.Err() != nil || !r.o.Now().Before(deadline) {
			return
		}
		r.o.Log.Info("waiting for partitions", "not_ready", len(pending), "next_check", r.o.Poll.String(), "deadline", deadline.Format(time.RFC3339))
		select {
		case <-ctx.Done():
		case <-time.After(r.o.Poll):
		}
		for _, part := range pending {
			part.reset()
		}
	}
}

// pullAll pulls the partitions all at once (the sources' semaphores
// bound the files in flight) and returns when every one is done.
func (r *runner) pullAll(ctx context.Context, parts []*Partition) {
	var wg sync.WaitGroup
	for _, part := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.partition(ctx, part)
		}()
	}
	wg.Wait()
}

// notReady returns the partitions whose status is not ready, in order.
func notReady(parts []*Partition) []*Partition {
	var still []*Partition
	for _, part := range parts {
		if part.Status == StatusNotReady {
			still = append(still, part)
		}
	}
	return still
}

// report totals the result, prints each partition's status line and
// ends its tracking, in the order of res.Partitions. The error carries
// the run's exit code (see Run).
func (r *runner) report(res *Result, ends map[*Partition]func(*Partition)) error {
	var notReady, failed, mismatch, usage int
	for _, part := range res.Partitions {
		switch part.Status {
		case StatusOK:
			res.count(part)
		case StatusNotReady:
			notReady++
		case StatusFailed:
			failed++
			switch part.code {
			case exit.Failure:
				mismatch++
			case exit.Usage:
				usage++
			}
		}
		r.statusLine(part)
		if end := ends[part]; end != nil {
			end(part)
		}
	}
	switch {
	case mismatch > 0:
		return exit.With(exit.Failure, fmt.Errorf("pull: %d of %d partitions failed, %d with copies that did not match the source", failed, len(res.Partitions), mismatch))
	case usage > 0:
		return exit.With(exit.Usage, fmt.Errorf("pull: %d of %d partitions cannot be pulled as configured; first: %w", usage, len(res.Partitions), firstErr(res.Partitions, exit.Usage)))
	case failed > 0:
		return exit.With(exit.Partial, fmt.Errorf("pull: %d of %d partitions failed; staged files are kept, run again to resume", failed, len(res.Partitions)))
	case notReady > 0:
		return exit.With(exit.NotReady, fmt.Errorf("pull: %d of %d partitions not ready yet", notReady, len(res.Partitions)))
	}
	return nil
}

// firstErr is the error of the first partition that failed with code.
func firstErr(parts []*Partition, code int) error {
	for _, p := range parts {
		if p.Status == StatusFailed && p.code == code {
			return p.err
		}
	}
	return nil
}

// count adds a staged partition's files to the run's totals: Skipped for
// files already staged, Files and Bytes for those this run copied.
func (res *Result) count(p *Partition) {
	for _, f := range p.Files {
		if f.Skipped {
			res.Skipped++
		} else {
			res.Files++
			res.Bytes += f.Bytes
		}
	}
}

// statusLine prints the stable, greppable line for a partition.
func (r *runner) statusLine(p *Partition) {
	period := p.Period
	if p.Hour != "" && len(period) == 8 {
		period += p.Hour
	}
	word := map[string]string{StatusOK: "OK", StatusNotReady: "NOTREADY", StatusFailed: "FAIL"}[p.Status]
	head := fmt.Sprintf("CHAMA_PULL %s iface=%s period=%s path=%s", word, p.Iface, period, p.Path)
	if p.Table != "" {
		head += " table=" + p.Table
	}
	switch p.Status {
	case StatusOK:
		fb := ""
		if p.Fallback {
			fb = fmt.Sprintf(" fallback=yes primary_error=%q", p.PrimaryError)
		}
		fmt.Fprintf(r.o.Out, "%s source=%s files=%d skipped=%d bytes=%d%s\n", head, p.Source, len(p.Files)-p.Skipped, p.Skipped, p.Bytes, fb)
	case StatusNotReady:
		fmt.Fprintf(r.o.Out, "%s source=%s reason=%q\n", head, p.Source, p.Reason)
	case StatusFailed:
		fmt.Fprintf(r.o.Out, "%s source=%s err=%q\n", head, p.Source, p.Error)
	}
}

// writeRecords stores each staged period's partitions next to its files.
func (r *runner) writeRecords(parts []*Partition) {
	by := map[string][]*Partition{}
	for _, p := range parts {
		if p.Status == StatusOK {
			dir := p.stage(r.o.Config)
			by[dir] = append(by[dir], p)
		}
	}
	keys := make([]string, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, dir := range keys {
		merged := by[dir]
		// Pulls of other hours of the day may update the record at the
		// same time: read, merge and write it under a lock.
		unlock, err := lockRecord(dir)
		if err != nil {
			r.o.Log.Warn("pull record not written", "dir", dir, logkey.Err, err)
			continue
		}
		// Keep the record of partitions pulled into this day by earlier runs.
		if old, err := readRecord(dir); err == nil {
			seen := map[string]bool{}
			for _, p := range merged {
				seen[p.Path] = true
			}
			for _, p := range old {
				if !seen[p.Path] {
					merged = append(merged, p)
				}
			}
			sort.Slice(merged, func(i, j int) bool { return merged[i].Path < merged[j].Path })
		}
		data, err := json.MarshalIndent(merged, "", "  ")
		if err == nil {
			err = writeAtomic(filepath.Join(dir, workdir.PullRecordFile), append(data, '\n'))
		}
		unlock()
		if err != nil {
			r.o.Log.Warn("pull record not written", "dir", dir, logkey.Err, err)
		}
	}
}

// sourceState is an opened source shared by all partitions of a run.
type sourceState struct {
	once sync.Once
	src  source.Source
	err  error
	sem  chan struct{} // files (and ranges) in flight
}

type runner struct {
	o       Options
	mu      sync.Mutex
	sources map[string]*sourceState
	meter   *progress.Meter
	unlocks []func() // partition locks held, in the order taken
}

func (r *runner) source(name string) (*sourceState, error) {
	r.mu.Lock()
	st, ok := r.sources[name]
	if !ok {
		st = &sourceState{}
		r.sources[name] = st
	}
	r.mu.Unlock()
	st.once.Do(func() {
		st.src, st.err = r.o.OpenSource(r.o.Config, name)
		n := r.o.Concurrency
		if n <= 0 {
			n = r.o.Config.Sources[name].Concurrency
		}
		st.sem = make(chan struct{}, max(n, 1))
	})
	return st, st.err
}

func (r *runner) close() {
	r.meter.Close()
	for _, st := range r.sources {
		if st.src != nil {
			source.Close(st.src)
		}
	}
}

// partition checks and pulls one partition, from the interface's source
// or, when that fails past its retries, from its fallback.
func (r *runner) partition(ctx context.Context, p *Partition) {
	primary := p.primary
	err := r.pullFrom(ctx, p, primary)
	if err == nil || p.Status == StatusNotReady {
		return
	}
	fb := r.o.Config.Sources[primary].Fallback
	if fb == "" || ctx.Err() != nil || isMismatch(err) {
		r.fail(p, primary, err)
		return
	}
	r.o.Log.Warn("primary source failed; using the fallback", logkey.Iface, p.Iface, "path", p.Path, "primary", primary, "fallback", fb, logkey.Err, err)
	if ferr := r.pullFrom(ctx, p, fb); ferr != nil {
		if p.Status != StatusNotReady {
			r.fail(p, fb, fmt.Errorf("%w; fallback %s: %w", err, fb, ferr))
		}
		p.Fallback, p.PrimaryError = true, err.Error()
		return
	}
	p.Fallback, p.PrimaryError = true, err.Error()
}

func (r *runner) fail(p *Partition, src string, err error) {
	p.Status, p.Source, p.err, p.Error = StatusFailed, src, err, err.Error()
	p.code = exit.Partial
	if isMismatch(err) {
		p.code = exit.Failure
	}
}

// pullFrom runs readiness, listing and the file copies of one partition
// against one source. It returns nil when the partition is staged or not
// ready (p.Status says which), and an error when the source failed.
func (r *runner) pullFrom(ctx context.Context, p *Partition, name string) error {
	cs := r.o.Config.Sources[name]
	st, err := r.source(name)
	if err != nil {
		return err
	}
	src := st.src
	p.Source = name
	retries, backoff := cs.HDFS.Retries, cs.HDFS.RetryBackoff.D()

	var files []source.FileInfo
	err = again(ctx, r.o.Log, retries, backoff, "check "+p.Path, func() error {
		var err error
		var reason string
		files, reason, err = source.Ready(ctx, cs, src, source.Partition{Iface: p.Iface, Period: p.Period, Hour: p.Hour, Path: p.Path, Source: p.Source}, r.o.Now())
		if err == nil && reason != "" {
			p.Status, p.Reason = StatusNotReady, reason
		}
		return err
	})
	if err != nil || p.Status == StatusNotReady {
		return err
	}

	stage := p.stage(r.o.Config)
	// A partition is pulled until a listing taken after the copies equals
	// the one taken before: a partition still being written is caught.
	for round := 0; ; round++ {
		staged, err := r.copyAll(ctx, st, cs, name, files, stage)
		if err != nil {
			return err
		}
		var after []source.FileInfo
		err = again(ctx, r.o.Log, retries, backoff, "list "+p.Path, func() error {
			var err error
			after, err = src.List(ctx, p.Path)
			return err
		})
		if err != nil {
			return err
		}
		if sameListing(files, after) {
			p.Files, p.Skipped, p.Bytes = staged, 0, 0
			for _, f := range staged {
				if f.Skipped {
					p.Skipped++
				} else {
					p.Bytes += f.Bytes
				}
			}
			break
		}
		if round >= 2 {
			return fmt.Errorf("partition %s in %s kept changing while it was pulled (%d rounds)", p.Path, src, round+1)
		}
		r.o.Log.Warn("partition changed while it was pulled; pulling the changes", "path", p.Path, "source", name)
		files = after
	}
	if err := r.removeStale(p, stage, files); err != nil {
		return err
	}
	// The marker tells readers of the staged copy that it is complete.
	marker := filepath.Join(stage, filepath.FromSlash(p.Path), cs.Marker)
	if err := os.MkdirAll(filepath.Dir(marker), 0o755); err != nil {
		return err
	}
	if err := writeAtomic(marker, nil); err != nil {
		return err
	}
	p.Status = StatusOK
	return nil
}

// removeStale deletes staged files of the partition that the source no
// longer has (a partition rewritten upstream), so a pack of the staged copy
// reads what the source holds. Only files this pull staged (they have a
// sidecar) are deleted, one by one and logged; anything else found there
// is reported and left alone.
func (r *runner) removeStale(p *Partition, stage string, files []source.FileInfo) error {
	keep := map[string]bool{}
	for _, f := range files {
		keep[f.Path] = true
	}
	dir := filepath.Join(stage, filepath.FromSlash(p.Path))
	return filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if path != dir && source.Hidden(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(stage, path)
		if err != nil || keep[filepath.ToSlash(rel)] {
			return err
		}
		if _, err := os.Stat(sidecarPath(path)); err != nil {
			r.o.Log.Warn("staged folder holds a file the source does not have and pull did not stage; left alone", logkey.File, path)
			p.Foreign = append(p.Foreign, filepath.ToSlash(rel))
			return nil
		}
		if err := os.Remove(path); err != nil {
			return err
		}
		os.Remove(sidecarPath(path))
		r.o.Log.Info("removed a staged file the source no longer has", logkey.File, path)
		p.Removed = append(p.Removed, filepath.ToSlash(rel))
		return nil
	})
}

func sameListing(a, b []source.FileInfo) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Path != b[i].Path || a[i].Size != b[i].Size || !a[i].ModTime.Equal(b[i].ModTime) {
			return false
		}
	}
	return true
}

// MaxRetryPause is the longest pause between two tries.
const MaxRetryPause = time.Minute

// again runs f until it succeeds, up to retries (at most
// retry.MaxRetries) more times, pausing backoff, then twice as long each
// time (at most MaxRetryPause), and logs each retry.
func again(ctx context.Context, log *slog.Logger, retries int, backoff time.Duration, what string, f func() error) error {
	return retry.Do(ctx, retry.Policy{
		Retries: retries,
		Backoff: retry.Backoff{Base: backoff, Max: MaxRetryPause},
		OnRetry: func(attempt int, pause time.Duration, err error) {
			log.Warn("retrying", "what", what, logkey.Attempt, attempt, "of", retries, "in", pause.String(), logkey.Err, err)
		},
		Sleep: sleep,
	}, f)
}

// sleep is retry.Sleep; tests replace it.
var sleep = retry.Sleep

// writeAtomic writes a small file (a record, a marker) through a synced
// temp name and a rename, as the manifest is written.
func writeAtomic(path string, data []byte) error {
	return manifest.WriteFileAtomic(path, data, 0o644)
}
