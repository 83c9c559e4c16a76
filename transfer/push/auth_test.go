package push

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/chama-data/chama/internal/workdir"
)

func TestPushKeyWithPassphraseFile(t *testing.T) {
	e := newEnv(t)
	s := e.server()
	m := packSet(t, e.work, "51007", "20241212", 0, 1, 5_000)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(priv)
	blk, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(e.work, "id_enc")
	os.WriteFile(key, pem.EncodeToMemory(blk), 0o600)
	pass := filepath.Join(e.work, "pass")
	os.WriteFile(pass, []byte("correct horse\n"), 0o600)
	// The server must accept this key too.
	s2, err := startWithKey(t, s.Root(), signer.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(e.kh, []byte(s2.KnownHostsLine()+"\n"), 0o644)

	cfg := e.config(e.targetYAML("plat", []string{s2.Addr()}, nil, "auth: {key_file: "+key+"}"), "plat")
	if _, err, status := e.push(cfg); err == nil || !strings.Contains(status, "is encrypted: set auth.passphrase_env or auth.passphrase_file") {
		t.Fatalf("an encrypted key without passphrase: %v %s", err, status)
	}
	cfg = e.config(e.targetYAML("plat", []string{s2.Addr()}, nil, "auth: {key_file: "+key+", passphrase_file: "+pass+"}"), "plat")
	if _, err, _ := e.push(cfg); err != nil {
		t.Fatal(err)
	}
	assertDelivered(t, filepath.Join(s.Root(), "in"), m, workdir.New(cfg.Workdir).Out("51007", "20241212"))
}

func TestPushSSHAgent(t *testing.T) {
	e := newEnv(t)
	s := e.server()
	m := packSet(t, e.work, "51007", "20241212", 0, 1, 5_000)
	// An in-process agent holding the env's key, on a unix socket.
	kr := agent.NewKeyring()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(priv)
	if err := kr.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { agent.ServeAgent(kr, c); c.Close() }()
		}
	}()
	t.Setenv("SSH_AUTH_SOCK", sock)
	s2, err := startWithKey(t, s.Root(), signer.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(e.kh, []byte(s2.KnownHostsLine()+"\n"), 0o644)
	cfg := e.config(e.targetYAML("plat", []string{s2.Addr()}, nil, "auth: {agent: true}"), "plat")
	if _, err, _ := e.push(cfg); err != nil {
		t.Fatal(err)
	}
	assertDelivered(t, filepath.Join(s.Root(), "in"), m, workdir.New(cfg.Workdir).Out("51007", "20241212"))
}

func TestInsecureIgnoreHostKeyWarnsEveryRun(t *testing.T) {
	e := newEnv(t)
	s := e.server()
	packSet(t, e.work, "51007", "20241212", 0, 1, 5_000)
	os.WriteFile(e.kh, nil, 0o644) // nothing known
	cfg := e.config(e.targetYAML("plat", []string{s.Addr()}, nil, "known_hosts: ''", "insecure_ignore_host_key: true"), "plat")
	for run := 1; run <= 2; run++ {
		var logs bytes.Buffer
		_, err, _ := e.push(cfg, func(o *Options) { o.Log = slog.New(slog.NewTextHandler(&logs, nil)) })
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logs.String(), "INSECURE: host keys are NOT verified") {
			t.Errorf("run %d logged no warning:\n%s", run, logs.String())
		}
	}
}
