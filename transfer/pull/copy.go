package pull

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/logkey"
	"github.com/chama-data/chama/internal/workdir"
	"github.com/chama-data/chama/transfer/source"
)

// sidecar is the record kept beside each staged file (as .<name>.chama):
// what it was copied from, so a re-run can skip it.
type sidecar struct {
	Source   string    `json:"source"`
	Path     string    `json:"path"`
	Bytes    int64     `json:"bytes"`
	ModTime  time.Time `json:"mtime"`
	Checksum string    `json:"checksum,omitempty"`
	// CRC32C is the read checksum of the staged copy (see File.CRC32C).
	CRC32C   string    `json:"crc32c,omitempty"`
	Verified time.Time `json:"verified"`
}

func sidecarPath(dst string) string {
	return filepath.Join(filepath.Dir(dst), workdir.StagedRecord(filepath.Base(dst)))
}

func partPath(dst string) string {
	return filepath.Join(filepath.Dir(dst), workdir.Staging(filepath.Base(dst)))
}

// MismatchError is a copy that does not match the source's own size or
// checksum.
type MismatchError struct {
	Path, Source string
	What         string // what differs: checksum
	Want, Got    string // the source's value, the copy's
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%s: %s mismatch after copying from %s: source has %s, the staged copy %s", e.Path, e.What, e.Source, e.Want, e.Got)
}

// isMismatch: a copy came out different from the source. Not a reason to
// switch sources: someone must look.
func isMismatch(err error) bool {
	var me *MismatchError
	return errors.As(err, &me)
}

var bufs = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// copyAll stages files (skipping those already staged and verified),
// at most the source's concurrency at a time.
func (r *runner) copyAll(ctx context.Context, st *sourceState, cs *config.Source, name string, files []source.FileInfo, stage string) ([]File, error) {
	out := make([]File, len(files))
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	for i, f := range files {
		dst := filepath.Join(stage, filepath.FromSlash(f.Path))
		if sc, ok := staged(dst, f); ok {
			out[i] = File{Path: f.Path, Bytes: f.Size, Checksum: sc.Checksum, CRC32C: sc.CRC32C, Skipped: true}
			continue
		}
		r.meter.Grow(f.Size)
		select {
		case st.sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return nil, ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-st.sem }()
			errs[i] = again(ctx, r.o.Log, cs.HDFS.Retries, cs.HDFS.RetryBackoff.D(), "copy "+f.Path, func() error {
				var err error
				out[i], err = r.copyFile(ctx, st, cs, name, f, dst)
				return err
			})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// staged reports whether dst is already a verified copy of f. A copy
// staged by a chama that recorded no read checksum (CRC32C) is copied
// again, so that pack and transform can check it when they read it.
func staged(dst string, f source.FileInfo) (sidecar, bool) {
	data, err := os.ReadFile(sidecarPath(dst))
	if err != nil {
		return sidecar{}, false
	}
	var sc sidecar
	if json.Unmarshal(data, &sc) != nil {
		return sidecar{}, false
	}
	st, err := os.Stat(dst)
	if err != nil {
		return sidecar{}, false
	}
	return sc, st.Size() == f.Size && sc.Bytes == f.Size && sc.ModTime.Equal(f.ModTime) && sc.CRC32C != ""
}

// copyFile copies one file to a hidden temp name, verifies it against the
// source, and renames it into place, then writes its sidecar. The bytes
// written are also hashed with CRC-32C, the read checksum pack and
// transform check the copy against when they read it (File.CRC32C).
func (r *runner) copyFile(ctx context.Context, st *sourceState, cs *config.Source, name string, f source.FileInfo, dst string) (File, error) {
	src := st.src
	out, tmp, err := createPart(dst)
	if err != nil {
		return File{}, err
	}
	ok := false
	defer func() {
		if !ok {
			out.Close()
			os.Remove(tmp)
		}
	}()
	v, verifies := src.(source.Verifier)
	var h hash.Hash
	if verifies {
		if h, err = v.NewHash(ctx, f.Path); err != nil {
			return File{}, err
		}
	}
	crc := crc32.New(castagnoli)
	n, err := r.fetch(ctx, st, cs, f, out, tmp, h, crc)
	if err != nil {
		return File{}, err
	}
	if err := out.Sync(); err != nil {
		return File{}, err
	}
	if err := out.Close(); err != nil {
		return File{}, err
	}
	sum := ""
	if verifies {
		if sum, err = r.verify(ctx, src, name, v, h, f, tmp, n); err != nil {
			return File{}, err
		}
	} else if n != f.Size {
		return File{}, fmt.Errorf("%s changed during the pull: listed with %d bytes, %d copied", f.Path, f.Size, n)
	}
	if err := placeCopy(tmp, dst, f); err != nil {
		return File{}, err
	}
	ok = true
	rsum := hex.EncodeToString(crc.Sum(nil))
	if err := r.recordStaged(name, f, dst, n, sum, rsum); err != nil {
		return File{}, err
	}
	return File{Path: f.Path, Bytes: n, Checksum: sum, CRC32C: rsum}, nil
}

// castagnoli is the CRC-32C table (hardware-accelerated on amd64 and arm64).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// createPart makes dst's folder and creates dst's hidden temp name,
// empty, for a new copy. It returns the open file and its name.
func createPart(dst string) (*os.File, string, error) {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return nil, "", err
	}
	os.Remove(sidecarPath(dst)) // the old copy is no longer vouched for
	tmp := partPath(dst)
	// A raw copy of the source, personal data: the owner only.
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, "", err
	}
	return out, tmp, nil
}

// fetch copies f's bytes into out (tmp, open) and hashes them with crc
// and, when h is not nil, h: as ranges at once when the file is above the
// source's split size and the source can read ranges, otherwise as one
// stream. It returns the bytes copied.
func (r *runner) fetch(ctx context.Context, st *sourceState, cs *config.Source, f source.FileInfo, out *os.File, tmp string, h hash.Hash, crc hash.Hash) (int64, error) {
	ranges := splitRanges(f.Size, cs.HDFS.SplitAbove)
	ro, canRange := st.src.(source.RangeOpener)
	if len(ranges) > 1 && canRange {
		if err := r.copyRanges(ctx, st, ro, f, out, ranges); err != nil {
			return 0, err
		}
		// The hashes run over the copy, in order, once it is complete.
		var w io.Writer = crc
		if h != nil {
			w = io.MultiWriter(h, crc)
		}
		if err := hashFile(w, tmp); err != nil {
			return 0, err
		}
		return f.Size, nil
	}
	return r.fetchStream(ctx, st.src, f, out, h, crc)
}

// hashFile feeds the file at path to h.
func hashFile(h io.Writer, path string) error {
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	_, err = copyBuf(h, in)
	in.Close()
	return err
}

// fetchStream copies f from src into out in one read, through the meter,
// crc and, when h is not nil, h. It returns the bytes copied.
func (r *runner) fetchStream(ctx context.Context, src source.Source, f source.FileInfo, out *os.File, h hash.Hash, crc hash.Hash) (int64, error) {
	rc, err := src.Open(ctx, f.Path)
	if err != nil {
		return 0, err
	}
	w := io.MultiWriter(r.meter.Writer(out), crc)
	if h != nil {
		w = io.MultiWriter(w, h)
	}
	n, err := copyBuf(w, rc)
	rc.Close()
	if err != nil {
		return 0, fmt.Errorf("copying %s from %s: %w", f.Path, src, err)
	}
	return n, nil
}

// verify checks the n bytes copied to tmp, hashed by h, against the
// size and checksum src (v) has for f now, and returns the checksum in
// hex. A size that moved is an error a retry may clear; a checksum that
// differs, even in the store's other kinds, is a *MismatchError.
func (r *runner) verify(ctx context.Context, src source.Source, name string, v source.Verifier, h hash.Hash, f source.FileInfo, tmp string, n int64) (string, error) {
	size, want, err := v.Sum(ctx, f.Path)
	if err != nil {
		return "", err
	}
	if size != n {
		// The file changed size between the read and now: a retry
		// copies it again.
		return "", fmt.Errorf("%s changed during the pull: %s has %d bytes now, %d were copied", f.Path, src, size, n)
	}
	got := h.Sum(nil)
	if !bytes.Equal(want, got) {
		if alt, ok := src.(source.AltVerifier); ok {
			m, err := altMatch(ctx, alt, f.Path, tmp, want)
			if err != nil {
				return "", err
			}
			if m != nil {
				r.o.Log.Info("copy verified with the store's other checksum kind", "path", f.Path, "source", name)
				got = m
			}
		}
	}
	if !bytes.Equal(want, got) {
		return "", &MismatchError{Path: f.Path, Source: src.String(), What: "checksum", Want: hex.EncodeToString(want), Got: hex.EncodeToString(got)}
	}
	return hex.EncodeToString(got), nil
}

// placeCopy gives the verified copy tmp its final name dst, with the
// source's mtime, so quiet-period readiness works on the staged copy too.
func placeCopy(tmp, dst string, f source.FileInfo) error {
	if !f.ModTime.IsZero() {
		os.Chtimes(tmp, f.ModTime, f.ModTime)
	}
	return os.Rename(tmp, dst)
}

// recordStaged writes the sidecar of the staged copy dst of f (n bytes,
// checksum sum, read checksum rsum, from the source name), so a re-run
// can skip it, and counts the file as staged.
func (r *runner) recordStaged(name string, f source.FileInfo, dst string, n int64, sum, rsum string) error {
	sc := sidecar{Source: name, Path: f.Path, Bytes: n, ModTime: f.ModTime, Checksum: sum, CRC32C: rsum, Verified: time.Now().UTC()}
	data, _ := json.Marshal(sc)
	if err := writeAtomic(sidecarPath(dst), data); err != nil {
		return err
	}
	r.meter.AddFiles(1)
	r.o.Log.Debug("staged", "path", f.Path, logkey.Bytes, n, "source", name)
	return nil
}

// altMatch recomputes the copy with the source's other checksum kinds;
// it returns the one that matches want, or nil.
func altMatch(ctx context.Context, alt source.AltVerifier, path, copyPath string, want []byte) ([]byte, error) {
	hs, err := alt.AltHashes(ctx, path)
	if err != nil || len(hs) == 0 {
		return nil, err
	}
	in, err := os.Open(copyPath)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	ws := make([]io.Writer, len(hs))
	for i, h := range hs {
		ws[i] = h
	}
	if _, err := copyBuf(io.MultiWriter(ws...), in); err != nil {
		return nil, err
	}
	for _, h := range hs {
		if s := h.Sum(nil); bytes.Equal(s, want) {
			return s, nil
		}
	}
	return nil, nil
}

// copyBuf copies with a pooled 1 MiB buffer; the writer's ReadFrom is
// not used, so reads are large.
func copyBuf(w io.Writer, r io.Reader) (int64, error) {
	bp := bufs.Get().(*[]byte)
	defer bufs.Put(bp)
	return io.CopyBuffer(struct{ io.Writer }{w}, struct{ io.Reader }{r}, *bp)
}

// splitRanges cuts a file larger than splitAbove into ranges of about
// splitAbove/2 (1 MiB aligned); smaller files are one range.
func splitRanges(size, splitAbove int64) [][2]int64 {
	if splitAbove <= 0 || size <= splitAbove {
		return [][2]int64{{0, size}}
	}
	step := max((splitAbove/2)&^(1<<20-1), 1<<20)
	var out [][2]int64
	for off := int64(0); off < size; off += step {
		out = append(out, [2]int64{off, min(step, size-off)})
	}
	return out
}

// copyRanges copies ranges of one file in parallel: the caller's slot
// runs one range, and more run at once while free slots can be taken
// without waiting (so files never wait on each other's ranges).
func (r *runner) copyRanges(ctx context.Context, st *sourceState, ro source.RangeOpener, f source.FileInfo, out *os.File, ranges [][2]int64) error {
	var wg sync.WaitGroup
	errs := make([]error, len(ranges))
	one := func(i int) {
		rg := ranges[i]
		rc, err := ro.OpenRange(ctx, f.Path, rg[0], rg[1])
		if err != nil {
			errs[i] = err
			return
		}
		defer rc.Close()
		n, err := copyBuf(r.meter.Writer(io.NewOffsetWriter(out, rg[0])), rc)
		if err == nil && n != rg[1] {
			err = fmt.Errorf("%s: range at %d: %d bytes read, %d expected", f.Path, rg[0], n, rg[1])
		}
		errs[i] = err
	}
	for i := range ranges {
		if ctx.Err() != nil {
			break
		}
		select {
		case st.sem <- struct{}{}:
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-st.sem }()
				one(i)
			}()
		default:
			one(i)
		}
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.Join(errs...)
}
