package push

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/pkg/sftp"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/transfer/sshconn"
)

// upload is one file to publish to one remote folder.
type upload struct {
	Local  string // local path
	Name   string // final name
	Dir    string // remote folder
	Size   int64
	MD5    string // from the manifest ("" if unknown)
	Verf   bool   // a .verf: compared by content, not size
	Suffix string // temporary-name suffix (".part")
	// VerfColumns is the .verf layout, so that a re-pack that changed
	// only the ctime column counts as the same set.
	VerfColumns []string

	// KnownMD5 is the md5 a previous run recorded for the remote final
	// file ("" if none); Overwrite allows replacing a differing final file.
	KnownMD5  string
	Overwrite bool
	Checksum  bool // confirm with a remote md5sum exec
	// Recheck (--force) distrusts the delivery record: an existing final
	// file is compared by content (remote md5sum, else read back), so a
	// file damaged on the platform after delivery is found and replaced.
	Recheck bool
	// NoPosixRename forces the remove-then-rename path (tests).
	NoPosixRename bool
	// Fence, when set, is the job's lease check, run just before the
	// rename that makes the file visible: a run whose lease another
	// machine took over must not publish over its work.
	Fence func(context.Context) error
	// Confirmed is how much of the .part an earlier attempt of this run
	// saw acknowledged, in order, before its connection broke (0: not
	// known). A resume starts there instead of a window before the
	// .part's end, so a link that drops every few MB still moves forward.
	Confirmed int64
}

func (u *upload) final() string { return path.Join(u.Dir, u.Name) }
func (u *upload) part() string  { return path.Join(u.Dir, "."+u.Name+u.Suffix) }

// outcome is what publishing did.
type outcome struct {
	Skipped     bool  // the final file was already there and matched
	Sent        int64 // bytes sent in this attempt
	ResumedFrom int64 // offset the upload started at (0: from scratch)
	Replaced    bool  // a differing final file was overwritten
	// Confirmed, after a failed upload, is the length of the .part that
	// the server acknowledged in order (every write below it answered
	// OK); the next attempt resumes there. 0: nothing known.
	Confirmed int64
}

// resumeMargin is how far before a .part's end a resume starts. With
// concurrent writes the server may have stored later packets of the
// window in flight but not earlier ones; the file's size then covers a
// hole. Holes can only lie within the last window of in-flight writes,
// so re-sending that window makes the resumed file whole.
func (c *conn) resumeMargin(maxPacket int) int64 {
	// The SFTP client keeps at most requests writes in flight plus one
	// being handed over; one more packet of slack.
	return int64(c.Requests+2) * int64(maxPacket)
}

// publish delivers one file with the publish protocol:
//
//  1. skip it if the final file is already there and matches;
//  2. upload to .<name>.part (resuming a shorter .part);
//  3. fsync@openssh.com when offered, Close with its error checked;
//  4. confirm: remote size equals local size, and optionally a remote
//     md5sum;
//  5. rename to the final name: posix-rename@openssh.com when offered,
//     otherwise plain rename, removing a replaced final file first.
//
// prog, when set, is told the file offset the upload has reached.
func (c *conn) publish(ctx context.Context, u *upload, maxPacket int, prog func(pos int64)) (outcome, error) {
	var out outcome
	if err := c.checkDir(ctx, u.Dir); err != nil {
		return out, err
	}
	if err := c.checkFinal(ctx, u, &out); err != nil || out.Skipped {
		return out, err
	}
	offset, err := c.partOffset(ctx, u, maxPacket)
	if err != nil {
		return out, err
	}

	lf, err := os.Open(u.Local)
	if err != nil {
		return out, &LocalError{Err: err}
	}
	defer lf.Close()
	if lst, err := lf.Stat(); err != nil || lst.Size() != u.Size {
		return out, &LocalError{Err: fmt.Errorf("local file %s changed since pack: the manifest says %d bytes", u.Local, u.Size)}
	}
	if offset > 0 {
		same, err := c.samePrefix(ctx, u.part(), lf, offset)
		if err != nil {
			return out, err
		}
		if !same {
			offset = 0 // a .part of another version of the file: start over
		}
	}
	out.ResumedFrom = offset
	if _, err := lf.Seek(offset, io.SeekStart); err != nil {
		return out, err
	}

	if err := c.sendPart(ctx, u, lf, offset, &out, prog); err != nil {
		return out, err
	}
	if err := c.confirm(ctx, u); err != nil {
		return out, err
	}
	if u.Fence != nil {
		if err := u.Fence(ctx); err != nil {
			return out, &FencedError{Err: err}
		}
	}
	return out, c.rename(ctx, u, out.Replaced)
}

// checkFinal looks at the final file: absent, already the one we would
// send (out.Skipped), or a differing one that u may overwrite
// (out.Replaced); any other differing file is an ExistsError.
func (c *conn) checkFinal(ctx context.Context, u *upload, out *outcome) error {
	final := u.final()
	var st os.FileInfo
	err := c.Op(ctx, "stat "+final, func() (err error) { st, err = c.SFTP.Stat(final); return })
	switch {
	case err == nil:
		same, why, err := c.sameFile(ctx, u, st)
		if err != nil {
			return err
		}
		if same {
			out.Skipped = true
			return nil
		}
		if !u.Overwrite {
			return &ExistsError{Host: c.Host, Path: final, Remote: st.Size(), Local: u.Size, Why: why}
		}
		out.Replaced = true
	case errors.Is(err, os.ErrNotExist):
	default:
		return err
	}
	return nil
}

// partOffset is where the upload of u starts: resuming a .part left by
// an earlier attempt, or 0 to restart it.
func (c *conn) partOffset(ctx context.Context, u *upload, maxPacket int) (int64, error) {
	part := u.part()
	var offset int64
	var pst os.FileInfo
	err := c.Op(ctx, "stat "+part, func() (err error) { pst, err = c.SFTP.Stat(part); return })
	switch {
	case err == nil:
		switch {
		case pst.Size() > u.Size:
			// Larger than the file: not ours, restart.
		case u.Confirmed > 0 && pst.Size() >= u.Confirmed:
			// This run saw every write below Confirmed acknowledged.
			offset = u.Confirmed
		default:
			offset = max(0, pst.Size()-c.resumeMargin(maxPacket))
		}
	case errors.Is(err, os.ErrNotExist):
	default:
		return 0, err
	}
	return offset, nil
}

// sendPart writes lf, from offset on, to the .part of u, syncs and closes
// it. It counts the bytes sent in out.Sent and, even when the upload
// fails, sets out.Confirmed to where the next attempt may resume.
func (c *conn) sendPart(ctx context.Context, u *upload, lf *os.File, offset int64, out *outcome, prog func(pos int64)) error {
	part := u.part()
	flags := os.O_WRONLY | os.O_CREATE
	if offset == 0 {
		flags |= os.O_TRUNC
	}
	var f *sftp.File
	err := c.Op(ctx, "open "+part, func() (err error) { f, err = c.SFTP.OpenFile(part, flags); return })
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return &MissingDirError{Host: c.Host, Dir: u.Dir}
		}
		return err
	}
	w := c.Watch(ctx, "write "+part)
	if offset > 0 {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			w.End(nil)
			f.Close()
			return err
		}
	}
	pr := &progressReader{r: lf, w: w, prog: func(n int64) {
		out.Sent += n
		if prog != nil {
			prog(offset + out.Sent)
		}
	}}
	_, err = f.ReadFromWithConcurrency(pr, c.Requests)
	// pkg/sftp leaves the file offset after the last write when all were
	// acknowledged, else at the lowest write that failed: every write
	// below it was acknowledged.
	if pos, serr := f.Seek(0, io.SeekCurrent); serr == nil {
		out.Confirmed = pos
	}
	if err == nil && c.Fsync {
		err = f.Sync()
	}
	if err != nil {
		err = w.End(err)
		f.Close()
		return err
	}
	err = w.End(f.Close())
	if err != nil {
		return fmt.Errorf("close %s: %w", part, err)
	}
	return nil
}

// confirm checks the uploaded .part of u before it is published: its
// size and, with remote checksums, its md5. A .part with the wrong md5
// is removed so the next attempt starts over rather than resume it.
func (c *conn) confirm(ctx context.Context, u *upload) error {
	part := u.part()
	var pst os.FileInfo
	err := c.Op(ctx, "stat "+part, func() (err error) { pst, err = c.SFTP.Stat(part); return })
	if err != nil {
		return err
	}
	if pst.Size() != u.Size {
		return &SizeError{Host: c.Host, Path: part, Remote: pst.Size(), Local: u.Size}
	}
	if u.Checksum && u.MD5 != "" {
		sum, err := c.RemoteMD5(ctx, part)
		if err != nil {
			return err
		}
		if sum != u.MD5 {
			// Corrupt: start over next time rather than resume it.
			c.Op(ctx, "remove "+part, func() error { return c.SFTP.Remove(part) })
			return &sshconn.ChecksumError{Host: c.Host, Path: part, Err: fmt.Errorf("remote md5 %s, want %s", sum, u.MD5)}
		}
	}
	return nil
}

// rename publishes the confirmed .part of u under its final name;
// replace says a final file is there to be replaced.
func (c *conn) rename(ctx context.Context, u *upload, replace bool) error {
	final, part := u.final(), u.part()
	return c.Op(ctx, "rename "+part, func() error {
		if c.PosixRename && !u.NoPosixRename {
			return c.SFTP.PosixRename(part, final)
		}
		if replace {
			// Without posix-rename a plain rename cannot replace a file:
			// remove, then rename. Downstream may see no file for this
			// short window, never a partial one.
			if err := c.SFTP.Remove(final); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
		return c.SFTP.Rename(part, final)
	})
}

// resumeProbe is how many bytes samePrefix compares at each end.
const resumeProbe = 64 << 10

// samePrefix compares the start of a .part and the bytes just before the
// resume offset with the local file, so that a .part left by another
// version of the file (re-packed under the same name) is restarted, not
// completed into a mix of both.
func (c *conn) samePrefix(ctx context.Context, part string, local *os.File, offset int64) (bool, error) {
	n := min(offset, resumeProbe)
	at := []int64{0}
	if offset > n {
		at = append(at, offset-n)
	}
	var same = true
	err := c.Op(ctx, "read "+part, func() error {
		f, err := c.SFTP.Open(part)
		if err != nil {
			return err
		}
		defer f.Close()
		rb, lb := make([]byte, n), make([]byte, n)
		for _, off := range at {
			if _, err := f.ReadAt(rb, off); err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			if _, err := local.ReadAt(lb, off); err != nil && !errors.Is(err, io.EOF) {
				return &LocalError{Err: err}
			}
			if !bytes.Equal(rb, lb) {
				same = false
				return nil
			}
		}
		return nil
	})
	return same, err
}

// packetReader hands pkg/sftp reads of at most one read packet. A larger
// Read is split into concurrent requests, and a server that answers one
// of them short (many cap reads at 32 KiB) is taken for the end of the
// file; a Read within one packet is repeated until it is full.
type packetReader struct{ r io.Reader }

func (p packetReader) Read(b []byte) (int, error) {
	return p.r.Read(b[:min(len(b), sshconn.ReadPacket)])
}

// checkDir confirms the remote folder exists (once per connection).
func (c *conn) checkDir(ctx context.Context, dir string) error {
	c.mu.Lock()
	ok := c.dirOK[dir]
	c.mu.Unlock()
	if ok {
		return nil
	}
	var st os.FileInfo
	err := c.Op(ctx, "stat "+dir, func() (err error) { st, err = c.SFTP.Stat(dir); return })
	switch {
	case errors.Is(err, os.ErrNotExist):
		return &MissingDirError{Host: c.Host, Dir: dir}
	case err != nil:
		return err
	case !st.IsDir():
		return &sshconn.HostError{Host: c.Host, Err: fmt.Errorf("remote %s is not a folder", dir)}
	}
	c.mu.Lock()
	c.dirOK[dir] = true
	c.mu.Unlock()
	return nil
}

// sameFile decides whether an existing final file is the one we would
// send: a .verf by content; a data file by size, then by md5 where
// known (recorded by an earlier run, or a remote md5sum when enabled).
func (c *conn) sameFile(ctx context.Context, u *upload, st os.FileInfo) (bool, string, error) {
	if st.Size() != u.Size {
		return false, "size differs", nil
	}
	if u.Verf {
		want, err := os.ReadFile(u.Local)
		if err != nil {
			return false, "", &LocalError{Err: err}
		}
		var got []byte
		err = c.Op(ctx, "read "+u.final(), func() error {
			f, err := c.SFTP.Open(u.final())
			if err != nil {
				return err
			}
			defer f.Close()
			got, err = io.ReadAll(io.LimitReader(packetReader{f}, u.Size+1))
			return err
		})
		if err != nil {
			return false, "", err
		}
		if !bytes.Equal(got, want) && !verfEquivalent(got, want, u.VerfColumns) {
			return false, "content differs", nil
		}
		return true, "", nil
	}
	if u.MD5 != "" && u.KnownMD5 != "" && !u.Recheck {
		if u.KnownMD5 != u.MD5 {
			return false, "md5 recorded at delivery differs", nil
		}
		return true, "", nil
	}
	// No record of this file on this host: a same-size file proves
	// nothing (a stale or damaged copy), so compare the content: the
	// remote md5sum when allowed, else by reading it back.
	if u.MD5 != "" {
		var sum string
		var err error
		if u.Checksum {
			sum, err = c.RemoteMD5(ctx, u.final())
		} else {
			sum, err = c.readMD5(ctx, u.final())
		}
		if err != nil {
			return false, "", err
		}
		if sum != u.MD5 {
			return false, "remote md5 differs", nil
		}
	}
	return true, "", nil
}

// readMD5 reads a remote file back and returns its md5, for targets
// without a remote md5sum. Reads run under the watchdog like the
// relay source's (sshconn.Reader): each packet read restarts it.
func (c *conn) readMD5(ctx context.Context, p string) (string, error) {
	var f *sftp.File
	if err := c.Op(ctx, "open "+p, func() (err error) { f, err = c.SFTP.Open(p); return }); err != nil {
		return "", err
	}
	r := c.NewReader(ctx, "read "+p, f, packetReader{f})
	h := md5.New()
	_, err := io.Copy(h, r)
	r.Close()
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// verfEquivalent reports whether two .verf files list the same files with
// the same values in every column but ctime (a re-pack of identical data
// differs only there). The format is verify's: one line per file,
// columns separated by '|'.
func verfEquivalent(a, b []byte, cols []string) bool {
	ct := -1
	for i, c := range cols {
		if c == "ctime" {
			ct = i
		}
	}
	if ct < 0 {
		return false
	}
	la := strings.Split(strings.TrimRight(string(a), "\n"), "\n")
	lb := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(la) != len(lb) {
		return false
	}
	for i := range la {
		fa := strings.Split(strings.TrimRight(la[i], "\r"), "|")
		fb := strings.Split(strings.TrimRight(lb[i], "\r"), "|")
		if len(fa) != len(cols) || len(fb) != len(cols) {
			return false
		}
		for k := range fa {
			if k != ct && fa[k] != fb[k] {
				return false
			}
		}
	}
	return true
}

// partSuffix is the end of a temporary file name: the target's
// part_suffix, after the run's PartTag when it has one.
func partSuffix(o *Options, t *config.Target) string {
	if o.PartTag == "" {
		return t.PartSuffix
	}
	return "." + o.PartTag + t.PartSuffix
}
