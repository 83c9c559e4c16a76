package retry

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestPauseDoublesAndCaps(t *testing.T) {
	b := Backoff{Base: 2 * time.Second, Max: time.Minute}
	for n, want := range map[int]time.Duration{0: 2 * time.Second, 1: 2 * time.Second, 2: 4 * time.Second, 4: 16 * time.Second, 6: time.Minute, 41: time.Minute, 1 << 30: time.Minute} {
		if got := b.Pause(n); got != want {
			t.Errorf("Pause(%d) = %s, want %s", n, got, want)
		}
	}
	// A huge base or attempt never wraps to zero or below.
	for _, base := range []time.Duration{time.Nanosecond, time.Second, time.Duration(1 << 62)} {
		for n := 1; n < 200; n += 7 {
			if p := (Backoff{Base: base, Max: time.Minute}).Pause(n); p <= 0 || p > max(time.Minute, base) {
				t.Fatalf("Pause(%d) of base %s = %s", n, base, p)
			}
		}
	}
	if p := (Backoff{}).Pause(3); p != 0 {
		t.Errorf("zero base: %s", p)
	}
}

func TestPauseJitterStaysInTheUpperHalf(t *testing.T) {
	b := Backoff{Base: time.Second, Max: 8 * time.Second, Jitter: true}
	for range 1000 {
		if p := b.Pause(3); p < 2*time.Second || p > 4*time.Second {
			t.Fatalf("Pause(3) = %s, want within [2s, 4s]", p)
		}
	}
}

// However many retries a caller asks for, Do gives up after MaxRetries.
func TestDoIsBounded(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls, heard := 0, 0
	err := Do(ctx, Policy{Retries: 1 << 40, Backoff: Backoff{Base: time.Hour},
		OnRetry: func(int, time.Duration, error) { heard++ },
		Sleep:   func(context.Context, time.Duration) error { return nil }},
		func() error {
			calls++
			if calls > 10*MaxRetries {
				cancel()
			}
			return errors.New("down")
		})
	if err == nil || calls != MaxRetries+1 || heard != MaxRetries {
		t.Fatalf("%d calls, %d retries heard (%v), want %d and %d", calls, heard, err, MaxRetries+1, MaxRetries)
	}
}

func TestDoStopsOnSuccessAndOnCancel(t *testing.T) {
	calls := 0
	var pauses []time.Duration
	err := Do(context.Background(), Policy{Retries: 5, Backoff: Backoff{Base: time.Second, Max: time.Minute},
		Sleep: func(_ context.Context, d time.Duration) error { pauses = append(pauses, d); return nil }},
		func() error {
			calls++
			if calls < 3 {
				return errors.New("not yet")
			}
			return nil
		})
	if err != nil || calls != 3 || len(pauses) != 2 || pauses[0] != time.Second || pauses[1] != 2*time.Second {
		t.Fatalf("err %v, %d calls, pauses %v", err, calls, pauses)
	}
	ctx, cancel := context.WithCancel(context.Background())
	err = Do(ctx, Policy{Retries: 5, Backoff: Backoff{Base: time.Hour},
		Sleep: func(ctx context.Context, d time.Duration) error { cancel(); return Sleep(ctx, d) }},
		func() error { return errors.New("down") })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled during a pause: %v", err)
	}
}
