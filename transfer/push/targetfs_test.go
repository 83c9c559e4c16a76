package push

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/chama-data/chama/internal/sftpd"
	"github.com/chama-data/chama/transfer/sshconn"
)

// TestTargetFSReadsAndTimesOut: verify's session lists, stats and streams
// files (WriteTo) like the plain client, and a server that stops
// answering a request ends that request with a sshconn.TimeoutError after the
// target's timeout instead of hanging verify.
func TestTargetFSReadsAndTimesOut(t *testing.T) {
	e, tg, data := shortReadEnv(t, 2*sshconn.DefaultMaxPacket+77, "timeout: 300ms")
	cfg := e.config(tg, "plat")
	s := e.servers[0]
	tfs, err := sshconn.OpenTargetFS(context.Background(), cfg, "plat", cfg.Targets["plat"].Primary[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tfs.Close()
	fis, err := tfs.ReadDir("/in")
	if err != nil || len(fis) != 1 || fis[0].Name() != "big.bin" {
		t.Fatalf("ReadDir: %v %v", fis, err)
	}
	if fi, err := tfs.Stat("/in/big.bin"); err != nil || fi.Size() != int64(len(data)) {
		t.Fatalf("Stat: %v %v", fi, err)
	}
	rc, err := tfs.Open("/in/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if _, err := rc.(io.WriterTo).WriteTo(&got); err != nil || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("WriteTo: %d bytes, %v; want %d", got.Len(), err, len(data))
	}
	rc.Close()

	// From now on the server never answers an open for reading.
	s.Inject(sftpd.Fault{Op: sftpd.OpStat, Action: sftpd.Stall, Name: "big.bin"})
	done := make(chan error, 1)
	go func() {
		rc, err := tfs.Open("/in/big.bin")
		if err == nil {
			rc.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		var te *sshconn.TimeoutError
		if !errors.As(err, &te) {
			t.Fatalf("stalled open: %v, want a sshconn.TimeoutError", err)
		}
	case <-time.After(30 * time.Second): // a safety net, not a timing assertion
		t.Fatal("a stalled open hung verify's session")
	}
}
