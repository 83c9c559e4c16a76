// Package sshconn is chama's one way onto an SSH server: dialing with
// the target's auth and verified host keys, and an SFTP session whose
// every operation runs under a watchdog. Push delivers through it, the
// SFTP relay source reads through it, and verify --remote checks
// delivered sets through its TargetFS.
package sshconn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
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

// Dialer opens SSH/SFTP connections to the endpoints of one target with
// its auth and host-key rules.
type Dialer struct {
	name      string
	t         *config.Target
	auth      []ssh.AuthMethod
	closeAuth func()
	hk        *hostKeyCheck
	log       *slog.Logger
	Timeout   time.Duration
	keepalive time.Duration
	MaxPacket int
	Requests  int
}

func NewDialer(name string, t *config.Target, log *slog.Logger) (*Dialer, error) {
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
	d := &Dialer{name: name, t: t, auth: auth, closeAuth: closeAuth, hk: hk, log: log,
		Timeout: t.Timeout.D(), keepalive: t.Keepalive.D(), MaxPacket: t.MaxPacket, Requests: DefaultRequestsPerFile}
	if d.Timeout <= 0 {
		d.Timeout = 60 * time.Second
	}
	if d.keepalive <= 0 {
		d.keepalive = DefaultKeepalive
	}
	if d.MaxPacket <= 0 {
		d.MaxPacket = DefaultMaxPacket
	}
	return d, nil
}

func (d *Dialer) Close() { d.closeAuth() }

// Conn is one SSH connection with its SFTP session. Every operation runs
// under a watchdog: if it makes no progress within the target's timeout
// (or the context ends) the whole connection is closed, which fails the
// operation with a transport error that the scheduler retries elsewhere.
type Conn struct {
	Host     string // host:port
	SSH      *ssh.Client
	SFTP     *sftp.Client
	Timeout  time.Duration
	Requests int

	PosixRename bool
	Fsync       bool

	mu     sync.Mutex
	killed error
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

func (d *Dialer) Dial(ctx context.Context, ep config.Endpoint) (*Conn, error) {
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
		Timeout:           d.Timeout,
		Config: ssh.Config{
			// AES-GCM runs on AES-NI; ChaCha20 for CPUs without it.
			Ciphers: []string{ssh.CipherAES128GCM, ssh.CipherAES256GCM, ssh.CipherChaCha20Poly1305, ssh.CipherAES128CTR, ssh.CipherAES256CTR},
		},
	}
	nd := net.Dialer{Timeout: d.Timeout, KeepAlive: 15 * time.Second}
	nc, err := nd.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", addr, err)
	}
	nc.SetDeadline(time.Now().Add(d.Timeout))
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
	c := &Conn{Host: addr, SSH: ssh.NewClient(sc, chans, reqs), Timeout: d.Timeout, Requests: d.Requests, done: make(chan struct{})}
	err = c.Op(ctx, "start sftp", func() error {
		var err error
		c.SFTP, err = sftp.NewClient(c.SSH,
			sftp.MaxPacketUnchecked(d.MaxPacket),
			sftp.UseConcurrentWrites(true),
			sftp.MaxConcurrentRequestsPerFile(d.Requests),
		)
		return err
	})
	if err != nil {
		c.Close()
		if IsPermission(err) || strings.Contains(err.Error(), "subsystem request failed") {
			return nil, &HostError{Host: addr, Err: fmt.Errorf("the server refused the sftp subsystem: %v", err)}
		}
		return nil, fmt.Errorf("start sftp on %s: %w", addr, err)
	}
	_, c.PosixRename = c.SFTP.HasExtension("posix-rename@openssh.com")
	if v, ok := c.SFTP.HasExtension("fsync@openssh.com"); ok && v == "1" {
		c.Fsync = true
	}
	go c.keepalive(d.keepalive)
	return c, nil
}

// keepalive probes the server; a probe unanswered within the timeout
// means the session is dead (a silent network drop): close it so every
// waiting operation fails at once instead of hanging.
func (c *Conn) keepalive(every time.Duration) {
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
			_, _, err := c.SSH.SendRequest("keepalive@openssh.com", true, nil)
			answered <- err
		}()
		select {
		case <-c.done:
			return
		case err := <-answered:
			if err != nil {
				c.Kill(fmt.Errorf("%s: keepalive: %w", c.Host, err))
				return
			}
		case <-time.After(c.Timeout):
			c.Kill(fmt.Errorf("%s: keepalive unanswered for %s: session dead", c.Host, c.Timeout))
			return
		}
	}
}

// kill closes the connection, remembering why (the first reason wins).
func (c *Conn) Kill(reason error) {
	c.mu.Lock()
	if c.killed == nil {
		c.killed = reason
	}
	c.mu.Unlock()
	c.Close()
}

func (c *Conn) Close() {
	c.once.Do(func() {
		close(c.done)
		// The SSH transport first: the SFTP client's Close waits for its
		// reader, which only ends once the transport is gone.
		c.SSH.Close()
		if c.SFTP != nil {
			c.SFTP.Close()
		}
	})
}

// Done is closed when the connection is closed or killed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Broken reports whether the connection is closed or killed.
func (c *Conn) Broken() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *Conn) KillReason() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.killed
}

// Watch is the watchdog of one operation.
type Watch struct {
	c    *Conn
	what string
	t    *time.Timer
	stop func() bool
}

func (c *Conn) Watch(ctx context.Context, what string) *Watch {
	w := &Watch{c: c, what: what}
	w.t = time.AfterFunc(c.Timeout, func() { c.Kill(&TimeoutError{Host: c.Host, Op: what, After: c.Timeout}) })
	w.stop = context.AfterFunc(ctx, func() { c.Kill(ctx.Err()) })
	return w
}

// touch records progress: the deadline starts again.
func (w *Watch) Touch() { w.t.Reset(w.c.Timeout) }

// end stops the watchdog; when it killed the connection, its reason
// replaces the bare "connection lost" the operation saw.
func (w *Watch) End(err error) error {
	w.t.Stop()
	w.stop()
	if err != nil {
		if k := w.c.KillReason(); k != nil {
			return k
		}
		var pe *PermissionError
		if IsPermission(err) && !errors.As(err, &pe) {
			return &PermissionError{Host: w.c.Host, Op: w.what, Err: err}
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
func (c *Conn) Op(ctx context.Context, what string, f func() error) error {
	if c.Broken() {
		if k := c.KillReason(); k != nil {
			return k
		}
		return sftp.ErrSSHFxConnectionLost
	}
	w := c.Watch(ctx, what)
	return w.End(f())
}

// remoteMD5 runs md5sum on the server over an SSH exec.
func (c *Conn) RemoteMD5(ctx context.Context, p string) (string, error) {
	var out, stderr bytes.Buffer
	err := c.Op(ctx, "md5sum "+p, func() error {
		s, err := c.SSH.NewSession()
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
			return "", &ChecksumError{Path: p, Host: c.Host, Err: fmt.Errorf("md5sum exited %d: %s", ee.ExitStatus(), strings.TrimSpace(stderr.String()))}
		}
		return "", err
	}
	sum, _, _ := strings.Cut(strings.TrimSpace(out.String()), " ")
	if len(sum) != 32 {
		return "", &ChecksumError{Path: p, Host: c.Host, Err: fmt.Errorf("md5sum printed %q", out.String())}
	}
	return strings.ToLower(sum), nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
