//go:build unix

package lock

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// flock belongs to the open file, so two opens in one process exclude
// each other the way two processes do.
func TestTryExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".20241212.lock")
	unlock, err := Try(path, Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Try(path, Exclusive); !errors.Is(err, ErrHeld) {
		t.Fatalf("second exclusive: %v, want ErrHeld", err)
	}
	if _, err := Try(path, Shared); !errors.Is(err, ErrHeld) {
		t.Fatalf("shared under exclusive: %v, want ErrHeld", err)
	}
	unlock()
	unlock2, err := Try(path, Exclusive)
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	unlock2()
}

func TestSharedLocksShareAndExcludeExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	u1, err := Try(path, Shared)
	if err != nil {
		t.Fatal(err)
	}
	u2, err := Try(path, Shared)
	if err != nil {
		t.Fatalf("second shared: %v", err)
	}
	if _, err := Try(path, Exclusive); !errors.Is(err, ErrHeld) {
		t.Fatalf("exclusive under shared: %v, want ErrHeld", err)
	}
	u1()
	u2()
}

func TestWaitWaitsForTheHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := Try(path, Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		u, err := Wait(path, Exclusive)
		if err == nil {
			u()
		}
		got <- err
	}()
	// Not a deadline: a loaded machine only makes this check weaker, it
	// cannot fail it; Wait returning while the lock is held is the bug.
	select {
	case err := <-got:
		t.Fatalf("Wait returned (%v) while the lock was held", err)
	case <-time.After(100 * time.Millisecond):
	}
	unlock()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}

func TestFdLocksTheOpenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := Try(path, Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := TryFd(f.Fd(), Exclusive); !errors.Is(err, ErrHeld) {
		t.Fatalf("TryFd under a held lock: %v, want ErrHeld", err)
	}
	unlock()
	if err := TryFd(f.Fd(), Exclusive); err != nil {
		t.Fatalf("TryFd: %v", err)
	}
	if _, err := Try(path, Shared); !errors.Is(err, ErrHeld) {
		t.Fatalf("Try under TryFd's lock: %v, want ErrHeld", err)
	}
	if err := WaitFd(f.Fd(), Shared); err != nil { // converts the lock
		t.Fatalf("WaitFd: %v", err)
	}
	u, err := Try(path, Shared)
	if err != nil {
		t.Fatalf("shared beside a shared fd lock: %v", err)
	}
	u()
}

func TestMissingFolderIsAnError(t *testing.T) {
	if _, err := Try(filepath.Join(t.TempDir(), "no", "x.lock"), Exclusive); err == nil || errors.Is(err, ErrHeld) {
		t.Fatalf("err %v", err)
	}
}
