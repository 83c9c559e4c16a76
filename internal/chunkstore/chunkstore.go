// Package chunkstore is the shared home of hour chunks (config
// chunk_store): a folder every interface machine mounts (NFS), or a
// directory on HDFS. An hour packed on any machine is put here, and the
// day is assembled, on any machine, from what is here.
//
// Versions are never overwritten, so no machine can damage another's
// work: an hour holds versions, each a folder of the chunk's files and a
// commit record written last, named by the fencing number of the lease
// the packing run held:
//
//	<iface>/<YYYYMMDDHH>/v000000000007-<rand>/{chunk files, manifest.json, ...}
//	<iface>/<YYYYMMDDHH>/v000000000007-<rand>.commit.json
//
// Readers take the committed version with the highest fencing number.
// A run whose lease was taken over (a lower number) may still finish
// writing, but its version loses to the new holder's whatever the order
// of the writes: fencing by construction, with the lease check before the
// commit record as the first line.
package chunkstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/transfer/source"
)

// FS is what a store needs of its storage. Paths are slash-separated and
// relative to the store's root.
type FS interface {
	// List returns the regular files under dir, recursively (hidden
	// files and those starting with '_' left out); a missing dir is
	// source.ErrNotFound.
	List(ctx context.Context, dir string) ([]source.FileInfo, error)
	Open(ctx context.Context, p string) (io.ReadCloser, error)
	MkdirAll(ctx context.Context, dir string) error
	// Create writes a file that appears whole under its name on Close.
	Create(ctx context.Context, p string) (io.WriteCloser, error)
	RemoveAll(ctx context.Context, p string) error
	String() string
}

// Store is an opened chunk store.
type Store struct {
	fs    FS
	close func() error
}

// Open opens the config's chunk store; nil (and no error) when it has none.
func Open(c *config.Config) (*Store, error) {
	cs := c.ChunkStore
	if cs == nil {
		return nil, nil
	}
	switch cs.Type {
	case "file":
		// A store folder that is not there is most likely an NFS mount
		// missing on this machine: never fall back to a private folder.
		if st, err := os.Stat(cs.Dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("chunk_store.dir %s is not a folder here (is the shared store mounted on this machine?): %v", cs.Dir, err)
		}
		return &Store{fs: &dirFS{root: cs.Dir}, close: func() error { return nil }}, nil
	case "hdfs":
		src := *c.Sources[cs.Source]
		src.Root = cs.Dir
		cc := *c
		cc.Sources = map[string]*config.Source{cs.Source: &src}
		s, err := source.Open(&cc, cs.Source)
		if err != nil {
			return nil, fmt.Errorf("chunk_store: %w", err)
		}
		h, ok := s.(*source.HDFS)
		if !ok {
			source.Close(s)
			return nil, fmt.Errorf("chunk_store: source %s is not hdfs", cs.Source)
		}
		return &Store{fs: h, close: func() error { return source.Close(h) }}, nil
	}
	return nil, fmt.Errorf("chunk_store: unknown type %q", cs.Type)
}

// New is a store on fs (tests).
func New(fs FS) *Store { return &Store{fs: fs, close: func() error { return nil }} }

// Close releases the store's connections.
func (s *Store) Close() error {
	if s == nil {
		return nil
	}
	return s.close()
}

func (s *Store) String() string { return s.fs.String() }

// Version is one committed chunk of an hour.
type Version struct {
	Name   string    `json:"name"`  // v<fence>-<rand>
	Fence  int64     `json:"fence"` // of the lease the packing run held
	Owner  string    `json:"owner"` // machine:pid:run
	Packed time.Time `json:"packed"`
	Files  []File    `json:"files"`
	Hour   string    `json:"hour"` // YYYYMMDDHH
	Iface  string    `json:"iface"`
}

// File is one file of a version.
type File struct {
	Path  string `json:"path"` // relative to the version folder
	Bytes int64  `json:"bytes"`
}

func hourDir(iface, hour string) string { return iface + "/" + hour }

const commitSuffix = ".commit.json"

// Latest is the hour's committed version with the highest fencing number
// (nil when the hour has none).
func (s *Store) Latest(ctx context.Context, iface, hour string) (*Version, error) {
	files, err := s.fs.List(ctx, hourDir(iface, hour))
	if errors.Is(err, source.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("chunk store %s: %s %s: %w", s, iface, hour, err)
	}
	var best *Version
	for _, f := range files {
		name := path.Base(f.Path)
		if path.Dir(f.Path) != hourDir(iface, hour) || !strings.HasSuffix(name, commitSuffix) {
			continue
		}
		v, err := s.readCommit(ctx, f.Path)
		if err != nil {
			return nil, err
		}
		if best == nil || v.Fence > best.Fence || v.Fence == best.Fence && v.Name > best.Name {
			best = v
		}
	}
	return best, nil
}

func (s *Store) readCommit(ctx context.Context, p string) (*Version, error) {
	rc, err := s.fs.Open(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("chunk store %s: %w", s, err)
	}
	defer rc.Close()
	var v Version
	if err := json.NewDecoder(io.LimitReader(rc, 1<<20)).Decode(&v); err != nil {
		return nil, fmt.Errorf("chunk store %s: commit record %s: %w", s, p, err)
	}
	if v.Name+commitSuffix != path.Base(p) {
		return nil, fmt.Errorf("chunk store %s: commit record %s names version %q", s, p, v.Name)
	}
	return &v, nil
}

// versionName is v<fence, 12 digits>-<random>: sorted by fence.
func versionName(fence int64) string {
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("v%012d-%s", fence, hex.EncodeToString(b[:]))
}

// Put copies the local chunk folder src (every regular file in it) into
// the store as a new version of iface's hour under fence and owner. check
// (the lease's fencing check) runs after the files are in and before the
// commit record that makes the version visible is written.
func (s *Store) Put(ctx context.Context, iface, hour, src string, fence int64, owner string, check func(context.Context) error) (*Version, error) {
	v := &Version{Name: versionName(fence), Fence: fence, Owner: owner, Packed: time.Now().UTC().Truncate(time.Second), Hour: hour, Iface: iface}
	dir := hourDir(iface, hour) + "/" + v.Name
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if source.Hidden(d.Name()) {
			return nil // locks and temporary files are not the chunk
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		n, err := s.copyIn(ctx, p, dir+"/"+rel)
		if err != nil {
			return err
		}
		v.Files = append(v.Files, File{Path: rel, Bytes: n})
		return nil
	})
	if err != nil {
		s.fs.RemoveAll(context.WithoutCancel(ctx), dir)
		return nil, fmt.Errorf("chunk store %s: put %s %s: %w", s, iface, hour, err)
	}
	if check != nil {
		if err := check(ctx); err != nil {
			s.fs.RemoveAll(context.WithoutCancel(ctx), dir)
			return nil, err
		}
	}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	if _, err := s.write(ctx, hourDir(iface, hour)+"/"+v.Name+commitSuffix, bytes.NewReader(data)); err != nil {
		return nil, fmt.Errorf("chunk store %s: commit %s %s: %w", s, iface, hour, err)
	}
	return v, nil
}

func (s *Store) copyIn(ctx context.Context, local, p string) (int64, error) {
	in, err := os.Open(local)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	return s.write(ctx, p, in)
}

// write stores r's bytes as p, whole on success (a failed write is not
// published: see FS.Create).
func (s *Store) write(ctx context.Context, p string, r io.Reader) (int64, error) {
	if err := s.fs.MkdirAll(ctx, path.Dir(p)); err != nil {
		return 0, err
	}
	w, err := s.fs.Create(ctx, p)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(w, r)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// Fetch copies version v of iface's hour into the local folder dst (made
// anew: a temporary sibling renamed into place), checking each file's
// size against the commit record.
func (s *Store) Fetch(ctx context.Context, v *Version, dst string) error {
	tmp := dst + ".fetch-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for _, f := range v.Files {
		p := hourDir(v.Iface, v.Hour) + "/" + v.Name + "/" + f.Path
		if err := s.copyOut(ctx, p, filepath.Join(tmp, filepath.FromSlash(f.Path)), f.Bytes); err != nil {
			return fmt.Errorf("chunk store %s: fetch %s %s (version %s by %s): %w", s, v.Iface, v.Hour, v.Name, v.Owner, err)
		}
	}
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

func (s *Store) copyOut(ctx context.Context, p, local string, want int64) error {
	rc, err := s.fs.Open(ctx, p)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(local, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	n, err := io.Copy(out, rc)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != want {
		err = fmt.Errorf("%s is %d bytes, its commit record says %d", p, n, want)
	}
	return err
}

// Versions lists every committed version of an interface's hours, by hour
// then fence (status, retention).
func (s *Store) Versions(ctx context.Context, iface string) ([]*Version, error) {
	files, err := s.fs.List(ctx, iface)
	if errors.Is(err, source.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*Version
	for _, f := range files {
		if strings.HasSuffix(f.Path, commitSuffix) && strings.Count(strings.TrimPrefix(f.Path, iface+"/"), "/") == 1 {
			v, err := s.readCommit(ctx, f.Path)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Hour != out[j].Hour {
			return out[i].Hour < out[j].Hour
		}
		return out[i].Fence < out[j].Fence
	})
	return out, nil
}

// dirFS is a store on a local or mounted folder (NFS): files are written
// under a hidden name, synced, and renamed into place.
type dirFS struct{ root string }

func (d *dirFS) String() string { return "file:" + d.root }

func (d *dirFS) abs(p string) string { return filepath.Join(d.root, filepath.FromSlash(p)) }

func (d *dirFS) List(ctx context.Context, dir string) ([]source.FileInfo, error) {
	return (&source.Local{Root: d.root}).List(ctx, dir)
}

func (d *dirFS) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	return (&source.Local{Root: d.root}).Open(ctx, p)
}

func (d *dirFS) MkdirAll(_ context.Context, dir string) error {
	return os.MkdirAll(d.abs(dir), 0o755)
}

func (d *dirFS) RemoveAll(_ context.Context, p string) error { return os.RemoveAll(d.abs(p)) }

func (d *dirFS) Create(_ context.Context, p string) (io.WriteCloser, error) {
	final := d.abs(p)
	f, err := os.CreateTemp(filepath.Dir(final), "."+filepath.Base(final)+".*.tmp")
	if err != nil {
		return nil, err
	}
	return &dirFile{f: f, final: final}, nil
}

type dirFile struct {
	f     *os.File
	final string
	err   error
}

func (w *dirFile) Write(b []byte) (int, error) {
	n, err := w.f.Write(b)
	if err != nil {
		w.err = err
	}
	return n, err
}

// Close syncs the file and renames it into place; after a failed write
// the file is removed instead.
func (w *dirFile) Close() error {
	err := w.err
	if err == nil {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(w.f.Name(), w.final)
	}
	if err != nil {
		os.Remove(w.f.Name())
	}
	return err
}

// Pruned is one folder Prune removed (or would remove).
type Pruned struct {
	Path  string // relative to the store
	Why   string // "retention", "superseded" or "uncommitted"
	Bytes int64
}

// Prune removes from iface's part of the store: every hour of a day
// before firstDay (YYYYMMDD, the retention), and, in the hours kept,
// versions a later one superseded and version folders without a commit
// record (a run that died before committing), once their files are older
// than settled (a fetch in progress may still read them). dryRun
// removes nothing.
func (s *Store) Prune(ctx context.Context, iface, firstDay string, settled time.Time, dryRun bool) ([]Pruned, error) {
	files, err := s.fs.List(ctx, iface)
	if errors.Is(err, source.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	type ver struct {
		bytes     int64
		newest    time.Time
		committed bool
	}
	hours := map[string]map[string]*ver{} // hour -> version name -> files
	for _, f := range files {
		parts := strings.Split(strings.TrimPrefix(f.Path, iface+"/"), "/")
		if len(parts) < 2 || len(parts[0]) != 10 {
			continue
		}
		hour := parts[0]
		name := strings.TrimSuffix(parts[1], commitSuffix)
		if hours[hour] == nil {
			hours[hour] = map[string]*ver{}
		}
		v := hours[hour][name]
		if v == nil {
			v = &ver{}
			hours[hour][name] = v
		}
		v.bytes += f.Size
		if f.ModTime.After(v.newest) {
			v.newest = f.ModTime
		}
		if len(parts) == 2 && strings.HasSuffix(parts[1], commitSuffix) {
			v.committed = true
		}
	}
	var out []Pruned
	remove := func(p, why string, n int64) error {
		out = append(out, Pruned{Path: p, Why: why, Bytes: n})
		if dryRun {
			return nil
		}
		return s.fs.RemoveAll(ctx, p)
	}
	for _, hour := range sortedKeys(hours) {
		vs := hours[hour]
		dir := hourDir(iface, hour)
		if hour[:8] < firstDay {
			var n int64
			for _, v := range vs {
				n += v.bytes
			}
			if err := remove(dir, "retention", n); err != nil {
				return out, err
			}
			continue
		}
		latest := ""
		for name, v := range vs {
			if v.committed && name > latest {
				latest = name // v<12-digit fence>-<rand>: name order is fence order
			}
		}
		for _, name := range sortedKeys(vs) {
			v := vs[name]
			why, since := "", v.newest
			switch {
			case !v.committed:
				why = "uncommitted"
			case name < latest:
				// Superseded when the latest was committed: a reader may
				// have chosen this one just before.
				why, since = "superseded", vs[latest].newest
			}
			if why == "" || since.After(settled) || v.newest.After(settled) {
				continue
			}
			if v.committed { // the record first: the version is gone at once
				if err := remove(dir+"/"+name+commitSuffix, why, 0); err != nil {
					return out, err
				}
			}
			if err := remove(dir+"/"+name, why, v.bytes); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
