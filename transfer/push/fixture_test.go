package push

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/internal/sftpd"
	"github.com/chama-data/chama/internal/workdir"
	"github.com/chama-data/chama/naming"
	"github.com/chama-data/chama/transfer/sshconn"
	"github.com/chama-data/chama/verify"
)

// packSet writes a packed period the way pack publishes it: n real gzip
// files of about size bytes each, a .verf and manifest.json, in
// <workdir>/out/<iface>/<period>/.
func packSet(t *testing.T, work, iface, period string, resend, n, size int) *manifest.Manifest {
	t.Helper()
	dir := workdir.New(work).Out(iface, period)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	m := &manifest.Manifest{Version: manifest.Version, Iface: iface, Period: period, Resend: resend, Created: time.Now().UTC()}
	set := manifest.Set{Verf: fmt.Sprintf("a_10000_%s_%s_%02d.verf", period, iface, resend)}
	var es []verify.Entry
	rng := mrand.New(mrand.NewPCG(uint64(n), uint64(size+resend)))
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("a_10000_%s_%s_%02d_%03d.dat.gz", period, iface, resend, i)
		var raw bytes.Buffer
		lines := int64(0)
		for raw.Len() < size*2 {
			fmt.Fprintf(&raw, "%d|%s|%x|%d\n", i, period, rng.Uint64(), rng.Uint32())
			lines++
		}
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(raw.Bytes())
		zw.Close()
		if err := os.WriteFile(filepath.Join(dir, name), gz.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum(gz.Bytes())
		f := manifest.File{Name: name, Seq: i, Bytes: int64(gz.Len()), Lines: lines, MD5: hex.EncodeToString(sum[:])}
		set.Files = append(set.Files, f)
		es = append(es, verify.Entry{Name: name, Bytes: f.Bytes, Lines: lines, Period: period, Ctime: "20241213010203", MD5: f.MD5, Seq: i})
	}
	verf, err := verify.FormatVerf(config.DefaultVerfColumns, es)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, set.Verf), verf, 0o644); err != nil {
		t.Fatal(err)
	}
	m.Sets = []manifest.Set{set}
	if err := manifest.Write(dir, m); err != nil {
		t.Fatal(err)
	}
	return m
}

// env is a test world: a workdir, a client key, in-process servers.
type env struct {
	t       *testing.T
	work    string
	keyFile string
	signer  ssh.Signer
	kh      string // known_hosts file
	servers []*sftpd.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, work: t.TempDir()}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	var err error
	if e.signer, err = ssh.NewSignerFromKey(priv); err != nil {
		t.Fatal(err)
	}
	blk, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	e.keyFile = filepath.Join(e.work, "id_ed25519")
	if err := os.WriteFile(e.keyFile, pem.EncodeToMemory(blk), 0o600); err != nil {
		t.Fatal(err)
	}
	e.kh = filepath.Join(e.work, "known_hosts")
	os.WriteFile(e.kh, nil, 0o644)
	os.MkdirAll(filepath.Join(e.work, "src"), 0o755)
	return e
}

// server starts an in-process SFTP server whose root holds /in.
func (e *env) server(faults ...sftpd.Fault) *sftpd.Server {
	e.t.Helper()
	root := e.t.TempDir()
	os.MkdirAll(filepath.Join(root, "in"), 0o755)
	return e.serverAt(root, nil, faults...)
}

// serverAt serves root (hostKey nil: a new one).
func (e *env) serverAt(root string, hostKey ssh.Signer, faults ...sftpd.Fault) *sftpd.Server {
	e.t.Helper()
	s, err := sftpd.Start(sftpd.Options{Root: root, HostKey: hostKey, AuthorizedKeys: []ssh.PublicKey{e.signer.PublicKey()}, Faults: faults})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { s.Close() })
	f, _ := os.OpenFile(e.kh, os.O_APPEND|os.O_WRONLY, 0o644)
	fmt.Fprintln(f, s.KnownHostsLine())
	f.Close()
	e.servers = append(e.servers, s)
	return s
}

func ep(addr string) string {
	h, p, _ := net.SplitHostPort(addr)
	return fmt.Sprintf("{host: %s, port: %s}", h, p)
}

// targetYAML is a target with fast test tuning; extra lines override.
// The timeout is generous so a loaded machine never trips it: tests of
// the deadline itself set their own.
func (e *env) targetYAML(name string, primaries, standbys []string, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %s:\n    primary: [%s]\n", name, strings.Join(mapStr(primaries, ep), ", "))
	if len(standbys) > 0 {
		fmt.Fprintf(&b, "    standby: [%s]\n", strings.Join(mapStr(standbys, ep), ", "))
	}
	kv := map[string]string{
		"user": "chama", "auth": fmt.Sprintf("{key_file: %s}", e.keyFile), "known_hosts": e.kh, "dir": "/in",
		"connections_per_host": "2", "transfers_per_connection": "2", "timeout": "30s", "retries": "4",
		"down_after": "2", "cool_off": "10m", "max_packet": "4096", "keepalive": "1s",
	}
	order := []string{"user", "auth", "known_hosts", "dir", "connections_per_host", "transfers_per_connection", "timeout", "retries", "down_after", "cool_off", "max_packet", "keepalive"}
	for _, x := range extra {
		k, v, _ := strings.Cut(x, ": ")
		if _, ok := kv[k]; !ok {
			order = append(order, k)
		}
		kv[k] = v
	}
	for _, k := range order {
		if kv[k] != "" {
			fmt.Fprintf(&b, "    %s: %s\n", k, kv[k])
		}
	}
	return b.String()
}

func mapStr(in []string, f func(string) string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = f(s)
	}
	return out
}

// config builds a config with interface 51007 routed to the targets.
func (e *env) config(targets string, routes ...string) *config.Config {
	e.t.Helper()
	var rs []string
	for _, r := range routes {
		rs = append(rs, fmt.Sprintf("{target: %s}", r))
	}
	y := fmt.Sprintf(`workdir: %s
sources:
  local: {type: file, root: %s}
targets:
%s
interfaces:
  "51007":
    source: local
    path: ods/dt={date}
    routes: [%s]
`, e.work, filepath.Join(e.work, "src"), targets, strings.Join(rs, ", "))
	c, err := config.Parse([]byte(y))
	if err != nil {
		e.t.Fatalf("config: %v\n%s", err, y)
	}
	return c
}

// push runs push.Run with test timings; it returns the result, the error
// and the status lines.
//
//lint:ignore ST1008 the status lines come last at every one of the many call sites.
func (e *env) push(cfg *config.Config, mod ...func(*Options)) (*Result, error, string) {
	e.t.Helper()
	var status bytes.Buffer
	var logs syncBuf
	o := Options{
		Config: cfg, Periods: []naming.Period{naming.MustPeriod("20241212")}, Resend: -1,
		Log:    slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Status: &status, BackoffBase: 5 * time.Millisecond, BackoffMax: 50 * time.Millisecond,
	}
	for _, f := range mod {
		f(&o)
	}
	// A bound against a hang, not a deadline: a loaded machine may be slow.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	res, err := Run(ctx, o)
	if testing.Verbose() {
		e.t.Logf("push log:\n%s", logs.String())
	}
	e.t.Logf("status: %s", strings.TrimSpace(status.String()))
	return res, err, status.String()
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// assertDelivered checks that remote folder dir holds every file of m
// whole (md5), the .verf identical, and no temporary file.
func assertDelivered(t *testing.T, dir string, m *manifest.Manifest, local string) {
	t.Helper()
	for _, s := range m.Sets {
		for _, f := range s.Files {
			b, err := os.ReadFile(filepath.Join(dir, f.Name))
			if err != nil {
				t.Errorf("%s missing on the target: %v", f.Name, err)
				continue
			}
			sum := md5.Sum(b)
			if got := hex.EncodeToString(sum[:]); got != f.MD5 {
				t.Errorf("%s: md5 %s (%d bytes), want %s (%d bytes)", f.Name, got, len(b), f.MD5, f.Bytes)
			}
		}
		want, _ := os.ReadFile(filepath.Join(local, s.Verf))
		got, err := os.ReadFile(filepath.Join(dir, s.Verf))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf(".verf %s on the target differs or is missing (%v)", s.Verf, err)
		}
	}
	assertNoPart(t, dir)
}

func assertNoPart(t *testing.T, dir string) {
	t.Helper()
	es, _ := os.ReadDir(dir)
	for _, e := range es {
		if strings.HasSuffix(e.Name(), ".part") || strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file left on the target: %s", e.Name())
		}
	}
}

// publishOrder returns the final names renamed into place, in server order.
func publishOrder(evs []sftpd.Event) []string {
	var out []string
	for _, e := range evs {
		if e.Op == "rename" || e.Op == "posix-rename" {
			out = append(out, path.Base(e.Target))
		}
	}
	return out
}

// assertVerfLast checks that on each server the .verf was published
// after every data file, exactly once per name.
func assertVerfLast(t *testing.T, m *manifest.Manifest, evs ...[]sftpd.Event) {
	t.Helper()
	var all []sftpd.Event
	for _, e := range evs {
		all = append(all, e...)
	}
	order := publishOrder(all)
	seen := map[string]int{}
	for _, n := range order {
		seen[n]++
	}
	for n, k := range seen {
		if k > 1 {
			t.Errorf("%s was published %d times", n, k)
		}
	}
	for _, ev := range evs {
		o := publishOrder(ev)
		for i, n := range o {
			if strings.HasSuffix(n, ".verf") && i != len(o)-1 {
				t.Errorf(".verf %s published at position %d of %d: %v", n, i+1, len(o), o)
			}
		}
	}
	if len(m.Sets) > 0 && seen[m.Sets[0].Verf] != 1 {
		t.Errorf(".verf %s published %d times, want 1", m.Sets[0].Verf, seen[m.Sets[0].Verf])
	}
}

func readFileMD5(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// startWithKey serves root to a given client key.
func startWithKey(t *testing.T, root string, key ssh.PublicKey) (*sftpd.Server, error) {
	s, err := sftpd.Start(sftpd.Options{Root: root, AuthorizedKeys: []ssh.PublicKey{key}})
	if err == nil {
		t.Cleanup(func() { s.Close() })
	}
	return s, err
}

// dialConn opens one connection to the first primary of target name,
// closed at the end of the test.
func dialConn(t *testing.T, cfg *config.Config, name string) *conn {
	t.Helper()
	d, err := sshconn.NewDialer(name, cfg.Targets[name], nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	c, err := dial(context.Background(), d, cfg.Targets[name].Primary[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}
