package pull

// Reading pulled copies. Pack and transform read a partition from its
// pulled copy instead of the configured source when pull has staged and
// verified it (--source auto, the default), only from pulled copies
// (--source pulled) or always from the source (--source origin). The
// choice is made partition by partition: the hours of a day that were
// pulled are read from local disk, the others from the source.
//
// A pulled copy is used when, in <workdir>/raw/<dir>/<day>/:
//
//   - the pull record (.chama-pull.json) has the partition with status ok,
//     pulled from the configured source (or its fallback), and a read
//     checksum (crc32c) for every file;
//   - the marker of the source it was pulled from (_SUCCESS) is in the
//     staged folder: pull writes it once every file is in place, and clean
//     removes it before any file;
//   - no pull is staging the partition now: the reader holds the
//     partition's pull lock (.chama-pull-<path>.lock) shared until it is
//     done, so a pull of it waits for the next run (busy, exit 3);
//   - every recorded file is there with its recorded size.
//
// Only the files the record lists are read (a foreign file left in the
// folder is not data), and each is proven intact as it is read: its
// CRC-32C is computed over the bytes as they stream and compared with the
// record at end of file, where a difference (or a size that differs) is
// an error in place of the end of file, so the reader fails and nothing
// is published (*CopyError, exit 1). Verified reports any pulled file
// that was not read to its end, for a last check before publishing.

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/lock"
	"github.com/chama-data/chama/internal/logkey"
	"github.com/chama-data/chama/internal/workdir"
	"github.com/chama-data/chama/naming"
	"github.com/chama-data/chama/transfer/source"
)

// Mode is where pack and transform read a partition from (--source).
type Mode string

// The modes of --source.
const (
	// Auto reads a partition's verified pulled copy when there is one,
	// else the configured source. The default.
	Auto Mode = "auto"
	// Pulled reads pulled copies only: a partition that was not pulled is
	// not ready (exit 4).
	Pulled Mode = "pulled"
	// Origin always reads the configured source.
	Origin Mode = "origin"
)

// ParseMode reads a --source value ("" is Auto); anything else is a usage
// error.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case "":
		return Auto, nil
	case Auto, Pulled, Origin:
		return m, nil
	}
	return "", exit.Usagef("--source %q: want auto, pulled or origin", s)
}

// Where a period's input came from, as the status lines print it
// (input=...) and manifest.json and the transform summary record it.
const (
	InputPulled = "pulled" // every partition from its pulled copy
	InputSource = "source" // every partition from the configured source
	InputMixed  = "mixed"  // some partitions from pulled copies, the others from the source
)

// InputOf says where a period's input came from.
type InputOf struct {
	// Input is InputPulled, InputSource or InputMixed.
	Input string `json:"input"`
	// Pulled lists the partition paths read from pulled copies, in the
	// order they were read.
	Pulled []string `json:"pulled_partitions,omitempty"`
}

// Merge is the input of a period read in parts (the hours of a day, the
// ODS tables of a transform): pulled or source when every part agrees,
// else mixed. An empty Input is a part read before inputs were recorded:
// from the source.
func (a InputOf) Merge(b InputOf) InputOf {
	if a.Input == "" {
		a.Input = InputSource
	}
	if b.Input == "" {
		b.Input = InputSource
	}
	out := InputOf{Input: a.Input, Pulled: append(slices.Clip(a.Pulled), b.Pulled...)}
	if a.Input != b.Input {
		out.Input = InputMixed
	}
	return out
}

// CopyError is a pulled copy that does not match its pull record: a
// recorded file missing, or of another size, or whose bytes have another
// CRC-32C. Such a copy is never used; the run fails (exit 1) naming the
// file, what pull recorded and what was found.
type CopyError struct {
	File string // the staged copy on disk
	What string // size, crc32c, file
	Want string // what pull recorded
	Got  string // what is there now
}

func (e *CopyError) Error() string {
	return fmt.Sprintf("pulled copy %s does not match its pull record: %s %s recorded, %s found; pull the partition again (chama pull) or read the source (--source origin)", e.File, e.What, e.Want, e.Got)
}

func copyError(file, what, want, got string) error {
	return exit.With(exit.Failure, &CopyError{File: file, What: what, Want: want, Got: got})
}

// InputOptions says whose partitions an Inputs reads.
type InputOptions struct {
	Config *config.Config
	// Workdir is the workdir pull staged in (default Config.Workdir).
	Workdir string
	Mode    Mode
	// Dir is the raw/ folder of what is read: an interface's name, or
	// workdir.RawTableName(table) for the ODS table of a transform.
	Dir string
	// Source is the configured source's name: its readiness rule applies
	// to the partitions read from it. Origin is that source; Close closes
	// it when OwnOrigin is set.
	Source    string
	Origin    source.Source
	OwnOrigin bool
	Period    naming.Period
	Log       *slog.Logger
}

// Inputs is a source.Source over one interface's (or ODS table's) period
// that reads each partition from its verified pulled copy or from the
// configured source, as its mode says. Partition lists a partition and
// settles the choice; Open then reads its files. Close it when done.
type Inputs struct {
	o     InputOptions
	stage string // <workdir>/raw/<dir>/<day>

	mu       sync.Mutex
	files    map[string]*pulledFile // source-relative path -> a pulled file listed
	pulled   []string               // partitions read from pulled copies, in order
	fromSrc  int                    // partitions read from the source
	unlocks  []func()
	opened   map[string]bool // pulled files opened
	verified map[string]bool // pulled files read to their end, matching
	closed   bool
}

// pulledFile is one file of a pulled partition: its copy on disk and
// what pull recorded for it.
type pulledFile struct {
	abs string
	rec File
}

// NewInputs returns the Inputs of o's period.
func NewInputs(o InputOptions) *Inputs {
	if o.Mode == "" {
		o.Mode = Auto
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	root := o.Workdir
	if root == "" && o.Config != nil {
		root = o.Config.Workdir
	}
	return &Inputs{o: o, stage: workdir.New(root).Raw(o.Dir, o.Period.String()),
		files: map[string]*pulledFile{}, opened: map[string]bool{}, verified: map[string]bool{}}
}

// Partition lists partition p's files, from its verified pulled copy or
// from the source, as the mode says. Errors carry their exit code: a
// partition not ready by its source's rule, or not pulled under Pulled,
// is 4 (source.NotReady); a pull staging it now is busy (3); a pulled
// copy that does not match its record is a *CopyError (1).
func (in *Inputs) Partition(ctx context.Context, p source.Partition, now time.Time) ([]source.FileInfo, error) {
	if in.o.Mode == Origin {
		return in.fromSource(ctx, p, now)
	}
	files, ok, why, err := in.fromPulled(p)
	if err != nil {
		return nil, err
	}
	if ok {
		return files, nil
	}
	if in.o.Mode == Pulled {
		return nil, exit.With(exit.NotReady, fmt.Errorf("partition not pulled: %s: %s in %s (--source pulled reads pulled copies only: run chama pull first)", p.Path, why, in.stage))
	}
	if why != reasonNotPulled {
		in.o.Log.Warn("reading the source: the pulled copy cannot be used", "path", p.Path, "reason", why, "pulled", in.stage)
	}
	return in.fromSource(ctx, p, now)
}

const reasonNotPulled = "no pull record for it"

// fromSource lists p in the configured source, by its readiness rule.
func (in *Inputs) fromSource(ctx context.Context, p source.Partition, now time.Time) ([]source.FileInfo, error) {
	if in.o.Origin == nil {
		return nil, fmt.Errorf("partition %s: no source to read it from", p.Path)
	}
	var cs *config.Source
	if in.o.Config != nil {
		cs = in.o.Config.Sources[in.o.Source]
	}
	files, reason, err := source.Ready(ctx, cs, in.o.Origin, p, now)
	if err != nil {
		return nil, err
	}
	if reason != "" {
		return nil, source.NotReady(p, reason, in.o.Origin)
	}
	in.mu.Lock()
	in.fromSrc++
	in.mu.Unlock()
	return files, nil
}

// fromPulled lists p's pulled copy. ok is false, with the reason, when
// there is no copy to use: in Auto the source is read instead. A copy
// that is there but does not match its record is an error, never a
// reason to read the source.
func (in *Inputs) fromPulled(p source.Partition) (files []source.FileInfo, ok bool, why string, err error) {
	if e := in.entry(p.Path); e == nil {
		return nil, false, reasonNotPulled, nil
	}
	// Hold the partition's pull lock, shared, while the copy is read: a
	// pull cannot restage it meanwhile, and one doing it now is waited
	// for by the next run.
	lockFile := filepath.Join(in.stage, workdir.PullPartitionLock(p.Path))
	unlock, err := lock.Try(lockFile, lock.Shared)
	if errors.Is(err, lock.ErrHeld) {
		return nil, false, "", exit.Busy(fmt.Errorf("partition %s: a chama pull is staging its pulled copy now (lock %s is held); run again once it is done", p.Path, lockFile))
	}
	if err != nil {
		return nil, false, "", err
	}
	in.mu.Lock()
	in.unlocks = append(in.unlocks, unlock)
	in.mu.Unlock()
	e := in.entry(p.Path) // again, under the lock
	if e == nil {
		return nil, false, reasonNotPulled, nil
	}
	if !in.sameSource(e.Source) {
		return nil, false, fmt.Sprintf("pulled from source %s, which is neither %s nor its fallback now", e.Source, in.o.Source), nil
	}
	for _, f := range e.Files {
		if f.CRC32C == "" {
			why := fmt.Sprintf("pulled by a chama that recorded no read checksum for %s", f.Path)
			if in.o.Mode == Pulled {
				return nil, false, "", exit.With(exit.Failure, fmt.Errorf("partition %s: %s: pull it again (chama pull copies it anew) or read the source (--source origin)", p.Path, why))
			}
			return nil, false, why, nil
		}
	}
	marker := in.marker(e)
	if _, err := os.Stat(filepath.Join(in.stage, filepath.FromSlash(p.Path), marker)); err != nil {
		return nil, false, fmt.Sprintf("its pulled copy has no %s marker (incomplete, or being cleaned)", marker), nil
	}
	files, err = in.check(p, e)
	if err != nil {
		return nil, false, "", err
	}
	in.mu.Lock()
	in.pulled = append(in.pulled, p.Path)
	in.mu.Unlock()
	in.o.Log.Debug("reading the pulled copy", "path", p.Path, "files", len(files), "pulled", in.stage)
	return files, true, "", nil
}

// entry is the pull record's entry of partition path when it was pulled
// (status ok), else nil. A record that cannot be read is no record.
func (in *Inputs) entry(path string) *Partition {
	ps, err := readRecord(in.stage)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			in.o.Log.Warn("pull record unreadable: its partitions are not read from pulled copies", logkey.File, filepath.Join(in.stage, workdir.PullRecordFile), logkey.Err, err)
		}
		return nil
	}
	for _, e := range ps {
		if e.Path == path && e.Status == StatusOK {
			return e
		}
	}
	return nil
}

// sameSource reports whether a copy pulled from the source name is one
// of the configured source's: from it or from its fallback.
func (in *Inputs) sameSource(name string) bool {
	if name == in.o.Source || in.o.Config == nil {
		return true
	}
	cs := in.o.Config.Sources[in.o.Source]
	return cs != nil && cs.Fallback != "" && cs.Fallback == name
}

// marker is the completeness marker pull wrote for the copy: that of the
// source it came from (the fallback's, when the fallback served it).
func (in *Inputs) marker(e *Partition) string {
	if in.o.Config != nil {
		for _, name := range []string{e.Source, in.o.Source} {
			if cs := in.o.Config.Sources[name]; cs != nil && cs.Marker != "" {
				return cs.Marker
			}
		}
	}
	return "_SUCCESS"
}

// check stats every recorded file of the copy (refusing one missing, of
// another size, or named outside the partition) and registers it for
// Open. It returns the files in path order, with their recorded sizes.
func (in *Inputs) check(p source.Partition, e *Partition) ([]source.FileInfo, error) {
	prefix := strings.TrimSuffix(p.Path, "/") + "/"
	recs := slices.Clone(e.Files)
	slices.SortFunc(recs, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	files := make([]source.FileInfo, 0, len(recs))
	for _, f := range recs {
		abs := filepath.Join(in.stage, filepath.FromSlash(f.Path))
		if !strings.HasPrefix(f.Path, prefix) || !filepath.IsLocal(filepath.FromSlash(f.Path)) {
			return nil, copyError(abs, "file", "inside "+p.Path, "a path outside it")
		}
		st, err := os.Lstat(abs)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, copyError(abs, "file", fmt.Sprintf("of %d bytes", f.Bytes), "none")
		case err != nil:
			return nil, err
		case !st.Mode().IsRegular():
			return nil, copyError(abs, "file", "a regular file", st.Mode().Type().String())
		case st.Size() != f.Bytes:
			return nil, copyError(abs, "size", fmt.Sprintf("%d bytes", f.Bytes), fmt.Sprintf("%d bytes", st.Size()))
		}
		in.mu.Lock()
		in.files[f.Path] = &pulledFile{abs: abs, rec: f}
		in.mu.Unlock()
		files = append(files, source.FileInfo{Path: f.Path, Size: f.Bytes, ModTime: st.ModTime()})
	}
	return files, nil
}

// Open implements source.Source: a file of a pulled partition is read
// from its copy, checked as it streams (see checked); any other from the
// source.
func (in *Inputs) Open(ctx context.Context, path string) (io.ReadCloser, error) {
	in.mu.Lock()
	pf := in.files[path]
	in.mu.Unlock()
	if pf == nil {
		if in.o.Origin == nil {
			return nil, fmt.Errorf("%s: not a file of a pulled partition, and no source to read it from", path)
		}
		return in.o.Origin.Open(ctx, path)
	}
	want, err := hex.DecodeString(pf.rec.CRC32C)
	if err != nil || len(want) != crc32.Size {
		return nil, copyError(pf.abs, "crc32c", fmt.Sprintf("%q", pf.rec.CRC32C), "a record that is not a CRC-32C")
	}
	in.mu.Lock()
	in.opened[path] = true
	in.mu.Unlock()
	f, err := os.Open(pf.abs)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, copyError(pf.abs, "file", fmt.Sprintf("of %d bytes", pf.rec.Bytes), "none")
	}
	if err != nil {
		return nil, err
	}
	return &checked{f: f, in: in, path: path, pf: pf, want: want, crc: crc32.New(castagnoli)}, nil
}

// checked reads one pulled file and proves it intact: the CRC-32C of the
// bytes read and their count are compared with the pull record at end of
// file. A difference is returned in place of io.EOF (and a file longer
// than recorded fails as soon as it passes the recorded size), so the
// reader sees an error, never a clean end.
type checked struct {
	f    *os.File
	in   *Inputs
	path string
	pf   *pulledFile
	want []byte
	crc  hash.Hash32
	n    int64
	err  error
}

func (c *checked) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.f.Read(p)
	c.n += int64(n)
	if c.n > c.pf.rec.Bytes {
		c.err = copyError(c.pf.abs, "size", fmt.Sprintf("%d bytes", c.pf.rec.Bytes), fmt.Sprintf("more than %d bytes", c.pf.rec.Bytes))
		return 0, c.err
	}
	c.crc.Write(p[:n])
	if errors.Is(err, io.EOF) {
		if c.n != c.pf.rec.Bytes {
			c.err = copyError(c.pf.abs, "size", fmt.Sprintf("%d bytes", c.pf.rec.Bytes), fmt.Sprintf("%d bytes", c.n))
			return n, c.err
		}
		if got := c.crc.Sum(nil); !slices.Equal(got, c.want) {
			c.err = copyError(c.pf.abs, "crc32c", hex.EncodeToString(c.want), hex.EncodeToString(got))
			return n, c.err
		}
		c.in.mu.Lock()
		c.in.verified[c.path] = true
		c.in.mu.Unlock()
	}
	return n, err
}

func (c *checked) Close() error { return c.f.Close() }

// Verified reports a pulled file that was listed but not read to its
// end, so not proven intact: a stage calls it after reading and before
// publishing (a reader that stopped early must not publish unchecked
// data).
func (in *Inputs) Verified() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	var missed []string
	for p, pf := range in.files {
		if !in.verified[p] {
			missed = append(missed, pf.abs)
		}
	}
	if len(missed) == 0 {
		return nil
	}
	slices.Sort(missed)
	return exit.With(exit.Failure, fmt.Errorf("pulled copy %s (and %d more) was not read to its end, so it was not checked against its pull record; nothing is published", missed[0], len(missed)-1))
}

// Diagnose finds the cause of a failed read among the pulled copies: a
// reader may stop before a damaged copy's end (a flipped byte in a gzip
// file is a decompression error first), so on failure every pulled file
// opened but not proven is hashed whole, and the first that does not
// match its record is the error returned (a *CopyError, exit 1) in place
// of err. err is returned as it is when every copy matches (the source's
// own bytes were bad), when it is already a *CopyError, or when ctx has
// ended (an interruption is not worth a re-read).
func (in *Inputs) Diagnose(ctx context.Context, err error) error {
	var ce *CopyError
	if err == nil || errors.As(err, &ce) || ctx.Err() != nil {
		return err
	}
	in.mu.Lock()
	var suspects []*pulledFile
	for p := range in.opened {
		if !in.verified[p] {
			suspects = append(suspects, in.files[p])
		}
	}
	in.mu.Unlock()
	slices.SortFunc(suspects, func(a, b *pulledFile) int { return strings.Compare(a.abs, b.abs) })
	for _, pf := range suspects {
		if derr := diagnose(pf); derr != nil {
			in.o.Log.Warn("a read of a pulled copy failed, and the copy does not match its pull record", logkey.File, pf.abs, logkey.Err, err)
			return derr
		}
	}
	return err
}

// diagnose hashes a pulled file whole and returns its *CopyError when it
// does not match its record (nil when it does, or cannot be read).
func diagnose(pf *pulledFile) error {
	f, err := os.Open(pf.abs)
	if errors.Is(err, fs.ErrNotExist) {
		return copyError(pf.abs, "file", fmt.Sprintf("of %d bytes", pf.rec.Bytes), "none")
	}
	if err != nil {
		return nil
	}
	defer f.Close()
	crc := crc32.New(castagnoli)
	n, err := copyBuf(crc, f)
	switch {
	case err != nil:
		return nil
	case n != pf.rec.Bytes:
		return copyError(pf.abs, "size", fmt.Sprintf("%d bytes", pf.rec.Bytes), fmt.Sprintf("%d bytes", n))
	case hex.EncodeToString(crc.Sum(nil)) != pf.rec.CRC32C:
		return copyError(pf.abs, "crc32c", pf.rec.CRC32C, hex.EncodeToString(crc.Sum(nil)))
	}
	return nil
}

// InputOf says where the partitions listed so far came from.
func (in *Inputs) InputOf() InputOf {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := InputOf{Input: InputSource, Pulled: slices.Clone(in.pulled)}
	switch {
	case len(in.pulled) > 0 && in.fromSrc > 0:
		out.Input = InputMixed
	case len(in.pulled) > 0:
		out.Input = InputPulled
	}
	return out
}

// List implements source.Source (the source's listing).
func (in *Inputs) List(ctx context.Context, dir string) ([]source.FileInfo, error) {
	if in.o.Origin == nil {
		return nil, fmt.Errorf("%s: no source to list", dir)
	}
	return in.o.Origin.List(ctx, dir)
}

// Exists implements source.Source (in the source).
func (in *Inputs) Exists(ctx context.Context, path string) (bool, error) {
	if in.o.Origin == nil {
		return false, fmt.Errorf("%s: no source to look in", path)
	}
	return in.o.Origin.Exists(ctx, path)
}

// String names where the partitions listed so far are read from.
func (in *Inputs) String() string {
	in.mu.Lock()
	pulled, src := len(in.pulled), in.fromSrc
	in.mu.Unlock()
	name := "<no source>"
	if in.o.Origin != nil {
		name = in.o.Origin.String()
	}
	switch {
	case pulled > 0 && src > 0:
		return "pulled copies in " + in.stage + " and " + name
	case pulled > 0:
		return "pulled copies in " + in.stage
	}
	return name
}

// Close releases the pull locks held and, with OwnOrigin, closes the
// source.
func (in *Inputs) Close() error {
	in.mu.Lock()
	unlocks, closed := in.unlocks, in.closed
	in.unlocks, in.closed = nil, true
	in.mu.Unlock()
	for i := len(unlocks) - 1; i >= 0; i-- {
		unlocks[i]()
	}
	if in.o.OwnOrigin && in.o.Origin != nil && !closed {
		return source.Close(in.o.Origin)
	}
	return nil
}
