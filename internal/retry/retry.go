// Package retry is chama's one rule for trying again: an exponential
// backoff from a base, capped, optionally jittered, and a loop that runs a
// step until it succeeds, the budget is spent or the context ends. Pull
// retries source calls with it; push paces reconnects and host probes
// with its Backoff.
//
// It is a few lines rather than a dependency such as cenkalti/backoff:
// chama needs one capped doubling and a bounded loop, and a hand-sized
// helper keeps the exact pause (which tests pin) in view.
package retry

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is the pause before attempt n (1-based) of something that
// failed: Base, doubled for each earlier attempt, at most Max. With
// Jitter the pause is drawn from [d/2, d], so that many workers do not
// retry in lockstep.
type Backoff struct {
	Base, Max time.Duration
	Jitter    bool
}

// Pause returns the pause before attempt n (n < 1 counts as 1). It
// doubles step by step and stops at the cap, so no attempt number can
// overflow it.
func (b Backoff) Pause(n int) time.Duration {
	if b.Base <= 0 {
		return 0
	}
	d := b.Base
	for i := 1; i < n && (b.Max <= 0 || d < b.Max); i++ {
		d *= 2 // d < Max: no overflow
	}
	if b.Max > 0 && d > b.Max {
		d = b.Max
	}
	if !b.Jitter {
		return d
	}
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1)
}

// Sleep waits d or until ctx ends, whichever is first; it returns
// ctx.Err() when the context ended.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// MaxRetries bounds every retry budget, whatever a config asks for.
const MaxRetries = 100

// Policy is how Do retries.
type Policy struct {
	// Retries is how many times a failed step is tried again (at most
	// MaxRetries; 0 means one try).
	Retries int
	Backoff Backoff
	// OnRetry, when set, hears of each retry before its pause (to log it).
	OnRetry func(attempt int, pause time.Duration, err error)
	// Sleep replaces the pause (tests); nil means Sleep.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Do runs f until it returns nil, the retries are spent or ctx ends, and
// returns f's last error (or ctx's, when it ended during a pause).
func Do(ctx context.Context, p Policy, f func() error) error {
	retries := min(p.Retries, MaxRetries)
	sleep := p.Sleep
	if sleep == nil {
		sleep = Sleep
	}
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || ctx.Err() != nil || attempt > retries {
			return err
		}
		pause := p.Backoff.Pause(attempt)
		if p.OnRetry != nil {
			p.OnRetry(attempt, pause, err)
		}
		if err := sleep(ctx, pause); err != nil {
			return err
		}
	}
}
