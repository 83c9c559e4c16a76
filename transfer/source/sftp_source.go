package source

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"os"
	"path"
	"sync"

	"github.com/pkg/sftp"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/transfer/sshconn"
)

// SFTPSource reads partitions from an SFTP relay host: the endpoints of a
// configured target (primary, then standby, in order), its user, auth and
// host-key rules, with the same connection watchdog as push. It is meant
// as the fallback of an HDFS source when the cluster is unreachable.
//
// Verified wraps it as a Verifier when the target's remote_checksum is
// set: a copy is then checked against `md5sum` run on the relay.
type SFTPSource struct {
	name string
	root string
	t    *config.Target
	d    *sshconn.Dialer

	mu sync.Mutex
	c  *sshconn.Conn
}

// NewSFTPSource prepares a source on target t (auth and host keys are
// loaded now; nothing is dialled until the first call).
func NewSFTPSource(name, root string, t *config.Target, log *slog.Logger) (*SFTPSource, error) {
	if root == "" || !path.IsAbs(root) {
		return nil, fmt.Errorf("sftp source %s: root %q is not an absolute remote path", name, root)
	}
	d, err := sshconn.NewDialer(name, t, log)
	if err != nil {
		return nil, err
	}
	// Reads use 32 KiB packets, the size every SFTP server must serve:
	// a server that answers a larger read with 32 KiB would otherwise be
	// taken for the end of the file. Throughput comes from the client's
	// concurrent read requests, not from packet size.
	d.MaxPacket = sshconn.ReadPacket
	return &SFTPSource{name: name, root: root, t: t, d: d}, nil
}

func (s *SFTPSource) String() string { return "sftp:" + s.name + ":" + s.root }

// session returns the live connection, dialling the endpoints in order
// when there is none (or it broke).
func (s *SFTPSource) session(ctx context.Context) (*sshconn.Conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c != nil && !s.c.Broken() {
		return s.c, nil
	}
	var errs []error
	for _, ep := range append(append([]config.Endpoint{}, s.t.Primary...), s.t.Standby...) {
		c, err := s.d.Dial(ctx, ep)
		if err == nil {
			s.c = c
			return c, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("sftp source %s: no endpoint reachable: %w", s.name, errors.Join(errs...))
}

// Close closes the connection.
func (s *SFTPSource) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c != nil {
		s.c.Close()
		s.c = nil
	}
	s.d.Close()
	return nil
}

func (s *SFTPSource) abs(p string) string { return path.Join(s.root, p) }

// List implements Source.
func (s *SFTPSource) List(ctx context.Context, dir string) ([]FileInfo, error) {
	c, err := s.session(ctx)
	if err != nil {
		return nil, err
	}
	root := s.abs(dir)
	return walkRemote(ctx, root, s.root, func(d string) ([]os.FileInfo, error) {
		var fis []os.FileInfo
		err := c.Op(ctx, "list "+d, func() error {
			var err error
			fis, err = c.SFTP.ReadDir(d)
			return err
		})
		if err != nil {
			if d == root && isNotExist(err) {
				return nil, fmt.Errorf("partition not found: %s%s: %w", s, d, ErrNotFound)
			}
			return nil, fmt.Errorf("listing %s on %s: %w", d, c.Host, err)
		}
		return fis, nil
	}, nil)
}

func isNotExist(err error) bool {
	var se *sftp.StatusError
	return errors.Is(err, os.ErrNotExist) || (errors.As(err, &se) && se.FxCode() == sftp.ErrSSHFxNoSuchFile)
}

// Exists implements Source.
func (s *SFTPSource) Exists(ctx context.Context, p string) (bool, error) {
	c, err := s.session(ctx)
	if err != nil {
		return false, err
	}
	err = c.Op(ctx, "stat "+s.abs(p), func() error {
		_, err := c.SFTP.Stat(s.abs(p))
		return err
	})
	if isNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("stat %s on %s: %w", s.abs(p), c.Host, err)
	}
	return true, nil
}

// Open implements Source.
func (s *SFTPSource) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	return s.OpenRange(ctx, p, 0, -1)
}

// OpenRange implements RangeOpener.
func (s *SFTPSource) OpenRange(ctx context.Context, p string, off, n int64) (io.ReadCloser, error) {
	c, err := s.session(ctx)
	if err != nil {
		return nil, err
	}
	var f *sftp.File
	full := s.abs(p)
	err = c.Op(ctx, "open "+full, func() error {
		var err error
		if f, err = c.SFTP.Open(full); err == nil && off > 0 {
			_, err = f.Seek(off, io.SeekStart)
		}
		return err
	})
	if err != nil {
		if f != nil {
			f.Close()
		}
		return nil, fmt.Errorf("open %s on %s: %w", full, c.Host, err)
	}
	var r io.Reader = f
	if n >= 0 {
		r = io.LimitReader(f, n)
	}
	return c.NewReader(ctx, "read "+full, f, r), nil
}

// Verified returns the source as a Verifier when the target has
// remote_checksum on (the relay runs md5sum), else the source as is.
func (s *SFTPSource) Verified() Source {
	if s.t.RemoteChecksum {
		return &verifiedSFTP{s}
	}
	return s
}

// verifiedSFTP checks copies against md5sum on the relay.
type verifiedSFTP struct{ *SFTPSource }

// NewHash implements Verifier: MD5, as md5sum computes it.
func (s *verifiedSFTP) NewHash(ctx context.Context, p string) (hash.Hash, error) {
	return md5.New(), nil
}

// Sum implements Verifier: the size and `md5sum` of the file on the relay.
func (s *verifiedSFTP) Sum(ctx context.Context, p string) (int64, []byte, error) {
	c, err := s.session(ctx)
	if err != nil {
		return 0, nil, err
	}
	var fi os.FileInfo
	full := s.abs(p)
	if err := c.Op(ctx, "stat "+full, func() error {
		var err error
		fi, err = c.SFTP.Stat(full)
		return err
	}); err != nil {
		return 0, nil, fmt.Errorf("stat %s on %s: %w", full, c.Host, err)
	}
	sum, err := c.RemoteMD5(ctx, full)
	if err != nil {
		return 0, nil, err
	}
	b, err := hex.DecodeString(sum)
	if err != nil {
		return 0, nil, fmt.Errorf("md5sum of %s on %s: %q", full, c.Host, sum)
	}
	return fi.Size(), b, nil
}
