package verify

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"sync"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/progress"
)

// RemoteFS is the little of an SFTP session that remote checks need, so
// they can run against a local folder in tests (DirFS) and over SFTP for
// real (sshconn.TargetFS, which puts every operation under the target's
// timeout). Paths are slash-separated.
type RemoteFS interface {
	ReadDir(dir string) ([]fs.FileInfo, error)
	Stat(p string) (fs.FileInfo, error)
	Open(p string) (io.ReadCloser, error)
}

// Dialer opens a session on one endpoint of target name. host names the
// endpoint in findings; closeFn ends the session.
// host, when not "", asks for that endpoint (host:port) of the target;
// "" means the first one that answers, primaries first.
type Dialer func(ctx context.Context, name string, t *config.Target, host string) (fsys RemoteFS, addr string, closeFn func() error, err error)

// RemoteDir is the folder a route delivers a set into: the route's dir,
// else the target's. Sets of a partitioned interface share it; their
// names already differ by partition value.
func RemoteDir(rt config.Route, t *config.Target, setDir string) string {
	d := rt.Dir
	if d == "" {
		d = t.Dir
	}
	return d
}

// remoteSession is one open target, shared by all periods of a run.
type remoteSession struct {
	fs      RemoteFS
	host    string
	close   func() error
	err     error
	mu      sync.Mutex
	listing map[string]map[string]fs.FileInfo
	listErr map[string]error
}

func (s *remoteSession) list(dir string) (map[string]fs.FileInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.listing[dir]; ok {
		return l, s.listErr[dir]
	}
	fis, err := s.fs.ReadDir(dir)
	m := map[string]fs.FileInfo{}
	for _, fi := range fis {
		m[fi.Name()] = fi
	}
	s.listing[dir], s.listErr[dir] = m, err
	return m, err
}

type sessions struct {
	dial Dialer
	cfg  *config.Config
	mu   sync.Mutex
	open map[string]*remoteSession
}

func (ss *sessions) get(ctx context.Context, name, host string) *remoteSession {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	key := name + "\x00" + host
	if s, ok := ss.open[key]; ok {
		return s
	}
	s := &remoteSession{listing: map[string]map[string]fs.FileInfo{}, listErr: map[string]error{}}
	t := ss.cfg.Targets[name]
	switch {
	case t == nil:
		s.err = fmt.Errorf("unknown target %q", name)
	case ss.dial == nil:
		s.err = fmt.Errorf("no way to reach target %q in this build", name)
	default:
		s.fs, s.host, s.close, s.err = ss.dial(ctx, name, t, host)
	}
	ss.open[key] = s
	return s
}

func (ss *sessions) closeAll() {
	for _, s := range ss.open {
		if s.close != nil {
			s.close()
		}
	}
}

// Holders says, for one interface, period and target, which hosts hold
// which sets: host:port -> the .verf names published there (push's
// delivery record). nil or empty: not known, check the first host that
// answers.
type Holders func(iface, period, target string) map[string][]string

// checkRemote compares each route's remote folder with the local sets.
// Where the delivery record says which host holds a set (a target whose
// hosts keep storage of their own), the set is checked through that host:
// a .verf promises its whole set on the host it is on.
func checkRemote(ctx context.Context, ss *sessions, holders Holders, ifc *config.Interface, period string, sets []*fileSet, deep bool, jobs int, meter func(string, int) *progress.Meter, r *Result) {
	if len(ifc.Routes) == 0 {
		r.add(Finding{Severity: Warn, Reason: ReasonNoRoute, Where: "remote", Detail: "the interface has no routes: nothing to check remotely"})
	}
	for _, rt := range ifc.Routes {
		r.Remote = append(r.Remote, rt.Target)
		var held map[string][]string
		if holders != nil {
			held = holders(ifc.Name, period, rt.Target)
		}
		byHost := map[string][]*fileSet{}
		for _, st := range sets {
			placed := false
			for h, verfs := range held {
				if slices.Contains(verfs, st.Verf) {
					byHost[h] = append(byHost[h], st)
					placed = true
				}
			}
			if !placed {
				byHost[""] = append(byHost[""], st)
			}
		}
		hosts := make([]string, 0, len(byHost))
		for h := range byHost {
			hosts = append(hosts, h)
		}
		sort.Strings(hosts)
		for _, h := range hosts {
			checkRoute(ctx, ss.get(ctx, rt.Target, h), ss.cfg, rt, ifc, period, byHost[h], sets, deep, jobs, meter, r)
		}
	}
}

// remoteSets reads the period's .verf files from the first route whose
// folder has any, for checking a period whose local output is gone.
func remoteSets(ctx context.Context, ss *sessions, ifc *config.Interface, period string, r *Result) []*fileSet {
	vt := ifc.VerfTemplate()
	for _, rt := range ifc.Routes {
		s := ss.get(ctx, rt.Target, "")
		if s.err != nil {
			continue // reported by checkRemote
		}
		d := RemoteDir(rt, ss.cfg.Targets[rt.Target], "")
		listing, err := s.list(d)
		if err != nil {
			continue
		}
		var names []string
		for n := range listing {
			if f, ok := vt.Parse(n); ok && namePeriod(f) == period && (f.Iface == "" || f.Iface == ifc.Name) {
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			continue
		}
		sort.Strings(names)
		where := "target:" + rt.Target
		var sets []*fileSet
		for _, n := range names {
			data, err := readAll(s.fs, path.Join(d, n))
			if err != nil {
				r.add(Finding{Reason: ReasonRemoteError, File: n, Where: where, Host: s.host, Detail: err.Error()})
				continue
			}
			es, cols, err := parseAnyVerf(ifc.VerfColumns, data)
			if err != nil {
				r.add(Finding{Reason: ReasonBadVerf, File: n, Where: where, Host: s.host, Detail: err.Error()})
				continue
			}
			sets = append(sets, &fileSet{Verf: n, VerfSize: int64(len(data)), VerfData: data, Cols: colSet(cols), ColList: cols, Entries: es})
		}
		return sets
	}
	return nil
}

func readAll(fsys RemoteFS, p string) ([]byte, error) {
	rc, err := fsys.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", p, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	return b, nil
}

// sameVerf reads the remote .verf back and compares it with the local one.
func sameVerf(s *remoteSession, p string, st *fileSet) *Finding {
	rc, err := s.fs.Open(p)
	if err != nil {
		return &Finding{Reason: ReasonRemoteError, File: st.Verf, Detail: "open: " + err.Error()}
	}
	defer rc.Close()
	got, err := io.ReadAll(io.LimitReader(rc, st.VerfSize+1))
	if err != nil {
		return &Finding{Reason: ReasonRemoteError, File: st.Verf, Detail: "read: " + err.Error()}
	}
	if !bytes.Equal(got, st.VerfData) && !sameButCtime(got, st) {
		return &Finding{Reason: ReasonChecksumMismatch, File: st.Verf, Want: md5hex(st.VerfData), Got: md5hex(got), Detail: "the remote .verf differs from the local one"}
	}
	return nil
}

// sameButCtime: the remote .verf lists the same files as the local one
// and differs only in the ctime column. A re-pack of unchanged inputs
// writes a new ctime, and push keeps the .verf it delivered for such a
// set (the same set), so this is not a finding.
func sameButCtime(remote []byte, st *fileSet) bool {
	if !st.Cols["ctime"] || st.ColList == nil {
		return false
	}
	es, err := ParseVerf(st.ColList, remote)
	if err != nil || len(es) != len(st.Entries) {
		return false
	}
	for i, e := range es {
		l := st.Entries[i]
		e.Ctime, l.Ctime = "", ""
		if e != l {
			return false
		}
	}
	return true
}

func deepCheck(s *remoteSession, p string, e Entry, cols map[string]bool) *Finding {
	rc, err := s.fs.Open(p)
	if err != nil {
		return &Finding{Reason: ReasonRemoteError, File: e.Name, Detail: "open: " + err.Error()}
	}
	defer rc.Close()
	var src io.Reader = rc
	if wt, ok := rc.(io.WriterTo); ok {
		// An SFTP file streams much faster through its WriteTo, which keeps
		// several read requests in flight, than through 32 KiB Reads.
		pr, pw := io.Pipe()
		go func() { _, err := wt.WriteTo(pw); pw.CloseWithError(err) }()
		defer pr.Close()
		src = pr
	}
	sc, err := scanFile(src, cols["sha256"])
	if err != nil {
		return &Finding{Reason: ReasonRemoteError, File: e.Name, Detail: "read: " + err.Error()}
	}
	return compareScan(e, cols, sc)
}

// DirFS is a RemoteFS on a local folder, for tests and for targets
// mounted locally. Paths are taken relative to Root.
type DirFS struct{ Root string }

func (d DirFS) abs(p string) string { return filepath.Join(d.Root, filepath.FromSlash(p)) }

// ReadDir implements RemoteFS.
func (d DirFS) ReadDir(dir string) ([]fs.FileInfo, error) {
	ents, err := os.ReadDir(d.abs(dir))
	if err != nil {
		return nil, err
	}
	out := make([]fs.FileInfo, 0, len(ents))
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			return nil, err
		}
		out = append(out, fi)
	}
	return out, nil
}

// Stat implements RemoteFS.
func (d DirFS) Stat(p string) (fs.FileInfo, error) { return os.Stat(d.abs(p)) }

// Open implements RemoteFS.
func (d DirFS) Open(p string) (io.ReadCloser, error) { return os.Open(d.abs(p)) }

func md5hex(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }
