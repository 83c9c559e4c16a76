// Package clean is chama's retention (`chama clean`): it deletes local
// outputs, rejects and staged inputs older than the retention, and
// nothing else. The audit rule is "never delete broadly": a file goes
// only when it sits where chama writes and its name is one chama makes.
//
//   - <workdir>/out/<iface>/<period>/[<part>/]: names matching the
//     interface's file_name or verf_name template, manifest.json,
//     rejects.txt, delivery-<target>.json, and chama's temporaries
//     (.chama-tmp-*, .chunk-*, .<name>.part), also inside pack's
//     .<period>.tmp-* / .<period>.old-* folders.
//   - <workdir>/raw/<iface>/<period>/...: staged inputs that carry pull's
//     record beside them (.<name>.chama), those records, .<name>.chama-part,
//     .chama-pull.json and .chama-tmp-*.
//   - <workdir>/chunks/out/<iface>/<YYYYMMDDHH>/[<part>/]: hourly_pack's
//     hour chunks (chunk_HH_NNNNNN.dat.gz, chunk_HH.verf), their
//     manifest.json and rejects.txt, and pack's temporaries; the day's
//     partial.json in out/.
//   - <workdir>/stage/<dwd|ads>/: transform's part-NNNNN.parquet under
//     <name>/<period>[.partial]/[<part>/], and <period>.summary.json,
//     <period>.rejects.txt.
//
// <iface> must be a configured interface and <period> a valid period.
// Symbolic links are never followed and never deleted; nothing outside
// the workdir is ever touched. A folder is removed only when this run
// emptied it, never the out/ or raw/ roots.
package clean

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/naming"
	"github.com/chama-data/chama/transfer"
)

// Options for Run.
type Options struct {
	Config *config.Config
	// Days of retention; 0 takes config retention_days (default 15).
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
	Kept  int   `json:"kept"` // chama's files still inside the retention
}

type victim struct {
	path  string
	size  int64
	mtime time.Time
}

// Run cleans the workdir.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Days == 0 {
		o.Days = o.Config.RetentionDays
	}
	if o.Days < 1 {
		return nil, fmt.Errorf("retention of %d days: must be at least 1", o.Days)
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	root, err := filepath.EvalSymlinks(o.Config.Workdir)
	if err != nil {
		return nil, fmt.Errorf("workdir %s: %w", o.Config.Workdir, err)
	}
	root, err = filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	cutoff := o.Now.Add(-time.Duration(o.Days) * 24 * time.Hour)
	res := &Result{}
	var victims []victim
	for _, area := range []string{"out", "raw", "stage", "chunks"} {
		top := filepath.Join(root, area)
		st, err := os.Lstat(top)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			o.Log.Warn("not cleaned: not a folder (symlinks are never followed)", "file", top)
			continue
		}
		err = filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			// WalkDir does not follow symlinks; a regular file is the only
			// thing that may go.
			if !d.Type().IsRegular() {
				return nil
			}
			rel, err := filepath.Rel(root, p)
			if err != nil || strings.HasPrefix(rel, "..") {
				return nil
			}
			if !ours(o.Config, root, filepath.ToSlash(rel)) {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			if !info.ModTime().Before(cutoff) {
				res.Kept++
				return nil
			}
			victims = append(victims, victim{p, info.Size(), info.ModTime()})
			return nil
		})
		if err != nil {
			return res, err
		}
	}

	verb := "DELETE"
	if o.DryRun {
		verb = "WOULD_DELETE"
	}
	gone := map[string]bool{}
	touched := map[string]bool{}
	var failed []string
	for _, v := range victims {
		rel, _ := filepath.Rel(root, v.path)
		if !o.DryRun {
			// Re-check right before deleting: still a regular file here.
			st, err := os.Lstat(v.path)
			if err != nil || !st.Mode().IsRegular() {
				continue
			}
			if err := remove(v.path); err != nil {
				o.Log.Error("not deleted", "file", v.path, "err", err.Error())
				failed = append(failed, err.Error())
				continue
			}
		}
		gone[v.path] = true
		touched[filepath.Dir(v.path)] = true
		res.Files++
		res.Bytes += v.size
		fmt.Fprintf(o.Out, "CHAMA_CLEAN %s file=%s bytes=%d mtime=%s\n", verb, filepath.ToSlash(rel), v.size, v.mtime.UTC().Format(time.RFC3339))
		o.Log.Info("retention: "+strings.ToLower(strings.ReplaceAll(verb, "_", " ")), "file", v.path, "bytes", v.size, "mtime", v.mtime)
	}

	// Folders this run emptied, deepest first; a removed folder may empty
	// its parent in turn. The area roots and the workdir stay.
	keep := map[string]bool{root: true, filepath.Join(root, "out"): true, filepath.Join(root, "raw"): true, filepath.Join(root, "stage"): true,
		filepath.Join(root, "stage", "dwd"): true, filepath.Join(root, "stage", "ads"): true,
		filepath.Join(root, "chunks"): true, filepath.Join(root, "chunks", "out"): true}
	for len(touched) > 0 {
		dirs := make([]string, 0, len(touched))
		for d := range touched {
			dirs = append(dirs, d)
		}
		sort.Slice(dirs, func(i, j int) bool {
			di, dj := strings.Count(dirs[i], string(filepath.Separator)), strings.Count(dirs[j], string(filepath.Separator))
			if di != dj {
				return di > dj
			}
			return dirs[i] < dirs[j]
		})
		touched = map[string]bool{}
		for _, d := range dirs {
			if keep[d] || gone[d] || !strings.HasPrefix(d, root+string(filepath.Separator)) {
				continue
			}
			if !emptyAfter(d, gone) {
				continue
			}
			if !o.DryRun {
				if err := os.Remove(d); err != nil {
					continue
				}
			}
			gone[d] = true
			touched[filepath.Dir(d)] = true
			res.Dirs++
			rel, _ := filepath.Rel(root, d)
			fmt.Fprintf(o.Out, "CHAMA_CLEAN %s dir=%s\n", verb, filepath.ToSlash(rel))
			o.Log.Info("retention: removed emptied folder", "file", d, "dry_run", o.DryRun)
		}
	}
	if len(failed) > 0 {
		fmt.Fprintf(o.Out, "CHAMA_CLEAN FAIL files=%d bytes=%d dirs=%d kept=%d not_deleted=%d retention_days=%d dry_run=%t\n", res.Files, res.Bytes, res.Dirs, res.Kept, len(failed), o.Days, o.DryRun)
		return res, fmt.Errorf("clean: %d files could not be deleted, first: %s", len(failed), failed[0])
	}
	fmt.Fprintf(o.Out, "CHAMA_CLEAN OK files=%d bytes=%d dirs=%d kept=%d retention_days=%d dry_run=%t\n", res.Files, res.Bytes, res.Dirs, res.Kept, o.Days, o.DryRun)
	return res, nil
}

// remove deletes one file; tests replace it to make a deletion fail
// (root, which runs CI, may delete anything).
var remove = os.Remove

// emptyAfter reports whether everything in d is (or would be) gone.
func emptyAfter(d string, gone map[string]bool) bool {
	ents, err := os.ReadDir(d)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if !gone[filepath.Join(d, e.Name())] {
			return false
		}
	}
	return true
}

// ours reports whether a workdir-relative, slash-separated path is a
// file chama made and may delete.
func ours(c *config.Config, root, rel string) bool {
	parts := strings.Split(rel, "/")
	if parts[0] == "stage" {
		return stageFile(parts)
	}
	chunk := parts[0] == "chunks"
	if chunk {
		// hourly_pack packs each hour with the ordinary pack into a
		// workdir of its own, <workdir>/chunks: the same out/ layout.
		if len(parts) < 2 || parts[1] != "out" {
			return false
		}
		parts = parts[1:]
	}
	if len(parts) < 4 {
		return false // area/iface/period/name at least
	}
	area, iface, periodDir, name := parts[0], parts[1], parts[2], parts[len(parts)-1]
	ifc, ok := c.Interfaces[iface]
	if !ok {
		return false
	}
	switch area {
	case "out":
		if !periodFolder(periodDir, true) {
			return false
		}
		if chunk {
			return chunkName.MatchString(name) || name == manifest.FileName || name == "rejects.txt" ||
				strings.HasPrefix(name, ".chama-tmp-") || strings.HasPrefix(name, ".chunk-")
		}
		return ifc.Template().Match(name) || ifc.VerfTemplate().Match(name) ||
			name == manifest.FileName || name == "rejects.txt" || name == transfer.PartialFile ||
			(strings.HasPrefix(name, "delivery-") && strings.HasSuffix(name, ".json")) ||
			strings.HasPrefix(name, ".chama-tmp-") || strings.HasPrefix(name, ".chunk-") ||
			(strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".part") && len(name) > len("..part"))
	case "raw":
		if !periodFolder(periodDir, false) {
			return false
		}
		if name == ".chama-pull.json" || strings.HasPrefix(name, ".chama-tmp-") ||
			(strings.HasPrefix(name, ".") && (strings.HasSuffix(name, ".chama") || strings.HasSuffix(name, ".chama-part"))) {
			return true
		}
		// A staged input: pull keeps its record beside it.
		dir := filepath.Dir(filepath.Join(root, filepath.FromSlash(rel)))
		st, err := os.Lstat(filepath.Join(dir, "."+name+".chama"))
		return err == nil && st.Mode().IsRegular()
	}
	return false
}

// periodFolder accepts a period, and with temps also pack's
// .<period>.tmp-* and .<period>.old-* work folders.
func periodFolder(s string, temps bool) bool {
	if _, err := naming.ParsePeriod(s); err == nil {
		return true
	}
	if !temps || !strings.HasPrefix(s, ".") {
		return false
	}
	for _, mark := range []string{".tmp-", ".old-"} {
		if i := strings.Index(s, mark); i > 1 {
			if _, err := naming.ParsePeriod(s[1:i]); err == nil {
				return true
			}
		}
	}
	return false
}

var parquetPart = regexp.MustCompile(`^part-[0-9]{5}\.parquet$`)

// chunkName is an hour chunk's data file or .verf (etl's chunk_{hour}_
// {seq:06}.dat.gz and chunk_{hour}.verf templates).
var chunkName = regexp.MustCompile(`^chunk_[0-9]{2}(_[0-9]{6}\.dat\.gz|\.verf)$`)

// stageFile: stage/<layer>/<period>.summary.json|.rejects.txt, and
// stage/<layer>/<name>/<period>[.partial]/[<part>/]part-NNNNN.parquet.
func stageFile(parts []string) bool {
	if len(parts) < 3 || (parts[1] != "dwd" && parts[1] != "ads") {
		return false
	}
	if len(parts) == 3 {
		for _, suf := range []string{".summary.json", ".rejects.txt"} {
			if p, ok := strings.CutSuffix(parts[2], suf); ok {
				_, err := naming.ParsePeriod(p)
				return err == nil
			}
		}
		return strings.HasPrefix(parts[2], ".chama-tmp-")
	}
	if len(parts) < 5 || len(parts) > 6 {
		return false
	}
	if _, err := naming.ParsePeriod(strings.TrimSuffix(parts[3], ".partial")); err != nil {
		return false
	}
	return parquetPart.MatchString(parts[len(parts)-1])
}
