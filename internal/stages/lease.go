package stages

import (
	"context"
	"errors"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/chunkstore"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/fence"
	"github.com/chama-data/chama/internal/ledger"
	"github.com/chama-data/chama/internal/obs"
)

// Leases takes the leases of stage runs in the shared ledger (config
// ledger.leases, on with PostgreSQL): one per unit, held by a heartbeat
// while the run works, checked before each publish. A nil *Leases takes
// none (one machine).
type Leases struct {
	l     *ledger.Ledger
	runID string
	ttl   config.Duration
}

// NewLeases returns the config's lease taker. With leases on, the ledger
// is a gate, not only a record: a run that cannot reach it does not start
// (exit 3, safe to retry), since it could not know whether another
// machine is doing the same work.
func NewLeases(c *config.Config, rc *obs.Recorder) (*Leases, error) {
	if !c.LeasesOn() {
		return nil, nil
	}
	if rc == nil || rc.Ledger == nil {
		return nil, exit.With(exit.Partial, errors.New("ledger.leases is on but the run ledger cannot be opened: not started, so that two machines cannot do the same work; run again once the ledger is reachable"))
	}
	return &Leases{l: rc.Ledger, runID: rc.RunID, ttl: c.Ledger.LeaseTTL}, nil
}

// Claim takes r's lease and keeps it alive. It returns the context to
// run in (carrying the lease for fence.Check, and cancelled if the lease
// is taken over), the fencing check and the release. A lease held by
// another machine is exit.Busy (3).
func (s *Leases) Claim(ctx context.Context, r ledger.Run) (context.Context, func(context.Context) error, func(), error) {
	if s == nil {
		return ctx, nil, func() {}, nil
	}
	hctx, held, err := s.l.Hold(ctx, ledger.Unit(r), s.l.Owner(s.runID), s.ttl.D(), 0)
	var busy *ledger.BusyError
	switch {
	case errors.As(err, &busy):
		return ctx, nil, nil, exit.Busy(err)
	case err != nil:
		return ctx, nil, nil, exit.With(exit.Partial, err)
	}
	release := func() { held.Stop(context.WithoutCancel(ctx)) }
	return fence.With(hctx, held), held.Check, release, nil
}

// Push is Claim for push.Options.Claim (nil without leases).
func (s *Leases) Push() func(ctx context.Context, iface, period, target string) (func(context.Context) error, func(), error) {
	if s == nil {
		return nil
	}
	return func(ctx context.Context, iface, period, target string) (func(context.Context) error, func(), error) {
		_, check, release, err := s.Claim(ctx, ledger.Run{Stage: ledger.StagePush, Iface: iface, Period: period, Hour: hourOf(period), Target: target})
		return check, release, err
	}
}

// Pack is Claim for pack.AllOptions.Claim (nil without leases): one lease
// per interface and period (an hour chunk, or a day).
func (s *Leases) Pack() func(ctx context.Context, iface, period string) (context.Context, func(), error) {
	if s == nil {
		return nil
	}
	return func(ctx context.Context, iface, period string) (context.Context, func(), error) {
		c, _, release, err := s.Claim(ctx, ledger.Run{Stage: ledger.StagePack, Iface: iface, Period: period, Hour: hourOf(period)})
		return c, release, err
	}
}

// Cluster is what a stage run on one of several machines needs: the
// lease taker and the shared chunk store (either nil on one machine).
type Cluster struct {
	Leases *Leases
	Store  *chunkstore.Store
}

// OpenCluster opens the config's leases and chunk store; Close releases
// the store.
func OpenCluster(c *config.Config, rc *obs.Recorder) (*Cluster, error) {
	l, err := NewLeases(c, rc)
	if err != nil {
		return nil, err
	}
	s, err := chunkstore.Open(c)
	if err != nil {
		return nil, exit.With(exit.Partial, err)
	}
	return &Cluster{Leases: l, Store: s}, nil
}

// Close closes the chunk store.
func (cl *Cluster) Close() error {
	if cl == nil {
		return nil
	}
	return cl.Store.Close()
}

// PartTag is push's PartTag: with leases (several machines), this
// machine's name in its temporary file names; "" on one machine.
func (s *Leases) PartTag() string {
	if s == nil {
		return ""
	}
	return s.l.Machine()
}
