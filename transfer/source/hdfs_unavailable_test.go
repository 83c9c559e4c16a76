package source

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chama-data/chama/internal/hdfstest"
)

// A cluster none of whose namenodes can be reached (the test server
// closed; a port nothing listens on) fails every call with an error that
// is ErrUnavailable, keeps the detail and names the source; one namenode
// of two down, a missing path and a cluster that answers are not.
func TestHDFSUnavailableIsTyped(t *testing.T) {
	ctx := context.Background()
	c, dir := hdfsCluster(t, hdfstest.Options{Namenodes: 2})
	randomFile(t, filepath.Join(dir, "p", "f"), 1000, 1)

	// One namenode of two refusing is a failover, not an outage.
	c.Namenodes[0].Stop()
	h := hdfsSource(t, c.Addrs(), "/")
	if _, err := h.List(ctx, "p"); err != nil {
		t.Fatalf("one namenode of two down: %v", err)
	}
	_, err := h.List(ctx, "missing")
	if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("a missing partition: %v", err)
	}

	c.Close()
	// A port nothing listens on: connection refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	for name, addrs := range map[string][]string{"closed test server": c.Addrs(), "nothing listening": {closed}} {
		t.Run(name, func(t *testing.T) {
			h, err := NewHDFS(HDFSOptions{Name: "down", Namenodes: addrs, User: "chama", Timeout: 2 * time.Second, ConnectTimeout: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			calls := map[string]func() error{
				"List":    func() error { _, err := h.List(ctx, "p"); return err },
				"Exists":  func() error { _, err := h.Exists(ctx, "p/_SUCCESS"); return err },
				"Open":    func() error { _, err := h.Open(ctx, "p/f"); return err },
				"Sum":     func() error { _, _, err := h.Sum(ctx, "p/f"); return err },
				"NewHash": func() error { _, err := h.NewHash(ctx, "p/f"); return err },
			}
			for call, f := range calls {
				err := f()
				if !errors.Is(err, ErrUnavailable) {
					t.Errorf("%s: %v, want ErrUnavailable", call, err)
					continue
				}
				if msg := err.Error(); !strings.HasPrefix(msg, "hdfs unavailable: ") || !strings.Contains(msg, "hdfs down") || !strings.Contains(msg, noNamenode) {
					t.Errorf("%s: message %q lacks the detail", call, msg)
				}
			}
		})
	}
}

// unreachable types only the words colinmarc/hdfs uses for "no namenode
// could be reached", keeps the chain, and does not wrap twice.
func TestUnreachable(t *testing.T) {
	if unreachable(nil) != nil {
		t.Fatal("nil became an error")
	}
	other := errors.New("stat /p: permission denied")
	if got := unreachable(other); got != other {
		t.Fatalf("another error changed: %v", got)
	}
	inner := errors.New("no available namenodes: dial tcp 10.0.0.1:8020: connect: connection refused")
	err := unreachable(fmt.Errorf("hdfs nn: %w", inner))
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, inner) {
		t.Fatalf("%v: not ErrUnavailable wrapping the detail", err)
	}
	if again := unreachable(err); again != err {
		t.Fatalf("wrapped twice: %v", again)
	}
}
