package verify

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/internal/progress"
	"github.com/chama-data/chama/internal/workdir"
	"github.com/chama-data/chama/naming"
)

// fileSet is one .verf and the files it lists, as found locally. Remote
// checks compare targets against it.
type fileSet struct {
	Dir      string // relative to the period folder
	AbsDir   string
	Verf     string
	VerfSize int64 // -1 when the .verf is missing locally
	VerfData []byte
	Cols     map[string]bool
	ColList  []string // the .verf's columns, in order (nil: no .verf read)
	Entries  []Entry
}

// legacyLayouts are .verf layouts older builds (and the shell pipeline)
// wrote; tried after the interface's configured columns, so a period
// packed by an older chama is read as it was written.
var legacyLayouts = [][]string{
	config.DefaultVerfColumns,
	{"name", "bytes", "lines", "period", "ctime"},
	{"name", "bytes", "lines", "period"},
	{"name", "bytes", "lines"},
}

// parseAnyVerf parses with the configured columns, then the legacy ones.
// The error, when none fits, is the configured layout's.
func parseAnyVerf(cols []string, data []byte) ([]Entry, []string, error) {
	es, err := ParseVerf(cols, data)
	if err == nil {
		return es, cols, nil
	}
	for _, l := range legacyLayouts {
		if e2, err2 := ParseVerf(l, data); err2 == nil {
			return e2, l, nil
		}
	}
	return nil, nil, err
}

func colSet(cols []string) map[string]bool {
	m := map[string]bool{}
	for _, c := range cols {
		m[c] = true
	}
	return m
}

// namePeriod is the period a name made by a template carries.
func namePeriod(f naming.Fields) string { return f.Date + f.Hour }

// checkLocal verifies <workdir>/out/<iface>/<period> and returns the sets
// it found, for the remote checks.
func checkLocal(ctx context.Context, cfg *config.Config, ifc *config.Interface, period string, jobs int, quick bool, meter func(string, int) *progress.Meter, r *Result) []*fileSet {
	dir := workdir.New(cfg.Workdir).Out(ifc.Name, period)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		r.add(Finding{Reason: ReasonNotPacked, Detail: "no output folder " + dir})
		return nil
	}
	m, err := manifest.Read(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		m = nil
		r.add(Finding{Severity: Warn, Reason: ReasonNoManifest, File: workdir.ManifestFile, Detail: "no manifest.json (older build?): checking what the .verf files say; rows not reconciled"})
	case err != nil:
		r.add(Finding{Reason: ReasonBadManifest, File: workdir.ManifestFile, Detail: err.Error()})
		m = nil
	}
	var sets []*fileSet
	manFiles := map[*fileSet]map[string]manifest.File{}
	if m != nil {
		for _, s := range m.Sets {
			fsx := &fileSet{Dir: s.Dir, AbsDir: filepath.Join(dir, filepath.FromSlash(s.Dir)), Verf: s.Verf, VerfSize: -1}
			mf := map[string]manifest.File{}
			for _, f := range s.Files {
				mf[f.Name] = f
			}
			manFiles[fsx] = mf
			sets = append(sets, fsx)
		}
	} else {
		sets = discoverSets(dir, ifc, period)
	}
	if len(sets) == 0 && m == nil {
		r.add(Finding{Reason: ReasonMissingVerf, Detail: "no file set found in " + dir})
		return nil
	}
	tpl := ifc.Template()
	for _, s := range sets {
		readSet(s, ifc, period, manFiles[s], r)
	}
	checkSequences(sets, ifc, period, tpl, manFiles, r)
	checkExtras(sets, ifc, tpl, r)
	var delim byte // GBK and GB18030 output: look for the delimiter inside characters
	switch strings.ToLower(ifc.Charset) {
	case "gbk", "gb18030":
		if len(ifc.OutDelimiter) == 1 {
			delim = ifc.OutDelimiter[0]
		}
	}
	checkFiles(ctx, sets, jobs, quick, delim, meter, r)

	var lines, bytes int64
	files := 0
	for _, s := range sets {
		for _, e := range s.Entries {
			lines += e.Lines
			bytes += e.Bytes
			files++
		}
	}
	r.Sets, r.Files, r.Lines, r.Bytes = len(sets), files, lines, bytes
	if m != nil {
		want := m.Rows.Read - m.Rows.Rejected - m.Rows.Filtered
		if lines != want {
			r.add(Finding{Reason: ReasonRowsMismatch, Want: strconv.FormatInt(want, 10), Got: strconv.FormatInt(lines, 10),
				Detail: fmt.Sprintf("manifest: read %d - rejected %d - filtered %d; the .verf files list %d lines", m.Rows.Read, m.Rows.Rejected, m.Rows.Filtered, lines)})
		}
	}
	return sets
}

// discoverSets finds the .verf files of a period folder and its direct
// sub-folders when there is no manifest.
func discoverSets(dir string, ifc *config.Interface, period string) []*fileSet {
	vt := ifc.VerfTemplate()
	var sets []*fileSet
	look := func(rel string) {
		ents, err := os.ReadDir(filepath.Join(dir, rel))
		if err != nil {
			return
		}
		for _, e := range ents {
			if f, ok := vt.Parse(e.Name()); ok && !e.IsDir() && namePeriod(f) == period {
				sets = append(sets, &fileSet{Dir: filepath.ToSlash(rel), AbsDir: filepath.Join(dir, rel), Verf: e.Name(), VerfSize: -1})
			}
		}
	}
	look("")
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.IsDir() && e.Type()&fs.ModeSymlink == 0 {
			look(e.Name())
		}
	}
	return sets
}

// readSet reads the set's .verf (falling back to the manifest's list when
// it is missing, so the data files are still checked) and compares both.
func readSet(s *fileSet, ifc *config.Interface, period string, mf map[string]manifest.File, r *Result) {
	vpath := filepath.Join(s.AbsDir, s.Verf)
	data, err := os.ReadFile(vpath)
	if err != nil {
		r.add(Finding{Reason: ReasonMissingVerf, File: s.Verf, Detail: err.Error()})
		// Check the data files the manifest lists instead.
		for _, name := range sortedNames(mf) {
			f := mf[name]
			s.Entries = append(s.Entries, Entry{Name: f.Name, Bytes: f.Bytes, Lines: f.Lines, MD5: f.MD5, Seq: f.Seq})
		}
		s.Cols = colSet([]string{"name", "bytes", "lines", "md5"})
		return
	}
	s.VerfSize, s.VerfData = int64(len(data)), data
	es, cols, err := parseAnyVerf(ifc.VerfColumns, data)
	if err != nil {
		r.add(Finding{Reason: ReasonBadVerf, File: s.Verf, Detail: err.Error()})
		return
	}
	s.Entries, s.Cols, s.ColList = es, colSet(cols), cols
	if !s.Cols["name"] {
		r.add(Finding{Reason: ReasonBadVerf, File: s.Verf, Detail: "the .verf has no name column"})
		s.Entries = nil
		return
	}
	for _, e := range es {
		if s.Cols["period"] && e.Period != period && e.Period != period[:8] {
			r.add(Finding{Reason: ReasonWrongPeriod, File: e.Name, Want: period, Got: e.Period, Detail: "period column of " + s.Verf})
		}
	}
	if mf == nil {
		return
	}
	seen := map[string]bool{}
	for _, e := range es {
		seen[e.Name] = true
		f, ok := mf[e.Name]
		if !ok {
			r.add(Finding{Reason: ReasonManifestMismatch, File: e.Name, Detail: "listed in " + s.Verf + " but not in manifest.json"})
			continue
		}
		switch {
		case s.Cols["bytes"] && f.Bytes != e.Bytes:
			r.add(Finding{Reason: ReasonManifestMismatch, File: e.Name, Want: strconv.FormatInt(f.Bytes, 10), Got: strconv.FormatInt(e.Bytes, 10), Detail: "bytes: manifest (want) vs .verf (got)"})
		case s.Cols["lines"] && f.Lines != e.Lines:
			r.add(Finding{Reason: ReasonManifestMismatch, File: e.Name, Want: strconv.FormatInt(f.Lines, 10), Got: strconv.FormatInt(e.Lines, 10), Detail: "lines: manifest (want) vs .verf (got)"})
		case s.Cols["md5"] && f.MD5 != "" && f.MD5 != e.MD5:
			r.add(Finding{Reason: ReasonManifestMismatch, File: e.Name, Want: f.MD5, Got: e.MD5, Detail: "md5: manifest (want) vs .verf (got)"})
		}
	}
	for _, name := range sortedNames(mf) {
		if !seen[name] {
			r.add(Finding{Reason: ReasonManifestMismatch, File: name, Detail: "in manifest.json but not listed in " + s.Verf})
		}
	}
}

func sortedNames(m map[string]manifest.File) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkSequences wants each set numbered 1..N without gaps or repeats.
// The sequence comes from the name (the interface template), else the
// .verf seq column, else the manifest.
func checkSequences(sets []*fileSet, ifc *config.Interface, period string, tpl *naming.Template, manFiles map[*fileSet]map[string]manifest.File, r *Result) {
	for _, s := range sets {
		bySeq := map[int]string{}
		var sample naming.Fields
		var sampleName string
		max := 0
		for _, e := range s.Entries {
			seq := 0
			if f, ok := tpl.Parse(e.Name); ok {
				seq = f.Seq
				sample, sampleName = f, e.Name
				if (tpl.Uses("date") || tpl.Uses("period")) && namePeriod(f) != period {
					r.add(Finding{Reason: ReasonWrongPeriod, File: e.Name, Want: period, Got: namePeriod(f), Detail: "the name carries another period"})
				}
			} else if s.Cols["seq"] {
				seq = e.Seq
			} else if mf, ok := manFiles[s][e.Name]; ok {
				seq = mf.Seq
			}
			if seq <= 0 {
				continue
			}
			if prev, dup := bySeq[seq]; dup {
				r.add(Finding{Reason: ReasonSeqDuplicate, File: e.Name, Detail: fmt.Sprintf("sequence %d also used by %s", seq, prev)})
				continue
			}
			bySeq[seq] = e.Name
			if seq > max {
				max = seq
			}
		}
		if len(bySeq) == 0 {
			continue
		}
		for k := 1; k <= max; k++ {
			if _, ok := bySeq[k]; ok {
				continue
			}
			r.add(Finding{Reason: ReasonSeqGap, File: nameForSeq(tpl, sample, sampleName, k), Want: "seq " + strconv.Itoa(k), Detail: fmt.Sprintf("set %s numbers up to %d but has no file %d", s.Verf, max, k)})
		}
	}
}

// nameForSeq renders the name a missing sequence would have had, with the
// width of the names that are there; "-" when it cannot.
func nameForSeq(tpl *naming.Template, f naming.Fields, like string, seq int) string {
	if like == "" {
		return "-"
	}
	for w := 1; w <= 9; w++ {
		if n, err := tpl.Format(f, w); err == nil && n == like {
			f.Seq = seq
			if n, err := tpl.Format(f, w); err == nil {
				return n
			}
			break
		}
	}
	return "-"
}

// checkExtras lists each set folder: a file named by the interface's
// templates that no set lists is an extra file.
func checkExtras(sets []*fileSet, ifc *config.Interface, tpl *naming.Template, r *Result) {
	vt := ifc.VerfTemplate()
	known := map[string]map[string]bool{}
	for _, s := range sets {
		if known[s.AbsDir] == nil {
			known[s.AbsDir] = map[string]bool{}
		}
		known[s.AbsDir][s.Verf] = true
		for _, e := range s.Entries {
			known[s.AbsDir][e.Name] = true
		}
	}
	dirs := make([]string, 0, len(known))
	for d := range known {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		ents, err := os.ReadDir(d)
		if err != nil {
			continue // the missing files are reported one by one
		}
		for _, e := range ents {
			n := e.Name()
			if known[d][n] || !(tpl.Match(n) || vt.Match(n)) {
				continue
			}
			r.add(Finding{Reason: ReasonExtraFile, File: n, Detail: "in " + d + " but listed in no .verf"})
		}
	}
}

// checkFiles checks every listed data file, jobs at a time, and reports
// at most one finding per file: the first of missing, size, checksum,
// gzip, lines (a truncated file is one size_mismatch, not four lines).
// With quick, only stat: presence, type and size.
func checkFiles(ctx context.Context, sets []*fileSet, jobs int, quick bool, delim byte, meter func(string, int) *progress.Meter, r *Result) {
	type task struct {
		s *fileSet
		e Entry
	}
	var tasks []task
	for _, s := range sets {
		for _, e := range s.Entries {
			tasks = append(tasks, task{s, e})
		}
	}
	out := make([]*Finding, len(tasks))
	if jobs < 1 {
		jobs = 1
	}
	var m *progress.Meter
	if !quick {
		m = meter("local files read", len(tasks)) // reading every byte takes long
		defer m.Close()
	}
	sem := make(chan struct{}, jobs)
	var wg sync.WaitGroup
	for i, t := range tasks {
		if ctx.Err() != nil {
			out[i] = &Finding{Reason: ReasonMissingFile, File: t.e.Name, Detail: "not checked: " + ctx.Err().Error()}
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = checkLocalFile(filepath.Join(t.s.AbsDir, t.e.Name), t.e, t.s.Cols, quick, delim)
			m.Add(1)
		}()
	}
	wg.Wait()
	for _, f := range out {
		if f != nil {
			r.add(*f)
		}
	}
}

func checkLocalFile(path string, e Entry, cols map[string]bool, quick bool, delim byte) *Finding {
	st, err := os.Lstat(path)
	if err != nil {
		return &Finding{Reason: ReasonMissingFile, File: e.Name, Detail: err.Error()}
	}
	if !st.Mode().IsRegular() {
		return &Finding{Reason: ReasonNotRegular, File: e.Name, Detail: fmt.Sprintf("%s is %v, not a regular file", path, st.Mode().Type())}
	}
	if cols["bytes"] && st.Size() != e.Bytes {
		return &Finding{Reason: ReasonSizeMismatch, File: e.Name, Want: strconv.FormatInt(e.Bytes, 10), Got: strconv.FormatInt(st.Size(), 10)}
	}
	if quick {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return &Finding{Reason: ReasonMissingFile, File: e.Name, Detail: err.Error()}
	}
	defer f.Close()
	sc, err := scanFileDelim(f, cols["sha256"], delim)
	if err != nil {
		return &Finding{Reason: ReasonMissingFile, File: e.Name, Detail: "read: " + err.Error()}
	}
	if f := compareScan(e, cols, sc); f != nil {
		return f
	}
	if sc.DelimLine > 0 {
		return &Finding{Reason: ReasonDelimInChar, File: e.Name,
			Detail: fmt.Sprintf("line %d: a character's bytes include the delimiter %q: a reader splitting on it cuts the character (pack now rejects such rows)", sc.DelimLine, delim)}
	}
	return nil
}

// compareScan turns a scan into the first problem it shows, or nil.
func compareScan(e Entry, cols map[string]bool, sc scan) *Finding {
	switch {
	case cols["bytes"] && sc.Bytes != e.Bytes:
		return &Finding{Reason: ReasonSizeMismatch, File: e.Name, Want: strconv.FormatInt(e.Bytes, 10), Got: strconv.FormatInt(sc.Bytes, 10)}
	case cols["md5"] && e.MD5 != "" && sc.MD5 != e.MD5:
		return &Finding{Reason: ReasonChecksumMismatch, File: e.Name, Want: e.MD5, Got: sc.MD5, Detail: gzNote(sc)}
	case cols["sha256"] && e.SHA256 != "" && sc.SHA256 != e.SHA256:
		return &Finding{Reason: ReasonChecksumMismatch, File: e.Name, Want: e.SHA256, Got: sc.SHA256, Detail: gzNote(sc)}
	case sc.GzErr != nil:
		return &Finding{Reason: ReasonBadGzip, File: e.Name, Detail: sc.GzErr.Error()}
	case cols["lines"] && sc.Lines != e.Lines:
		return &Finding{Reason: ReasonLineMismatch, File: e.Name, Want: strconv.FormatInt(e.Lines, 10), Got: strconv.FormatInt(sc.Lines, 10)}
	}
	return nil
}

func gzNote(sc scan) string {
	if sc.GzErr != nil {
		return "md5 differs; also " + sc.GzErr.Error()
	}
	return ""
}
