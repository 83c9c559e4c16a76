package verify

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/logkey"
	"github.com/chama-data/chama/internal/progress"
	"github.com/chama-data/chama/naming"
)

// Options for Run; the CLI fills them from flags.
type Options struct {
	Config  *config.Config
	Periods []naming.Period
	Ifaces  []*config.Interface
	// Remote lists each route's target folder; Deep also streams every
	// remote file back (md5 and gzip integrity).
	Remote bool
	Deep   bool
	// Quick checks local files by stat only (presence, type, size), not
	// by reading them: the on-call answer, seconds for a 4,000-file day
	// whatever its bytes. The .verf, manifest, sequences and remote
	// listings are checked as always. Deep overrides it.
	Quick bool
	// Bars, when set, is the terminal a progress bar of the files read
	// (--full, --deep) is drawn on; otherwise a progress line is logged
	// every ProgressEvery (default 10s).
	Bars          io.Writer
	ProgressEvery time.Duration
	// Jobs is how many files are checked at once (default: CPUs).
	Jobs int
	// Dial opens targets for Remote; nil makes every target a remote_error.
	Dial Dialer
	// Holders, when set, says which hosts hold which sets (push's delivery
	// records); those sets are checked through those hosts.
	Holders Holders
	// Track, when set, is called as each interface and period starts;
	// the function it returns gets the result (the CLI records both in
	// the run ledger).
	Track func(ctx context.Context, iface, period string) func(*Result)
	Log   *slog.Logger
}

// Expand gives the periods an interface is verified for: an hourly
// interface asked for a day is checked hour by hour; a day interface
// cannot be checked for a single hour.
func Expand(ifc *config.Interface, p naming.Period) ([]string, error) {
	switch {
	case ifc.Granularity == "hour" && !p.Hourly:
		var out []string
		for _, h := range p.Hours() {
			out = append(out, h.String())
		}
		return out, nil
	case ifc.Granularity != "hour" && p.Hourly:
		return nil, fmt.Errorf("interface %s is delivered per day: verify it with --date %s, not the hour %s", ifc.Name, p.Date(), p)
	}
	return []string{p.String()}, nil
}

// Run checks every interface and period. The error is for problems that
// stop the run (bad arguments); findings are in the report.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Jobs < 1 {
		o.Jobs = runtime.NumCPU()
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	type job struct {
		ifc    *config.Interface
		period string
	}
	var jobs []job
	for _, p := range o.Periods {
		for _, ifc := range o.Ifaces {
			ps, err := Expand(ifc, p)
			if err != nil {
				return nil, err
			}
			for _, x := range ps {
				jobs = append(jobs, job{ifc, x})
			}
		}
	}
	ss := &sessions{dial: o.Dial, cfg: o.Config, open: map[string]*remoteSession{}}
	defer ss.closeAll()
	rep := &Report{OK: true, Results: []*Result{}}
	for _, j := range jobs {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		var done func(*Result)
		if o.Track != nil {
			done = o.Track(ctx, j.ifc.Name, j.period)
		}
		r := &Result{Iface: j.ifc.Name, Period: j.period}
		meter := func(what string, n int) *progress.Meter {
			return progress.New(progress.Options{Label: fmt.Sprintf("verify %s %s %s", j.ifc.Name, j.period, what), Total: int64(n), Unit: "files",
				Bars: o.Bars, Log: o.Log, Every: o.ProgressEvery})
		}
		sets := checkLocal(ctx, o.Config, j.ifc, j.period, o.Jobs, o.Quick && !o.Deep, meter, r)
		if o.Remote && len(sets) == 0 && len(r.Findings) == 1 && r.Findings[0].Reason == ReasonNotPacked {
			// The local output is gone (retention) or was made elsewhere:
			// check the targets against their own .verf.
			r.Findings[0].Severity = Warn
			r.Findings[0].Detail += ": checking the targets against their own .verf"
			sets = remoteSets(ctx, ss, j.ifc, j.period, r)
			if len(sets) == 0 {
				r.add(Finding{Reason: ReasonMissingVerf, Where: "remote", Detail: "no .verf of the period on any route's target"})
			}
			checkSequences(sets, j.ifc, j.period, j.ifc.Template(), nil, r)
			for _, st := range sets {
				r.Sets++
				for _, e := range st.Entries {
					r.Files++
					r.Lines += e.Lines
					r.Bytes += e.Bytes
				}
			}
		}
		if o.Remote && len(sets) > 0 {
			checkRemote(ctx, ss, o.Holders, j.ifc, j.period, sets, o.Deep, o.Jobs, meter, r)
		}
		r.finish()
		if !r.OK {
			rep.OK = false
		}
		o.Log.Debug("verified", logkey.Stage, "verify", logkey.Iface, r.Iface, logkey.Period, r.Period, "ok", r.OK, "files", r.Files, logkey.Rows, r.Lines, logkey.Bytes, r.Bytes, "findings", len(r.Findings))
		if done != nil {
			done(r)
		}
		rep.Results = append(rep.Results, r)
	}
	return rep, nil
}
