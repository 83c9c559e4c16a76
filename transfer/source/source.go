// Package source is where data enters chama: the Source interface and
// its implementations (a local folder, HDFS, an SFTP relay), opened by
// name from the config with Open, and the one rule for which folders
// make up a period (Partitions) and when they are ready to read (Ready).
// Pull, pack and transform all read through it.
package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// FileInfo is one file of a partition.
type FileInfo struct {
	Path    string // as passed to Open
	Size    int64
	ModTime time.Time
}

// Source is where partitions are read from. Paths are slash-separated and
// relative to the source's root.
type Source interface {
	// List returns the regular files under dir (recursively), sorted by
	// path. Hidden files and files starting with '_' (Hive markers,
	// in-progress files) are left out. A missing dir is ErrNotFound.
	List(ctx context.Context, dir string) ([]FileInfo, error)
	// Exists reports whether a file (such as a _SUCCESS marker) exists.
	Exists(ctx context.Context, path string) (bool, error)
	// Open streams one file.
	Open(ctx context.Context, path string) (io.ReadCloser, error)
	// String names the source in messages.
	String() string
}

// ErrNotFound is returned for a partition that does not exist.
var ErrNotFound = errors.New("not found")

// Hidden reports whether a file name is skipped by List: Hive and Spark
// write markers and work files as _name or .name.
func Hidden(name string) bool {
	return strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".")
}

// Local is a Source on a local or mounted folder.
type Local struct{ Root string }

func (l *Local) String() string { return "file:" + l.Root }

func (l *Local) abs(p string) string { return filepath.Join(l.Root, filepath.FromSlash(p)) }

// List implements Source.
func (l *Local) List(ctx context.Context, dir string) ([]FileInfo, error) {
	root := l.abs(dir)
	st, err := os.Stat(root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("partition not found: %s: %w", root, ErrNotFound)
		}
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("partition %s is not a folder", root)
	}
	var out []FileInfo
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p != root && Hidden(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(l.Root, p)
		out = append(out, FileInfo{Path: filepath.ToSlash(rel), Size: info.Size(), ModTime: info.ModTime()})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// Exists implements Source.
func (l *Local) Exists(ctx context.Context, p string) (bool, error) {
	_, err := os.Stat(l.abs(p))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// Open implements Source.
func (l *Local) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	return os.Open(l.abs(p))
}
