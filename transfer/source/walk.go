package source

import (
	"context"
	"os"
	"path"
	"sort"
	"strings"
)

// walkRemote is the recursive listing of the HDFS and SFTP sources: the
// regular files below root (slash paths), hidden and _-prefixed names
// (Hidden) left out, as paths relative to base, sorted. readDir lists one
// folder and words its own errors; file, when not nil, sees each file
// listed (HDFS keeps its block size).
func walkRemote(ctx context.Context, root, base string, readDir func(dir string) ([]os.FileInfo, error), file func(p string, fi os.FileInfo)) ([]FileInfo, error) {
	var out []FileInfo
	var walk func(d string) error
	walk = func(d string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		fis, err := readDir(d)
		if err != nil {
			return err
		}
		for _, fi := range fis {
			if Hidden(fi.Name()) {
				continue
			}
			p := path.Join(d, fi.Name())
			if fi.IsDir() {
				if err := walk(p); err != nil {
					return err
				}
				continue
			}
			if !fi.Mode().IsRegular() {
				continue
			}
			if file != nil {
				file(p, fi)
			}
			rel := strings.TrimPrefix(strings.TrimPrefix(p, base), "/")
			out = append(out, FileInfo{Path: rel, Size: fi.Size(), ModTime: fi.ModTime()})
		}
		return nil
	}
	if err := walk(root); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}
