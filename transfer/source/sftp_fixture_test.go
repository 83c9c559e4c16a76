package source_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/sftpd"
)

// relay is an SFTP relay host for the SFTP source's tests: an in-process
// server (internal/sftpd) serving a temporary folder, a client key it
// accepts and a known_hosts file holding its host key.
type relay struct {
	srv        *sftpd.Server
	work       string // holds the key and known_hosts
	keyFile    string
	knownHosts string
}

// startRelay starts a relay whose SFTP root is a fresh folder (Root()).
func startRelay(t *testing.T) *relay {
	t.Helper()
	r := &relay{work: t.TempDir()}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	r.keyFile = filepath.Join(r.work, "id_ed25519")
	if err := os.WriteFile(r.keyFile, pem.EncodeToMemory(blk), 0o600); err != nil {
		t.Fatal(err)
	}
	r.srv, err = sftpd.Start(sftpd.Options{Root: t.TempDir(), AuthorizedKeys: []ssh.PublicKey{signer.PublicKey()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.srv.Close() })
	r.knownHosts = filepath.Join(r.work, "known_hosts")
	if err := os.WriteFile(r.knownHosts, []byte(r.srv.KnownHostsLine()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return r
}

// Root is the local folder the relay serves as "/".
func (r *relay) Root() string { return r.srv.Root() }

// config is a config with source "relay" (type sftp, root) reading
// through target "relayhost" on the given endpoints (host:port); extra
// lines ("key: value") are added to the target.
func (r *relay) config(t *testing.T, root string, primaries, standbys []string, extra ...string) *config.Config {
	t.Helper()
	eps := func(addrs []string) string {
		var out []string
		for _, a := range addrs {
			h, p, err := net.SplitHostPort(a)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("{host: %s, port: %s}", h, p))
		}
		return "[" + strings.Join(out, ", ") + "]"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "workdir: %s\n", r.work)
	fmt.Fprintf(&b, "sources:\n  relay: {type: sftp, target: relayhost, root: %q}\n", root)
	fmt.Fprintf(&b, "targets:\n  relayhost:\n    primary: %s\n", eps(primaries))
	if len(standbys) > 0 {
		fmt.Fprintf(&b, "    standby: %s\n", eps(standbys))
	}
	fmt.Fprintf(&b, "    user: chama\n    auth: {key_file: %q}\n    known_hosts: %q\n    dir: /in\n    timeout: 30s\n", r.keyFile, r.knownHosts)
	for _, x := range extra {
		fmt.Fprintf(&b, "    %s\n", x)
	}
	fmt.Fprintf(&b, "interfaces:\n  \"51007\": {source: relay, path: \"ods/dt={date}/hour={hour}\"}\n")
	cfg, err := config.Parse([]byte(b.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	return cfg
}

// deadAddr is a loopback address nothing listens on any more.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
