package pull

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/hdfstest"
	"github.com/chama-data/chama/internal/sftpd"
)

// When the HDFS cluster is down, the partition comes from an SFTP relay
// (the fallback), verified with md5sum on the relay, and the result says so.
func TestPullFallbackToSFTPRelay(t *testing.T) {
	e := newEnv(t, hdfstest.Options{}, "")
	want := e.dataset() // also written under e.relay, without "warehouse/"

	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := ssh.MarshalPrivateKey(priv, "")
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "id_ed25519")
	os.WriteFile(keyFile, pem.EncodeToMemory(blk), 0o600)
	srv, err := sftpd.Start(sftpd.Options{Root: filepath.Dir(e.relay), AuthorizedKeys: []ssh.PublicKey{signer.PublicKey()}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	kh := filepath.Join(dir, "known_hosts")
	os.WriteFile(kh, []byte(srv.KnownHostsLine()+"\n"), 0o644)

	y := fmt.Sprintf(`workdir: %s
sources:
  hdfs1:
    type: hdfs
    namenodes: [%q]
    user: chama
    root: /warehouse
    retries: 1
    retry_backoff: 1ms
    fallback: relay
  relay:
    type: sftp
    target: relayhost
    root: /%s
    retries: 1
    retry_backoff: 1ms
targets:
  relayhost:
    primary: [{host: 127.0.0.1, port: %d}]
    user: chama
    auth: {key_file: %s}
    known_hosts: %s
    timeout: 5s
    remote_checksum: true
interfaces:
  "51007":
    source: hdfs1
    path: ods/events/dt={date}/hour={hour}
`, e.work, e.cluster.Addrs()[0], filepath.Base(e.relay), srv.Port(), keyFile, kh)
	e.cfg, err = config.Parse([]byte(y))
	if err != nil {
		t.Fatalf("%v\n%s", err, y)
	}
	e.cluster.Close()
	res, err := e.run(context.Background(), e.hours("20241212", "00", "01", "02"), nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, e.out.String())
	}
	e.checkStaged(want)
	for _, p := range res.Partitions {
		if p.Source != "relay" || !p.Fallback {
			t.Fatalf("%s: source %s fallback %v", p.Path, p.Source, p.Fallback)
		}
		for _, f := range p.Files {
			if len(f.Checksum) != 32 {
				t.Fatalf("%s: not verified against md5sum on the relay", f.Path)
			}
		}
	}
	if !strings.Contains(e.out.String(), "source=relay files=4 skipped=0") || !strings.Contains(e.out.String(), "fallback=yes") {
		t.Fatalf("status lines:\n%s", e.out.String())
	}
}
