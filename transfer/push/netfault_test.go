package push

// Delivery under network faults, against real OpenSSH sshd servers on
// loopback with storage of their own and a cutting TCP proxy. These
// tests assert outcomes (what is on each host, the exit code, the status
// lines), never how long anything took; the timeouts they configure only
// shorten how long chama waits for a dead host.

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/delivery"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/lock"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/internal/sftpd"
	"github.com/chama-data/chama/internal/sshdtest"
	"github.com/chama-data/chama/internal/workdir"
	"github.com/chama-data/chama/naming"
	"github.com/chama-data/chama/transfer/sshconn"
	"github.com/chama-data/chama/verify"
)

// flakyProxy forwards TCP to target. It can cut each connection once the
// client has sent cutEach bytes through it, and cut every live
// connection at once (a pool reset) when the bytes sent through all of
// them pass cutAllAt, once.
type flakyProxy struct {
	ln       net.Listener
	target   string
	cutEach  int64
	cutAllAt atomic.Int64 // 0: never
	total    atomic.Int64
	cuts     atomic.Int32
	cutOnly  atomic.Int32 // > 0: cutEach applies to this many connections only
	cutSeen  atomic.Int32
	accepted atomic.Int32
	refuse   atomic.Int32      // close this many new connections at once
	onTotal  func(total int64) // called as bytes pass, from the copying goroutine
	mu       sync.Mutex
	live     map[net.Conn]net.Conn
	wg       sync.WaitGroup
}

func startFlakyProxy(t *testing.T, target string, cutEach, cutAllAt int64) *flakyProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &flakyProxy{ln: ln, target: target, cutEach: cutEach, live: map[net.Conn]net.Conn{}}
	p.cutAllAt.Store(cutAllAt)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.handle(c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.cutAll(); p.wg.Wait() })
	return p
}

func (p *flakyProxy) Addr() string { return p.ln.Addr().String() }

func (p *flakyProxy) cutAll() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for c, u := range p.live {
		c.Close()
		u.Close()
		delete(p.live, c)
		n++
	}
	return n
}

func (p *flakyProxy) handle(c net.Conn) {
	p.accepted.Add(1)
	if p.refuse.Add(-1) >= 0 {
		c.Close()
		return
	}
	u, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.live[c] = u
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.live, c)
		p.mu.Unlock()
		c.Close()
		u.Close()
	}()
	cutEach := p.cutEach
	if only := p.cutOnly.Load(); only > 0 && p.cutSeen.Add(1) > only {
		cutEach = 0
	}
	done := make(chan struct{}, 2)
	go func() { io.Copy(c, u); done <- struct{}{} }()
	go func() {
		buf := make([]byte, 32<<10)
		var sent int64
		for {
			n, err := c.Read(buf)
			if n > 0 {
				if cutEach > 0 && sent+int64(n) > cutEach {
					u.Write(buf[:cutEach-sent])
					p.cuts.Add(1)
					break
				}
				if _, werr := u.Write(buf[:n]); werr != nil {
					break
				}
				sent += int64(n)
				total := p.total.Add(int64(n))
				if p.onTotal != nil {
					p.onTotal(total)
				}
				if at := p.cutAllAt.Load(); at > 0 && total >= at && p.cutAllAt.CompareAndSwap(at, 0) {
					p.cuts.Add(int32(p.cutAll()))
					break
				}
			}
			if err != nil {
				break
			}
		}
		done <- struct{}{}
	}()
	<-done
}

// sshdHost is one real sshd whose SFTP sessions start in a folder of
// its own: a target with the relative dir "in" then reaches separate
// storage on each host, as two platform front-ends without a shared disk.
type sshdHost struct {
	d    *sshdtest.Server
	root string // the host's storage; the target's dir "in" is root/in
}

func (h *sshdHost) in() string { return filepath.Join(h.root, "in") }

// sshdWorld is an env whose targets are real sshd servers sharing one
// client key and one known_hosts.
type sshdWorld struct {
	*env
	hosts []*sshdHost
}

func newSSHDWorld(t *testing.T, opts ...sshdtest.Options) *sshdWorld {
	w := &sshdWorld{env: newEnv(t)}
	for _, o := range opts {
		root := t.TempDir()
		os.MkdirAll(filepath.Join(root, "in"), 0o755)
		if o.SFTPStartDir == "" {
			o.SFTPStartDir = root
		}
		w.hosts = append(w.hosts, &sshdHost{d: sshdtest.StartWith(t, o), root: root})
	}
	w.keyFile = w.hosts[0].d.KeyFile
	pub, err := os.ReadFile(filepath.Join(w.hosts[0].d.Dir, "authorized_keys"))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range w.hosts[1:] {
		os.WriteFile(filepath.Join(h.d.Dir, "authorized_keys"), pub, 0o600)
	}
	for _, h := range w.hosts {
		w.knowAs(h.d.Addr(), h)
	}
	return w
}

// knowAs lists h's host key under addr (its own address, or a proxy's).
func (w *sshdWorld) knowAs(addr string, h *sshdHost) {
	f, _ := os.OpenFile(w.kh, os.O_APPEND|os.O_WRONLY, 0o644)
	fmt.Fprintln(f, knownhosts.Line([]string{knownhosts.Normalize(addr)}, h.d.HostKey))
	f.Close()
}

// target is target plat on real sshd; extra lines override.
func (w *sshdWorld) target(primaries, standbys []string, extra ...string) *config.Config {
	base := []string{"user: " + w.hosts[0].d.User, "auth: {key_file: " + w.keyFile + "}", "known_hosts: " + w.kh,
		"dir: in", "timeout: 20s"}
	return w.config(w.targetYAML("plat", primaries, standbys, append(base, extra...)...), "plat")
}

// verifyOn runs verify --remote against one endpoint of target plat.
func verifyOn(t *testing.T, cfg *config.Config, addr string) []string {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	var p int
	fmt.Sscan(port, &p)
	ep := config.Endpoint{Host: host, Port: p}
	rep, err := verify.Run(context.Background(), verify.Options{
		Config: cfg, Periods: []naming.Period{naming.MustPeriod("20241212")}, Ifaces: []*config.Interface{cfg.Interfaces["51007"]}, Remote: true,
		Dial: func(ctx context.Context, name string, tg *config.Target, _ string) (verify.RemoteFS, string, func() error, error) {
			tfs, err := sshconn.OpenTargetFS(ctx, cfg, name, ep, nil)
			if err != nil {
				return nil, "", nil, err
			}
			return tfs, addr, tfs.Close, nil
		},
	})
	if err != nil {
		t.Fatalf("verify on %s: %v", addr, err)
	}
	var out []string
	for _, r := range rep.Results {
		for _, f := range r.Findings {
			// The remote findings: packSet's manifest carries no row
			// counts, which the local checks would report.
			if f.Severity == verify.Fail && f.Where != "local" {
				out = append(out, f.Line())
			}
		}
	}
	return out
}

// snapshot lists a folder: size, mtime and ctime of each entry.
func snapshot(dir string) map[string]string {
	out := map[string]string{}
	es, _ := os.ReadDir(dir)
	for _, e := range es {
		fi, err := os.Stat(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		st := fi.Sys().(*syscall.Stat_t)
		out[e.Name()] = fmt.Sprintf("%d %d %d.%d", fi.Size(), fi.ModTime().UnixNano(), st.Ctim.Sec, st.Ctim.Nsec)
	}
	return out
}

// assertVerfAfterFiles checks one host's folder: if the .verf is there,
// every file it lists is too and was renamed into place before it (a
// rename sets the inode's ctime), so no reader could ever have seen the
// .verf on that host while a file it lists was missing.
func assertVerfAfterFiles(t *testing.T, dir string, m *manifest.Manifest) {
	t.Helper()
	ctime := func(p string) (time.Time, bool) {
		fi, err := os.Stat(p)
		if err != nil {
			return time.Time{}, false
		}
		st := fi.Sys().(*syscall.Stat_t)
		return time.Unix(st.Ctim.Sec, st.Ctim.Nsec), true
	}
	for _, s := range m.Sets {
		vt, ok := ctime(filepath.Join(dir, s.Verf))
		if !ok {
			continue
		}
		for _, f := range s.Files {
			ft, ok := ctime(filepath.Join(dir, f.Name))
			switch {
			case !ok:
				t.Errorf("%s holds %s but not %s, which it lists", dir, s.Verf, f.Name)
			case ft.After(vt):
				t.Errorf("%s: %s was put in place after the .verf", dir, f.Name)
			}
		}
	}
}

// The primary dies (SIGSTOP, then SIGKILL) in the middle of a 24-file
// set; the standby has storage of its own. The standby must end up with
// the whole set before its .verf, verify --remote must pass on every
// host holding a .verf, and a re-run with the primary back must change
// nothing.
func TestNetPrimaryKilledMidSetStandbyGetsWholeSet(t *testing.T) {
	w := newSSHDWorld(t, sshdtest.Options{}, sshdtest.Options{})
	P, S := w.hosts[0], w.hosts[1]
	m := packSet(t, w.work, "51007", "20241212", 0, 24, 150_000)
	var total int64
	for _, f := range m.Sets[0].Files {
		total += f.Bytes
	}
	px := startFlakyProxy(t, P.d.Addr(), 0, 0)
	var once sync.Once
	px.onTotal = func(n int64) {
		if n > total/3 {
			once.Do(func() {
				go func() {
					P.d.Pause()
					time.Sleep(200 * time.Millisecond)
					P.d.Kill()
				}()
			})
		}
	}
	w.knowAs(px.Addr(), P)
	cfg := w.target([]string{px.Addr()}, []string{S.d.Addr()}, "connections_per_host: 2", "transfers_per_connection: 2",
		"max_packet: 32768", "down_after: 2", "cool_off: 10m")
	res, err, status := w.push(cfg)
	if err != nil {
		t.Fatalf("push: %v\n%s", err, status)
	}
	local := workdir.New(cfg.Workdir).Out("51007", "20241212")
	assertDelivered(t, S.in(), m, local)
	assertVerfAfterFiles(t, S.in(), m)
	assertVerfAfterFiles(t, P.in(), m)
	if _, err := os.Stat(filepath.Join(P.in(), m.Sets[0].Verf)); err == nil {
		t.Error("the killed primary holds a .verf")
	}
	for _, h := range []*sshdHost{P, S} {
		if _, err := os.Stat(filepath.Join(h.in(), m.Sets[0].Verf)); err != nil {
			continue
		}
		addr := h.d.Addr()
		if h == P {
			addr = px.Addr()
		}
		if f := verifyOn(t, cfg, addr); len(f) > 0 {
			t.Errorf("verify --remote on %s, which holds the .verf:\n%s", addr, strings.Join(f, "\n"))
		}
	}
	if !strings.Contains(status, "via="+S.d.Addr()) || !strings.Contains(status, "failed_hosts="+px.Addr()+":") ||
		!strings.Contains(status, "CHAMA_ALERT kind=failover") {
		t.Errorf("the failover is not visible:\n%s", status)
	}
	if res.Jobs[0].Via[0] != S.d.Addr() {
		t.Errorf("via %v", res.Jobs[0].Via)
	}
	rec, _ := delivery.Read(local, "plat")
	for _, f := range rec.Files {
		if !f.On(S.d.Addr()) {
			t.Errorf("record: %s not on the standby (%v)", f.Name, f.Hosts)
		}
	}

	// The primary comes back with what it had; a re-run changes nothing.
	P.d.Restart(t)
	before := []map[string]string{snapshot(P.in()), snapshot(S.in())}
	res, err, status = w.push(cfg)
	if err != nil || res.Files != 0 {
		t.Fatalf("re-run with the primary back: %v, sent %d files\n%s", err, res.Files, status)
	}
	after := []map[string]string{snapshot(P.in()), snapshot(S.in())}
	for i, name := range []string{"primary", "standby"} {
		if fmt.Sprint(before[i]) != fmt.Sprint(after[i]) {
			t.Errorf("the re-run changed the %s's folder:\nbefore %v\nafter  %v", name, before[i], after[i])
		}
	}
	rec2, _ := delivery.Read(local, "plat")
	for _, f := range rec2.Files {
		if !f.On(S.d.Addr()) {
			t.Errorf("after the re-run the record drops the standby for %s (%v)", f.Name, f.Hosts)
		}
	}
	if f := verifyOn(t, cfg, S.d.Addr()); len(f) > 0 {
		t.Errorf("verify --remote on the standby after the re-run:\n%s", strings.Join(f, "\n"))
	}
}

// Every connection of the only primary is cut at once, once: one event,
// not down_after failures. The set completes in the same run and the
// host is never marked down.
func TestNetPoolResetIsOneEvent(t *testing.T) {
	for _, at := range []int64{48 << 10, 3 << 20} {
		t.Run(fmt.Sprint(at), func(t *testing.T) {
			w := newSSHDWorld(t, sshdtest.Options{})
			P := w.hosts[0]
			m := packSet(t, w.work, "51007", "20241212", 0, 8, 700_000)
			px := startFlakyProxy(t, P.d.Addr(), 0, at)
			w.knowAs(px.Addr(), P)
			cfg := w.target([]string{px.Addr()}, nil, "connections_per_host: 4", "transfers_per_connection: 1",
				"down_after: 3", "cool_off: 10m")
			res, err, status := w.push(cfg)
			if err != nil {
				t.Fatalf("push: %v\n%s", err, status)
			}
			if px.cuts.Load() < 1 {
				t.Fatal("the proxy cut nothing: the test proves nothing")
			}
			assertDelivered(t, P.in(), m, workdir.New(cfg.Workdir).Out("51007", "20241212"))
			if st := res.Hosts[0]; st.State != "up" || strings.Contains(status, "failed_hosts") {
				t.Errorf("one pool reset marked the host down: %+v\n%s", st, status)
			}
		})
	}
}

// Every connection is cut after a few MB, less than one write window of
// the default max_packet (64 x 255 KiB) per file: each reconnect must
// resume where the last one stopped, and the set must complete.
func TestNetEveryConnectionCutMakesProgress(t *testing.T) {
	w := newSSHDWorld(t, sshdtest.Options{})
	P := w.hosts[0]
	m := packSet(t, w.work, "51007", "20241212", 0, 3, 5_000_000)
	px := startFlakyProxy(t, P.d.Addr(), 3<<20, 0)
	w.knowAs(px.Addr(), P)
	cfg := w.target([]string{px.Addr()}, nil, "connections_per_host: 2", "transfers_per_connection: 2", "max_packet: 0",
		"down_after: 3", "retries: 3")
	res, err, status := w.push(cfg)
	if err != nil {
		t.Fatalf("push: %v\n%s", err, status)
	}
	if px.cuts.Load() < 3 {
		t.Fatalf("the proxy cut %d connections; the test needs several", px.cuts.Load())
	}
	local := workdir.New(cfg.Workdir).Out("51007", "20241212")
	assertDelivered(t, P.in(), m, local)
	rec, _ := delivery.Read(local, "plat")
	resumed := 0
	for _, f := range rec.Files {
		if f.Resumed > 0 {
			resumed++
		}
	}
	if resumed == 0 {
		t.Error("no file records a resume although every connection was cut")
	}
	if res.Hosts[0].State != "up" {
		t.Errorf("host %s after cuts that each moved data", res.Hosts[0].State)
	}
}

// A final remote file of the right size but other content, with no
// delivery record and remote_checksum off, is compared by content: it
// is refused (exit 1), never published under a .verf with the wrong md5.
// An identical one is skipped after the comparison.
func TestNetSameSizeStaleFileIsNotTrusted(t *testing.T) {
	w := newSSHDWorld(t, sshdtest.Options{})
	P := w.hosts[0]
	m := packSet(t, w.work, "51007", "20241212", 0, 3, 40_000)
	local := filepath.Join(w.work, "out", "51007", "20241212")
	f0, f1 := m.Sets[0].Files[0], m.Sets[0].Files[1]
	stale := make([]byte, f0.Bytes)
	for i := range stale {
		stale[i] = byte(i)
	}
	os.WriteFile(filepath.Join(P.in(), f0.Name), stale, 0o644)
	same, _ := os.ReadFile(filepath.Join(local, f1.Name))
	os.WriteFile(filepath.Join(P.in(), f1.Name), same, 0o644)
	cfg := w.target([]string{P.d.Addr()}, nil)
	_, err, status := w.push(cfg)
	if exit.Code(err) != exit.Failure || !strings.Contains(status, "remote md5 differs") {
		t.Fatalf("exit %d (%v), want 1 and a md5 refusal\n%s", exit.Code(err), err, status)
	}
	if _, err := os.Stat(filepath.Join(P.in(), m.Sets[0].Verf)); err == nil {
		t.Fatal("a .verf was published over a stale file")
	}
	res, err, status := w.push(cfg, func(o *Options) { o.Force = true })
	if err != nil {
		t.Fatalf("--force: %v\n%s", err, status)
	}
	assertDelivered(t, P.in(), m, local)
	if res.Skipped < 1 {
		t.Errorf("the identical file should be skipped after comparing: skipped=%d", res.Skipped)
	}
}

// A primary whose host key does not match, with a working standby: the
// set is delivered through the standby, and the status line and an
// alert say which host failed and why.
func TestNetHostKeyMismatchIsVisible(t *testing.T) {
	w := newSSHDWorld(t, sshdtest.Options{}, sshdtest.Options{})
	P, S := w.hosts[0], w.hosts[1]
	// known_hosts lists S's key under P's address too: a mismatch for P.
	os.WriteFile(w.kh, nil, 0o644)
	w.knowAs(P.d.Addr(), S)
	w.knowAs(S.d.Addr(), S)
	m := packSet(t, w.work, "51007", "20241212", 0, 4, 30_000)
	cfg := w.target([]string{P.d.Addr()}, []string{S.d.Addr()})
	res, err, status := w.push(cfg)
	if err != nil {
		t.Fatalf("push: %v\n%s", err, status)
	}
	assertDelivered(t, S.in(), m, workdir.New(cfg.Workdir).Out("51007", "20241212"))
	want := "failed_hosts=" + P.d.Addr() + ":host_key_mismatch"
	if !strings.Contains(status, "CHAMA_PUSH OK") || !strings.Contains(status, "via="+S.d.Addr()) || !strings.Contains(status, want) ||
		!strings.Contains(status, "CHAMA_ALERT kind=failover") {
		t.Errorf("status lines do not show the failed primary (want %q):\n%s", want, status)
	}
	if h := res.Hosts[0]; h.State != "failed" || h.Reason != "host_key_mismatch" {
		t.Errorf("primary %+v", h)
	}
}

// A wrong password is exit 1 and is tried once: no loop of failed logins.
func TestNetWrongPasswordIsExit1Once(t *testing.T) {
	w := newSSHDWorld(t, sshdtest.Options{PasswordAuth: true})
	P := w.hosts[0]
	px := startFlakyProxy(t, P.d.Addr(), 0, 0)
	w.knowAs(px.Addr(), P)
	packSet(t, w.work, "51007", "20241212", 0, 2, 10_000)
	t.Setenv("CHAMA_TEST_SFTP_PW", "not-the-password")
	cfg := w.target([]string{px.Addr()}, nil, "auth: {password_env: CHAMA_TEST_SFTP_PW}", "connections_per_host: 4")
	_, err, status := w.push(cfg)
	if exit.Code(err) != exit.Failure {
		t.Fatalf("exit %d (%v), want 1\n%s", exit.Code(err), err, status)
	}
	if n := px.accepted.Load(); n != 1 {
		t.Errorf("%d connections for a refused password, want 1", n)
	}
	if !strings.Contains(status, "auth_refused") {
		t.Errorf("status does not say why: %s", status)
	}
}

// remote_checksum on a server whose shell does not see the SFTP paths
// (SFTP starts in another folder), or that runs no commands (an
// SFTP-only account), is a config error: exit 2 before any file goes out.
func TestNetRemoteChecksumUnusableIsConfigError(t *testing.T) {
	for name, o := range map[string]sshdtest.Options{"invisible path": {}, "sftp only": {SFTPOnly: true}} {
		t.Run(name, func(t *testing.T) {
			w := newSSHDWorld(t, o)
			P := w.hosts[0]
			packSet(t, w.work, "51007", "20241212", 0, 2, 10_000)
			cfg := w.target([]string{P.d.Addr()}, nil, "remote_checksum: true")
			_, err, status := w.push(cfg)
			if exit.Code(err) != exit.Usage || !strings.Contains(status, "remote_checksum") {
				t.Fatalf("exit %d (%v), want 2 naming remote_checksum\n%s", exit.Code(err), err, status)
			}
			es, _ := os.ReadDir(P.in())
			for _, e := range es {
				t.Errorf("left on the host: %s", e.Name())
			}
		})
	}
}

// The only host refuses connections for a while, then comes back: it is
// probed long before cool_off ends and the set completes in the run.
func TestNetOnlyHostIsProbedBeforeCoolOff(t *testing.T) {
	w := newSSHDWorld(t, sshdtest.Options{})
	P := w.hosts[0]
	px := startFlakyProxy(t, P.d.Addr(), 0, 0)
	px.refuse.Store(3)
	w.knowAs(px.Addr(), P)
	m := packSet(t, w.work, "51007", "20241212", 0, 3, 20_000)
	cfg := w.target([]string{px.Addr()}, nil, "down_after: 2", "cool_off: 1h")
	res, err, status := w.push(cfg)
	if err != nil {
		t.Fatalf("push: %v\n%s", err, status)
	}
	assertDelivered(t, P.in(), m, workdir.New(cfg.Workdir).Out("51007", "20241212"))
	if res.Hosts[0].State != "up" {
		t.Errorf("host %+v", res.Hosts[0])
	}
}

// Two pushes of one period never run at once: the second is busy, exit
// 3, and touches nothing.
func TestPushOverlappingRunIsBusy(t *testing.T) {
	e := newEnv(t)
	s := e.server()
	packSet(t, e.work, "51007", "20241212", 0, 2, 10_000)
	cfg := e.config(e.targetYAML("plat", []string{s.Addr()}, nil), "plat")
	unlock, err := lock.Try(workdir.PushLock(workdir.New(cfg.Workdir).Out("51007", "20241212")), lock.Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	_, err, status := e.push(cfg)
	unlock()
	if exit.Code(err) != exit.Partial || !strings.Contains(status, "busy: another chama push") {
		t.Fatalf("exit %d (%v), want 3 busy\n%s", exit.Code(err), err, status)
	}
	if n := len(s.Events()); n != 0 {
		t.Errorf("the busy run touched the server: %d events", n)
	}
	if _, err, _ := e.push(cfg); err != nil {
		t.Fatalf("after the lock is free: %v", err)
	}
}

// A refused operation names the host, the operation and the path.
func TestPushPermissionErrorNamesHostOpAndPath(t *testing.T) {
	e := newEnv(t)
	s := e.server(sftpd.Fault{Op: sftpd.OpOpen, Action: sftpd.Deny, Name: ".*_001.dat.gz.part"})
	m := packSet(t, e.work, "51007", "20241212", 0, 1, 10_000)
	cfg := e.config(e.targetYAML("plat", []string{s.Addr()}, nil), "plat")
	_, err, status := e.push(cfg)
	want := fmt.Sprintf("permission denied: open /in/.%s.part", m.Sets[0].Files[0].Name)
	if exit.Code(err) != exit.Failure || !strings.Contains(status, want) || !strings.Contains(status, s.Addr()+":permission_denied") {
		t.Fatalf("exit %d, want 1 and %q in\n%s", exit.Code(err), want, status)
	}
}

// recProgress records what push reports.
type recProgress struct {
	mu        sync.Mutex
	want, got int64
	over      bool
}

func (p *recProgress) AddTo(_ string, n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got += n
	p.over = p.over || p.got > p.want
}
func (p *recProgress) Skip(n int64) { p.mu.Lock(); p.want -= n; p.mu.Unlock() }
func (p *recProgress) Grow(n int64) { p.mu.Lock(); p.want += n; p.mu.Unlock() }
func (p *recProgress) Close()       {}

// Bytes sent again after a cut are not counted twice: the progress never
// passes its total, and ends at it.
func TestPushProgressNeverExceedsTotal(t *testing.T) {
	e := newEnv(t)
	s := e.server()
	px := startCutProxy(t, s.Addr(), 400_000, 3)
	e.addKnownHost(px.Addr(), s.HostKey())
	m := packSet(t, e.work, "51007", "20241212", 0, 4, 300_000)
	cfg := e.config(e.targetYAML("plat", []string{px.Addr()}, nil, "down_after: 5"), "plat")
	p := &recProgress{}
	for _, f := range m.Sets[0].Files {
		p.want += f.Bytes
	}
	if _, err, _ := e.push(cfg, func(o *Options) { o.prog = p }); err != nil {
		t.Fatal(err)
	}
	if px.cuts.Load() == 0 {
		t.Fatal("no cut: the test proves nothing")
	}
	if p.over || p.got != p.want {
		t.Errorf("progress %d of %d (passed the total: %v)", p.got, p.want, p.over)
	}
}

// A primary that accepts connections but whose every connection breaks
// before moving a byte of data is marked down after down_after of them,
// and the standby (storage of its own) delivers the whole set.
func TestNetNoProgressHostGoesDown(t *testing.T) {
	w := newSSHDWorld(t, sshdtest.Options{}, sshdtest.Options{})
	P, S := w.hosts[0], w.hosts[1]
	px := startFlakyProxy(t, P.d.Addr(), 24<<10, 0) // the handshake and a little more
	w.knowAs(px.Addr(), P)
	m := packSet(t, w.work, "51007", "20241212", 0, 4, 200_000)
	cfg := w.target([]string{px.Addr()}, []string{S.d.Addr()}, "max_packet: 32768", "down_after: 3", "cool_off: 10m")
	res, err, status := w.push(cfg)
	if err != nil {
		t.Fatalf("push: %v\n%s", err, status)
	}
	assertDelivered(t, S.in(), m, workdir.New(cfg.Workdir).Out("51007", "20241212"))
	if res.Hosts[0].State != "down" || !strings.Contains(status, "failed_hosts="+px.Addr()+":") {
		t.Errorf("primary %+v\n%s", res.Hosts[0], status)
	}
}

// The only host accepts logins but every connection breaks before moving
// data: logins alone do not end its down spell, so the run gives up
// after cool_off of probing (exit 3) instead of probing for ever.
func TestNetOnlyHostThatNeverMovesDataIsGivenUp(t *testing.T) {
	w := newSSHDWorld(t, sshdtest.Options{})
	P := w.hosts[0]
	px := startFlakyProxy(t, P.d.Addr(), 24<<10, 0)
	w.knowAs(px.Addr(), P)
	packSet(t, w.work, "51007", "20241212", 0, 2, 200_000)
	cfg := w.target([]string{px.Addr()}, nil, "max_packet: 32768", "down_after: 2", "cool_off: 1s")
	_, err, status := w.push(cfg)
	if exit.Code(err) != exit.Partial || !strings.Contains(status, "down: ") || strings.Contains(status, "context") {
		t.Fatalf("exit %d (%v), want 3 with the host down\n%s", exit.Code(err), err, status)
	}
}
