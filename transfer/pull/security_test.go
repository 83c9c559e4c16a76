package pull

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/retry"
)

// However many retries a config asks for, pull gives up after
// retry.MaxRetries; the pause doubles from the backoff to MaxRetryPause.
func TestRetryIsBounded(t *testing.T) {
	defer func(s func(context.Context, time.Duration) error) { sleep = s }(sleep)
	var pauses []time.Duration
	sleep = func(_ context.Context, d time.Duration) error { pauses = append(pauses, d); return nil }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	err := again(ctx, slog.New(slog.DiscardHandler), 1<<40, 2*time.Second, "x", func() error {
		calls++
		if calls > 10*retry.MaxRetries {
			cancel()
		}
		return errors.New("down")
	})
	if err == nil || calls != retry.MaxRetries+1 {
		t.Fatalf("%d calls (%v), want %d", calls, err, retry.MaxRetries+1)
	}
	if pauses[0] != 2*time.Second || pauses[3] != 16*time.Second || pauses[40] != MaxRetryPause {
		t.Fatalf("pauses %v: want 2s doubling to at most %s", pauses[:6], MaxRetryPause)
	}
}

// A second pull of a partition being staged is refused as busy (exit 3,
// ledger status busy), so it never hides the run that holds the lock.
func TestPartitionLockRefusalIsBusy(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockPartition(dir, "dt=20241212/hour=05")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	_, err = lockPartition(dir, "dt=20241212/hour=05")
	if !errors.Is(err, exit.ErrBusy) || exit.Code(err) != exit.Partial {
		t.Fatalf("second lock: %v (exit %d), want busy, exit 3", err, exit.Code(err))
	}
}
