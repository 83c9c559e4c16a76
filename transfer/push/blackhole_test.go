package push

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/chama-data/chama/internal/workdir"
)

// blackhole listens on a loopback port whose accept queue is full, so a
// connect gets no answer at all and ends in the dialer's timeout: a host
// that is down behind a firewall that drops packets, not one that
// refuses. (Linux drops a SYN when the listener's queue is full.)
func blackhole(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	// Fill the queue (backlog 0 holds one connection), never accept.
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if c2, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
		c2.Close()
		t.Skip("this kernel does not drop connects to a full accept queue")
	}
	return addr
}

// TestClassifyDialTimeoutIsTransport: the net package's dial timeout can
// match errors.Is(err, context.DeadlineExceeded); it was taken for the
// run's cancellation, so the worker quit without counting a failure.
func TestClassifyDialTimeoutIsTransport(t *testing.T) {
	// A deadline already past gives the net package's errTimeout, the
	// kind that matches context.DeadlineExceeded, every time.
	_, err := (&net.Dialer{Deadline: time.Now().Add(-time.Second)}).DialContext(context.Background(), "tcp", "127.0.0.1:9")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("dial error %v does not match context.DeadlineExceeded: the test no longer covers the case", err)
	}
	if got := classify(fmt.Errorf("connect 127.0.0.1:9: %w", err)); got != classTransport {
		t.Errorf("classify(%v) = %s, want transport", err, got)
	}
	if got := classify(fmt.Errorf("op: %w", context.DeadlineExceeded)); got != classCancel {
		t.Errorf("the run's own deadline: %s, want cancel", got)
	}
}

// TestPushBlackholedPrimaryStandbyTakesOver: connects to the primary time
// out; it is marked down after down_after failures and the standby
// receives the set. (The run used to hang: the primary's workers quit as
// if cancelled, the primary never went down, the standby never became
// eligible.)
func TestPushBlackholedPrimaryStandbyTakesOver(t *testing.T) {
	e := newEnv(t)
	dead := blackhole(t)
	standby := e.server()
	m := packSet(t, e.work, "51007", "20241212", 0, 3, 20_000)
	cfg := e.config(e.targetYAML("plat", []string{dead}, []string{standby.Addr()}, "timeout: 300ms"), "plat")
	done := make(chan struct{})
	var res *Result
	var err error
	var status string
	go func() {
		defer close(done)
		res, err, status = e.push(cfg)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("push still running after a minute with a dead primary and a live standby")
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, status)
	}
	assertDelivered(t, filepath.Join(standby.Root(), "in"), m, workdir.New(cfg.Workdir).Out("51007", "20241212"))
	if res.Hosts[0].Role != "primary" || res.Hosts[0].State != "down" {
		t.Errorf("primary: %+v, want down", res.Hosts[0])
	}
	if _, err := os.Stat(filepath.Join(standby.Root(), "in", m.Sets[0].Verf)); err != nil {
		t.Error(err)
	}
}
