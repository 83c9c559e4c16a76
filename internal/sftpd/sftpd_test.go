package sftpd

import (
	"bytes"
	"crypto/ed25519"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func keyPair(t *testing.T) ssh.Signer {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func start(t *testing.T, key ssh.Signer, faults ...Fault) *Server {
	t.Helper()
	s, err := Start(Options{Root: t.TempDir(), AuthorizedKeys: []ssh.PublicKey{key.PublicKey()}, Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// dial connects and verifies the host key through KnownHostsLine.
func dial(t *testing.T, s *Server, key ssh.Signer) (*ssh.Client, *sftp.Client, error) {
	t.Helper()
	kh := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(kh, []byte(s.KnownHostsLine()+"\n"), 0o600)
	cb, err := knownhosts.New(kh)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ssh.Dial("tcp", s.Addr(), &ssh.ClientConfig{User: "chama", Auth: []ssh.AuthMethod{ssh.PublicKeys(key)}, HostKeyCallback: cb, Timeout: 5 * time.Second})
	if err != nil {
		return nil, nil, err
	}
	sc, err := sftp.NewClient(c)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	t.Cleanup(func() { sc.Close(); c.Close() })
	return c, sc, nil
}

func TestStartRefusesNonLoopback(t *testing.T) {
	if _, err := Start(Options{Root: t.TempDir(), Addr: "0.0.0.0:0"}); err == nil || !strings.Contains(err.Error(), "not loopback") {
		t.Fatalf("want a loopback refusal, got %v", err)
	}
}

func TestServesRootAndRecordsEvents(t *testing.T) {
	key := keyPair(t)
	s := start(t, key)
	_, c, err := dial(t, s, key)
	if err != nil {
		t.Fatal(err)
	}
	f, err := c.Create("/a.part")
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("hello"))
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.PosixRename("/a.part", "/a"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rename("/a", "/b"); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(s.Root(), "c"), nil, 0o644)
	if err := c.Rename("/b", "/c"); err == nil {
		t.Error("plain rename must not replace an existing file")
	}
	if b, _ := os.ReadFile(filepath.Join(s.Root(), "b")); string(b) != "hello" {
		t.Errorf("content %q", b)
	}
	var ops []string
	for _, e := range s.Events() {
		ops = append(ops, e.Op)
	}
	if got := strings.Join(ops, ","); got != "open,close,posix-rename,rename" {
		t.Errorf("events %s", got)
	}
	if _, err := c.Stat("/../../etc/passwd"); err == nil {
		t.Error("a path escaped the root")
	}
}

func TestWriteFaultAfterBytes(t *testing.T) {
	key := keyPair(t)
	s := start(t, key, Fault{Op: OpWrite, Action: Fail, Name: "*.part", AfterBytes: 1000, Times: 1})
	_, c, _ := dial(t, s, key)
	f, _ := c.Create("/x.part")
	_, err := f.Write(bytes.Repeat([]byte("x"), 3000))
	f.Close()
	if err == nil {
		t.Fatal("the write past 1000 bytes should fail")
	}
	if st, _ := os.Stat(filepath.Join(s.Root(), "x.part")); st == nil || st.Size() != 1000 {
		t.Errorf("the bytes before the limit should be written: %v", st)
	}
	// Disarmed after one firing.
	f, _ = c.Create("/y.part")
	if _, err := f.Write(bytes.Repeat([]byte("y"), 3000)); err != nil {
		t.Errorf("second file: %v", err)
	}
	f.Close()
}

func TestRenameDenyAndAuthReject(t *testing.T) {
	key := keyPair(t)
	s := start(t, key, Fault{Op: OpRename, Action: Deny, Name: "*.verf"})
	_, c, _ := dial(t, s, key)
	f, _ := c.Create("/s.part")
	f.Close()
	if err := c.PosixRename("/s.part", "/s.verf"); !errors.Is(err, os.ErrPermission) {
		t.Errorf("rename to .verf: %v, want permission denied", err)
	}
	s.Inject(Fault{Op: OpAuth, Action: Deny})
	if _, _, err := dial(t, s, key); err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Errorf("login should be rejected: %v", err)
	}
}

func TestStallEndsWhenClientLeaves(t *testing.T) {
	key := keyPair(t)
	s := start(t, key, Fault{Op: OpWrite, Action: Stall, AfterBytes: 10})
	sc, c, _ := dial(t, s, key)
	f, _ := c.Create("/z")
	done := make(chan error, 1)
	go func() { _, err := f.Write(bytes.Repeat([]byte("z"), 100)); done <- err }()
	// The write never returns by itself; closing the client ends it.
	for s.Fired(OpWrite) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	sc.Close()
	if err := <-done; err == nil {
		t.Error("a stalled write should fail once the connection is gone")
	}
	s.Close() // must not hang on the stalled handler
}

func TestExecMD5AndKill(t *testing.T) {
	key := keyPair(t)
	s := start(t, key, Fault{Op: OpWrite, Action: Kill, Name: "die", AfterBytes: 1})
	sc, _, _ := dial(t, s, key)
	os.WriteFile(filepath.Join(s.Root(), "it's"), []byte("data"), 0o644)
	sess, _ := sc.NewSession()
	out, err := sess.Output(`md5sum -- 'it'\''s'`)
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum([]byte("data"))
	if !strings.HasPrefix(string(out), hex.EncodeToString(sum[:])+"  ") {
		t.Errorf("md5sum output %q", out)
	}
	sess, _ = sc.NewSession()
	if err := sess.Run("rm -rf /"); err == nil {
		t.Error("only md5sum is supported")
	}
	_, c, _ := dial(t, s, key)
	f, _ := c.Create("/die")
	f.Write([]byte("xx"))
	f.Close()
	s.Close()
	if conn, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		conn.Close()
		t.Error("a killed server still accepts connections")
	}
}

// TestHoldOpensUntilReleased: a held open waits for its channel, then the
// file is created as usual; the fault is not an error.
func TestHoldOpensUntilReleased(t *testing.T) {
	key := keyPair(t)
	release := make(chan struct{})
	s := start(t, key, Fault{Op: OpOpen, Action: Hold, Until: release, Times: 1})
	_, c, _ := dial(t, s, key)
	done := make(chan error, 1)
	go func() {
		f, err := c.Create("/held")
		if err == nil {
			_, err = f.Write([]byte("after the hold"))
			f.Close()
		}
		done <- err
	}()
	for s.Fired(OpOpen) == 0 { // the open has reached the server
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("the open returned before the release: %v", err)
	default:
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(s.Root(), "held")); string(b) != "after the hold" {
		t.Errorf("held file holds %q", b)
	}
	if s.Fired(OpOpen) != 1 {
		t.Errorf("fired %d times, want 1", s.Fired(OpOpen))
	}
}
