package source

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/chama-data/chama/config"
)

// Open builds the source called name in cfg: a Local for
// type: file, an HDFS for type: hdfs, an SFTPSource on a target's
// endpoints for type: sftp (an SFTP relay host). It does not connect;
// the first call does. Close it with Close when done.
func Open(cfg *config.Config, name string) (Source, error) {
	s, ok := cfg.Sources[name]
	if !ok || s == nil {
		return nil, fmt.Errorf("unknown source %q", name)
	}
	switch s.Type {
	case "file":
		return &Local{Root: s.Root}, nil
	case "hdfs":
		// The Hadoop conf dir is read here, when the source is used, and
		// what it supplied is logged: a site can see which namenodes and
		// which security settings it got, and from where.
		cc, err := s.HDFSClientConfig(name)
		if err != nil {
			return nil, err
		}
		if cc.ConfDir != "" || len(cc.Resolved) > 0 {
			slog.Default().Info("hdfs source: Hadoop client configuration", "source", name,
				"conf_dir", cc.ConfDir, "conf_dir_from", cc.ConfDirFrom, "resolved", strings.Join(cc.Resolved, "; "))
		}
		h := s.HDFS
		src, err := NewHDFS(HDFSOptions{
			Name:                   name,
			Namenodes:              cc.Namenodes,
			User:                   s.User,
			Root:                   s.Root,
			UseDatanodeHostname:    cc.UseDatanodeHostname,
			Kerberos:               cc.Kerberos,
			DataTransferProtection: cc.DataTransferProtection,
			Timeout:                h.Timeout.D(),
			ConnectTimeout:         h.ConnectTimeout.D(),
			Clients:                h.Clients,
		})
		if err != nil {
			return nil, err
		}
		return src, nil
	case "sftp":
		t, ok := cfg.Targets[s.HDFS.Target]
		if !ok || t == nil {
			return nil, fmt.Errorf("source %s: unknown target %q", name, s.HDFS.Target)
		}
		src, err := NewSFTPSource(name, s.Root, t, slog.Default())
		if err != nil {
			return nil, err
		}
		return src.Verified(), nil
	}
	return nil, fmt.Errorf("source %s: type %q is not file, hdfs or sftp", name, s.Type)
}

// Close releases a source's connections, if it holds any.
func Close(s Source) error {
	if c, ok := s.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// OpenRange implements RangeOpener for a local folder.
func (l *Local) OpenRange(_ context.Context, p string, off, n int64) (io.ReadCloser, error) {
	f, err := os.Open(l.abs(p))
	if err != nil {
		return nil, err
	}
	if n < 0 {
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			f.Close()
			return nil, err
		}
		return f, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(f, off, n), f}, nil
}
