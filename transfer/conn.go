package transfer

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/chama-data/chama/config"
)

// Defaults applied to a target's tuning when the config leaves them 0.
const (
	DefaultKeepalive       = 15 * time.Second
	DefaultMaxPacket       = 255 * 1024 // OpenSSH's sftp-server accepts up to 256 KiB messages
	DefaultRequestsPerFile = 64         // concurrent writes in flight per file
)

// dialer opens SSH/SFTP connections to the endpoints of one target with
// its auth and host-key rules.
type dialer struct {
	name      string
	t         *config.Target
	auth      []ssh.AuthMethod
	closeAuth func()
	hk        *hostKeyCheck
	log       *slog.Logger
	timeout   time.Duration
	keepalive time.Duration
	maxPacket int
	requests  int
}

func newDialer(name string, t *config.Target, log *slog.Logger) (*dialer, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hk, err := newHostKeyCheck(t)
	if err != nil {
		return nil, &HostError{Target: name, Err: err}
	}
	if hk.insecure {
		log.Warn("INSECURE: host keys are NOT verified for this target (insecure_ignore_host_key: true); use a known_hosts file outside the lab", "target", name)
	}
	auth, closeAuth, err := authMethods(t)
	if err != nil {
		return nil, &HostError{Target: name, Err: err}
	}
	d := &dialer{name: name, t: t, auth: auth, closeAuth: closeAuth, hk: hk, log: log,
		timeout: t.Timeout.D(), keepalive: t.Keepalive.D(), maxPacket: t.MaxPacket, requests: DefaultRequestsPerFile}
	if d.timeout <= 0 {
		d.timeout = 60 * time.Second
	}
	if d.keepalive <= 0 {
		d.keepalive = DefaultKeepalive
	}
	if d.maxPacket <= 0 {
		d.maxPacket = DefaultMaxPacket
	}
	return d, nil
}

func (d *dialer) close() { d.closeAuth() }

// conn is one SSH connection with its SFTP session. Every operation runs
// under a watchdog: if it makes no progress within the target's timeout
// (or the context ends) the whole connection is closed, which fails the
// operation with a transport error that the scheduler retries elsewhere.
type conn struct {
	host     string // host:port
	ssh      *ssh.Client
	sftp     *sftp.Client
	timeout  time.Duration
	requests int

	posixRename bool
	fsync       bool

	mu     sync.Mutex
	killed error
	dirOK  map[string]bool
	done   chan struct{}
	once   sync.Once
}

// TimeoutError is an operation that made no progress within the deadline.
type TimeoutError struct {
	Host, Op string
	After    time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%s: %s made no progress for %s (deadline); connection closed", e.Host, e.Op, e.After)
}

// Timeout marks it as a net-style timeout.
func (e *TimeoutError) Timeout() bool { return true }

// AuthError is a login the server refused.
type AuthError struct {
	Host, User string
	Err        error
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("%s: login as %s refused: %v (check the target's user and auth settings)", e.Host, e.User, e.Err)
}
func (e *AuthError) Unwrap() error { return e.Err }

func (d *dialer) dial(ctx context.Context, ep config.Endpoint) (*conn, error) {
	addr := ep.Addr()
	var hkErr error
	cb := d.hk.callback()
	cfg := &ssh.ClientConfig{
		User: d.t.User,
		Auth: d.auth,
		HostKeyCallback: func(host string, remote net.Addr, key ssh.PublicKey) error {
			err := cb(host, remote, key)
			if err != nil {
				hkErr = err
			}
			return err
		},
		HostKeyAlgorithms: d.hk.algorithms(addr),
		Timeout:           d.timeout,
		Config: ssh.Config{
			// AES-GCM runs on AES-NI; ChaCha20 for CPUs without it.
			Ciphers: []string{ssh.CipherAES128GCM, ssh.CipherAES256GCM, ssh.CipherChaCha20Poly1305, ssh.CipherAES128CTR, ssh.CipherAES256CTR},
		},
	}
	nd := net.Dialer{Timeout: d.timeout, KeepAlive: 15 * time.Second}
	nc, err := nd.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", addr, err)
	}
	nc.SetDeadline(time.Now().Add(d.timeout))
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	sc, chans, reqs, err := ssh.NewClientConn(nc, addr, cfg)
	stop()
	if err != nil {
		nc.Close()
		if hkErr != nil {
			return nil, hkErr
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if strings.Contains(err.Error(), "unable to authenticate") {
			return nil, &AuthError{Host: addr, User: d.t.User, Err: errors.New(strings.TrimPrefix(err.Error(), "ssh: handshake failed: "))}
		}
		return nil, fmt.Errorf("ssh handshake with %s: %w", addr, err)
	}
	nc.SetDeadline(time.Time{})
	c := &conn{host: addr, ssh: ssh.NewClient(sc, chans, reqs), timeout: d.timeout, requests: d.requests,
		dirOK: map[string]bool{}, done: make(chan struct{})}
	err = c.op(ctx, "start sftp", func() error {
		var err error
		c.sftp, err = sftp.NewClient(c.ssh,
			sftp.MaxPacketUnchecked(d.maxPacket),
			sftp.UseConcurrentWrites(true),
			sftp.MaxConcurrentRequestsPerFile(d.requests),
		)
		return err
	})
	if err != nil {
		c.close()
		if isPermission(err) || strings.Contains(err.Error(), "subsystem request failed") {
			return nil, &HostError{Host: addr, Err: fmt.Errorf("the server refused the sftp subsystem: %v", err)}
		}
		return nil, fmt.Errorf("start sftp on %s: %w", addr, err)
	}
	_, c.posixRename = c.sftp.HasExtension("posix-rename@openssh.com")
	if v, ok := c.sftp.HasExtension("fsync@openssh.com"); ok && v == "1" {
		c.fsync = true
	}
	go c.keepalive(d.keepalive)
	return c, nil
}

// keepalive probes the server; a probe unanswered within the timeout
// means the session is dead (a silent network drop): close it so every
// waiting operation fails at once instead of hanging.
func (c *conn) keepalive(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		answered := make(chan error, 1)
		go func() {
			_, _, err := c.ssh.SendRequest("keepalive@openssh.com", true, nil)
			answered <- err
		}()
		select {
		case <-c.done:
			return
		case err := <-answered:
			if err != nil {
				c.kill(fmt.Errorf("%s: keepalive: %w", c.host, err))
				return
			}
		case <-time.After(c.timeout):
			c.kill(fmt.Errorf("%s: keepalive unanswered for %s: session dead", c.host, c.timeout))
			return
		}
	}
}

// kill closes the connection, remembering why (the first reason wins).
func (c *conn) kill(reason error) {
	c.mu.Lock()
	if c.killed == nil {
		c.killed = reason
	}
	c.mu.Unlock()
	c.close()
}

func (c *conn) close() {
	c.once.Do(func() {
		close(c.done)
		// The SSH transport first: the SFTP client's Close waits for its
		// reader, which only ends once the transport is gone.
		c.ssh.Close()
		if c.sftp != nil {
			c.sftp.Close()
		}
	})
}

func (c *conn) broken() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *conn) killReason() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.killed
}

// watch is the watchdog of one operation.
type watch struct {
	c    *conn
	what string
	t    *time.Timer
	stop func() bool
}

func (c *conn) watch(ctx context.Context, what string) *watch {
	w := &watch{c: c, what: what}
	w.t = time.AfterFunc(c.timeout, func() { c.kill(&TimeoutError{Host: c.host, Op: what, After: c.timeout}) })
	w.stop = context.AfterFunc(ctx, func() { c.kill(ctx.Err()) })
	return w
}

// touch records progress: the deadline starts again.
func (w *watch) touch() { w.t.Reset(w.c.timeout) }

// end stops the watchdog; when it killed the connection, its reason
// replaces the bare "connection lost" the operation saw.
func (w *watch) end(err error) error {
	w.t.Stop()
	w.stop()
	if err != nil {
		if k := w.c.killReason(); k != nil {
			return k
		}
		var pe *PermissionError
		if isPermission(err) && !errors.As(err, &pe) {
			return &PermissionError{Host: w.c.host, Op: w.what, Err: err}
		}
	}
	return err
}

// PermissionError is an SFTP operation the server refused: which host,
// which operation on which path, so the operator knows what to fix.
type PermissionError struct {
	Host, Op string // Op is the operation and its path: "open /in/.x.part"
	Err      error
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("%s: permission denied: %s (check the account's rights on that path)", e.Host, e.Op)
}
func (e *PermissionError) Unwrap() error { return e.Err }

// op runs f under a watchdog named what.
func (c *conn) op(ctx context.Context, what string, f func() error) error {
	if c.broken() {
		if k := c.killReason(); k != nil {
			return k
		}
		return sftp.ErrSSHFxConnectionLost
	}
	w := c.watch(ctx, what)
	return w.end(f())
}

// remoteMD5 runs md5sum on the server over an SSH exec.
func (c *conn) remoteMD5(ctx context.Context, p string) (string, error) {
	var out, stderr bytes.Buffer
	err := c.op(ctx, "md5sum "+p, func() error {
		s, err := c.ssh.NewSession()
		if err != nil {
			return err
		}
		defer s.Close()
		s.Stdout, s.Stderr = &out, &stderr
		return s.Run("md5sum -- " + shellQuote(p))
	})
	if err != nil {
		var ee *ssh.ExitError
		if errors.As(err, &ee) {
			return "", &ChecksumError{Path: p, Host: c.host, Err: fmt.Errorf("md5sum exited %d: %s", ee.ExitStatus(), strings.TrimSpace(stderr.String()))}
		}
		return "", err
	}
	sum, _, _ := strings.Cut(strings.TrimSpace(out.String()), " ")
	if len(sum) != 32 {
		return "", &ChecksumError{Path: p, Host: c.host, Err: fmt.Errorf("md5sum printed %q", out.String())}
	}
	return strings.ToLower(sum), nil
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
		err := c.op(ctx, "write "+p, func() error {
			f, err := c.sftp.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
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
			return &MissingDirError{Host: c.host, Dir: d}
		}
		if err != nil {
			return err
		}
		sum, err := c.remoteMD5(ctx, p)
		c.op(ctx, "remove "+p, func() error { return c.sftp.Remove(p) })
		var ce *ChecksumError
		var em *ssh.ExitMissingError
		switch {
		case err != nil && !c.broken() && (errors.As(err, &em) || strings.Contains(err.Error(), "ssh: command")):
			return &ConfigError{Host: c.host, Key: "remote_checksum", Err: fmt.Errorf("the server runs no command (%v): an SFTP-only account cannot md5sum; set remote_checksum: false", err)}
		case errors.As(err, &ce):
			return &ConfigError{Host: c.host, Key: "remote_checksum", Err: fmt.Errorf("md5sum over SSH cannot read %s, which SFTP just wrote (%v): the shell does not see the SFTP folders (a chrooted or SFTP-only account?); set remote_checksum: false", p, ce.Err)}
		case err != nil:
			return err
		case sum != want:
			return &ConfigError{Host: c.host, Key: "remote_checksum", Err: fmt.Errorf("md5sum over SSH read other content at %s than SFTP wrote there: the shell and SFTP see different folders; set remote_checksum: false", p)}
		}
	}
	return nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// progressReader touches the watchdog and reports bytes as the SFTP
// writer pulls data: it only pulls when earlier writes were acknowledged,
// so its reads are the transfer's real progress.
type progressReader struct {
	r    io.Reader
	w    *watch
	prog func(int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.w.touch()
		if p.prog != nil {
			p.prog(int64(n))
		}
	}
	return n, err
}
