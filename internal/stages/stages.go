// Package stages is the glue every entry point shares: how each stage's
// run becomes a run-ledger row, and the stage steps `chama run` composes.
// It holds no stage logic itself.
package stages

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/etl/pack"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/internal/pipeline"
	"github.com/chama-data/chama/naming"
	"github.com/chama-data/chama/transfer/pull"
	"github.com/chama-data/chama/transfer/push"
	"github.com/chama-data/chama/verify"
)

// All returns what `chama run` does for each period, in order; each is a
// thin call into the package that does the work. Verify checks the
// targets too because push runs before it: keep verify last.
func All() []pipeline.Stage { return AllFrom(pull.Auto) }

// AllFrom is All with pack (and the transforms inside it) reading its
// partitions as input says (`chama run --source`).
func AllFrom(input pull.Mode) []pipeline.Stage {
	return []pipeline.Stage{
		{Name: "pack", Run: PackFrom(input)},
		{Name: "push", Run: Push},
		{Name: "verify", Run: Verify},
	}
}

// Pack is the pack step of `chama run`. Its error names the interfaces
// that failed, so the later stages still deliver the others.
func Pack(ctx context.Context, p pipeline.Params, period naming.Period) error {
	return packFrom(ctx, p, period, pull.Auto)
}

// PackFrom is the pack step reading its partitions as input says
// (pull.Auto, pull.Pulled or pull.Origin).
func PackFrom(input pull.Mode) func(context.Context, pipeline.Params, naming.Period) error {
	return func(ctx context.Context, p pipeline.Params, period naming.Period) error {
		return packFrom(ctx, p, period, input)
	}
}

func packFrom(ctx context.Context, p pipeline.Params, period naming.Period, input pull.Mode) error {
	track := TrackPack(p.Recorder)
	cl, err := OpenCluster(p.Config, p.Recorder)
	if err != nil {
		return err
	}
	defer cl.Close()
	var mu sync.Mutex
	var failed []string
	err = pack.RunAll(ctx, pack.AllOptions{
		Config: p.Config, Periods: []naming.Period{period}, Ifaces: p.Ifaces, Resend: p.Resend, Input: input,
		Out: p.Stdout, Log: p.Log, Version: p.Version, Claim: cl.Leases.Pack(), Store: cl.Store,
		Track: func(ctx context.Context, iface, period string) func(*manifest.Manifest, error) {
			done := track(ctx, iface, period)
			return func(m *manifest.Manifest, err error) {
				if err != nil {
					mu.Lock()
					if !slices.Contains(failed, iface) {
						failed = append(failed, iface)
					}
					mu.Unlock()
				}
				done(m, err)
			}
		},
	})
	if err != nil && len(failed) > 0 {
		return &pipeline.FailedIfaces{Names: failed, Err: err}
	}
	return err
}

// Push is the push step of `chama run`: the period's sets as packed with
// the run's --resend. For an hour of an hourly_pack interface it delivers
// the day's hours packed so far (--partial).
func Push(ctx context.Context, p pipeline.Params, period naming.Period) error {
	whole, hourly := pipeline.SplitHourly(p.Ifaces, period)
	run := func(ifs []*config.Interface, per naming.Period, partial bool) error {
		if len(ifs) == 0 {
			return nil
		}
		leases, err := NewLeases(p.Config, p.Recorder)
		if err != nil {
			return err
		}
		_, err = push.Run(ctx, push.Options{
			Config: p.Config, Periods: []naming.Period{per}, Ifaces: ifs, Resend: p.Resend, Partial: partial,
			Log: p.Log, Status: p.Stdout, Track: TrackPush(p.Recorder), Claim: leases.Push(), PartTag: leases.PartTag(),
		})
		return err
	}
	return pipeline.Join(run(whole, period, false), run(hourly, period.Day(), true))
}

// Verify is the verify step of `chama run`: the local checks, and the
// remote ones too, as push runs before it (see All). Findings are printed
// as stable lines; the run is recorded in the ledger.
func Verify(ctx context.Context, p pipeline.Params, period naming.Period) error {
	// An hour of an hourly_pack interface is verified with its day.
	whole, _ := pipeline.SplitHourly(p.Ifaces, period)
	if len(whole) == 0 {
		return nil
	}
	rep, err := verify.Run(ctx, verify.Options{
		Config: p.Config, Periods: []naming.Period{period}, Ifaces: whole, Remote: true, // push went before verify
		Dial: verify.SSHDialer(p.Config, p.Log), Holders: verify.RecordHolders(p.Config), Log: p.Log,
		Track: TrackVerify(p.Recorder, nil), // rows without targets, unlike verify --remote
	})
	if err != nil {
		return exit.With(exit.Usage, err)
	}
	if p.Stdout != nil {
		verify.WriteLines(p.Stdout, rep)
	}
	if !rep.OK {
		return exit.With(exit.Failure, fmt.Errorf("verify found problems (see the CHAMA_VERIFY lines)"))
	}
	return nil
}
