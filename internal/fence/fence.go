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
