package source

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/colinmarc/hdfs/v2"
)

// The write side of the HDFS source: folders, files published whole, and
// atomic renames, for data every interface machine reads and writes.
// Paths are relative to the source root, like the read methods, and may
// not leave it.

// hdfsWriteChunk bounds each write handed to the client, so that every
// chunk gets its own deadline.
const hdfsWriteChunk = 1 << 20

// hdfsCompleteTries is how many times Close asks the namenode to complete
// a file whose last block is not yet reported (as the Java client does,
// with a doubling pause from hdfsCompletePause).
const (
	hdfsCompleteTries = 5
	hdfsCompletePause = 400 * time.Millisecond
)

// writable maps a source-relative path into HDFS for a change, refusing
// paths that leave the root, and the root itself unless rootOK.
func (h *HDFS) writable(p string, rootOK bool) (string, error) {
	abs := h.abs(p)
	root := path.Clean(h.opts.Root)
	switch {
	case abs == root && !rootOK:
		return "", fmt.Errorf("%s: refusing to change the source root", h.describe(abs))
	case abs != root && root != "/" && !strings.HasPrefix(abs, root+"/"):
		return "", fmt.Errorf("%s: path %q leaves the source root %s", h.describe(abs), p, root)
	}
	return abs, nil
}

// writeClient maps p for a change (writable) and returns a client, once
// ctx is checked: the start of every write method.
func (h *HDFS) writeClient(ctx context.Context, p string, rootOK bool) (string, *hdfs.Client, error) {
	abs, err := h.writable(p, rootOK)
	if err != nil {
		return "", nil, err
	}
	if err := ctx.Err(); err != nil {
		return "", nil, fmt.Errorf("%s: %w", h.describe(abs), err)
	}
	c, err := h.client()
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", h.describe(abs), err)
	}
	return abs, c, nil
}

// MkdirAll creates the folder dir and its missing parents (mode 0755); an
// existing folder is fine.
func (h *HDFS) MkdirAll(ctx context.Context, dir string) error {
	abs, c, err := h.writeClient(ctx, dir, true)
	if err != nil {
		return err
	}
	if err := c.MkdirAll(abs, 0o755); err != nil {
		return fmt.Errorf("%s: mkdir: %w", h.describe(abs), unwrapPathError(err))
	}
	return nil
}

// Create starts the file p (mode 0644) in an existing folder. The bytes go
// to a hidden file next to it (".<name>.<random>.tmp", which listings
// skip); Close completes that file and renames it to p, replacing what p
// was. So p holds either its old content or the whole new one: it is
// complete, under its name, only once Close returns nil. Close does not
// publish when a Write failed or ctx is done: it removes the hidden file
// and returns the error (cancel ctx to abandon a file). Each Write and
// Close has the source's Timeout; ctx is checked between them, not during
// one. Use the writer from one goroutine.
func (h *HDFS) Create(ctx context.Context, p string) (io.WriteCloser, error) {
	abs, c, err := h.writeClient(ctx, p, false)
	if err != nil {
		return nil, err
	}
	if st, err := c.Stat(abs); err == nil && st.IsDir() {
		return nil, fmt.Errorf("%s: create: %w (a folder)", h.describe(abs), os.ErrExist)
	}
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, fmt.Errorf("%s: %w", h.describe(abs), err)
	}
	tmp := path.Join(path.Dir(abs), "."+path.Base(abs)+"."+hex.EncodeToString(rnd[:])+".tmp")
	f, err := c.Create(tmp)
	if err != nil {
		return nil, fmt.Errorf("%s: create: %w", h.describe(abs), unwrapPathError(err))
	}
	return &hdfsWriter{h: h, c: c, f: f, ctx: ctx, path: abs, tmp: tmp, name: h.describe(abs)}, nil
}

// Rename renames from to to, replacing to if it is a file or an empty
// folder; on HDFS this is one namenode operation, atomic for readers.
// The folder of to must exist.
func (h *HDFS) Rename(ctx context.Context, from, to string) error {
	src, c, err := h.writeClient(ctx, from, false)
	if err != nil {
		return err
	}
	dst, err := h.writable(to, false)
	if err != nil {
		return err
	}
	if err := c.Rename(src, dst); err != nil {
		return fmt.Errorf("%s: rename to %s: %w", h.describe(src), dst, unwrapPathError(err))
	}
	return nil
}

// RemoveAll removes p and everything under it; a missing p is fine. The
// source root itself is refused.
func (h *HDFS) RemoveAll(ctx context.Context, p string) error {
	abs, c, err := h.writeClient(ctx, p, false)
	if err != nil {
		return err
	}
	if err := c.RemoveAll(abs); err != nil {
		return fmt.Errorf("%s: remove: %w", h.describe(abs), unwrapPathError(err))
	}
	return nil
}

// unwrapPathError drops the client's *os.PathError (the caller names the
// path already), keeping what it wraps.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// hdfsWriter writes one file through a hidden name; see HDFS.Create.
type hdfsWriter struct {
	h    *HDFS
	c    *hdfs.Client
	f    *hdfs.FileWriter
	ctx  context.Context
	path string // HDFS path published at Close
	tmp  string // HDFS path written
	name string // for messages
	off  int64
	err  error // the first write error: Close does not publish
	// completing: FileWriter.Close was called (it must not be called
	// again after it failed: it would complete what it could not send).
	completing bool

	closed   bool
	closeErr error
}

// deadline bounds the next exchange with the datanode, and clear lifts the
// bound while the caller is away: the client reads acks in the
// background, and an idle stream is no fault.
func (w *hdfsWriter) deadline() { w.f.SetDeadline(time.Now().Add(w.h.opts.Timeout)) }
func (w *hdfsWriter) clear()    { w.f.SetDeadline(time.Time{}) }

func (w *hdfsWriter) Write(b []byte) (int, error) {
	switch {
	case w.closed:
		return 0, fmt.Errorf("%s: write: %w", w.name, os.ErrClosed)
	case w.err != nil:
		return 0, w.err
	}
	if err := w.ctx.Err(); err != nil {
		w.err = fmt.Errorf("%s: write: %w", w.name, err)
		return 0, w.err
	}
	defer w.clear()
	n := 0
	for n < len(b) {
		w.deadline()
		m, err := w.f.Write(b[n:min(n+hdfsWriteChunk, len(b))])
		n += m
		if err != nil {
			w.err = fmt.Errorf("%s: write at byte %d: %w", w.name, w.off+int64(n), err)
			w.off += int64(n)
			return n, w.err
		}
	}
	w.off += int64(n)
	return n, nil
}

// Close publishes the file (see HDFS.Create); a second Close returns what
// the first did.
func (w *hdfsWriter) Close() error {
	if w.closed {
		return w.closeErr
	}
	w.closed = true
	w.closeErr = w.finish()
	return w.closeErr
}

func (w *hdfsWriter) finish() error {
	if w.err == nil {
		if err := w.ctx.Err(); err != nil {
			w.err = fmt.Errorf("%s: %w", w.name, err)
		}
	}
	if w.err != nil {
		w.abandon()
		return w.err
	}
	w.deadline()
	w.completing = true
	err := w.f.Close()
	pause := hdfsCompletePause
	for try := 1; hdfs.IsErrReplicating(err) && try < hdfsCompleteTries; try++ {
		// The data is acknowledged, the namenode has yet to hear of the
		// last block: ask again, as the Java client does.
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-w.ctx.Done():
			t.Stop()
			w.abandon()
			return fmt.Errorf("%s: %w", w.name, w.ctx.Err())
		}
		pause *= 2
		w.deadline()
		err = w.f.Close()
	}
	if err != nil {
		w.abandon()
		return fmt.Errorf("%s: close: %w", w.name, unwrapPathError(err))
	}
	if err := w.c.Rename(w.tmp, w.path); err != nil {
		w.abandon()
		return fmt.Errorf("%s: publish (rename from %s): %w", w.name, path.Base(w.tmp), unwrapPathError(err))
	}
	return nil
}

// abandon removes the hidden file, first, so that nothing completes it,
// then ends the client's block stream if Close has not (its error, if
// any, is the one already returned). Best effort: a file left behind is
// hidden, and its lease expires on the namenode.
func (w *hdfsWriter) abandon() {
	w.c.Remove(w.tmp)
	if !w.completing {
		w.completing = true
		w.deadline()
		w.f.Close()
	}
	w.clear()
}
