// Package clean is chama's retention (`chama clean`): it deletes local
// outputs, rejects, staged inputs and chama's own bookkeeping files older
// than the retention, and nothing else. The audit rule is "never delete
// broadly": a file goes only when it sits where chama writes and its name
// is one chama makes (an interface's file patterns or chama's reserved
// names); a folder goes only when this run emptied it.
//
//   - <workdir>/out/<iface>/<period>/[<part>/]: names matching the
//     interface's file_name or verf_name template, manifest.json,
//     partial.json, rejects.txt, delivery-<target>.json, and chama's
//     temporaries (.chama-tmp-*, .chunk-*, .<name>.part), also inside
//     pack's .<period>.tmp-* / .<period>.old-* folders.
//   - <workdir>/out/<iface>/: a failed pack's <period>.rejects.txt, and
//     the locks .<period>.lock (pack, assembly, push's records) and
//     .<period>.push.lock (push).
//   - <workdir>/chunks/out/<iface>/<YYYYMMDDHH>/[<part>/]: hourly_pack's
//     hour chunks (chunk_HH_NNNNNN.dat.gz, chunk_HH.verf), their
//     manifest.json and rejects.txt, and pack's temporaries; beside them
//     <YYYYMMDDHH>.rejects.txt and .<YYYYMMDDHH>.lock.
//   - <workdir>/raw/<iface>/<day>/... and raw/ods.<table>/<day>/... (an
//     ODS table pulled for the from: transform interfaces; <table> must
//     be configured): staged inputs that carry pull's
//     record beside them (.<name>.chama), those records, the partitions'
//     completeness markers (the marker of the interface's or table's
//     source and of its fallback, _SUCCESS unless configured),
//     .<name>.chama-part, .chama-pull.json, .chama-tmp-*, and in the day
//     folder pull's locks (.chama-pull.json.lock, .chama-pull-*.lock).
//   - <workdir>/stage/<dwd|ads>/: transform's part-NNNNN.parquet under
//     <name>/<period>[.partial]/[<part>/], and <period>.summary.json,
//     <period>.rejects.txt.
//
// <iface> must be a configured interface and <period> a valid period.
//
// Age is the modification time, except for a staged input: pull keeps the
// source's mtime on it, so its age is the newer of that and its record's
// (when pull staged or last checked it). A record goes with its input.
// A marker vouches for the staged data of its folder: it goes before any
// of that data (or when it is old itself), and data whose marker could not
// be removed stays, so a clean stopped part-way never leaves a marker over
// a partial folder. A staged day folder in use (a pull lock in it held by
// a pull staging it, or shared by a pack or transform reading a pulled
// copy) keeps all its files this run; clean holds those locks, taken
// without waiting, while it removes the files of the others. A lock goes last, only when it is old, what it guards
// is gone (the period folder and pack's work folders; for pull's locks,
// everything else in the day folder) and no process holds it: clean takes
// the lock itself, without waiting, and removes the file under it.
//
// Symbolic links are never followed and never deleted: every folder is
// opened from the workdir one name at a time without following links, and
// every check and removal goes through the open folder (see dirh), so a
// folder swapped for a link while clean runs cannot lead it outside the
// workdir. A file is removed only if it is still the very file listed.
package clean

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/logkey"
	"github.com/chama-data/chama/internal/workdir"
)

// Options for Run.
type Options struct {
	Config *config.Config
	// Days of retention, 1 to config.MaxRetentionDays; 0 takes the
	// config's retention_days (default 15).
	Days   int
	DryRun bool
	Now    time.Time
	// Out receives one stable line per file and folder, and a summary.
	Out io.Writer
	Log *slog.Logger
}

// Result counts what went (or would go).
type Result struct {
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
	Dirs  int   `json:"dirs"`
	Kept  int   `json:"kept"` // chama's files that stay (inside the retention, or still needed)
	// StoreDirs are the chunk store's folders that went: days past the
	// retention, versions superseded or never committed (store.go).
	StoreDirs int `json:"store_dirs,omitempty"`
}

// Cutoff is the instant before which a file is older than days of
// retention: days calendar days before now. A retention outside 1 to
// config.MaxRetentionDays is a usage error: it must never put the cutoff
// after now (a day count once overflowed time.Duration and cleaned
// everything).
func Cutoff(now time.Time, days int) (time.Time, error) {
	if days < 1 || days > config.MaxRetentionDays {
		return time.Time{}, exit.Usagef("retention of %d days: keep from 1 to %d days (ten years); to never clean, do not schedule chama clean", days, config.MaxRetentionDays)
	}
	cutoff := now.AddDate(0, 0, -days)
	if !cutoff.Before(now) {
		return time.Time{}, exit.Usagef("retention of %d days puts the cutoff %s at or after now %s", days, cutoff.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	return cutoff, nil
}

// Run cleans the workdir.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Days == 0 {
		o.Days = o.Config.RetentionDays
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	cutoff, err := Cutoff(o.Now, o.Days)
	if err != nil {
		return nil, err
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	workdir, err := filepath.EvalSymlinks(o.Config.Workdir)
	if err != nil {
		return nil, fmt.Errorf("workdir %s: %w", o.Config.Workdir, err)
	}
	if workdir, err = filepath.Abs(workdir); err != nil {
		return nil, err
	}
	root, err := openWorkdir(workdir)
	if err != nil {
		return nil, fmt.Errorf("workdir %s: %w", o.Config.Workdir, err)
	}
	defer root.close()
	c := &cleaner{o: o, workdir: workdir, root: root, cutoff: cutoff, res: &Result{},
		dirs: map[string][]node{}, gone: map[string]bool{}, touched: map[string]bool{}, days: map[string][]*item{}, marks: map[string][]string{}}
	if err := c.scan(ctx); err != nil {
		return c.res, err
	}
	victims := c.plan()
	beforeRemove()
	victims, release := c.keepInUse(victims)
	err = c.removeFiles(ctx, victims)
	release()
	if err != nil {
		return c.res, err
	}
	c.removeDirs()
	if err := c.removeLocks(ctx); err != nil {
		return c.res, err
	}
	c.removeDirs()
	if err := c.pruneStore(ctx); err != nil {
		return c.res, err
	}

	res := c.res
	if len(c.failed) > 0 {
		fmt.Fprintf(o.Out, "CHAMA_CLEAN FAIL files=%d bytes=%d dirs=%d kept=%d not_deleted=%d retention_days=%d dry_run=%t\n", res.Files, res.Bytes, res.Dirs, res.Kept, len(c.failed), o.Days, o.DryRun)
		return res, fmt.Errorf("clean: %d files could not be deleted, first: %s", len(c.failed), c.failed[0])
	}
	fmt.Fprintf(o.Out, "CHAMA_CLEAN OK files=%d bytes=%d dirs=%d kept=%d retention_days=%d dry_run=%t\n", res.Files, res.Bytes, res.Dirs, res.Kept, o.Days, o.DryRun)
	return res, nil
}

// keepInUse takes, without waiting, pull's locks in every staged day
// folder that has files to go. A pull staging a partition holds its lock
// exclusive, and pack or transform reading a pulled copy hold it shared:
// a day folder with a lock held keeps all its files this run (a later
// run takes them). The locks taken are held while the files go, so no
// reader starts on a copy being removed (it finds the lock held: busy,
// exit 3). It returns the victims that may go and the function that
// releases the locks (before removeLocks, which takes them again).
func (c *cleaner) keepInUse(victims []*item) ([]*item, func()) {
	days := map[string]bool{}
	for _, v := range victims {
		if d := rawDay(v.dir); d != "" {
			days[d] = true
		}
	}
	var releases []func()
	release := func() {
		for i := len(releases) - 1; i >= 0; i-- {
			releases[i]()
		}
	}
	busy := map[string]bool{}
	var ch chain
	defer ch.close()
	for _, l := range c.locks {
		if !days[l.dir] || busy[l.dir] || !workdir.IsPullLock(l.name) {
			continue
		}
		h, err := ch.to(c.root, l.dir)
		if err != nil {
			continue // the folder is gone or swapped: its files will not go either
		}
		rel, held, err := h.lock(l.name, l.node)
		switch {
		case err != nil:
			busy[l.dir] = true // changed since it was listed: leave the day alone
			c.o.Log.Warn("not cleaned: a pull lock changed since it was listed; the staged day is kept", logkey.File, c.abs(l.rel), logkey.Err, err.Error())
		case held:
			busy[l.dir] = true
			c.o.Log.Info("not cleaned: a pull or a reader of the pulled copy holds its lock; the staged day is kept", logkey.File, c.abs(l.rel))
		default:
			releases = append(releases, rel)
		}
	}
	if len(busy) == 0 {
		return victims, release
	}
	keep := victims[:0:0]
	for _, v := range victims {
		if busy[rawDay(v.dir)] {
			c.res.Kept++
			continue
		}
		keep = append(keep, v)
	}
	return keep, release
}

// rawDay is the staged day folder (raw/<iface>/<day>) a folder is in, ""
// when it is not under raw/.
func rawDay(dir string) string {
	parts := strings.SplitN(dir, "/", 4)
	if len(parts) < 3 || parts[0] != workdir.RawDir {
		return ""
	}
	return strings.Join(parts[:3], "/")
}

// remove deletes one file (rel is workdir-relative); tests replace it to
// make a deletion fail (root, which runs CI, may delete anything).
var remove = func(rel string, rm func() error) error { return rm() }

// beforeRemove runs between the listing and the first removal; tests use
// it to change the workdir under a running clean.
var beforeRemove = func() {}

var (
	errNotFolder = errors.New("not a folder (symbolic links are never followed)")
	errChanged   = errors.New("changed since it was listed")
)

// node is one folder entry as seen without following symbolic links.
type node struct {
	name  string
	typ   fs.FileMode // fs.ModeDir, 0 (a regular file), fs.ModeSymlink or fs.ModeIrregular
	size  int64
	mtime time.Time
	id    fileID
}

func (n node) isDir() bool     { return n.typ == fs.ModeDir }
func (n node) isRegular() bool { return n.typ == 0 }

// kind is how a file of chama's goes.
type kind int

const (
	kindFile   kind = iota // by its own age
	kindStaged             // a staged input: by the newer of its age and its record's; its folders' markers go first
	kindRecord             // pull's record of a staged input (.<name>.chama): with the input
	kindMarker             // a staged partition's completeness marker: by its age or with its data, before the data
	kindLock               // a lock file: last, only with what it guards, when no process holds it
)

// item is one of chama's files found by the scan.
type item struct {
	node
	dir     string // workdir-relative folder, slash-separated
	rel     string // dir/name
	kind    kind
	area    int       // index in areas: the order of the lines
	age     time.Time // what the retention compares
	with    string    // a record: the rel of the staged input it goes with
	markers []string  // a staged input: its interface's marker names
}

// areas are the workdir folders clean looks in, in the order it reports.
var areas = []string{workdir.OutDir, workdir.RawDir, workdir.StageDir, workdir.ChunksDir}

// keepDirs are never removed, even when emptied.
var keepDirs = map[string]bool{"": true, workdir.OutDir: true, workdir.RawDir: true, workdir.StageDir: true,
	workdir.StageDir + "/dwd": true, workdir.StageDir + "/ads": true, workdir.ChunksDir: true, workdir.ChunksDir + "/" + workdir.OutDir: true}

type cleaner struct {
	o       Options
	workdir string
	root    *dirh
	cutoff  time.Time
	res     *Result
	dirs    map[string][]node // every folder scanned (workdir-relative) and its entries
	gone    map[string]bool   // files and folders removed (or, dry, that would be)
	touched map[string]bool   // folders this run took something out of
	failed  []string
	locks   []*item
	days    map[string][]*item  // staged day folder -> chama's files in it (pull's locks aside)
	marks   map[string][]string // interface -> its marker names
}

// markers are the marker names of a raw/ folder (an interface's, or an
// ODS table's: ods.<table>).
func (c *cleaner) markers(dir string) []string {
	m, ok := c.marks[dir]
	if !ok {
		src, _ := rawSource(c.o.Config, dir)
		m = markerNames(c.o.Config, src)
		c.marks[dir] = m
	}
	return m
}

// scan lists the areas, folder by folder, never through a link.
func (c *cleaner) scan(ctx context.Context) error {
	for _, area := range areas {
		h, err := c.root.open(area)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if errors.Is(err, errNotFolder) {
			c.o.Log.Warn("not cleaned: not a folder (symlinks are never followed)", logkey.File, filepath.Join(c.workdir, area))
			continue
		}
		if err != nil {
			return fmt.Errorf("clean: %s: %w", filepath.Join(c.workdir, area), err)
		}
		err = c.walk(ctx, h, area)
		h.close()
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *cleaner) walk(ctx context.Context, h *dirh, rel string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	nodes, err := h.list()
	if err != nil {
		return fmt.Errorf("clean: %s: %w", filepath.Join(c.workdir, filepath.FromSlash(rel)), err)
	}
	c.dirs[rel] = nodes
	for _, n := range nodes {
		if !n.isDir() {
			continue // links, and anything else, are not followed
		}
		sub, err := h.open(n.name)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotFolder) {
			continue // gone or swapped since it was listed
		}
		if errors.Is(err, fs.ErrPermission) {
			// Not chama's (a filesystem's lost+found): nothing of ours can
			// be inside, and one such folder must not stop every night's
			// clean.
			c.o.Log.Warn("not cleaned: folder not readable; skipped", "dir", filepath.Join(c.workdir, filepath.FromSlash(rel), n.name), logkey.Err, err.Error())
			continue
		}
		if err != nil {
			return fmt.Errorf("clean: %s: %w", filepath.Join(c.workdir, filepath.FromSlash(rel), n.name), err)
		}
		err = c.walk(ctx, sub, rel+"/"+n.name)
		sub.close()
		if err != nil {
			return err
		}
	}
	return nil
}

// removeFiles deletes the victims in order, each through its folder
// opened afresh from the workdir without following links, and only when
// it is still the file listed.
func (c *cleaner) removeFiles(ctx context.Context, victims []*item) error {
	var ch chain
	defer ch.close()
	for _, v := range victims {
		if err := ctx.Err(); err != nil {
			return err
		}
		if v.with != "" && !c.gone[v.with] {
			continue // its input stayed, so does the record
		}
		if !c.o.DryRun {
			h, err := ch.to(c.root, v.dir)
			if err != nil {
				c.skipped(v.rel, err)
				continue
			}
			if v.kind == kindStaged {
				if m := ch.markerAbove(v); m != "" {
					// Its marker could not be deleted, or pull staged the
					// partition again meanwhile: the data stays with it.
					c.o.Log.Warn("not cleaned: a marker vouches for this staged input", logkey.File, c.abs(v.rel), "marker", c.abs(m))
					continue
				}
			}
			err = remove(v.rel, func() error {
				now, err := h.stat(v.name)
				if err != nil {
					return err
				}
				if !now.isRegular() || !sameFile(now, v.node) {
					return &fs.PathError{Op: "remove", Path: v.name, Err: errChanged}
				}
				return h.unlink(v.name)
			})
			if err != nil {
				c.skipped(v.rel, err)
				continue
			}
		}
		c.deleted(v)
	}
	return nil
}

// skipped handles a file that could not be deleted: one that vanished,
// changed or moved behind a link since the listing is left alone (a
// warning); any other error fails the run.
func (c *cleaner) skipped(rel string, err error) {
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case errors.Is(err, errNotFolder), errors.Is(err, errChanged):
		c.o.Log.Warn("not cleaned: changed since it was listed (symlinks are never followed)", logkey.File, c.abs(rel), logkey.Err, err.Error())
	default:
		c.o.Log.Error("not deleted", logkey.File, c.abs(rel), logkey.Err, err.Error())
		c.failed = append(c.failed, fmt.Sprintf("%s: %v", c.abs(rel), err))
	}
}

func (c *cleaner) deleted(v *item) {
	c.gone[v.rel] = true
	c.touched[v.dir] = true
	c.res.Files++
	c.res.Bytes += v.size
	fmt.Fprintf(c.o.Out, "CHAMA_CLEAN %s file=%s bytes=%d mtime=%s\n", c.verb(), v.rel, v.size, v.mtime.UTC().Format(time.RFC3339))
	c.o.Log.Info("retention: "+strings.ToLower(strings.ReplaceAll(c.verb(), "_", " ")), logkey.File, c.abs(v.rel), logkey.Bytes, v.size, "mtime", v.mtime)
}

func (c *cleaner) verb() string {
	if c.o.DryRun {
		return "WOULD_DELETE"
	}
	return "DELETE"
}

func (c *cleaner) abs(rel string) string { return filepath.Join(c.workdir, filepath.FromSlash(rel)) }

// removeDirs removes the folders this run emptied, deepest first; a
// removed folder may empty its parent in turn. The area roots and the
// workdir stay. Only an empty folder can be removed (rmdir): never
// anything in it.
func (c *cleaner) removeDirs() {
	var ch chain
	defer ch.close()
	for len(c.touched) > 0 {
		dirs := make([]string, 0, len(c.touched))
		for d := range c.touched {
			dirs = append(dirs, d)
		}
		sort.Slice(dirs, func(i, j int) bool {
			di, dj := strings.Count(dirs[i], "/"), strings.Count(dirs[j], "/")
			if di != dj {
				return di > dj
			}
			return dirs[i] < dirs[j]
		})
		c.touched = map[string]bool{}
		for _, d := range dirs {
			if keepDirs[d] || c.gone[d] {
				continue
			}
			parent := parentOf(d)
			if c.o.DryRun {
				if !c.emptyAfter(d) {
					continue
				}
			} else {
				h, err := ch.to(c.root, parent)
				if err != nil || h.rmdir(path.Base(d)) != nil {
					continue
				}
			}
			c.gone[d] = true
			c.touched[parent] = true
			c.res.Dirs++
			fmt.Fprintf(c.o.Out, "CHAMA_CLEAN %s dir=%s\n", c.verb(), d)
			c.o.Log.Info("retention: removed emptied folder", logkey.File, c.abs(d), "dry_run", c.o.DryRun)
		}
	}
}

// emptyAfter reports whether everything listed in d is (or would be) gone.
func (c *cleaner) emptyAfter(d string) bool {
	nodes, ok := c.dirs[d]
	if !ok {
		return false
	}
	for _, n := range nodes {
		if !c.gone[d+"/"+n.name] {
			return false
		}
	}
	return true
}

func parentOf(d string) string {
	if i := strings.LastIndexByte(d, '/'); i >= 0 {
		return d[:i]
	}
	return ""
}

// removeLocks deletes the old locks whose period (or staged day) is gone,
// each under its own lock, taken without waiting: a lock a process holds
// stays.
func (c *cleaner) removeLocks(ctx context.Context) error {
	var ch chain
	defer ch.close()
	for _, l := range c.locks {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !l.age.Before(c.cutoff) {
			c.res.Kept++
			continue
		}
		h, err := ch.to(c.root, l.dir)
		if err != nil {
			c.skipped(l.rel, err)
			continue
		}
		guards, err := c.guards(h, l)
		if err != nil {
			c.skipped(l.rel, err)
			continue
		}
		if guards != "" {
			c.res.Kept++
			continue
		}
		release, held, err := h.lock(l.name, l.node)
		if err != nil {
			c.skipped(l.rel, err)
			continue
		}
		if held {
			c.o.Log.Info("retention: lock in use, kept", logkey.File, c.abs(l.rel))
			c.res.Kept++
			continue
		}
		if !c.o.DryRun {
			err = remove(l.rel, func() error {
				now, err := h.stat(l.name)
				if err != nil {
					return err
				}
				if !now.isRegular() || !sameFile(now, l.node) {
					return &fs.PathError{Op: "remove", Path: l.name, Err: errChanged}
				}
				return h.unlink(l.name)
			})
		}
		release()
		if err != nil {
			c.skipped(l.rel, err)
			continue
		}
		c.deleted(l)
	}
	return nil
}

// guards names what the lock l still guards, "" when nothing. A period
// lock guards its period folder and pack's work folders of the period,
// as they are now. Pull's locks guard pull's files in the staged day
// folder: a foreign file left there does not keep them.
func (c *cleaner) guards(h *dirh, l *item) (string, error) {
	period, ok := lockedPeriod(l.name)
	if !ok {
		for _, it := range c.days[l.dir] {
			if !c.gone[it.rel] {
				return it.rel, nil
			}
		}
		return "", nil
	}
	var names []string
	if c.o.DryRun {
		for _, n := range c.dirs[l.dir] {
			if !c.gone[l.dir+"/"+n.name] {
				names = append(names, n.name)
			}
		}
	} else {
		var err error
		if names, err = h.names(); err != nil {
			return "", err
		}
	}
	for _, n := range names {
		if n == period || workdir.IsPeriodTemp(n, period) {
			return n, nil
		}
	}
	return "", nil
}

// chain is the open folders from the workdir down to one folder.
type chain struct {
	rel string
	hs  []*dirh
}

// to opens rel from root, one name at a time without following links
// (reusing the folders open from the last call when rel is the same).
func (ch *chain) to(root *dirh, rel string) (*dirh, error) {
	if rel == "" {
		ch.close()
		return root, nil
	}
	if ch.hs != nil && ch.rel == rel {
		return ch.hs[len(ch.hs)-1], nil
	}
	ch.close()
	h := root
	for _, p := range strings.Split(rel, "/") {
		next, err := h.open(p)
		if err != nil {
			ch.close()
			return nil, err
		}
		ch.hs = append(ch.hs, next)
		h = next
	}
	ch.rel = rel
	return h, nil
}

// markerAbove names a marker present now in v's folder or a folder above
// it, up to (not including) the day folder.
func (ch *chain) markerAbove(v *item) string {
	parts := strings.Split(ch.rel, "/")
	// hs[i] is parts[:i+1]; raw/<iface>/<day> is hs[2].
	for i := len(ch.hs) - 1; i >= 3; i-- {
		for _, m := range v.markers {
			if n, err := ch.hs[i].stat(m); err == nil && n.isRegular() {
				return strings.Join(parts[:i+1], "/") + "/" + m
			}
		}
	}
	return ""
}

func (ch *chain) close() {
	for _, h := range ch.hs {
		h.close()
	}
	ch.hs, ch.rel = nil, ""
}
