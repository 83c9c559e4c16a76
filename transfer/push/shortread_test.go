package push

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/chama-data/chama/transfer/sshconn"
)

// Many SFTP servers (pkg/sftp's request server among them, so the demo's
// exchange) answer a read with at most 32 KiB whatever was asked. pkg/sftp
// splits a large Read or WriteTo into max_packet-sized concurrent requests
// and takes a short answer for the end of the file, so with the default
// 255 KiB packet a reader saw a fraction of each file: `verify --remote
// --deep` reported size mismatches on intact files, and a re-push compared
// a large .verf with a truncated copy. These tests read files larger than
// the default packet from such a server, with the default tuning.

func shortReadEnv(t *testing.T, size int, extra ...string) (*env, string, []byte) {
	t.Helper()
	e := newEnv(t)
	s := e.server()
	data := make([]byte, size)
	rand.Read(data)
	if err := os.WriteFile(filepath.Join(s.Root(), "in", "big.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	// "max_packet: " (empty) leaves the default packet size.
	return e, e.targetYAML("plat", []string{s.Addr()}, nil, append([]string{"max_packet: "}, extra...)...), data
}

func TestTargetFSClientReadsWholeFilesFromShortReadServers(t *testing.T) {
	e, tg, data := shortReadEnv(t, 3*sshconn.DefaultMaxPacket+12345)
	cfg := e.config(tg, "plat")
	tfs, err := sshconn.OpenTargetFS(context.Background(), cfg, "plat", cfg.Targets["plat"].Primary[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tfs.Close()
	c := tfs.Client()

	f, err := c.Open("/in/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	h := md5.New()
	n, err := f.WriteTo(h) // verify --deep streams files this way
	f.Close()
	if err != nil || n != int64(len(data)) {
		t.Fatalf("WriteTo: %d bytes, %v; want %d", n, err, len(data))
	}
	if want := md5.Sum(data); !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatal("WriteTo: content differs")
	}

	f, err = c.Open("/in/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f) // verify reads a remote .verf this way
	f.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadAll: %d bytes, %v; want %d", len(got), err, len(data))
	}
}

func TestSameFileReadsWholeLargeVerf(t *testing.T) {
	e, tg, data := shortReadEnv(t, 12*sshconn.DefaultMaxPacket+999)
	cfg := e.config(tg, "plat")
	local := filepath.Join(e.work, "big.verf")
	if err := os.WriteFile(local, data, 0o644); err != nil {
		t.Fatal(err)
	}
	c := dialConn(t, cfg, "plat")
	u := &upload{Local: local, Name: "big.bin", Dir: "/in", Size: int64(len(data)), Verf: true, Suffix: ".part"}
	st, err := c.SFTP.Stat(u.final())
	if err != nil {
		t.Fatal(err)
	}
	same, why, err := c.sameFile(context.Background(), u, st)
	if err != nil || !same {
		t.Fatalf("an identical remote .verf larger than a packet: same=%v (%s), err=%v", same, why, err)
	}
}
