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
	cmd            *exec.Cmd
	stderr         *bytes.Buffer
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
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Binary()
	if bin == "" {
		const msg = "OpenSSH sshd is not installed (apt-get install -y openssh-server)"
		if os.Getenv(RequireEnv) != "" {
			t.Fatalf("%s, but %s is set: CI must run the real-sshd tests", msg, RequireEnv)
		}
		t.Skip(msg + "; skipping the real-sshd test")
	}
	s, err := start(bin, t.TempDir())
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
	return start(bin, dir)
}

func start(bin, dir string) (*Server, error) {
	u, err := user.Current()
	if err != nil {
		return nil, err
	}
	s := &Server{Host: "127.0.0.1", User: u.Username, Dir: dir}
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
		cfg := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
AuthorizedKeysFile %s
PidFile %s
StrictModes no
UsePAM no
PermitRootLogin yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AllowTcpForwarding no
X11Forwarding no
PrintMotd no
MaxSessions 64
MaxStartups 64:30:128
Subsystem sftp internal-sftp
LogLevel ERROR
`, port, hostKeyFile, authKeys, filepath.Join(dir, "sshd.pid"))
		if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
			return nil, err
		}
		s.stderr = &bytes.Buffer{}
		s.cmd = exec.Command(bin, "-D", "-e", "-f", conf)
		s.cmd.Stderr = s.stderr
		if err := s.cmd.Start(); err != nil {
			return nil, fmt.Errorf("start %s: %w", bin, err)
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

// Close stops sshd (and, with it, its sessions).
func (s *Server) Close() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
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
