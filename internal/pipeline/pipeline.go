// Package pipeline runs chama's stages (for `chama run`: pack, push, verify)
// for each period, in order. It holds no stage logic: each stage (see
// internal/stages) is a thin call into the package that owns the work.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/logkey"
	"github.com/chama-data/chama/internal/obs"
	"github.com/chama-data/chama/naming"
)

// Params are what every stage gets.
type Params struct {
	Config *config.Config
	Ifaces []*config.Interface
	Resend int
	// Stdout receives the stages' status lines.
	Stdout  io.Writer
	Log     *slog.Logger
	Version string
	// Recorder records every stage run of this `chama run` under one run
	// id (ledger, metrics file, closing log line); nil records nothing.
	Recorder *obs.Recorder
}

// Stage is one step of `chama run`. Run handles one period for all of
// Params.Ifaces and returns an error carrying its exit code.
type Stage struct {
	Name string
	Run  func(ctx context.Context, p Params, period naming.Period) error
}

// FailedIfaces is a stage error that names the interfaces it failed for
// (the others of the period passed): the later stages still run for those
// others, so one bad interface does not hold back the day's deliveries.
type FailedIfaces struct {
	Names []string
	Err   error
}

func (e *FailedIfaces) Error() string { return e.Err.Error() }
func (e *FailedIfaces) Unwrap() error { return e.Err }

// without is ifaces less the named ones.
func without(ifaces []*config.Interface, names []string) []*config.Interface {
	var out []*config.Interface
	for _, i := range ifaces {
		if !slices.Contains(names, i.Name) {
			out = append(out, i)
		}
	}
	return out
}

// Run runs the stages for each period in order. A failing stage stops the
// later stages of that period (nothing is pushed from a failed pack) --
// for the interfaces it failed for, when it says which (FailedIfaces) --
// and the run carries on with the next period. The error has the highest exit
// code met, so "not ready" (4) is not hidden behind a failure (1) only
// when it is the sole problem.
func Run(ctx context.Context, stages []Stage, p Params, periods []naming.Period) error {
	var first error
	code, failed := 0, 0
	for _, period := range periods {
		pp := p // the interfaces still going for this period
		periodFailed := false
		for _, s := range stages {
			if err := ctx.Err(); err != nil {
				return err
			}
			if p.Log != nil {
				p.Log.Info("stage", logkey.Stage, s.Name, logkey.Period, period.String())
			}
			err := s.Run(ctx, pp, period)
			if err == nil {
				continue
			}
			if !periodFailed {
				failed++
				periodFailed = true
			}
			if first == nil {
				first = fmt.Errorf("%s %s: %w", s.Name, period, err)
			}
			code = worse(code, exit.Code(err))
			var fi *FailedIfaces
			if errors.As(err, &fi) {
				if rest := without(pp.Ifaces, fi.Names); len(rest) > 0 && len(rest) < len(pp.Ifaces) {
					if p.Log != nil {
						p.Log.Warn("later stages run without the failed interfaces", logkey.Stage, s.Name, logkey.Period, period.String(), "failed", strings.Join(fi.Names, ","))
					}
					pp.Ifaces = rest
					continue
				}
			}
			break
		}
	}
	if first == nil {
		return nil
	}
	if failed > 1 {
		first = fmt.Errorf("%d periods failed; first: %w", failed, first)
	}
	return exit.With(code, first)
}

// worse orders exit codes by severity: failure > partial > not ready.
func worse(a, b int) int {
	rank := map[int]int{0: 0, exit.NotReady: 1, exit.Partial: 2, exit.Failure: 3, exit.Usage: 4}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// SplitHourly separates, for one period, the interfaces handled as that
// period from those packed hour by hour (hourly_pack) when the period is
// one of their hours: for those, an hour's run delivers the day's known
// hours early (push --partial) and leaves verify to the assembled day.
func SplitHourly(ifaces []*config.Interface, period naming.Period) (whole, hourly []*config.Interface) {
	for _, i := range ifaces {
		if period.Hourly && i.Granularity == "day" && i.HourlyPack {
			hourly = append(hourly, i)
		} else {
			whole = append(whole, i)
		}
	}
	return whole, hourly
}

// Join combines the errors of a stage's parts into one carrying the worst
// exit code; nil when all are nil.
func Join(errs ...error) error {
	var first error
	code := 0
	for _, err := range errs {
		if err == nil {
			continue
		}
		if first == nil {
			first = err
		}
		code = worse(code, exit.Code(err))
	}
	if first == nil {
		return nil
	}
	return exit.With(code, first)
}
