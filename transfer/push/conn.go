package push

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/transfer/sshconn"
)

// conn is a delivery connection: the watched SSH/SFTP session and the
// remote folders already checked through it.
type conn struct {
	*sshconn.Conn

	mu    sync.Mutex
	dirOK map[string]bool
}

// dial opens a delivery connection to ep with d's auth and host keys.
func dial(ctx context.Context, d *sshconn.Dialer, ep config.Endpoint) (*conn, error) {
	c, err := d.Dial(ctx, ep)
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c, dirOK: map[string]bool{}}, nil
}

// checkShell confirms, once per host, that remote_checksum can work: it
// writes a small probe file into each folder over SFTP and has md5sum
// read it over an SSH exec. A shell that cannot see the folder at the
// path SFTP uses (a chrooted SFTP account), no md5sum, or a server that
// runs no commands is a config error, reported before any file goes out
// rather than as a failed checksum on every file.
func (c *conn) checkShell(ctx context.Context, dirs []string, suffix string) error {
	content := []byte("chama: remote_checksum probe; safe to delete\n")
	want := fmt.Sprintf("%x", md5.Sum(content))
	var rnd [6]byte
	rand.Read(rnd[:])
	for _, d := range dirs {
		p := path.Join(d, fmt.Sprintf(".chama-check-%x%s", rnd, suffix))
		err := c.Op(ctx, "write "+p, func() error {
			f, err := c.SFTP.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
			if err != nil {
				return err
			}
			if _, err := f.Write(content); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		})
		if errors.Is(err, os.ErrNotExist) {
			return &MissingDirError{Host: c.Host, Dir: d}
		}
		if err != nil {
			return err
		}
		sum, err := c.RemoteMD5(ctx, p)
		c.Op(ctx, "remove "+p, func() error { return c.SFTP.Remove(p) })
		var ce *sshconn.ChecksumError
		var em *ssh.ExitMissingError
		switch {
		case err != nil && !c.Broken() && (errors.As(err, &em) || strings.Contains(err.Error(), "ssh: command")):
			return &ConfigError{Host: c.Host, Key: "remote_checksum", Err: fmt.Errorf("the server runs no command (%v): an SFTP-only account cannot md5sum; set remote_checksum: false", err)}
		case errors.As(err, &ce):
			return &ConfigError{Host: c.Host, Key: "remote_checksum", Err: fmt.Errorf("md5sum over SSH cannot read %s, which SFTP just wrote (%v): the shell does not see the SFTP folders (a chrooted or SFTP-only account?); set remote_checksum: false", p, ce.Err)}
		case err != nil:
			return err
		case sum != want:
			return &ConfigError{Host: c.Host, Key: "remote_checksum", Err: fmt.Errorf("md5sum over SSH read other content at %s than SFTP wrote there: the shell and SFTP see different folders; set remote_checksum: false", p)}
		}
	}
	return nil
}

// progressReader touches the watchdog and reports bytes as the SFTP
// writer pulls data: it only pulls when earlier writes were acknowledged,
// so its reads are the transfer's real progress.
type progressReader struct {
	r    io.Reader
	w    *sshconn.Watch
	prog func(int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.w.Touch()
		if p.prog != nil {
			p.prog(int64(n))
		}
	}
	return n, err
}
