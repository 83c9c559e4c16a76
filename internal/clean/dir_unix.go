//go:build unix

package clean

import (
	"errors"
	"io/fs"
	"os"
	"sort"
	"time"

	"golang.org/x/sys/unix"

	"github.com/chama-data/chama/internal/lock"
)

// dirh is an open folder of the workdir, reached from the workdir one
// name at a time without following a symbolic link (openat with
// O_NOFOLLOW). Every listing, check and removal below it goes through
// its descriptor (fstatat, unlinkat), so a folder swapped for a link
// after clean listed it can never lead clean out of the workdir: the
// swapped name no longer opens as a folder.
type dirh struct {
	fd   int
	name string // for messages
}

// fileID tells one file from another: device and inode.
type fileID struct{ dev, ino uint64 }

func sameFile(a, b node) bool { return a.id == b.id }

// openWorkdir opens the workdir itself (a link to it is followed: the
// config names it).
func openWorkdir(path string) (*dirh, error) {
	fd, err := retryEINTR(func() (int, error) {
		return unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	})
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return &dirh{fd: fd, name: path}, nil
}

// open opens the folder name inside d; a link, or anything but a
// folder, is errNotFolder.
func (d *dirh) open(name string) (*dirh, error) {
	fd, err := retryEINTR(func() (int, error) {
		return unix.Openat(d.fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	})
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
		err = errNotFolder
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	return &dirh{fd: fd, name: name}, nil
}

func (d *dirh) close() { unix.Close(d.fd) }

// names lists the folder, sorted.
func (d *dirh) names() ([]string, error) {
	// A descriptor of its own, so that reading it moves no shared offset.
	fd, err := retryEINTR(func() (int, error) {
		return unix.Openat(d.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	})
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: d.name, Err: err}
	}
	f := os.NewFile(uintptr(fd), d.name)
	names, err := f.Readdirnames(-1)
	f.Close()
	sort.Strings(names)
	return names, err
}

// list lists the folder with what each entry is, links not followed.
// An entry that vanishes meanwhile is left out.
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

// stat describes name inside d; a link is described, not followed.
func (d *dirh) stat(name string) (node, error) {
	var st unix.Stat_t
	for {
		err := unix.Fstatat(d.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return node{}, &os.PathError{Op: "lstat", Path: name, Err: err}
		}
		return nodeOf(name, &st), nil
	}
}

func nodeOf(name string, st *unix.Stat_t) node {
	sec, nsec := st.Mtim.Unix()
	n := node{name: name, size: st.Size, mtime: time.Unix(sec, nsec), id: fileID{uint64(st.Dev), uint64(st.Ino)}}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		n.typ = 0
	case unix.S_IFDIR:
		n.typ = fs.ModeDir
	case unix.S_IFLNK:
		n.typ = fs.ModeSymlink
	default:
		n.typ = fs.ModeIrregular
	}
	return n
}

// unlink removes the file name inside d (a link itself, never its
// target).
func (d *dirh) unlink(name string) error {
	if err := unix.Unlinkat(d.fd, name, 0); err != nil {
		return &os.PathError{Op: "remove", Path: name, Err: err}
	}
	return nil
}

// rmdir removes the folder name inside d when it is empty; anything else
// (a link, a folder with something in it) stays.
func (d *dirh) rmdir(name string) error {
	if err := unix.Unlinkat(d.fd, name, unix.AT_REMOVEDIR); err != nil {
		return &os.PathError{Op: "rmdir", Path: name, Err: err}
	}
	return nil
}

// lock takes the exclusive lock of the lock file name inside d (still
// the file listed as want) without waiting, the way chama's commands
// take it: internal/lock on the descriptor opened here. held says
// another process has it; otherwise release lets it go (a file removed
// while locked is removed under the lock).
func (d *dirh) lock(name string, want node) (release func(), held bool, err error) {
	fd, err := retryEINTR(func() (int, error) {
		return unix.Openat(d.fd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	})
	if errors.Is(err, unix.ELOOP) {
		err = errChanged
	}
	if err != nil {
		return nil, false, &os.PathError{Op: "open", Path: name, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, false, &os.PathError{Op: "fstat", Path: name, Err: err}
	}
	if got := nodeOf(name, &st); !got.isRegular() || !sameFile(got, want) {
		unix.Close(fd)
		return nil, false, &os.PathError{Op: "lock", Path: name, Err: errChanged}
	}
	err = lock.TryFd(uintptr(fd), lock.Exclusive)
	if errors.Is(err, lock.ErrHeld) {
		unix.Close(fd)
		return nil, true, nil
	}
	if err != nil {
		unix.Close(fd)
		return nil, false, &os.PathError{Op: "flock", Path: name, Err: err}
	}
	return func() { unix.Close(fd) }, false, nil
}

func retryEINTR(f func() (int, error)) (int, error) {
	for {
		fd, err := f()
		if err != unix.EINTR {
			return fd, err
		}
	}
}
