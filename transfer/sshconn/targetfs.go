package sshconn

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"

	"github.com/pkg/sftp"

	"github.com/chama-data/chama/config"
)

// TargetFS is a read-only session on one endpoint of a target, for
// `chama verify --remote`: push's auth and host-key rules, and every
// operation under the target's timeout as push's are, so a server that
// stops answering (while still answering keepalives) ends the check with
// a TimeoutError instead of hanging it. Its methods match verify.RemoteFS.
type TargetFS struct {
	ctx context.Context
	c   *Conn
	d   *Dialer
}

// OpenTargetFS dials endpoint ep of target. Reads use 32 KiB packets,
// the size every server serves in full (see ReadPacket). Close it when
// done.
func OpenTargetFS(ctx context.Context, cfg *config.Config, target string, ep config.Endpoint, log *slog.Logger) (*TargetFS, error) {
	t, ok := cfg.Targets[target]
	if !ok {
		return nil, fmt.Errorf("unknown target %q", target)
	}
	d, err := NewDialer(target, t, log)
	if err != nil {
		return nil, err
	}
	d.MaxPacket = ReadPacket
	c, err := d.Dial(ctx, ep)
	if err != nil {
		d.Close()
		return nil, err
	}
	return &TargetFS{ctx: ctx, c: c, d: d}, nil
}

// Client is the underlying SFTP client (no deadlines of its own).
func (t *TargetFS) Client() *sftp.Client { return t.c.SFTP }

// Close ends the session.
func (t *TargetFS) Close() error {
	t.c.Close()
	t.d.Close()
	return nil
}

// ReadDir lists a folder.
func (t *TargetFS) ReadDir(dir string) (fis []fs.FileInfo, err error) {
	err = t.c.Op(t.ctx, "list "+dir, func() (err error) { fis, err = t.c.SFTP.ReadDir(dir); return })
	return fis, err
}

// Stat stats a path.
func (t *TargetFS) Stat(p string) (fi fs.FileInfo, err error) {
	err = t.c.Op(t.ctx, "stat "+p, func() (err error) { fi, err = t.c.SFTP.Stat(p); return })
	return fi, err
}

// Open opens a file for reading; reads that make no progress within the
// timeout close the session.
func (t *TargetFS) Open(p string) (io.ReadCloser, error) {
	var f *sftp.File
	if err := t.c.Op(t.ctx, "open "+p, func() (err error) { f, err = t.c.SFTP.Open(p); return }); err != nil {
		if f != nil {
			f.Close()
		}
		return nil, err
	}
	return &targetFile{t.c.NewReader(t.ctx, "read "+p, f, f)}, nil
}

// targetFile adds a streaming WriteTo (several reads in flight) to a
// watched reader.
type targetFile struct{ *Reader }

func (r *targetFile) WriteTo(w io.Writer) (int64, error) {
	n, err := r.f.WriteTo(touchWriter{w, r.w})
	if err != nil {
		if k := r.w.c.KillReason(); k != nil {
			err = k
		}
	}
	return n, err
}

// touchWriter restarts the watchdog with every write: data is arriving.
type touchWriter struct {
	w  io.Writer
	wd *Watch
}

func (t touchWriter) Write(b []byte) (int, error) {
	t.wd.Touch()
	return t.w.Write(b)
}
