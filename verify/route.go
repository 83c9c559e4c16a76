package verify

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/progress"
	"github.com/chama-data/chama/naming"
)

// routeCheck is the check of one route through one session: what each
// phase of checkRoute needs, so the phases take no long parameter lists.
type routeCheck struct {
	s      *remoteSession
	rt     config.Route
	ifc    *config.Interface
	period string
	all    []*fileSet // every set of the period: a file of another set is not a stray
	deep   bool
	jobs   int
	meter  func(string, int) *progress.Meter
	r      *Result

	tpl, vt *naming.Template
	where   string // the findings' Where
	suffix  string // the target's suffix of unfinished uploads
}

// remoteRead is one remote file a deep check streams back.
type remoteRead struct {
	e    Entry
	cols map[string]bool
}

// checkRoute checks sets in one route's folder through session s; all is
// every set of the period (a file of another set is not a stray).
func checkRoute(ctx context.Context, s *remoteSession, cfg *config.Config, rt config.Route, ifc *config.Interface, period string, sets, all []*fileSet, deep bool, jobs int, meter func(string, int) *progress.Meter, r *Result) {
	tpl, vt := ifc.Template(), ifc.VerfTemplate()
	where := "target:" + rt.Target
	if s.err != nil {
		r.add(Finding{Reason: ReasonRemoteError, Where: where, Detail: s.err.Error()})
		return
	}
	if !slices.Contains(r.Hosts, s.host) {
		r.Hosts = append(r.Hosts, s.host)
	}
	t := cfg.Targets[rt.Target]
	suffix := t.PartSuffix
	if suffix == "" {
		suffix = ".part"
	}
	c := &routeCheck{s: s, rt: rt, ifc: ifc, period: period, all: all, deep: deep, jobs: jobs, meter: meter, r: r,
		tpl: tpl, vt: vt, where: where, suffix: suffix}
	dirs, byDir := setsByRemoteDir(rt, t, sets)
	for _, d := range dirs {
		c.checkDir(d, byDir[d])
	}
}

// setsByRemoteDir groups the sets by remote folder, folders in name
// order: a listing serves every set in it.
func setsByRemoteDir(rt config.Route, t *config.Target, sets []*fileSet) ([]string, map[string][]*fileSet) {
	byDir := map[string][]*fileSet{}
	var dirs []string
	for _, st := range sets {
		d := RemoteDir(rt, t, st.Dir)
		if byDir[d] == nil {
			dirs = append(dirs, d)
		}
		byDir[d] = append(byDir[d], st)
	}
	sort.Strings(dirs)
	return dirs, byDir
}

// checkDir checks the sets delivered into remote folder d against its
// listing: each set's .verf and files, then what else the folder holds,
// then (deep) the files' contents.
func (c *routeCheck) checkDir(d string, sets []*fileSet) {
	listing, err := c.s.list(d)
	if err != nil {
		c.r.add(Finding{Reason: ReasonRemoteError, Where: c.where, Host: c.s.host, Detail: fmt.Sprintf("list %s: %v", d, err)})
		return
	}
	known := map[string]bool{}
	for _, st := range c.all {
		known[st.Verf] = true
		for _, e := range st.Entries {
			known[e.Name] = true
		}
	}
	var reads []remoteRead
	for _, st := range sets {
		known[st.Verf] = true
		c.checkVerf(d, listing, st)
		reads = c.checkEntries(d, listing, st, known, reads)
	}
	c.checkOthers(d, listing, known)
	c.readBack(d, reads)
}

// checkVerf checks that set st's .verf is in the listing of d with the
// local size and, deep, the local content.
func (c *routeCheck) checkVerf(d string, listing map[string]fs.FileInfo, st *fileSet) {
	if fi, ok := listing[st.Verf]; !ok {
		c.r.add(Finding{Reason: ReasonMissingVerf, File: st.Verf, Where: c.where, Host: c.s.host, Detail: "not in " + d})
	} else if st.VerfSize >= 0 && fi.Size() != st.VerfSize {
		c.r.add(Finding{Reason: ReasonSizeMismatch, File: st.Verf, Where: c.where, Host: c.s.host, Want: strconv.FormatInt(st.VerfSize, 10), Got: strconv.FormatInt(fi.Size(), 10)})
	} else if c.deep && st.VerfData != nil {
		if f := sameVerf(c.s, path.Join(d, st.Verf), st); f != nil {
			f.Where, f.Host = c.where, c.s.host
			c.r.add(*f)
		}
	}
}

// checkEntries checks that every file set st lists is in the listing of
// d, a regular file of the listed size, and marks it known. Deep, it
// returns reads with the files to stream back appended.
func (c *routeCheck) checkEntries(d string, listing map[string]fs.FileInfo, st *fileSet, known map[string]bool, reads []remoteRead) []remoteRead {
	for _, e := range st.Entries {
		known[e.Name] = true
		fi, ok := listing[e.Name]
		switch {
		case !ok:
			c.r.add(Finding{Reason: ReasonMissingFile, File: e.Name, Where: c.where, Host: c.s.host, Detail: "not in " + d})
		case !fi.Mode().IsRegular():
			c.r.add(Finding{Reason: ReasonNotRegular, File: e.Name, Where: c.where, Host: c.s.host})
		case st.Cols["bytes"] && fi.Size() != e.Bytes:
			c.r.add(Finding{Reason: ReasonSizeMismatch, File: e.Name, Where: c.where, Host: c.s.host, Want: strconv.FormatInt(e.Bytes, 10), Got: strconv.FormatInt(fi.Size(), 10)})
		case c.deep:
			reads = append(reads, remoteRead{e, st.Cols})
		}
	}
	return reads
}

// checkOthers reports what d holds besides the known files: unfinished
// uploads of ours, files of an earlier re-send, and strays. Names go in
// order so output is stable.
func (c *routeCheck) checkOthers(d string, listing map[string]fs.FileInfo, known map[string]bool) {
	names := make([]string, 0, len(listing))
	for n := range listing {
		names = append(names, n)
	}
	sort.Strings(names)
	newest := c.newestResend()
	for _, n := range names {
		if known[n] {
			continue
		}
		if strings.HasSuffix(n, c.suffix) {
			inner := strings.TrimPrefix(strings.TrimSuffix(n, c.suffix), ".")
			if c.ours(inner, known) {
				c.r.add(Finding{Reason: ReasonPartLeftover, File: n, Where: c.where, Host: c.s.host, Detail: "unfinished upload of " + inner + " in " + d})
			}
			continue
		}
		if !c.ours(n, known) {
			continue
		}
		if rs, ok := c.resendOf(n); ok && newest >= 0 && rs < newest {
			// A file of an earlier re-send: the newest .verf
			// supersedes it, downstream reads that one.
			c.r.add(Finding{Severity: Warn, Reason: ReasonSuperseded, File: n, Where: c.where, Host: c.s.host,
				Detail: fmt.Sprintf("re-send %02d, superseded by re-send %02d in %s; downstream reads the newest .verf. chama never deletes remote files: remove it on the platform (sftp rm) once downstream has taken re-send %02d", rs, newest, d, newest)})
			continue
		}
		c.r.add(Finding{Reason: ReasonStrayFile, File: n, Where: c.where, Host: c.s.host, Detail: "in " + d + " but listed in no .verf of the period"})
	}
}

// resendOf reads the re-send number a file or .verf name carries.
func (c *routeCheck) resendOf(n string) (int, bool) {
	if f, ok := c.tpl.Parse(n); ok {
		return f.Resend, true
	}
	if f, ok := c.vt.Parse(n); ok {
		return f.Resend, true
	}
	return 0, false
}

// newestResend is the re-send the local sets carry (-1: none): files of
// earlier ones are superseded, not stray.
func (c *routeCheck) newestResend() int {
	newest := -1
	for _, st := range c.all {
		if rs, ok := c.resendOf(st.Verf); ok && rs > newest {
			newest = rs
		}
	}
	return newest
}

// ours reports whether n is a known file, or a name the interface makes
// for this period.
func (c *routeCheck) ours(n string, known map[string]bool) bool {
	if known[n] {
		return true
	}
	if f, ok := c.tpl.Parse(n); ok {
		return namePeriod(f) == c.period && (f.Iface == "" || f.Iface == c.ifc.Name)
	}
	if f, ok := c.vt.Parse(n); ok {
		return namePeriod(f) == c.period && (f.Iface == "" || f.Iface == c.ifc.Name)
	}
	return false
}

// readBack streams every present file back (deep), up to jobs at once,
// and reports the findings in the order of reads.
func (c *routeCheck) readBack(d string, reads []remoteRead) {
	out := make([]*Finding, len(reads))
	var m *progress.Meter
	if len(reads) > 0 {
		m = c.meter("remote files read on "+c.rt.Target, len(reads))
	}
	sem := make(chan struct{}, max(c.jobs, 1))
	var wg sync.WaitGroup
	for i, rd := range reads {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = deepCheck(c.s, path.Join(d, rd.e.Name), rd.e, rd.cols)
			m.Add(1)
		}()
	}
	wg.Wait()
	m.Close()
	for _, f := range out {
		if f != nil {
			f.Where, f.Host = c.where, c.s.host
			c.r.add(*f)
		}
	}
}
