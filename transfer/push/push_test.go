package push

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/chama-data/chama/internal/delivery"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/sftpd"
	"github.com/chama-data/chama/internal/workdir"
)

func TestPushDeliversWholeSetVerfLast(t *testing.T) {
	e := newEnv(t)
	s := e.server()
	m := packSet(t, e.work, "51007", "20241212", 0, 6, 120_000)
	cfg := e.config(e.targetYAML("plat", []string{s.Addr()}, nil), "plat")
	res, err, status := e.push(cfg)
	if err != nil {
		t.Fatal(err)
	}
	local := workdir.New(cfg.Workdir).Out("51007", "20241212")
	assertDelivered(t, filepath.Join(s.Root(), "in"), m, local)
	assertVerfLast(t, m, s.Events())
	if !strings.Contains(status, "CHAMA_PUSH OK iface=51007 period=20241212 target=plat files=7 ") || !strings.Contains(status, "skipped=0") {
		t.Errorf("status line: %q", status)
	}
	if res.Files != 7 || res.Skipped != 0 || res.Code != 0 {
		t.Errorf("result: files=%d skipped=%d code=%d", res.Files, res.Skipped, res.Code)
	}
	rec, err := delivery.Read(local, "plat")
	if err != nil || rec == nil {
		t.Fatalf("delivery record: %v", err)
	}
	if !rec.Complete || len(rec.Files) != 7 {
		t.Fatalf("record: complete=%v files=%d", rec.Complete, len(rec.Files))
	}
	for _, f := range rec.Files {
		if f.Host != s.Addr() || f.Path != "/in/"+f.Name || f.Attempts != 1 || f.Bytes <= 0 || f.Time.IsZero() {
			t.Errorf("record entry %+v", f)
		}
	}
}

func TestPushRerunAfterSuccessTransfersNothing(t *testing.T) {
	e := newEnv(t)
	s := e.server()
	m := packSet(t, e.work, "51007", "20241212", 0, 4, 50_000)
	cfg := e.config(e.targetYAML("plat", []string{s.Addr()}, nil), "plat")
	if _, err, _ := e.push(cfg); err != nil {
		t.Fatal(err)
	}
	before := len(s.Events())
	res, err, status := e.push(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Files != 0 || res.Bytes != 0 || res.Skipped != 5 {
		t.Errorf("re-run sent files=%d bytes=%d skipped=%d, want 0, 0, 5", res.Files, res.Bytes, res.Skipped)
	}
	if evs := s.Events()[before:]; len(evs) != 0 {
		t.Errorf("re-run changed the server: %+v", evs)
	}
	if !strings.Contains(status, "files=0 bytes=0 skipped=5") {
		t.Errorf("status: %q", status)
	}
	assertDelivered(t, filepath.Join(s.Root(), "in"), m, workdir.New(cfg.Workdir).Out("51007", "20241212"))
}

func TestPushTwoTargetsEachGetFullSet(t *testing.T) {
	e := newEnv(t)
	old, nu := e.server(), e.server()
	m := packSet(t, e.work, "51007", "20241212", 0, 5, 60_000)
	cfg := e.config(e.targetYAML("old", []string{old.Addr()}, nil)+e.targetYAML("new", []string{nu.Addr()}, nil), "old", "new")
	res, err, status := e.push(cfg)
	if err != nil {
		t.Fatal(err)
	}
	local := workdir.New(cfg.Workdir).Out("51007", "20241212")
	for _, s := range []*sftpd.Server{old, nu} {
		assertDelivered(t, filepath.Join(s.Root(), "in"), m, local)
		assertVerfLast(t, m, s.Events())
	}
	if len(res.Jobs) != 2 || strings.Count(status, "CHAMA_PUSH OK") != 2 {
		t.Errorf("want two OK jobs: %s", status)
	}
	for _, tg := range []string{"old", "new"} {
		if rec, _ := delivery.Read(local, tg); rec == nil || !rec.Complete || len(rec.Files) != 6 {
			t.Errorf("record of %s: %+v", tg, rec)
		}
	}
}

func TestPushFailAfterBytesIsRetried(t *testing.T) {
	e := newEnv(t)
	s := e.server(sftpd.Fault{Op: sftpd.OpWrite, Action: sftpd.Fail, Name: ".*_002.dat.gz.part", AfterBytes: 30_000, Times: 1})
	m := packSet(t, e.work, "51007", "20241212", 0, 3, 100_000)
	cfg := e.config(e.targetYAML("plat", []string{s.Addr()}, nil), "plat")
	if _, err, _ := e.push(cfg); err != nil {
		t.Fatal(err)
	}
	if s.Fired(sftpd.OpWrite) != 1 {
		t.Fatalf("write fault fired %d times, want 1", s.Fired(sftpd.OpWrite))
	}
	local := workdir.New(cfg.Workdir).Out("51007", "20241212")
	assertDelivered(t, filepath.Join(s.Root(), "in"), m, local)
	assertVerfLast(t, m, s.Events())
	rec, _ := delivery.Read(local, "plat")
	if e, _ := rec.Lookup(m.Sets[0].Files[1].Name); e.Attempts != 2 {
		t.Errorf("file 2 took %d attempts, want 2", e.Attempts)
	}
}

func TestPushStallPastDeadlineReconnects(t *testing.T) {
	e := newEnv(t)
	s := e.server(sftpd.Fault{Op: sftpd.OpWrite, Action: sftpd.Stall, Name: ".*_001.dat.gz.part", AfterBytes: 20_000, Times: 1})
	m := packSet(t, e.work, "51007", "20241212", 0, 2, 80_000)
	cfg := e.config(e.targetYAML("plat", []string{s.Addr()}, nil, "timeout: 1s", "down_after: 5"), "plat")
	if _, err, _ := e.push(cfg); err != nil {
		t.Fatal(err)
	}
	if s.Fired(sftpd.OpWrite) != 1 {
		t.Fatalf("stall fired %d times", s.Fired(sftpd.OpWrite))
	}
	assertDelivered(t, filepath.Join(s.Root(), "in"), m, workdir.New(cfg.Workdir).Out("51007", "20241212"))
	if s.Logins() < 2 {
		t.Errorf("logins %d: the stalled connection should have been replaced", s.Logins())
	}
}

func TestPushRefusedRenameFailsHost(t *testing.T) {
	e := newEnv(t)
	s := e.server(sftpd.Fault{Op: sftpd.OpRename, Action: sftpd.Deny, Name: "*_002.dat.gz"})
	m := packSet(t, e.work, "51007", "20241212", 0, 3, 30_000)
	cfg := e.config(e.targetYAML("plat", []string{s.Addr()}, nil), "plat")
	res, err, status := e.push(cfg)
	if exit.Code(err) != exit.Failure {
		t.Fatalf("exit code %d (%v), want %d", exit.Code(err), err, exit.Failure)
	}
	if !strings.Contains(status, "CHAMA_PUSH FAIL iface=51007 period=20241212 target=plat") || !strings.Contains(status, "permission denied") {
		t.Errorf("status: %q", status)
	}
	if _, err := os.Stat(filepath.Join(s.Root(), "in", m.Sets[0].Verf)); err == nil {
		t.Error(".verf published although a data file was not")
	}
	if res.Hosts[0].State != "failed" {
		t.Errorf("host state %q, want failed", res.Hosts[0].State)
	}
}

func TestPushRenameFailureIsRetried(t *testing.T) {
	e := newEnv(t)
	s := e.server(sftpd.Fault{Op: sftpd.OpRename, Action: sftpd.Fail, Name: "*_001.dat.gz", Times: 1})
	m := packSet(t, e.work, "51007", "20241212", 0, 2, 30_000)
	cfg := e.config(e.targetYAML("plat", []string{s.Addr()}, nil), "plat")
	if _, err, _ := e.push(cfg); err != nil {
		t.Fatal(err)
	}
	assertDelivered(t, filepath.Join(s.Root(), "in"), m, workdir.New(cfg.Workdir).Out("51007", "20241212"))
	assertVerfLast(t, m, s.Events())
}

func TestPushRejectedAuth(t *testing.T) {
	e := newEnv(t)
	s := e.server(sftpd.Fault{Op: sftpd.OpAuth, Action: sftpd.Deny})
	packSet(t, e.work, "51007", "20241212", 0, 1, 10_000)
	cfg := e.config(e.targetYAML("plat", []string{s.Addr()}, nil), "plat")
	_, err, status := e.push(cfg)
	if exit.Code(err) != exit.Failure {
		t.Fatalf("exit %d (%v), want 1", exit.Code(err), err)
	}
	if !strings.Contains(status, "login as chama refused") {
		t.Errorf("status does not say the login was refused: %q", status)
	}
	if s.Logins() != 0 {
		t.Errorf("logins %d", s.Logins())
	}
}

func TestPushHostKeyMismatch(t *testing.T) {
	e := newEnv(t)
	s := e.server()
	other := e.server() // another key
	packSet(t, e.work, "51007", "20241212", 0, 1, 10_000)
	// known_hosts holds other's key under s's address.
	line := knownhosts.Line([]string{knownhosts.Normalize(s.Addr())}, other.HostKey())
	os.WriteFile(e.kh, []byte(line+"\n"), 0o644)
	cfg := e.config(e.targetYAML("plat", []string{s.Addr()}, nil), "plat")
	_, err, status := e.push(cfg)
	if exit.Code(err) != exit.Failure {
		t.Fatalf("exit %d (%v)", exit.Code(err), err)
	}
	for _, want := range []string{"HOST KEY MISMATCH", s.Addr(), fingerprint(s), fingerprint(other)} {
		if !strings.Contains(status, want) {
			t.Errorf("status lacks %q: %s", want, status)
		}
	}
	if s.Logins() != 0 {
		t.Error("logged in despite the mismatch")
	}
}

func TestPushRefusesWorldReadableSecret(t *testing.T) {
	e := newEnv(t)
	s := e.server()
	packSet(t, e.work, "51007", "20241212", 0, 1, 10_000)
	pw := filepath.Join(e.work, "password")
	os.WriteFile(pw, []byte("s3cret-never-logged\n"), 0o644)
	os.Chmod(pw, 0o644)
	cfg := e.config(e.targetYAML("plat", []string{s.Addr()}, nil, "auth: {password_file: "+pw+"}"), "plat")
	_, err, status := e.push(cfg)
	if exit.Code(err) != exit.Failure {
		t.Fatalf("exit %d (%v)", exit.Code(err), err)
	}
	if !strings.Contains(status, pw) || !strings.Contains(status, "mode 0644") {
		t.Errorf("message should name the file and its mode: %s", status)
	}
	if strings.Contains(status, "s3cret") {
		t.Error("the secret leaked into the status line")
	}
	// The key file is a secret too.
	os.Chmod(e.keyFile, 0o640)
	cfg = e.config(e.targetYAML("plat", []string{s.Addr()}, nil), "plat")
	if _, err, status = e.push(cfg); err == nil || !strings.Contains(status, "mode 0640") {
		t.Errorf("group-readable key file accepted: %v %s", err, status)
	}
}

func TestPushPasswordAuth(t *testing.T) {
	e := newEnv(t)
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "in"), 0o755)
	s, err := sftpd.Start(sftpd.Options{Root: root, Password: "pw-from-env"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	os.WriteFile(e.kh, []byte(s.KnownHostsLine()+"\n"), 0o644)
	m := packSet(t, e.work, "51007", "20241212", 0, 2, 10_000)
	t.Setenv("CHAMA_TEST_PW", "pw-from-env")
	cfg := e.config(e.targetYAML("plat", []string{s.Addr()}, nil, "auth: {password_env: CHAMA_TEST_PW}"), "plat")
	if _, err, _ := e.push(cfg); err != nil {
		t.Fatal(err)
	}
	assertDelivered(t, filepath.Join(root, "in"), m, workdir.New(cfg.Workdir).Out("51007", "20241212"))
}

func TestPushMissingRemoteDirFailsAtOnce(t *testing.T) {
	e := newEnv(t)
	s := e.server()
	packSet(t, e.work, "51007", "20241212", 0, 2, 10_000)
	cfg := e.config(e.targetYAML("plat", []string{s.Addr()}, nil, "dir: /nowhere"), "plat")
	_, err, status := e.push(cfg)
	if exit.Code(err) != exit.Failure || !strings.Contains(status, "remote folder /nowhere does not exist") {
		t.Fatalf("exit %d, status %s", exit.Code(err), status)
	}
}

func TestPushNotPackedIsNotReady(t *testing.T) {
	e := newEnv(t)
	s := e.server()
	cfg := e.config(e.targetYAML("plat", []string{s.Addr()}, nil), "plat")
	_, err, status := e.push(cfg)
	if exit.Code(err) != exit.NotReady || !strings.Contains(status, "pack the period first") ||
		!strings.HasPrefix(status, "CHAMA_PUSH NOTREADY iface=51007 period=20241212 target=plat err=") {
		t.Fatalf("exit %d, status %s (want the NOTREADY word pack and pull use)", exit.Code(err), status)
	}
}

func TestPushResendMismatch(t *testing.T) {
	e := newEnv(t)
	s := e.server()
	packSet(t, e.work, "51007", "20241212", 0, 1, 10_000)
	cfg := e.config(e.targetYAML("plat", []string{s.Addr()}, nil), "plat")
	_, err, status := e.push(cfg, func(o *Options) { o.Resend = 1 })
	if exit.Code(err) != exit.Usage || !strings.Contains(status, "re-send 00, not 01") {
		t.Fatalf("exit %d, status %s", exit.Code(err), status)
	}
}

func fingerprint(s *sftpd.Server) string { return ssh.FingerprintSHA256(s.HostKey()) }
