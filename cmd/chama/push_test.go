package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/ledger"
	"github.com/chama-data/chama/internal/sftpd"
	"github.com/chama-data/chama/transfer/push"
)

// chama push through the CLI: pack a small day, push it to an in-process
// SFTP server, re-run (nothing sent), --json, and usage errors.
func TestPushCommand(t *testing.T) {
	dir := t.TempDir()
	srv, remote := startExchange(t, dir, "in")

	writeEvents(t, dir, 250)
	cfg := filepath.Join(dir, "chama.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`workdir: work
sources:
  ods: {type: file, root: ods}
targets:
  plat:
    primary: [{host: 127.0.0.1, port: %d}]
    user: chama
    auth: {key_file: id}
    known_hosts: known_hosts
    dir: /in
interfaces:
  "51007":
    source: ods
    path: dt={date}
    lines_per_file: 100
    routes: [{target: plat}]
`, srv.Port())), 0o644)

	if out, code, err := packCLI(t, "--config", cfg, "pack", "--date", "20241212"); code != 0 {
		t.Fatalf("pack: %d %v\n%s", code, err, out)
	}
	out, code, err := packCLI(t, "--config", cfg, "push", "--date", "20241212")
	if code != 0 || !strings.Contains(out, "CHAMA_PUSH OK iface=51007 period=20241212 target=plat files=4 ") {
		t.Fatalf("push: exit %d %v\n%s", code, err, out)
	}
	es, _ := os.ReadDir(filepath.Join(remote, "in"))
	if len(es) != 4 {
		t.Errorf("%d files arrived, want 3 data files and the .verf", len(es))
	}
	out, code, _ = packCLI(t, "--config", cfg, "push", "--date", "20241212", "--json")
	var res push.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 0 {
		t.Fatalf("--json: exit %d, %v\n%s", code, err, out)
	}
	if res.Files != 0 || res.Skipped != 4 || len(res.Jobs) != 1 || !res.Jobs[0].OK {
		t.Errorf("re-run summary %+v", res)
	}
	// Each delivery is a push row in the run ledger, with its target and host.
	l, err := ledger.OpenSQLite(filepath.Join(dir, "work", "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := l.Rows(t.Context(), ledger.Query{Stages: []string{ledger.StagePush}})
	l.Close()
	if err != nil || len(rows) != 2 {
		t.Fatalf("push ledger rows: %v %v", rows, err)
	}
	for _, r := range rows {
		if r.Target != "plat" || r.Status != ledger.OK || r.Iface != "51007" {
			t.Errorf("ledger row %+v", r)
		}
		if r.Files == 4 && r.Host != srv.Addr() {
			t.Errorf("the first push's row should name the host: %+v", r)
		}
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"push", "--date", "20241212", "--resend", "100"}, exit.Usage, "--resend 100"},
		{[]string{"push", "--date", "20241212", "--resend", "1"}, exit.Usage, "re-send 00, not 01"},
		{[]string{"push", "--date", "20241213"}, exit.NotReady, "pack the period first"},
		{[]string{"push", "--date", "2024121207"}, exit.Usage, "interface 51007 is delivered per day: push --date 20241212"},
	} {
		out, code, err := packCLI(t, append([]string{"--config", cfg}, tc.args...)...)
		if code != tc.code || !strings.Contains(out+fmt.Sprint(err), tc.want) {
			t.Errorf("%v: exit %d (%v), want %d and %q\n%s", tc.args, code, err, tc.code, tc.want, out)
		}
	}
}

// Two hosts with storage of their own: the primary refuses a file, so
// the set goes whole to the standby. `chama verify --remote` must then
// check the set where its .verf is (the standby, from the delivery
// record), not the first host that answers, which lacks it.
func TestVerifyRemoteChecksTheHostHoldingTheSet(t *testing.T) {
	dir := t.TempDir()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(priv)
	blk, _ := ssh.MarshalPrivateKey(priv, "")
	os.WriteFile(filepath.Join(dir, "id"), pem.EncodeToMemory(blk), 0o600)
	var kh strings.Builder
	var srvs []*sftpd.Server
	for i, faults := range [][]sftpd.Fault{{{Op: sftpd.OpOpen, Action: sftpd.Deny, Name: ".*_0003.dat.gz.part"}}, nil} {
		root := filepath.Join(dir, fmt.Sprintf("host%d", i))
		os.MkdirAll(filepath.Join(root, "in"), 0o755)
		srv, err := sftpd.Start(sftpd.Options{Root: root, AuthorizedKeys: []ssh.PublicKey{signer.PublicKey()}, Faults: faults})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		kh.WriteString(srv.KnownHostsLine() + "\n")
		srvs = append(srvs, srv)
	}
	os.WriteFile(filepath.Join(dir, "known_hosts"), []byte(kh.String()), 0o644)
	writeEvents(t, dir, 500)
	cfg := filepath.Join(dir, "chama.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`workdir: work
sources:
  ods: {type: file, root: ods}
targets:
  plat:
    primary: [{host: 127.0.0.1, port: %d}]
    standby: [{host: 127.0.0.1, port: %d}]
    user: chama
    auth: {key_file: id}
    known_hosts: known_hosts
    dir: /in
    connections_per_host: 1
    transfers_per_connection: 1
interfaces:
  "51007":
    source: ods
    path: dt={date}
    lines_per_file: 100
    routes: [{target: plat}]
`, srvs[0].Port(), srvs[1].Port())), 0o644)
	if out, code, err := packCLI(t, "--config", cfg, "pack", "--date", "20241212"); code != 0 {
		t.Fatalf("pack: %d %v\n%s", code, err, out)
	}
	out, code, err := packCLI(t, "--config", cfg, "push", "--date", "20241212")
	if code != 0 || !strings.Contains(out, "CHAMA_ALERT kind=failover") || !strings.Contains(out, "permission_denied") {
		t.Fatalf("push: exit %d %v\n%s", code, err, out)
	}
	if es, _ := os.ReadDir(filepath.Join(dir, "host1", "in")); len(es) != 6 {
		t.Errorf("the standby holds %d files, want the whole set: 5 data files and the .verf", len(es))
	}
	out, code, err = packCLI(t, "--config", cfg, "verify", "--date", "20241212", "--remote")
	if code != 0 {
		t.Fatalf("verify --remote: exit %d %v\n%s", code, err, out)
	}
	if !strings.Contains(out, srvs[1].Addr()) {
		t.Errorf("verify did not name the standby it checked:\n%s", out)
	}
}

// config validate checks the files a run needs without the network: a
// key file others can read, a missing known_hosts and a missing source
// root are reported with their keys; a secret pasted into password_env
// is refused and never printed.
func TestConfigValidateChecksFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "id"), []byte("key"), 0o644)
	cfg := filepath.Join(dir, "chama.yaml")
	os.WriteFile(cfg, []byte(`workdir: work
sources:
  ods: {type: file, root: no-such-folder}
targets:
  plat:
    primary: [{host: 127.0.0.1, port: 22}]
    user: chama
    auth: {key_file: id}
    known_hosts: no-known-hosts
    dir: /in
  plat2:
    primary: [{host: 127.0.0.1, port: 22}]
    user: chama
    auth: {password_env: "Hunter2Secret!"}
    known_hosts: no-known-hosts
    dir: /in
interfaces:
  "51007":
    source: ods
    path: dt={date}
    routes: [{target: plat}, {target: plat2}]
`), 0o644)
	out, code, err := packCLI(t, "--config", cfg, "config", "validate")
	msg := out + fmt.Sprint(err)
	if code != exit.Usage {
		t.Fatalf("exit %d, want 2\n%s", code, msg)
	}
	if strings.Contains(msg, "Hunter2Secret") || !strings.Contains(msg, "targets.plat2.auth.password_env") {
		t.Errorf("pasted secret: %s", msg)
	}
	os.WriteFile(cfg, []byte(strings.Replace(mustRead(t, cfg), `auth: {password_env: "Hunter2Secret!"}`, `auth: {password_env: CHAMA_PW}`, 1)), 0o644)
	out, code, err = packCLI(t, "--config", cfg, "config", "validate")
	msg = out + fmt.Sprint(err)
	for _, want := range []string{"targets.plat.auth.key_file", "targets.plat.known_hosts", "sources.ods.root"} {
		if code != exit.Usage || !strings.Contains(msg, want) {
			t.Errorf("exit %d, want 2 naming %s:\n%s", code, want, msg)
		}
	}
}

func mustRead(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// writeEvents writes n three-field \x01 rows as dir/ods/dt=20241212/part-00000.
func writeEvents(t *testing.T, dir string, n int) {
	t.Helper()
	in := filepath.Join(dir, "ods", "dt=20241212")
	if err := os.MkdirAll(in, 0o755); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%d\x01event\x01%d\n", i, i*7)
	}
	if err := os.WriteFile(filepath.Join(in, "part-00000"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
