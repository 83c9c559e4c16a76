package push

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chama-data/chama/internal/exit"
)

// A job whose lease another machine holds sends nothing (busy, exit 3).
func TestPushBusyLeaseSendsNothing(t *testing.T) {
	e := newEnv(t)
	s := e.server()
	packSet(t, e.work, "51007", "20241212", 0, 3, 10_000)
	cfg := e.config(e.targetYAML("plat", []string{s.Addr()}, nil), "plat")
	res, err, status := e.push(cfg, func(o *Options) {
		o.Claim = func(ctx context.Context, iface, period, target string) (func(context.Context) error, func(), error) {
			return nil, nil, exit.Busy(errors.New("push/51007/20241212/plat is being run by m2:42:r7"))
		}
	})
	if exit.Code(err) != exit.Partial || res.Files != 0 || len(s.Events()) != 0 {
		t.Fatalf("exit %d, files %d, server events %d: %v", exit.Code(err), res.Files, len(s.Events()), err)
	}
	if !strings.Contains(status, "being run by m2:42:r7") {
		t.Errorf("status: %q", status)
	}
}

// A lease taken over mid-push: the next rename is refused, the .verf is
// never published, and the run exits 3 (safe: the new holder delivers).
func TestPushFencedStopsBeforeTheVerf(t *testing.T) {
	e := newEnv(t)
	s := e.server()
	packSet(t, e.work, "51007", "20241212", 0, 4, 10_000)
	cfg := e.config(e.targetYAML("plat", []string{s.Addr()}, nil), "plat")
	var checks, released atomic.Int32
	res, err, status := e.push(cfg, func(o *Options) {
		o.Claim = func(ctx context.Context, iface, period, target string) (func(context.Context) error, func(), error) {
			check := func(context.Context) error {
				if checks.Add(1) > 2 {
					return errors.New("the lease was taken over by m2 (fencing number 2)")
				}
				return nil
			}
			return check, func() { released.Add(1) }, nil
		}
	})
	if exit.Code(err) != exit.Partial {
		t.Fatalf("exit %d (%v), want 3", exit.Code(err), err)
	}
	if released.Load() != 1 {
		t.Errorf("lease released %d times", released.Load())
	}
	ents, _ := os.ReadDir(filepath.Join(s.Root(), "in"))
	var published int
	for _, en := range ents {
		if strings.HasSuffix(en.Name(), ".verf") {
			t.Errorf("a .verf was published by a fenced run: %s", en.Name())
		}
		if !strings.HasPrefix(en.Name(), ".") {
			published++
		}
	}
	if published > 2 || res.Code != exit.Partial || !strings.Contains(status, "taken over") {
		t.Errorf("published %d files (want at most the 2 checked), code %d, err %v", published, res.Code, err)
	}
}
