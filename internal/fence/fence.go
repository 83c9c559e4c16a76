// Package fence carries a run's lease to the places where it publishes.
// A stage run that holds a lease of the shared ledger (internal/ledger)
// puts it in its context; pack, transform and push call Check right
// before each step that makes work visible (a rename into out/, a .verf
// on a host), so a run whose lease was taken over by another machine
// stops there instead of overwriting newer work.
package fence

import "context"

// Checker is a held lease: Check fails once it is no longer this run's.
type Checker interface {
	Check(ctx context.Context) error
}

type key struct{}

// With returns ctx carrying c.
func With(ctx context.Context, c Checker) context.Context {
	return context.WithValue(ctx, key{}, c)
}

// Check checks the lease ctx carries; a run without one (one machine,
// or a tool that takes no lease) passes.
func Check(ctx context.Context) error {
	c, _ := ctx.Value(key{}).(Checker)
	if c == nil {
		return nil
	}
	return c.Check(ctx)
}

// Numbered is a lease that tells its fencing number and owner, for
// storage that records them (internal/chunkstore names versions by it).
type Numbered interface {
	Number() (fence int64, owner string)
}

// Number is the fencing number and owner of the lease ctx carries; ok is
// false when it carries none that tells them.
func Number(ctx context.Context) (fence int64, owner string, ok bool) {
	n, ok := ctx.Value(key{}).(Numbered)
	if !ok {
		return 0, "", false
	}
	fence, owner = n.Number()
	return fence, owner, true
}

// From is the lease ctx carries (nil: none).
func From(ctx context.Context) Checker {
	c, _ := ctx.Value(key{}).(Checker)
	return c
}

// All is a Checker that passes when every one of cs does (a transform
// pass that publishes for several interfaces, each under its own lease).
type All []Checker

// Check checks each lease in turn.
func (a All) Check(ctx context.Context) error {
	for _, c := range a {
		if c == nil {
			continue
		}
		if err := c.Check(ctx); err != nil {
			return err
		}
	}
	return nil
}
