package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/chama-data/chama/internal/sftpd"
)

// startExchange starts an in-process SFTP server on 127.0.0.1 serving
// dir/exchange (with the given folders made inside it) for a login key it
// writes to dir/id (mode 0600), and pins the server's host key in
// dir/known_hosts: the files a test config's target points at.
func startExchange(t *testing.T, dir string, folders ...string) (srv *sftpd.Server, remote string) {
	t.Helper()
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
	if err := os.WriteFile(filepath.Join(dir, "id"), pem.EncodeToMemory(blk), 0o600); err != nil {
		t.Fatal(err)
	}
	remote = filepath.Join(dir, "exchange")
	for _, f := range append(folders, ".") {
		if err := os.MkdirAll(filepath.Join(remote, f), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	srv, err = sftpd.Start(sftpd.Options{Root: remote, AuthorizedKeys: []ssh.PublicKey{signer.PublicKey()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if err := os.WriteFile(filepath.Join(dir, "known_hosts"), []byte(srv.KnownHostsLine()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return srv, remote
}
