//go:build !unix

package clean

import (
	"errors"
	"io/fs"
	"os"
	"sort"
)

// dirh is an open folder of the workdir. Off unix it is an os.Root:
// nothing below it can lead outside it, and each folder is checked not
// to be a link before it is opened.
type dirh struct {
	r    *os.Root
	name string
}

// fileID tells one file from another.
type fileID struct{ fi fs.FileInfo }

func sameFile(a, b node) bool {
	return a.id.fi != nil && b.id.fi != nil && os.SameFile(a.id.fi, b.id.fi)
}

func openWorkdir(path string) (*dirh, error) {
	r, err := os.OpenRoot(path)
	if err != nil {
		return nil, err
	}
	return &dirh{r: r, name: path}, nil
}

func (d *dirh) open(name string) (*dirh, error) {
	st, err := d.r.Lstat(name)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, &os.PathError{Op: "open", Path: name, Err: errNotFolder}
	}
	r, err := d.r.OpenRoot(name)
	if err != nil {
		return nil, err
	}
	return &dirh{r: r, name: name}, nil
}

func (d *dirh) close() { d.r.Close() }

func (d *dirh) names() ([]string, error) {
	f, err := d.r.Open(".")
	if err != nil {
		return nil, err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	sort.Strings(names)
	return names, err
}

func (d *dirh) list() ([]node, error) {
	names, err := d.names()
	if err != nil {
		return nil, err
	}
	nodes := make([]node, 0, len(names))
	for _, n := range names {
		st, err := d.stat(n)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, st)
	}
	return nodes, nil
}

func (d *dirh) stat(name string) (node, error) {
	fi, err := d.r.Lstat(name)
	if err != nil {
		return node{}, err
	}
	n := node{name: name, size: fi.Size(), mtime: fi.ModTime(), id: fileID{fi}}
	switch {
	case fi.Mode().IsRegular():
		n.typ = 0
	case fi.IsDir():
		n.typ = fs.ModeDir
	case fi.Mode()&fs.ModeSymlink != 0:
		n.typ = fs.ModeSymlink
	default:
		n.typ = fs.ModeIrregular
	}
	return n, nil
}

func (d *dirh) unlink(name string) error { return d.r.Remove(name) }

func (d *dirh) rmdir(name string) error {
	st, err := d.stat(name)
	if err != nil {
		return err
	}
	if !st.isDir() {
		return &os.PathError{Op: "rmdir", Path: name, Err: errNotFolder}
	}
	return d.r.Remove(name)
}

// lock: internal/lock takes no file locks off unix (every lock is
// granted at once), so no lock is ever held and the file is only checked
// to be the one listed.
func (d *dirh) lock(name string, want node) (func(), bool, error) {
	st, err := d.stat(name)
	if err != nil {
		return nil, false, err
	}
	if !st.isRegular() || !sameFile(st, want) {
		return nil, false, &os.PathError{Op: "lock", Path: name, Err: errChanged}
	}
	return func() {}, false, nil
}
