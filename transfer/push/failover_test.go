package push

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/chama-data/chama/internal/delivery"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/internal/retry"
	"github.com/chama-data/chama/internal/sftpd"
	"github.com/chama-data/chama/internal/sshdtest"
	"github.com/chama-data/chama/internal/workdir"
	"github.com/chama-data/chama/transfer/sshconn"
)

// startCutProxy forwards TCP to target and cuts the first `cuts`
// connections once the client has sent cutAfter bytes through them: a
// network drop in the middle of a file.
func startCutProxy(t *testing.T, target string, cutAfter int64, cuts int) *flakyProxy {
	p := startFlakyProxy(t, target, cutAfter, 0)
	p.cutOnly.Store(int32(cuts))
	return p
}

// addKnownHost lists the server's key under another address (the proxy).
func (e *env) addKnownHost(addr string, key ssh.PublicKey) {
	f, _ := os.OpenFile(e.kh, os.O_APPEND|os.O_WRONLY, 0o644)
	fmt.Fprintln(f, knownhosts.Line([]string{knownhosts.Normalize(addr)}, key))
	f.Close()
}

func TestPushSurvivesConnectionCutMidFile(t *testing.T) {
	e := newEnv(t)
	s := e.server()
	px := startCutProxy(t, s.Addr(), 150_000, 2)
	e.addKnownHost(px.Addr(), s.HostKey())
	m := packSet(t, e.work, "51007", "20241212", 0, 6, 200_000)
	cfg := e.config(e.targetYAML("plat", []string{px.Addr()}, nil, "down_after: 5"), "plat")
	if _, err, _ := e.push(cfg); err != nil {
		t.Fatal(err)
	}
	if px.cuts.Load() == 0 {
		t.Fatal("the proxy never cut a connection: the test proves nothing")
	}
	local := workdir.New(cfg.Workdir).Out("51007", "20241212")
	assertDelivered(t, filepath.Join(s.Root(), "in"), m, local)
	assertVerfLast(t, m, s.Events()) // also: no file published twice
	rec, _ := delivery.Read(local, "plat")
	retried := 0
	for _, f := range rec.Files {
		if f.Attempts > 1 {
			retried++
		}
	}
	if retried == 0 {
		t.Error("no file records a retry although connections were cut mid-file")
	}
}

// A primary and a standby with storage of their own: when the primary
// dies mid-set, the standby receives the whole set before its .verf, and
// the record keeps both hosts for the files that reached both.
func TestPushPrimaryKilledStandbyTakesOver(t *testing.T) {
	e := newEnv(t)
	primary := e.server(sftpd.Fault{Op: sftpd.OpWrite, Action: sftpd.Kill, Name: ".*_004.dat.gz.part", AfterBytes: 20_000, Times: 1})
	standby := e.server()
	m := packSet(t, e.work, "51007", "20241212", 0, 8, 60_000)
	cfg := e.config(e.targetYAML("plat", []string{primary.Addr()}, []string{standby.Addr()},
		"connections_per_host: 1", "transfers_per_connection: 1"), "plat")
	res, err, status := e.push(cfg)
	if err != nil {
		t.Fatalf("%v\n%s", err, status)
	}
	if primary.Fired(sftpd.OpWrite) != 1 {
		t.Fatal("the primary was not killed")
	}
	local := workdir.New(cfg.Workdir).Out("51007", "20241212")
	// The standby holds the whole set, the .verf published last.
	assertDelivered(t, filepath.Join(standby.Root(), "in"), m, local)
	assertVerfLast(t, m, standby.Events())
	if _, err := os.Stat(filepath.Join(primary.Root(), "in", m.Sets[0].Verf)); err == nil {
		t.Error("the primary, which lacks files, got the .verf")
	}
	rec, _ := delivery.Read(local, "plat")
	onPrimary := 0
	for _, f := range rec.Files {
		if !f.On(standby.Addr()) {
			t.Errorf("record: %s not on the standby: %v", f.Name, f.Hosts)
		}
		if f.On(primary.Addr()) {
			onPrimary++
			if sum := readFileMD5(t, filepath.Join(primary.Root(), "in", f.Name)); sum != f.MD5 {
				t.Errorf("record says %s is on the primary, but there it has md5 %q", f.Name, sum)
			}
		}
	}
	if len(rec.Files) != 9 || onPrimary != 3 {
		t.Errorf("record: %d files, %d on the primary; want 9 and 3 (001-003 before the kill)", len(rec.Files), onPrimary)
	}
	var states []string
	for _, h := range res.Hosts {
		states = append(states, h.Role+"="+h.State)
	}
	if strings.Join(states, ",") != "primary=down,standby=up" {
		t.Errorf("host states %v", states)
	}
	if !strings.Contains(status, "via="+standby.Addr()) || !strings.Contains(status, "failed_hosts="+primary.Addr()+":") ||
		!strings.Contains(status, "CHAMA_ALERT kind=failover") {
		t.Errorf("the failover is not visible in the status lines:\n%s", status)
	}
}

func TestPushAllHostsDownIsPartial(t *testing.T) {
	e := newEnv(t)
	s := e.server(sftpd.Fault{Op: sftpd.OpWrite, Action: sftpd.Kill, Name: ".*_003.dat.gz.part", AfterBytes: 10_000, Times: 1})
	packSet(t, e.work, "51007", "20241212", 0, 6, 40_000)
	// cool_off bounds how long the run probes its only host before it
	// gives up.
	cfg := e.config(e.targetYAML("plat", []string{s.Addr()}, nil, "connections_per_host: 1", "transfers_per_connection: 1", "cool_off: 1s"), "plat")
	res, err, status := e.push(cfg)
	if exit.Code(err) != exit.Partial {
		t.Fatalf("exit %d (%v), want %d", exit.Code(err), err, exit.Partial)
	}
	if res.Files != 2 || res.Pending != 5 {
		t.Errorf("files=%d pending=%d, want 2 delivered (001, 002) and 5 pending (003-006, .verf)", res.Files, res.Pending)
	}
	if !strings.Contains(status, "CHAMA_PUSH FAIL") || !strings.Contains(status, "files=2 ") || !strings.Contains(status, "pending=5") || !strings.Contains(status, "down") {
		t.Errorf("status %q", status)
	}
	if !strings.Contains(err.Error(), "sent 2 files") {
		t.Errorf("summary %q", err)
	}
}

// The crash: a first run dies with the host mid-file; a second run
// against the same storage resumes the .part and finishes the set.
func TestPushRerunAfterCrashResumesPart(t *testing.T) {
	e := newEnv(t)
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "in"), 0o755)
	s1 := e.serverAt(root, nil, sftpd.Fault{Op: sftpd.OpWrite, Action: sftpd.Kill, Name: ".*_002.dat.gz.part", AfterBytes: 900_000, Times: 1})
	m := packSet(t, e.work, "51007", "20241212", 0, 3, 1_500_000)
	one := []string{"connections_per_host: 1", "transfers_per_connection: 1", "cool_off: 1s"}
	cfg := e.config(e.targetYAML("plat", []string{s1.Addr()}, nil, one...), "plat")
	if _, err, _ := e.push(cfg); exit.Code(err) != exit.Partial {
		t.Fatalf("first run: %v", err)
	}
	part := filepath.Join(root, "in", "."+m.Sets[0].Files[1].Name+".part")
	st, err := os.Stat(part)
	if err != nil || st.Size() < 800_000 {
		t.Fatalf("the crash should leave a large .part: %v %v", st, err)
	}

	s2 := e.serverAt(root, nil)
	cfg = e.config(e.targetYAML("plat", []string{s2.Addr()}, nil, one...), "plat")
	res, err, _ := e.push(cfg)
	if err != nil {
		t.Fatal(err)
	}
	local := workdir.New(cfg.Workdir).Out("51007", "20241212")
	assertDelivered(t, filepath.Join(root, "in"), m, local)
	assertVerfLast(t, m, s2.Events())
	if res.Skipped != 1 || res.Files != 3 {
		t.Errorf("second run: skipped=%d files=%d, want 1 (001) and 3 (002, 003, .verf)", res.Skipped, res.Files)
	}
	rec, _ := delivery.Read(local, "plat")
	f2, _ := rec.Lookup(m.Sets[0].Files[1].Name)
	if f2.Resumed <= 0 || f2.Resumed >= st.Size() {
		t.Errorf("file 2 resumed from %d; want inside the .part (0, %d)", f2.Resumed, st.Size())
	}
	for _, ev := range s2.Events() {
		if ev.Op == "open" && strings.HasSuffix(ev.Path, m.Sets[0].Files[1].Name+".part") && strings.Contains(ev.Flags, "t") {
			t.Errorf("the .part was truncated instead of resumed: %+v", ev)
		}
	}
}

func TestPushRestartsPartLargerThanLocal(t *testing.T) {
	e := newEnv(t)
	s := e.server()
	m := packSet(t, e.work, "51007", "20241212", 0, 1, 30_000)
	name := m.Sets[0].Files[0].Name
	junk := make([]byte, m.Sets[0].Files[0].Bytes+5000)
	os.WriteFile(filepath.Join(s.Root(), "in", "."+name+".part"), junk, 0o644)
	cfg := e.config(e.targetYAML("plat", []string{s.Addr()}, nil), "plat")
	if _, err, _ := e.push(cfg); err != nil {
		t.Fatal(err)
	}
	assertDelivered(t, filepath.Join(s.Root(), "in"), m, workdir.New(cfg.Workdir).Out("51007", "20241212"))
	truncated := false
	for _, ev := range s.Events() {
		if ev.Op == "open" && strings.HasSuffix(ev.Path, name+".part") && strings.Contains(ev.Flags, "t") {
			truncated = true
		}
	}
	if !truncated {
		t.Error("a .part larger than the local file must be restarted (opened with truncate)")
	}
}

func TestPushNeverOverwritesWithoutForceOrNewResend(t *testing.T) {
	e := newEnv(t)
	s := e.server()
	m := packSet(t, e.work, "51007", "20241212", 0, 2, 20_000)
	cfg := e.config(e.targetYAML("plat", []string{s.Addr()}, nil, "remote_checksum: true"), "plat")
	if _, err, _ := e.push(cfg); err != nil {
		t.Fatal(err)
	}
	local := workdir.New(cfg.Workdir).Out("51007", "20241212")
	// Someone changed a delivered file on the platform (same size), and
	// the record is gone: only the remote md5sum can tell.
	remote := filepath.Join(s.Root(), "in", m.Sets[0].Files[0].Name)
	b, _ := os.ReadFile(remote)
	b[len(b)/2] ^= 0xff
	os.WriteFile(remote, b, 0o644)
	os.Remove(filepath.Join(local, workdir.DeliveryFile("plat")))
	_, err, status := e.push(cfg)
	if exit.Code(err) != exit.Failure || !strings.Contains(status, "already exists and differs") || !strings.Contains(status, "remote md5 differs") {
		t.Fatalf("exit %d, status %s", exit.Code(err), status)
	}
	if got := readFileMD5(t, remote); got == m.Sets[0].Files[0].MD5 {
		t.Fatal("overwritten without --force")
	}
	// --force replaces it; without posix-rename: remove, then rename.
	if _, err, _ := e.push(cfg, func(o *Options) { o.Force = true; o.noPosixRename = true }); err != nil {
		t.Fatal(err)
	}
	assertDelivered(t, filepath.Join(s.Root(), "in"), m, local)
	evs := s.Events()
	var ops []string
	for _, ev := range evs {
		if strings.HasSuffix(ev.Path, m.Sets[0].Files[0].Name) || strings.HasSuffix(ev.Target, m.Sets[0].Files[0].Name) {
			ops = append(ops, ev.Op)
		}
	}
	if n := len(ops); n < 2 || ops[n-2] != "remove" || ops[n-1] != "rename" {
		t.Errorf("forced replace without posix-rename: ops %v, want ... remove, rename", ops)
	}
}

func TestPushNewResendReplacesFinalFiles(t *testing.T) {
	e := newEnv(t)
	s := e.server()
	packSet(t, e.work, "51007", "20241212", 0, 2, 20_000)
	cfg := e.config(e.targetYAML("plat", []string{s.Addr()}, nil), "plat")
	if _, err, _ := e.push(cfg); err != nil {
		t.Fatal(err)
	}
	local := workdir.New(cfg.Workdir).Out("51007", "20241212")
	// Re-packed with different content under the same names.
	m2 := packSet(t, e.work, "51007", "20241212", 0, 2, 25_000)
	if _, err, _ := e.push(cfg); exit.Code(err) != exit.Failure {
		t.Fatalf("same re-send, different files: want a refusal, got %v", err)
	}
	m2.Resend = 1
	if err := manifest.Write(local, m2); err != nil {
		t.Fatal(err)
	}
	res, err, _ := e.push(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Files != 3 {
		t.Errorf("files=%d, want 3 replaced", res.Files)
	}
	assertDelivered(t, filepath.Join(s.Root(), "in"), m2, local)
	if rec, _ := delivery.Read(local, "plat"); rec.Resend != 1 {
		t.Errorf("record resend %d", rec.Resend)
	}
}

func TestPushRealSSHD(t *testing.T) {
	d := sshdtest.Start(t)
	e := newEnv(t)
	remote := t.TempDir()
	m := packSet(t, e.work, "51007", "20241212", 0, 5, 300_000)
	px := startCutProxy(t, d.Addr(), 400_000, 1)
	tg := func(addr string) string {
		return e.targetYAML("plat", []string{addr}, nil, "user: "+d.User, "auth: {key_file: "+d.KeyFile+"}",
			"known_hosts: "+d.KnownHostsFile, "dir: "+remote, "remote_checksum: true", "max_packet: 65536", "down_after: 5")
	}
	f, _ := os.OpenFile(d.KnownHostsFile, os.O_APPEND|os.O_WRONLY, 0o644)
	fmt.Fprintln(f, knownhosts.Line([]string{knownhosts.Normalize(px.Addr())}, d.HostKey))
	f.Close()
	cfg := e.config(tg(px.Addr()), "plat")
	if _, err, _ := e.push(cfg); err != nil {
		t.Fatalf("%v\nsshd log: %s", err, d.Log())
	}
	if px.cuts.Load() != 1 {
		t.Errorf("the proxy cut %d connections, want 1", px.cuts.Load())
	}
	local := workdir.New(cfg.Workdir).Out("51007", "20241212")
	assertDelivered(t, remote, m, local)
	res, err, _ := e.push(e.config(tg(d.Addr()), "plat"))
	if err != nil || res.Files != 0 || res.Skipped != 6 {
		t.Errorf("re-run against sshd: %v files=%d skipped=%d", err, res.Files, res.Skipped)
	}

	// OpenTargetFS gives verify the same auth and host-key rules.
	vfs, err := sshconn.OpenTargetFS(context.Background(), e.config(tg(d.Addr()), "plat"), "plat", cfg.Targets["plat"].Primary[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer vfs.Close()
	c := vfs.Client()
	if _, ok := c.HasExtension("fsync@openssh.com"); !ok {
		t.Error("OpenSSH offers fsync@openssh.com; the client should see it")
	}
	st, err := c.Stat(filepath.Join(remote, m.Sets[0].Verf))
	if err != nil || st.Size() == 0 {
		t.Errorf("stat .verf over OpenTargetFS: %v", err)
	}

	// verify's session streams a file back whole from OpenSSH too.
	dcfg := e.config(tg(d.Addr()), "plat")
	tfs, err := sshconn.OpenTargetFS(context.Background(), dcfg, "plat", dcfg.Targets["plat"].Primary[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tfs.Close()
	rc, err := tfs.Open(filepath.Join(remote, m.Sets[0].Files[0].Name))
	if err != nil {
		t.Fatal(err)
	}
	h := md5.New()
	_, err = rc.(io.WriterTo).WriteTo(h)
	rc.Close()
	if got := hex.EncodeToString(h.Sum(nil)); err != nil || got != m.Sets[0].Files[0].MD5 {
		t.Errorf("streamed back over TargetFS: md5 %s, %v; want %s", got, err, m.Sets[0].Files[0].MD5)
	}
	// --force checks every file with md5sum on the server: all the same.
	res, err, _ = e.push(dcfg, func(o *Options) { o.Force = true })
	if err != nil || res.Files != 0 || res.Skipped != 6 {
		t.Errorf("--force against sshd: %v files=%d skipped=%d", err, res.Files, res.Skipped)
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		err  error
		want class
	}{
		{io.EOF, classTransport},
		{sftp.ErrSSHFxConnectionLost, classTransport},
		{&sshconn.TimeoutError{Host: "h", Op: "write", After: time.Second}, classTransport},
		{fmt.Errorf("x: %w", &net.OpError{Op: "dial", Err: errors.New("refused")}), classTransport},
		{&sshconn.AuthError{Host: "h", User: "u", Err: errors.New("no")}, classHost},
		{&sshconn.HostKeyError{Host: "h"}, classHost},
		{&MissingDirError{Host: "h", Dir: "/in"}, classHost},
		{os.ErrPermission, classHost},
		{&sftp.StatusError{Code: 3}, classHost},
		{&sftp.StatusError{Code: 4}, classFile},
		{&SizeError{}, classFile},
		{&ExistsError{}, classConflict},
		{&LocalError{Err: os.ErrNotExist}, classConflict},
		{context.Canceled, classCancel},
	}
	for _, c := range cases {
		if got := classify(c.err); got != c.want {
			t.Errorf("classify(%v) = %s, want %s", c.err, got, c.want)
		}
	}
}

func TestBackoffIsCappedWithJitter(t *testing.T) {
	base, cap := 100*time.Millisecond, time.Second
	for n := 1; n <= 12; n++ {
		full := min(base<<(n-1), cap)
		for i := 0; i < 50; i++ {
			d := retry.Backoff{Base: base, Max: cap, Jitter: true}.Pause(n)
			if d < full/2 || d > full {
				t.Fatalf("backoff(%d) = %s, want within [%s, %s]", n, d, full/2, full)
			}
		}
	}
}

func TestVerfEquivalentIgnoresOnlyCtime(t *testing.T) {
	cols := []string{"name", "bytes", "lines", "period", "ctime", "md5"}
	a := []byte("f1|10|2|20241212|20241213010203|aa\nf2|11|3|20241212|20241213010203|bb\n")
	b := []byte("f1|10|2|20241212|20241214090000|aa\nf2|11|3|20241212|20241214090000|bb\n")
	c := []byte("f1|10|2|20241212|20241214090000|aa\nf2|12|3|20241212|20241214090000|bb\n")
	if !verfEquivalent(a, b, cols) {
		t.Error("a re-pack that changed only ctime should be the same set")
	}
	if verfEquivalent(a, c, cols) {
		t.Error("a different byte count must differ")
	}
	if verfEquivalent(a, b, []string{"name", "bytes", "lines", "period", "seq", "md5"}) {
		t.Error("without a ctime column nothing may be ignored")
	}
}

func TestPushRefusesEscapingNames(t *testing.T) {
	e := newEnv(t)
	s := e.server()
	m := packSet(t, e.work, "51007", "20241212", 0, 1, 1000)
	m.Sets[0].Files[0].Name = "../../etc/cron.d/x"
	local := filepath.Join(e.work, "out", "51007", "20241212")
	manifest.Write(local, m)
	cfg := e.config(e.targetYAML("plat", []string{s.Addr()}, nil), "plat")
	_, err, status := e.push(cfg)
	if err == nil || !strings.Contains(status, "bad file name") || len(s.Events()) != 0 {
		t.Fatalf("escaping name accepted: %v %s", err, status)
	}
	// A set folder outside the period folder: /etc/passwd must never go.
	m.Sets[0].Files[0].Name = "passwd"
	m.Sets[0].Dir = "../../../../../../../../etc"
	manifest.Write(local, m)
	_, err, status = e.push(cfg)
	if exit.Code(err) != exit.Failure || !strings.Contains(status, "not inside the period folder") || len(s.Events()) != 0 {
		t.Fatalf("escaping set folder accepted: %v %s", err, status)
	}
}

func TestPushDeadPrimaryFilesGoToOtherPrimaryNotStandby(t *testing.T) {
	e := newEnv(t)
	root := t.TempDir() // the platform's storage behind both primaries
	os.MkdirAll(filepath.Join(root, "in"), 0o755)
	// a dies in the middle of the first file it writes. b holds its
	// uploads until a is dead, so a is sure to get files first however
	// the connections race: b's 4 slots wait on 4 files, a takes the
	// others (the standby is not eligible while both primaries are up).
	a := e.serverAt(root, nil, sftpd.Fault{Op: sftpd.OpWrite, Action: sftpd.Kill, AfterBytes: 5_000, Times: 1})
	b := e.serverAt(root, nil, sftpd.Fault{Op: sftpd.OpOpen, Action: sftpd.Hold, Until: a.Closed()})
	standby := e.server()
	m := packSet(t, e.work, "51007", "20241212", 0, 8, 40_000)
	// A long timeout: b's held opens must outlast a's connecting and dying.
	cfg := e.config(e.targetYAML("plat", []string{a.Addr(), b.Addr()}, []string{standby.Addr()}, "timeout: 60s", "shared_storage: true"), "plat")
	if _, err, status := e.push(cfg); err != nil {
		t.Fatalf("%v\n%s", err, status)
	}
	if a.Fired(sftpd.OpWrite) != 1 {
		t.Fatal("primary a was not killed")
	}
	assertDelivered(t, filepath.Join(root, "in"), m, workdir.New(cfg.Workdir).Out("51007", "20241212"))
	assertVerfLast(t, m, a.Events(), b.Events())
	if standby.Logins() != 0 {
		t.Errorf("the standby was used (%d logins) although primary b stayed up", standby.Logins())
	}
	// Files a was writing when it died were finished by b.
	rec, _ := delivery.Read(workdir.New(cfg.Workdir).Out("51007", "20241212"), "plat")
	published := map[string]bool{}
	for _, n := range publishOrder(a.Events()) {
		published[n] = true
	}
	interrupted := 0
	for _, ev := range a.Events() {
		if ev.Op != "open" {
			continue
		}
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(ev.Path), "."), ".part")
		if published[name] {
			continue
		}
		interrupted++
		if f, _ := rec.Lookup(name); f.Host != b.Addr() {
			t.Errorf("%s (in flight when a died) confirmed by %q, want %s", name, f.Host, b.Addr())
		}
	}
	if interrupted == 0 {
		t.Error("no file was in flight on a when it died")
	}
}

// freezeProxy forwards TCP until frozen, then swallows everything while
// keeping the sockets open: a silent network drop.
type freezeProxy struct {
	ln     net.Listener
	frozen atomic.Bool
}

func startFreezeProxy(t *testing.T, target string) *freezeProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &freezeProxy{ln: ln}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	pipe := func(dst, src net.Conn) {
		defer wg.Done()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if err != nil {
				dst.Close()
				return
			}
			if !p.frozen.Load() {
				dst.Write(buf[:n])
			}
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			wg.Add(2)
			go pipe(u, c)
			go pipe(c, u)
		}
	}()
	return p
}

func TestKeepaliveDetectsSilentDrop(t *testing.T) {
	e := newEnv(t)
	s := e.server()
	px := startFreezeProxy(t, s.Addr())
	e.addKnownHost(px.Addr(), s.HostKey())
	cfg := e.config(e.targetYAML("plat", []string{px.Addr()}, nil, "keepalive: 100ms", "timeout: 500ms"), "plat")
	c := dialConn(t, cfg, "plat")
	px.frozen.Store(true)
	// Idle connection, no operation running: only the keepalive can
	// notice. (The wait bound is a safety net, not a timing assertion.)
	select {
	case <-c.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the dead session was never detected")
	}
	if err := c.KillReason(); err == nil || !strings.Contains(err.Error(), "keepalive") {
		t.Errorf("closed for %v, want the keepalive", err)
	}
}

func (p *freezeProxy) Addr() string { return p.ln.Addr().String() }

func TestPushRestartsPartOfAnotherVersion(t *testing.T) {
	e := newEnv(t)
	s := e.server()
	m := packSet(t, e.work, "51007", "20241212", 0, 1, 1_500_000)
	name := m.Sets[0].Files[0].Name
	// A .part left by a different file of the same name, shorter than the
	// local file: resuming it would mix the two.
	junk := make([]byte, m.Sets[0].Files[0].Bytes-1000)
	for i := range junk {
		junk[i] = byte(i * 7)
	}
	os.WriteFile(filepath.Join(s.Root(), "in", "."+name+".part"), junk, 0o644)
	cfg := e.config(e.targetYAML("plat", []string{s.Addr()}, nil), "plat")
	if _, err, _ := e.push(cfg); err != nil {
		t.Fatal(err)
	}
	local := workdir.New(cfg.Workdir).Out("51007", "20241212")
	assertDelivered(t, filepath.Join(s.Root(), "in"), m, local)
	if rec, _ := delivery.Read(local, "plat"); rec.Files[0].Resumed != 0 {
		t.Errorf("resumed from %d a .part of another file", rec.Files[0].Resumed)
	}
}
