package sshconn

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/sftpd"
)

func TestHostKeyAlgorithmsFollowKnownHosts(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	client, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sftpd.Start(sftpd.Options{Root: t.TempDir(), AuthorizedKeys: []ssh.PublicKey{client}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	kh := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(kh, []byte(s.KnownHostsLine()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := newHostKeyCheck(&config.Target{KnownHosts: kh})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.algorithms(s.Addr()); len(got) != 1 || got[0] != ssh.KeyAlgoED25519 {
		t.Errorf("algorithms for %s = %v, want [%s]", s.Addr(), got, ssh.KeyAlgoED25519)
	}
	if got := h.algorithms("127.0.0.1:1"); got != nil {
		t.Errorf("an unknown host gets %v, want the defaults (nil)", got)
	}
}
