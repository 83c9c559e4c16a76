package verify

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/sftpd"
	"github.com/chama-data/chama/transfer/push"
	"github.com/chama-data/chama/transfer/sshconn"
)

// TestVerifyRemoteOverSFTP pushes a packed period with chama's own push
// to an in-process SFTP server on loopback, then verifies it over SFTP
// with push's auth and host-key rules: intact (--deep), then with a .part
// leftover and the .verf gone.
func TestVerifyRemoteOverSFTP(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "incoming"), 0o755); err != nil {
		t.Fatal(err)
	}
	srv, err := sftpd.Start(sftpd.Options{Root: root, Password: "verify-test-pw"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	kh := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(kh, []byte(srv.KnownHostsLine()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CHAMA_TEST_VERIFY_PW", "verify-test-pw")
	cfg := testConfigTarget(t, t.TempDir(), fmt.Sprintf(`
    primary: [{host: 127.0.0.1, port: %d}]
    user: chama
    auth: {password_env: CHAMA_TEST_VERIFY_PW}
    known_hosts: %q
    dir: /incoming`, srv.Port(), kh))
	p := packWith(t, cfg, 25)
	o := p.options()
	if _, err := push.Run(t.Context(), push.Options{Config: cfg, Periods: o.Periods, Ifaces: o.Ifaces, Resend: -1}); err != nil {
		t.Fatal(err)
	}
	o.Remote, o.Deep = true, true
	o.Dial = func(ctx context.Context, name string, tg *config.Target, _ string) (RemoteFS, string, func() error, error) {
		tfs, err := sshconn.OpenTargetFS(ctx, cfg, name, tg.Primary[0], nil)
		if err != nil {
			return nil, "", nil, err
		}
		return tfs, tg.Primary[0].Addr(), tfs.Close, nil
	}
	rep, lines := runLines(t, o)
	if !rep.OK || strings.Join(lines, "\n") != "CHAMA_VERIFY OK iface=51007 period=20241212 files=3 lines=25 hosts="+srv.Addr() {
		t.Fatalf("after push: %v", lines)
	}
	in := filepath.Join(root, "incoming")
	os.WriteFile(filepath.Join(in, "."+p.names[1]+".part"), []byte("half a file"), 0o644)
	os.Remove(filepath.Join(in, p.m.Sets[0].Verf))
	rep, lines = runLines(t, o)
	host := fmt.Sprintf("127.0.0.1:%d", srv.Port())
	want := []string{
		"CHAMA_VERIFY FAIL iface=51007 period=20241212 file=" + p.m.Sets[0].Verf + " reason=missing_verf where=target:t1 host=" + host,
		"CHAMA_VERIFY FAIL iface=51007 period=20241212 file=." + p.names[1] + ".part reason=part_leftover where=target:t1 host=" + host,
	}
	var got []string
	for _, l := range lines {
		got = append(got, stripDetail(l))
	}
	if h := rep.Results[0].Hosts; len(h) != 1 || h[0] != host {
		t.Errorf("hosts %v, want [%s]", h, host)
	}
	if rep.OK || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}
