//go:build unix

// Package sshdtest starts a real OpenSSH sshd on a loopback port for
// tests: a temporary host key, a temporary client key in
// authorized_keys, the internal-sftp subsystem without chroot, running as
// the current user (root in CI, hence StrictModes no and UsePAM no).
// Tests skip with a clear message when sshd is not installed.
package sshdtest

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Server is a running sshd.
type Server struct {
	Host           string // 127.0.0.1
	Port           int
	User           string // the current user
	KeyFile        string // client private key (mode 0600, no passphrase)
	KnownHostsFile string // known_hosts with the server's key
	HostKey        ssh.PublicKey
	Dir            string // scratch folder holding the files above
	opts           Options
	conf           string
	cmd            *exec.Cmd
	stderr         *syncBuffer
}

// Options change the server's sshd_config.
type Options struct {
	// PasswordAuth turns password login on (UsePAM stays off, so the
	// password is checked against the system's shadow file: a test
	// using it expects a refusal).
	PasswordAuth bool
	// SFTPOnly forces every session to internal-sftp, like an exchange
	// platform's SFTP-only account: an SSH exec runs no command.
	SFTPOnly bool
	// SFTPStartDir is the folder SFTP sessions start in: a relative
	// remote path then names a folder of this server's own, so servers
	// on one machine can have separate storage. A shell (SSH exec) does
	// not start there.
	SFTPStartDir string
}

// syncBuffer is sshd's stderr, read while sshd writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, fmt.Sprint(s.Port)) }

// RequireEnv, when set (.ci/run sets it after installing the servers),
// turns "server not installed" from a skip into a failure, so CI cannot
// pass without running the real-server tests.
const RequireEnv = "CHAMA_TEST_REQUIRE_SERVERS"

// Binary finds sshd, or returns "".
func Binary() string {
	for _, p := range []string{"/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd"} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	if p, err := exec.LookPath("sshd"); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			return abs
		}
	}
	return ""
}

// Start runs sshd for the test and stops it at cleanup. It skips the
// test when sshd is not installed.
func Start(t testing.TB) *Server { return StartWith(t, Options{}) }

// StartWith is Start with options.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	bin := Binary()
	if bin == "" {
		const msg = "OpenSSH sshd is not installed (apt-get install -y openssh-server)"
		if os.Getenv(RequireEnv) != "" {
			t.Fatalf("%s, but %s is set: CI must run the real-sshd tests", msg, RequireEnv)
		}
		t.Skip(msg + "; skipping the real-sshd test")
	}
	s, err := start(bin, t.TempDir(), o)
	if err != nil {
		t.Fatalf("sshdtest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// StartDir is Start for programs (the bench): it uses dir and returns
// an error instead of skipping.
func StartDir(dir string) (*Server, error) {
	bin := Binary()
	if bin == "" {
		return nil, fmt.Errorf("OpenSSH sshd is not installed (apt-get install -y openssh-server)")
	}
	return start(bin, dir, Options{})
}

func start(bin, dir string, o Options) (*Server, error) {
	u, err := user.Current()
	if err != nil {
		return nil, err
	}
	s := &Server{Host: "127.0.0.1", User: u.Username, Dir: dir, opts: o}
	hostPriv, hostPub, err := newKey()
	if err != nil {
		return nil, err
	}
	cliPriv, cliPub, err := newKey()
	if err != nil {
		return nil, err
	}
	s.HostKey = hostPub
	hostKeyFile := filepath.Join(dir, "ssh_host_ed25519_key")
	s.KeyFile = filepath.Join(dir, "id_ed25519")
	authKeys := filepath.Join(dir, "authorized_keys")
	s.KnownHostsFile = filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(hostKeyFile, hostPriv, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(s.KeyFile, cliPriv, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(authKeys, ssh.MarshalAuthorizedKey(cliPub), 0o600); err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		// sshd started as root insists on its privilege-separation folder.
		os.MkdirAll("/run/sshd", 0o755)
	}
	var lastErr error
	for try := 0; try < 5; try++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s.Port = port
		conf := filepath.Join(dir, "sshd_config")
		pw, level, force := "no", "ERROR", ""
		if o.PasswordAuth {
			pw, level = "yes", "VERBOSE" // VERBOSE logs each failed password
		}
		sftp := "internal-sftp"
		if o.SFTPStartDir != "" {
			sftp += " -d " + o.SFTPStartDir
		}
		if o.SFTPOnly {
			force = "ForceCommand " + sftp + "\n"
		}
		cfg := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
AuthorizedKeysFile %s
PidFile %s
StrictModes no
UsePAM no
PermitRootLogin yes
PubkeyAuthentication yes
PasswordAuthentication %s
PermitEmptyPasswords no
KbdInteractiveAuthentication no
AllowTcpForwarding no
X11Forwarding no
PrintMotd no
MaxSessions 64
MaxStartups 64:30:128
Subsystem sftp %s
LogLevel %s
%s`, port, hostKeyFile, authKeys, filepath.Join(dir, "sshd.pid"), pw, sftp, level, force)
		if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
			return nil, err
		}
		s.conf = conf
		if err := s.run(bin); err != nil {
			return nil, err
		}
		if err := waitBanner(s.Addr()); err != nil {
			s.Close()
			lastErr = fmt.Errorf("sshd did not come up on %s: %v; its log: %s", s.Addr(), err, strings.TrimSpace(s.stderr.String()))
			continue
		}
		line := knownhosts.Line([]string{knownhosts.Normalize(s.Addr())}, hostPub)
		if err := os.WriteFile(s.KnownHostsFile, []byte(line+"\n"), 0o644); err != nil {
			s.Close()
			return nil, err
		}
		return s, nil
	}
	return nil, lastErr
}

// run starts sshd in a process group of its own, so that Pause and
// Kill reach its session processes too.
func (s *Server) run(bin string) error {
	s.stderr = &syncBuffer{}
	s.cmd = exec.Command(bin, "-D", "-e", "-f", s.conf)
	s.cmd.Stderr = s.stderr
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", bin, err)
	}
	return nil
}

// Close stops sshd and every session it serves, like a host that dies.
func (s *Server) Close() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.signal(syscall.SIGKILL)
		s.cmd.Wait()
		s.cmd = nil
	}
}

// Kill is Close: SIGKILL to sshd and its sessions.
func (s *Server) Kill() { s.Close() }

// Pause stops sshd and its sessions with SIGSTOP: a host that hangs.
// Kill ends it.
func (s *Server) Pause() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.signal(syscall.SIGSTOP)
	}
}

// signal sends sig to sshd's process group and to every process below
// sshd (session processes may have left the group with setsid).
func (s *Server) signal(sig syscall.Signal) {
	pid := s.cmd.Process.Pid
	for _, p := range descendants(pid) {
		syscall.Kill(p, sig)
	}
	syscall.Kill(-pid, sig)
	syscall.Kill(pid, sig)
}

// descendants lists the processes below pid, from /proc.
func descendants(pid int) []int {
	parent := map[int]int{}
	es, _ := os.ReadDir("/proc")
	for _, e := range es {
		var p int
		if _, err := fmt.Sscan(e.Name(), &p); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		var state string
		var ppid int
		fmt.Sscan(string(b[i+1:]), &state, &ppid)
		parent[p] = ppid
	}
	var out []int
	for p := range parent {
		for q := parent[p]; q > 1; q = parent[q] {
			if q == pid {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// Restart starts a killed server again on the same port with the same
// keys, like a host that comes back.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Close()
	bin := Binary()
	var err error
	for i := 0; i < 50; i++ {
		if err = s.run(bin); err != nil {
			break
		}
		if err = waitBanner(s.Addr()); err == nil {
			return
		}
		s.Close() // the port may still be held for a moment
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("sshdtest: restart on %s: %v; its log: %s", s.Addr(), err, s.Log())
}

// Log is what sshd wrote to stderr so far.
func (s *Server) Log() string { return s.stderr.String() }

func newKey() (pemBytes []byte, pub ssh.PublicKey, err error) {
	pk, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	blk, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return nil, nil, err
	}
	pub, err = ssh.NewPublicKey(pk)
	return pem.EncodeToMemory(blk), pub, err
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitBanner polls until the port answers with an SSH banner.
func waitBanner(addr string) error {
	var err error
	for i := 0; i < 200; i++ {
		var c net.Conn
		c, err = net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.SetDeadline(time.Now().Add(2 * time.Second))
			line, rerr := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if rerr == nil && strings.HasPrefix(line, "SSH-") {
				return nil
			}
			err = fmt.Errorf("no SSH banner (%v)", rerr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}
