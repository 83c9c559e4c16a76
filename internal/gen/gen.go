package gen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"
	"golang.org/x/sync/errgroup"

	"github.com/chama-data/chama/naming"
)

// Marker is the name of the per-hour completeness marker, written after
// every data file of the hour is in place.
const Marker = "_SUCCESS"

// Options say what to generate. Use Defaults() as the starting point: the
// zero value of Marker and Gzip is false (plain files, no marker).
type Options struct {
	Dir          string // root; partitions go to <Dir>/dt=YYYYMMDD/hour=HH/
	Date         string // YYYYMMDD
	Hours        []int  // hours 0-23; empty means all 24
	Rows         int64  // total rows over all hours (split by HourRows)
	FilesPerHour int    // part files per hour folder; 0 means 1
	Seed         int64  // same options and seed give byte-identical files
	Marker       bool   // write _SUCCESS in each hour folder, last
	Gzip         bool   // gzip (part-NNNNN.gz) or plain text (part-NNNNN.txt)
	Level        int    // gzip level (klauspost/compress); 0 means 1, the fastest
	Workers      int    // files generated at once; 0 means GOMAXPROCS

	// onEvent, for tests, sees "file" after each rename and "marker"
	// after each marker, with the path.
	onEvent func(kind, path string)
}

// Defaults are the options the CLI starts from: one gzipped file per hour
// with a marker.
func Defaults() Options {
	return Options{FilesPerHour: 1, Marker: true, Gzip: true, Level: 1}
}

// File is one written data file.
type File struct {
	Path     string
	Hour     int
	Rows     int64
	RawBytes int64 // uncompressed bytes
	Bytes    int64 // bytes on disk
}

// Result lists what Run wrote, in hour then part order (after a failure,
// only the files that were completed).
type Result struct {
	Files    []File
	Markers  []string // marker paths written
	Removed  []string // stale part files of an earlier run removed
	Rows     int64
	RawBytes int64
	Bytes    int64
}

// Ratio is raw bytes over bytes on disk (1 for plain files).
func (r Result) Ratio() float64 {
	if r.Bytes == 0 {
		return 0
	}
	return float64(r.RawBytes) / float64(r.Bytes)
}

// hourWeights is the daily curve: the busiest evening hour carries about
// 13x the 04:00 trough, like the team's hourly counts.
var hourWeights = [24]int64{30, 18, 11, 8, 7, 9, 20, 42, 62, 72, 76, 76, 72, 70, 70, 72, 72, 74, 78, 86, 94, 96, 84, 58}

// HourRows splits total rows over hours (each 0-23; empty means all 24)
// along the daily curve, by largest remainder, so the counts are
// deterministic (also under reordering of hours) and sum exactly to total.
// out[i] belongs to hours[i].
func HourRows(total int64, hours []int) []int64 {
	if len(hours) == 0 {
		hours = allHours()
	}
	var sum int64
	for _, h := range hours {
		sum += hourWeights[h]
	}
	out := make([]int64, len(hours))
	rem := make([]int64, len(hours))
	left := total
	for i, h := range hours {
		// total*w may overflow for absurd totals; split it to stay exact.
		q, r := total/sum, total%sum
		out[i] = q*hourWeights[h] + r*hourWeights[h]/sum
		rem[i] = r * hourWeights[h] % sum
		left -= out[i]
	}
	for ; left > 0; left-- {
		best := 0
		for i := range rem { // ties go to the earlier hour, whatever the order given
			if rem[i] > rem[best] || rem[i] == rem[best] && hours[i] < hours[best] {
				best = i
			}
		}
		out[best]++
		rem[best] = -1
	}
	return out
}

func allHours() []int {
	h := make([]int, 24)
	for i := range h {
		h[i] = i
	}
	return h
}

// cst is China Standard Time; a fixed zone so no tzdata is needed.
var cst = time.FixedZone("CST", 8*3600)

var (
	partRe  = regexp.MustCompile(`^part-\d{5}\.(gz|txt)$`)
	tempRe  = regexp.MustCompile(`^\.part-\d{5}\.(gz|txt)\.tmp$`)
	maxPart = 99999
)

type task struct {
	hour, part int
	rows       int64
	dir, name  string
}

// Run writes the partitions. Each data file is written under a hidden temp
// name and renamed into place; an hour's stale parts from an earlier run
// are removed and its _SUCCESS is written only after all its files exist,
// so a reader that waits for the marker never sees half a partition. An
// old marker is removed before the hour is rewritten.
func Run(ctx context.Context, o Options) (Result, error) {
	if err := o.normalise(); err != nil {
		return Result{}, err
	}
	day, _ := naming.ParsePeriod(o.Date)
	dateNum, _ := strconv.ParseUint(o.Date, 10, 64)
	perHour := HourRows(o.Rows, o.Hours)
	ext := ".txt"
	if o.Gzip {
		ext = ".gz"
	}

	var tasks []task
	left := make([]atomic.Int32, len(o.Hours))
	for i, h := range o.Hours {
		dir := filepath.Join(o.Dir, "dt="+o.Date, fmt.Sprintf("hour=%02d", h))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return Result{}, err
		}
		if err := os.Remove(filepath.Join(dir, Marker)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return Result{}, err
		}
		f := int64(o.FilesPerHour)
		for p := 0; p < o.FilesPerHour; p++ {
			n := perHour[i] / f
			if int64(p) < perHour[i]%f {
				n++
			}
			tasks = append(tasks, task{hour: i, part: p, rows: n, dir: dir, name: fmt.Sprintf("part-%05d%s", p, ext)})
		}
		left[i].Store(int32(o.FilesPerHour))
	}

	res := Result{Files: make([]File, len(tasks))}
	markers := make([]string, len(o.Hours))
	removed := make([][]string, len(o.Hours))
	eg, gctx := errgroup.WithContext(ctx)
	eg.SetLimit(o.Workers)
	for ti := range tasks {
		t := tasks[ti]
		if gctx.Err() != nil {
			break
		}
		eg.Go(func() error {
			h := o.Hours[t.hour]
			y, m, d := day.Start.Date()
			hourStart := time.Date(y, m, d, h, 0, 0, 0, cst).UnixMilli()
			g := newRowGen(uint64(o.Seed), dateNum<<32|uint64(h)<<24|uint64(t.part), o.Date, h, hourStart)
			f, err := o.writeFile(gctx, g, t)
			if err != nil {
				return err
			}
			f.Hour = h
			res.Files[ti] = f
			if o.onEvent != nil {
				o.onEvent("file", f.Path)
			}
			if left[t.hour].Add(-1) != 0 {
				return nil
			}
			// Last file of the hour: clean stale parts, then the marker.
			rm, err := removeStale(t.dir, o.FilesPerHour, ext)
			removed[t.hour] = rm
			if err != nil || !o.Marker {
				return err
			}
			mk := filepath.Join(t.dir, Marker)
			if err := os.WriteFile(mk, nil, 0o644); err != nil {
				return err
			}
			markers[t.hour] = mk
			if o.onEvent != nil {
				o.onEvent("marker", mk)
			}
			return nil
		})
	}
	err := eg.Wait()
	if err == nil {
		err = ctx.Err()
	}
	for i := range markers {
		if markers[i] != "" {
			res.Markers = append(res.Markers, markers[i])
		}
		res.Removed = append(res.Removed, removed[i]...)
	}
	// After a failure only the files actually written are listed.
	written := res.Files[:0]
	for _, f := range res.Files {
		if f.Path == "" {
			continue
		}
		written = append(written, f)
		res.Rows += f.Rows
		res.RawBytes += f.RawBytes
		res.Bytes += f.Bytes
	}
	res.Files = written
	return res, err
}

// ErrBadOptions is matched (errors.Is) by every options error, so the CLI
// can report them as usage errors.
var ErrBadOptions = errors.New("gen: bad options")

type optionError string

func (e optionError) Error() string        { return "gen: " + string(e) }
func (e optionError) Is(target error) bool { return target == ErrBadOptions }

func badOption(format string, a ...any) error { return optionError(fmt.Sprintf(format, a...)) }

func (o *Options) normalise() error {
	if o.Dir == "" {
		return badOption("no output folder given")
	}
	p, err := naming.ParsePeriod(o.Date)
	if err != nil || p.Hourly {
		return badOption("bad date %q: want YYYYMMDD", o.Date)
	}
	if len(o.Hours) == 0 {
		o.Hours = allHours()
	}
	o.Hours = slices.Clone(o.Hours) // sorted copy; the caller's slice stays as it was
	slices.Sort(o.Hours)
	var seen [24]bool
	for _, h := range o.Hours {
		if h < 0 || h > 23 {
			return badOption("bad hour %d: want 0-23", h)
		}
		if seen[h] {
			return badOption("hour %02d given twice", h)
		}
		seen[h] = true
	}
	if o.Rows < 0 {
		return badOption("rows %d: want 0 or more", o.Rows)
	}
	if o.FilesPerHour == 0 {
		o.FilesPerHour = 1
	}
	if o.FilesPerHour < 0 || o.FilesPerHour > maxPart {
		return badOption("files per hour %d: want 1-%d", o.FilesPerHour, maxPart)
	}
	if o.Level == 0 {
		o.Level = 1
	}
	if o.Level < gzip.HuffmanOnly || o.Level > gzip.BestCompression {
		return badOption("gzip level %d: want 1-9 (or -1 default, -2 huffman only)", o.Level)
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	return nil
}

// chunk is how much row text is built before it is handed to the writer.
const chunk = 1 << 20

// writeFile generates t.rows rows into a hidden temp file and renames it
// into place; on any error the temp file is removed.
func (o *Options) writeFile(ctx context.Context, g *rowGen, t task) (f File, err error) {
	if err := ctx.Err(); err != nil {
		return f, err
	}
	final := filepath.Join(t.dir, t.name)
	tmp := filepath.Join(t.dir, "."+t.name+".tmp")
	out, err := os.Create(tmp)
	if err != nil {
		return f, err
	}
	defer func() {
		if err != nil {
			out.Close()
			os.Remove(tmp)
		}
	}()
	var w io.Writer = out
	var bw *bufio.Writer
	var zw *gzip.Writer
	if o.Gzip {
		bw = bufio.NewWriterSize(out, 256<<10)
		// The zero Header has no name and no time, so output is reproducible.
		if zw, err = gzip.NewWriterLevel(bw, o.Level); err != nil {
			return f, err
		}
		w = zw
	}
	buf := make([]byte, 0, chunk)
	for i := int64(0); i < t.rows; i++ {
		buf = g.appendRow(buf)
		if len(buf) > chunk-4096 {
			if err = ctx.Err(); err != nil {
				return f, err
			}
			if _, err = w.Write(buf); err != nil {
				return f, fmt.Errorf("gen: write %s: %w", tmp, err)
			}
			f.RawBytes += int64(len(buf))
			buf = buf[:0]
		}
	}
	if _, err = w.Write(buf); err != nil {
		return f, fmt.Errorf("gen: write %s: %w", tmp, err)
	}
	f.RawBytes += int64(len(buf))
	if zw != nil {
		if err = zw.Close(); err != nil {
			return f, fmt.Errorf("gen: write %s: %w", tmp, err)
		}
		if err = bw.Flush(); err != nil {
			return f, fmt.Errorf("gen: write %s: %w", tmp, err)
		}
	}
	st, err := out.Stat()
	if err != nil {
		return f, err
	}
	if err = out.Close(); err != nil {
		return f, fmt.Errorf("gen: close %s: %w", tmp, err)
	}
	if err = os.Rename(tmp, final); err != nil {
		return f, err
	}
	f.Path, f.Rows, f.Bytes = final, t.rows, st.Size()
	return f, nil
}

// removeStale deletes part files (and temp files of a crashed run) beyond
// the current set: only names gen itself writes, never anything else.
func removeStale(dir string, parts int, ext string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		keep := false
		switch {
		case partRe.MatchString(n):
			idx, _ := strconv.Atoi(n[5:10])
			keep = idx < parts && filepath.Ext(n) == ext
		case tempRe.MatchString(n):
		default:
			continue
		}
		if keep {
			continue
		}
		p := filepath.Join(dir, n)
		if err := os.Remove(p); err != nil {
			return out, err
		}
		out = append(out, p)
	}
	return out, nil
}
