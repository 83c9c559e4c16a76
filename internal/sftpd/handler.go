package sftpd

import (
	"errors"
	"io"
	"os"
	"path"
	"sync"

	"github.com/pkg/sftp"
)

// handler serves one SFTP session from the local folder, with faults.
type handler struct {
	s *Server
	c *sconn
}

func (h *handler) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	if f := h.s.fire(OpStat, r.Filepath, -1); f != nil {
		return nil, h.s.act(h.c, f)
	}
	return os.Open(h.s.local(r.Filepath))
}

func (h *handler) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	fl := r.Pflags()
	flag, letters := 0, ""
	switch {
	case fl.Read && fl.Write:
		flag = os.O_RDWR
	default:
		flag = os.O_WRONLY
	}
	if fl.Write {
		letters += "w"
	}
	if fl.Creat {
		flag |= os.O_CREATE
		letters += "c"
	}
	if fl.Trunc {
		flag |= os.O_TRUNC
		letters += "t"
	}
	if fl.Excl {
		flag |= os.O_EXCL
		letters += "x"
	}
	if fl.Append {
		flag |= os.O_APPEND
		letters += "a"
	}
	if f := h.s.fire(OpOpen, r.Filepath, -1); f != nil {
		if err := h.s.act(h.c, f); err != nil {
			return nil, err
		}
	}
	fh, err := os.OpenFile(h.s.local(r.Filepath), flag, 0o644)
	if err != nil {
		return nil, err
	}
	h.s.record(Event{Conn: h.c.id, Op: "open", Path: r.Filepath, Flags: letters})
	return &writer{h: h, f: fh, name: r.Filepath}, nil
}

// writer applies write faults: the bytes below a fault's AfterBytes are
// written, then the fault's action happens.
type writer struct {
	h    *handler
	f    *os.File
	name string
	mu   sync.Mutex
}

func (w *writer) WriteAt(p []byte, off int64) (int, error) {
	s := w.h.s
	if lim := s.writeLimit(w.name); lim >= 0 && off+int64(len(p)) > lim {
		n := 0
		if off < lim {
			k, err := w.f.WriteAt(p[:lim-off], off)
			n = k
			if err != nil {
				return n, err
			}
		}
		if f := s.fire(OpWrite, w.name, off+int64(len(p))); f != nil {
			return n, s.act(w.h.c, f)
		}
		k, err := w.f.WriteAt(p[n:], off+int64(n))
		return n + k, err
	}
	return w.f.WriteAt(p, off)
}

func (w *writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var size int64
	if st, err := w.f.Stat(); err == nil {
		size = st.Size()
	}
	err := w.f.Close()
	w.h.s.record(Event{Conn: w.h.c.id, Op: "close", Path: w.name, Size: size})
	return err
}

func (h *handler) Filecmd(r *sftp.Request) error {
	s := h.s
	switch r.Method {
	case "Setstat":
		p := s.local(r.Filepath)
		fl, at := r.AttrFlags(), r.Attributes()
		if fl.Size {
			if err := os.Truncate(p, int64(at.Size)); err != nil {
				return err
			}
			s.record(Event{Conn: h.c.id, Op: "setstat", Path: r.Filepath, Size: int64(at.Size)})
		}
		if fl.Permissions {
			if err := os.Chmod(p, at.FileMode().Perm()); err != nil {
				return err
			}
		}
		if fl.Acmodtime {
			if err := os.Chtimes(p, at.AccessTime(), at.ModTime()); err != nil {
				return err
			}
		}
		return nil
	case "Rename":
		if f := s.fire(OpRename, r.Target, -1); f != nil {
			return s.act(h.c, f)
		}
		// SFTP v3 rename (and OpenSSH's) refuses to replace a file.
		if _, err := os.Lstat(s.local(r.Target)); err == nil {
			return errors.New("rename: target exists")
		}
		if err := os.Rename(s.local(r.Filepath), s.local(r.Target)); err != nil {
			return err
		}
		s.record(Event{Conn: h.c.id, Op: "rename", Path: r.Filepath, Target: r.Target})
		return nil
	case "Remove":
		p := s.local(r.Filepath)
		if st, err := os.Lstat(p); err == nil && st.IsDir() {
			return errors.New("remove: is a folder")
		}
		if err := os.Remove(p); err != nil {
			return err
		}
		s.record(Event{Conn: h.c.id, Op: "remove", Path: r.Filepath})
		return nil
	case "Mkdir":
		if err := os.Mkdir(s.local(r.Filepath), 0o755); err != nil {
			return err
		}
		s.record(Event{Conn: h.c.id, Op: "mkdir", Path: r.Filepath})
		return nil
	case "Rmdir":
		if err := os.Remove(s.local(r.Filepath)); err != nil {
			return err
		}
		s.record(Event{Conn: h.c.id, Op: "rmdir", Path: r.Filepath})
		return nil
	}
	return sftp.ErrSSHFxOpUnsupported
}

// PosixRename replaces the target atomically (posix-rename@openssh.com).
func (h *handler) PosixRename(r *sftp.Request) error {
	s := h.s
	if f := s.fire(OpRename, r.Target, -1); f != nil {
		return s.act(h.c, f)
	}
	if err := os.Rename(s.local(r.Filepath), s.local(r.Target)); err != nil {
		return err
	}
	s.record(Event{Conn: h.c.id, Op: "posix-rename", Path: r.Filepath, Target: r.Target})
	return nil
}

func (h *handler) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	s := h.s
	p := s.local(r.Filepath)
	switch r.Method {
	case "List":
		es, err := os.ReadDir(p)
		if err != nil {
			return nil, err
		}
		var out listerAt
		for _, e := range es {
			if fi, err := e.Info(); err == nil {
				out = append(out, fi)
			}
		}
		return out, nil
	case "Stat", "Lstat":
		if f := s.fire(OpStat, r.Filepath, -1); f != nil {
			return nil, s.act(h.c, f)
		}
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		return listerAt{namedInfo{fi, path.Base(r.Filepath)}}, nil
	}
	return nil, sftp.ErrSSHFxOpUnsupported
}

type namedInfo struct {
	os.FileInfo
	name string
}

func (n namedInfo) Name() string { return n.name }

type listerAt []os.FileInfo

func (l listerAt) ListAt(out []os.FileInfo, off int64) (int, error) {
	if off >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(out, l[off:])
	if n < len(out) {
		return n, io.EOF
	}
	return n, nil
}
