package stages

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/etl/transform"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/ledger"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/internal/obs"
	"github.com/chama-data/chama/transfer/pull"
	"github.com/chama-data/chama/transfer/push"
	"github.com/chama-data/chama/verify"
)

// hourOf is the ledger's hour of a period: "HH" for an hourly period.
func hourOf(period string) string {
	if len(period) == 10 {
		return period[8:]
	}
	return ""
}

// TrackPull records each partition's pull as a pull run, its period
// including the partition's hour when it has one (a nil recorder records
// nothing).
func TrackPull(rc *obs.Recorder) func(context.Context, *pull.Partition) func(*pull.Partition) {
	return func(ctx context.Context, p *pull.Partition) func(*pull.Partition) {
		period := p.Period
		if p.Hour != "" && len(period) == 8 {
			period += p.Hour
		}
		sp := rc.Begin(ctx, ledger.Run{Stage: ledger.StagePull, Iface: p.Iface, Period: period, Hour: hourOf(period)})
		return func(p *pull.Partition) { sp.End(ctx, pullResult(p)) }
	}
}

// pullResult is a partition's ledger row: files and bytes staged by this
// run, the source used as host (marked when it was the fallback).
func pullResult(p *pull.Partition) ledger.Result {
	var err error
	if p.Status != pull.StatusOK {
		err = exit.With(p.ExitCode(), p.Err())
		if p.Status == pull.StatusNotReady {
			err = exit.With(exit.NotReady, errors.New(p.Reason))
		}
	}
	r := obs.Result(err)
	for _, f := range p.Files {
		if !f.Skipped {
			r.Files++
			r.Bytes += f.Bytes
		}
	}
	r.Host = p.Source
	if p.Fallback {
		r.Host += " (fallback: primary failed: " + p.PrimaryError + ")"
	}
	return r
}

// TrackTransform records a standalone transform run in the run ledger and
// metrics: one row per interface (ads) or DWD table (dwd), stage
// transform, with rows in (read), out (written), rejected and filtered.
// The returned function ends the rows with the run's summary and error.
func TrackTransform(ctx context.Context, rc *obs.Recorder, c *config.Config, layer string, names []string, period string) func(*transform.Summary, error) {
	known := slices.Sorted(maps.Keys(c.Transform.DWD))
	if layer == transform.LayerADS {
		known = slices.Sorted(maps.Keys(c.Transform.ADS))
	}
	if len(names) == 0 {
		names = known
	}
	// An unknown name is a usage error of the run itself, not a run to record.
	names = slices.DeleteFunc(slices.Clone(names), func(n string) bool { return !slices.Contains(known, n) })
	spans := make([]*obs.Span, len(names))
	for i, n := range names {
		spans[i] = rc.Begin(ctx, ledger.Run{Stage: ledger.StageTransform, Iface: n, Period: period, Hour: hourOf(period)})
	}
	return func(sum *transform.Summary, err error) {
		for i, n := range names {
			res := obs.Result(err)
			if sum != nil {
				if r, ok := sum.Rows[n]; ok {
					res.RowsIn, res.RowsOut, res.Rejected, res.Filtered = r.Read, r.Written, r.Rejected, r.Filtered
				}
				for _, f := range sum.Outputs {
					if f.Name == n {
						res.Files++
					}
				}
			}
			spans[i].End(ctx, res)
		}
	}
}

// TrackPack records each pack in the run ledger and metrics (a nil
// recorder records nothing).
func TrackPack(rc *obs.Recorder) func(context.Context, string, string) func(*manifest.Manifest, error) {
	return func(ctx context.Context, iface, period string) func(*manifest.Manifest, error) {
		sp := rc.Begin(ctx, ledger.Run{Stage: ledger.StagePack, Iface: iface, Period: period, Hour: hourOf(period)})
		return func(m *manifest.Manifest, err error) { sp.End(ctx, obs.FromManifest(m, err)) }
	}
}

// TrackPush records each interface/period/target delivery as a push run
// (ledger row with target and hosts, metrics, closing log line). A nil
// Recorder records nothing.
func TrackPush(rc *obs.Recorder) func(context.Context, string, string, string) func(push.JobResult) {
	return func(ctx context.Context, iface, period, target string) func(push.JobResult) {
		sp := rc.Begin(ctx, ledger.Run{Stage: ledger.StagePush, Iface: iface, Period: period, Hour: hourOf(period), Target: target})
		return func(r push.JobResult) {
			res := ledger.Result{Files: int64(r.Files), Bytes: r.Bytes, Host: strings.Join(r.Hosts, ","), Status: ledger.OK}
			if r.Partial {
				res.Status = ledger.Partial // the day's known hours only, no .verf yet
			}
			if !r.OK {
				err := exit.With(r.Code, errors.New(r.Err))
				if r.Busy {
					err = exit.Busy(err)
				}
				res.Status, res.Err = obs.Status(err), r.Err
			}
			sp.End(ctx, res)
		}
	}
}

// TrackVerify records each interface period verify checks as a verify run
// (a nil recorder records nothing). With a config (verify --remote), the
// row's target is the interface's route targets, comma separated; with
// nil it is empty.
func TrackVerify(rc *obs.Recorder, c *config.Config) func(context.Context, string, string) func(*verify.Result) {
	return func(ctx context.Context, iface, period string) func(*verify.Result) {
		run := ledger.Run{Stage: ledger.StageVerify, Iface: iface, Period: period, Hour: hourOf(period)}
		if c != nil {
			var ts []string
			for _, rt := range c.Interfaces[iface].Routes {
				ts = append(ts, rt.Target)
			}
			run.Target = strings.Join(ts, ",")
		}
		sp := rc.Begin(ctx, run)
		return func(r *verify.Result) { sp.End(ctx, verifyResult(r)) }
	}
}

// verifyResult is a verify result as a ledger row.
func verifyResult(r *verify.Result) ledger.Result {
	res := ledger.Result{RowsIn: r.Lines, RowsOut: r.Lines, Files: int64(r.Files), Bytes: r.Bytes, Status: ledger.OK, Host: strings.Join(r.Hosts, ",")}
	if !r.OK {
		res.Status = ledger.Failed
		for _, f := range r.Findings {
			if f.Severity == verify.Fail {
				res.Err = fmt.Sprintf("%d findings, first: %s %s", len(r.Findings), f.Reason, f.File)
				break
			}
		}
	}
	return res
}
