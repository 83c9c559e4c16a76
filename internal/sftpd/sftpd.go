// Package sftpd is a small SFTP server that runs inside the process, on
// loopback, serving a local folder. It exists so that push, verify and
// `make demo` can be exercised against a real SSH/SFTP stack without an
// external daemon, and so that tests can inject the failures a real
// exchange platform produces: writes that fail or stall after N bytes,
// refused renames, rejected logins, dropped connections, a host that dies.
//
// Every mutating file-system operation is recorded as an Event, in the
// order the server performed it, so tests can assert publish order (for
// example that a set's .verf is renamed into place last).
package sftpd

import (
	"crypto/ed25519"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Options configure a server.
type Options struct {
	// Root is the folder served; SFTP path "/x" is Root/x. Required.
	Root string
	// User is the only accepted login name (default "chama").
	User string
	// Password, when set, is accepted for password (and
	// keyboard-interactive) authentication.
	Password string
	// AuthorizedKeys are the public keys accepted for User.
	AuthorizedKeys []ssh.PublicKey
	// HostKey is the server's key; nil generates a fresh ed25519 key.
	HostKey ssh.Signer
	// Addr to listen on; default "127.0.0.1:0". Only loopback is allowed.
	Addr string
	// Faults armed from the start; more can be added with Inject.
	Faults []Fault
	// Logf receives one line per connection event (nil: silent).
	Logf func(format string, args ...any)
}

// Op is the operation a Fault applies to.
type Op string

// The operations faults can target.
const (
	OpAuth   Op = "auth"   // login (any method)
	OpOpen   Op = "open"   // opening a file for writing
	OpWrite  Op = "write"  // data written to a file
	OpRename Op = "rename" // rename and posix-rename
	OpStat   Op = "stat"   // stat/lstat
	OpExec   Op = "exec"   // an SSH exec request (md5sum)
)

// Action is what a fault does when it fires.
type Action string

// The fault actions.
const (
	// Fail answers the request with SSH_FX_FAILURE.
	Fail Action = "fail"
	// Deny answers with SSH_FX_PERMISSION_DENIED (auth: rejects the login).
	Deny Action = "deny"
	// Drop closes the client's TCP connection abruptly.
	Drop Action = "drop"
	// Stall never answers: the request blocks until the connection or
	// the server is closed, so only the client's deadline can end it.
	Stall Action = "stall"
	// Kill shuts the whole server down, like a host that dies.
	Kill Action = "kill"
	// Hold (OpOpen only) makes the request wait until the fault's Until
	// channel is closed, then serves it normally: tests use it to order
	// events across servers without sleeping.
	Hold Action = "hold"
)

// Fault is one injected failure.
type Fault struct {
	Op     Op
	Action Action
	// Name is a path.Match pattern on the file's base name (for a rename,
	// the new name); empty matches every file.
	Name string
	// AfterBytes (OpWrite) fires once a file has received this many
	// bytes: the bytes before the limit are written, the rest is not.
	AfterBytes int64
	// Times the fault fires before it disarms; 0 means every time.
	Times int
	// Until is what a Hold waits for.
	Until <-chan struct{}
}

// Event is one mutating file-system operation, in server order.
type Event struct {
	Seq    int
	Conn   int    // connection number, from 1
	Op     string // open, close, rename, posix-rename, remove, mkdir, rmdir, setstat
	Path   string // SFTP path
	Target string // rename target
	Size   int64  // close: the file's size afterwards; setstat: new size
	Flags  string // open: w, c, t, a letters
}

// Server is a running in-process SFTP server.
type Server struct {
	opts    Options
	ln      net.Listener
	hostKey ssh.Signer
	cfg     *ssh.ServerConfig

	mu      sync.Mutex
	faults  []*armed
	events  []Event
	conns   map[int]*sconn
	nconn   int
	logins  int
	closed  bool
	closing chan struct{}
	wg      sync.WaitGroup
}

type armed struct {
	Fault
	fired int
}

type sconn struct {
	id   int
	nc   net.Conn
	done chan struct{}
	once sync.Once
}

func (c *sconn) close() {
	c.once.Do(func() { close(c.done); c.nc.Close() })
}

// Start listens and serves until Close.
func Start(o Options) (*Server, error) {
	if o.Root == "" {
		return nil, errors.New("sftpd: Root is required")
	}
	root, err := filepath.Abs(o.Root)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("sftpd: root %s is not a folder", root)
	}
	o.Root = root
	if o.User == "" {
		o.User = "chama"
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return nil, fmt.Errorf("sftpd: addr %q: %w", o.Addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("sftpd: addr %q is not loopback", o.Addr)
	}
	s := &Server{opts: o, conns: map[int]*sconn{}, closing: make(chan struct{})}
	s.hostKey = o.HostKey
	if s.hostKey == nil {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		if s.hostKey, err = ssh.NewSignerFromKey(priv); err != nil {
			return nil, err
		}
	}
	for _, f := range o.Faults {
		s.faults = append(s.faults, &armed{Fault: f})
	}
	s.cfg = &ssh.ServerConfig{
		PublicKeyCallback: func(m ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if err := s.authCheck(m); err != nil {
				return nil, err
			}
			for _, k := range o.AuthorizedKeys {
				if string(k.Marshal()) == string(key.Marshal()) {
					return nil, nil
				}
			}
			return nil, errors.New("key not authorized")
		},
	}
	if o.Password != "" {
		s.cfg.PasswordCallback = func(m ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			if err := s.authCheck(m); err != nil {
				return nil, err
			}
			if string(pw) != o.Password {
				return nil, errors.New("wrong password")
			}
			return nil, nil
		}
	}
	s.cfg.AddHostKey(s.hostKey)
	s.ln, err = net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("sftpd: %w", err)
	}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

func (s *Server) authCheck(m ssh.ConnMetadata) error {
	if m.User() != s.opts.User {
		return fmt.Errorf("unknown user %q", m.User())
	}
	if f := s.fire(OpAuth, "", -1); f != nil {
		return errors.New("login rejected (injected fault)")
	}
	return nil
}

// Addr is host:port of the listener.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Host is the listener's IP address.
func (s *Server) Host() string { return s.ln.Addr().(*net.TCPAddr).IP.String() }

// Port is the listener's TCP port.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Root is the served folder (absolute).
func (s *Server) Root() string { return s.opts.Root }

// HostKey is the server's public host key.
func (s *Server) HostKey() ssh.PublicKey { return s.hostKey.PublicKey() }

// KnownHostsLine is the known_hosts line for this server ("[127.0.0.1]:port ssh-ed25519 ...").
func (s *Server) KnownHostsLine() string {
	return knownhosts.Line([]string{knownhosts.Normalize(s.Addr())}, s.hostKey.PublicKey())
}

// Inject arms another fault.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	s.faults = append(s.faults, &armed{Fault: f})
	s.mu.Unlock()
}

// ClearFaults disarms every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}

// Fired reports how many times faults on op have fired.
func (s *Server) Fired(op Op) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, f := range s.faults {
		if f.Op == op {
			n += f.fired
		}
	}
	return n
}

// Events returns a copy of the recorded events.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// Logins is the number of successful SSH logins so far.
func (s *Server) Logins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins
}

// DropConnections cuts every open connection but keeps listening.
func (s *Server) DropConnections() {
	s.mu.Lock()
	cs := make([]*sconn, 0, len(s.conns))
	for _, c := range s.conns {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	for _, c := range cs {
		c.close()
	}
}

// Closed is closed once the server is closed (or killed by a fault).
func (s *Server) Closed() <-chan struct{} { return s.closing }

// Close stops listening, cuts every connection and waits for the
// server's goroutines. It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	close(s.closing)
	s.mu.Unlock()
	err := s.ln.Close()
	s.DropConnections()
	s.wg.Wait()
	return err
}

func (s *Server) logf(format string, a ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, a...)
	}
}

func (s *Server) record(e Event) {
	s.mu.Lock()
	e.Seq = len(s.events) + 1
	s.events = append(s.events, e)
	s.mu.Unlock()
}

// fire returns the fault that fires for op on name (at file size n for
// writes; -1 otherwise), counting it, or nil.
func (s *Server) fire(op Op, name string, reached int64) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if f.Op != op || (f.Times > 0 && f.fired >= f.Times) {
			continue
		}
		if f.Name != "" && name != "" {
			if ok, _ := path.Match(f.Name, path.Base(name)); !ok {
				continue
			}
		}
		if op == OpWrite && reached < f.AfterBytes {
			continue
		}
		f.fired++
		ff := f.Fault
		return &ff
	}
	return nil
}

// writeLimit is the smallest AfterBytes of an armed write fault matching
// name, or -1.
func (s *Server) writeLimit(name string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	lim := int64(-1)
	for _, f := range s.faults {
		if f.Op != OpWrite || (f.Times > 0 && f.fired >= f.Times) {
			continue
		}
		if f.Name != "" {
			if ok, _ := path.Match(f.Name, path.Base(name)); !ok {
				continue
			}
		}
		if lim < 0 || f.AfterBytes < lim {
			lim = f.AfterBytes
		}
	}
	return lim
}

// act carries out a fired fault for connection c and returns the error
// the request answers with (nil after a Hold: serve the request).
func (s *Server) act(c *sconn, f *Fault) error {
	switch f.Action {
	case Drop:
		c.close()
		return sftp.ErrSSHFxConnectionLost
	case Stall:
		select {
		case <-c.done:
		case <-s.closing:
		}
		return sftp.ErrSSHFxConnectionLost
	case Kill:
		go s.Close()
		c.close()
		return sftp.ErrSSHFxConnectionLost
	case Hold:
		select {
		case <-f.Until:
			return nil
		case <-c.done:
		case <-s.closing:
		}
		return sftp.ErrSSHFxConnectionLost
	case Deny:
		return sftp.ErrSSHFxPermissionDenied
	default:
		return fmt.Errorf("injected %s failure", f.Op)
	}
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return
		}
		s.nconn++
		c := &sconn{id: s.nconn, nc: nc, done: make(chan struct{})}
		s.conns[c.id] = c
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer func() {
				c.close()
				s.mu.Lock()
				delete(s.conns, c.id)
				s.mu.Unlock()
			}()
			s.serve(c)
		}()
	}
}

func (s *Server) serve(c *sconn) {
	sc, chans, reqs, err := ssh.NewServerConn(c.nc, s.cfg)
	if err != nil {
		s.logf("sftpd: conn %d: handshake: %v", c.id, err)
		return
	}
	defer sc.Close()
	s.mu.Lock()
	s.logins++
	s.mu.Unlock()
	s.logf("sftpd: conn %d: %s logged in", c.id, sc.User())
	go ssh.DiscardRequests(reqs)
	var wg sync.WaitGroup
	defer wg.Wait()
	go func() {
		<-c.done
		sc.Close()
	}()
	// A stalled request waits on c.done: end it when the client leaves.
	go func() {
		sc.Wait()
		c.close()
	}()
	for nch := range chans {
		if nch.ChannelType() != "session" {
			nch.Reject(ssh.UnknownChannelType, "only session channels")
			continue
		}
		ch, creqs, err := nch.Accept()
		if err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.session(c, ch, creqs)
		}()
	}
}

func (s *Server) session(c *sconn, ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for req := range reqs {
		switch req.Type {
		case "subsystem":
			if len(req.Payload) < 4 || string(req.Payload[4:]) != "sftp" {
				req.Reply(false, nil)
				continue
			}
			req.Reply(true, nil)
			go ssh.DiscardRequests(reqs)
			h := &handler{s: s, c: c}
			rs := sftp.NewRequestServer(ch, sftp.Handlers{FileGet: h, FilePut: h, FileCmd: h, FileList: h})
			rs.Serve()
			rs.Close()
			return
		case "exec":
			var p struct{ Cmd string }
			if ssh.Unmarshal(req.Payload, &p) != nil {
				req.Reply(false, nil)
				continue
			}
			req.Reply(true, nil)
			go ssh.DiscardRequests(reqs)
			code := s.exec(c, p.Cmd, ch)
			ch.SendRequest("exit-status", false, ssh.Marshal(struct{ C uint32 }{uint32(code)}))
			return
		default:
			req.Reply(req.Type == "env" || req.Type == "pty-req", nil)
		}
	}
}

// exec supports only what push needs: `md5sum -- 'path'` (the path
// single-quoted as a POSIX shell would read it).
func (s *Server) exec(c *sconn, cmd string, ch ssh.Channel) int {
	arg, ok := strings.CutPrefix(cmd, "md5sum -- ")
	if !ok {
		fmt.Fprintf(ch.Stderr(), "sftpd: command not supported: %s\n", strconv.Quote(cmd))
		return 127
	}
	p, err := unquote(arg)
	if err != nil {
		fmt.Fprintf(ch.Stderr(), "sftpd: %v\n", err)
		return 2
	}
	if f := s.fire(OpExec, p, -1); f != nil {
		if err := s.act(c, f); err != nil {
			fmt.Fprintf(ch.Stderr(), "md5sum: %v\n", err)
			return 1
		}
	}
	fh, err := os.Open(s.local(p))
	if err != nil {
		fmt.Fprintf(ch.Stderr(), "md5sum: %s: No such file or directory\n", p)
		return 1
	}
	defer fh.Close()
	h := md5.New()
	if _, err := io.Copy(h, fh); err != nil {
		fmt.Fprintf(ch.Stderr(), "md5sum: %s: %v\n", p, err)
		return 1
	}
	fmt.Fprintf(ch, "%s  %s\n", hex.EncodeToString(h.Sum(nil)), p)
	return 0
}

// unquote reads a sequence of single-quoted and \'-escaped pieces.
func unquote(s string) (string, error) {
	var b strings.Builder
	for len(s) > 0 {
		switch {
		case s[0] == '\'':
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				return "", fmt.Errorf("unterminated quote in %q", s)
			}
			b.WriteString(s[1 : 1+end])
			s = s[end+2:]
		case strings.HasPrefix(s, `\'`):
			b.WriteByte('\'')
			s = s[2:]
		default:
			return "", fmt.Errorf("unsupported shell syntax in %q", s)
		}
	}
	return b.String(), nil
}

// local maps an SFTP path to the served folder; ".." cannot escape it.
func (s *Server) local(p string) string {
	return filepath.Join(s.opts.Root, filepath.FromSlash(path.Clean("/"+p)))
}
