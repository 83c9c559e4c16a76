package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/delivery"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/ledger"
	"github.com/chama-data/chama/internal/logkey"
	"github.com/chama-data/chama/internal/pipeline"
	"github.com/chama-data/chama/internal/workdir"
	"github.com/chama-data/chama/naming"
	"github.com/chama-data/chama/transfer/sshconn"
	"github.com/chama-data/chama/verify"
)

// VerifyOptions are `chama verify`'s flags.
type VerifyOptions struct {
	Factory *Factory
	Period  PeriodOptions
	Remote  bool // --remote (also set by --deep)
	Deep    bool // --deep
	Full    bool // --full
	JSON    bool // --json
	Jobs    int  // --jobs; 0: one per CPU
}

// NewCmdVerify is `chama verify`; runF, when not nil, runs instead of
// runVerify.
func NewCmdVerify(f *Factory, runF func(context.Context, *VerifyOptions) error) *cobra.Command {
	opts := &VerifyOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "verify --date PERIOD [--iface LIST] [--remote] [--deep] [--json]",
		Short: "Check that a period's files are complete and correct, locally and on the targets",
		Long: `verify answers "was 51007 for 20241212 delivered completely and correctly?".

Locally (<workdir>/out/<iface>/<period>): every file the .verf names exists,
is a regular file and has the listed size; sequences run 1..N without gaps
or repeats; no file named like the set is left out of the .verf; the .verf
agrees with manifest.json; and the lines add up to the manifest's rows
read - rejected - filtered. That is a stat-level answer: seconds for a
4,000-file day whatever its bytes. --full also reads every local file: its
checksum, a whole gzip stream (decompressed to the end) holding the listed
line count (about 70 minutes for a 500 GB day on 2 cores). A period packed
by an older build is read as its .verf and manifest say.

--remote lists each route's target folder (on the host holding each set's
.verf, from push's delivery record): every file and the .verf present with
the right size, no .part leftovers, no stray files of the period.
--deep also streams every remote file back: md5 and gzip integrity (and
implies --full). When the local output is gone (retention), --remote checks
the targets against their own .verf.

Output: one stable line per finding, each with the command that repairs it
(fix=), then a table for people.
  CHAMA_VERIFY FAIL iface=51007 period=20241212 file=NAME reason=size_mismatch where=target:panda host=10.1.0.11:22 want=N got=M fix="chama push --date 20241212 --iface 51007 --force (...)"
  CHAMA_VERIFY OK iface=51007 period=20241212 files=3645 lines=2916000000 hosts=10.1.0.11:22
--json prints one JSON document instead.

Exit codes: 0 everything holds; 1 something does not; 2 usage or config error.`,
		Example: `  chama verify --date 20241212 --iface 51007
  chama verify --date 20241201..20241212 --remote
  chama verify --date 20241212 --iface CM001 --remote --deep --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Deep && !opts.Remote {
				opts.Remote = true
			}
			if err := opts.Period.Parse(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runVerify(cmd.Context(), opts)
		},
	}
	addPeriodFlags(cmd, &opts.Period)
	cmd.Flags().BoolVar(&opts.Remote, "remote", false, "also check each route's target folder over SFTP")
	cmd.Flags().BoolVar(&opts.Deep, "deep", false, "with --remote: stream every remote file back (md5, gzip)")
	cmd.Flags().BoolVar(&opts.Full, "full", false, "also read every local file: checksum, gzip integrity, line count (slow: every byte)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print one JSON document instead of lines and table")
	cmd.Flags().IntVar(&opts.Jobs, "jobs", 0, "files checked at once (default: one per CPU)")
	return cmd
}

func runVerify(ctx context.Context, opts *VerifyOptions) error {
	f := opts.Factory
	c, ifs, err := opts.Period.Load(f)
	if err != nil {
		return err
	}
	rc, closeRec := f.Recorder(c)
	defer closeRec()
	rep, err := verify.Run(ctx, verify.Options{
		Config: c, Periods: opts.Period.Periods, Ifaces: ifs, Remote: opts.Remote, Deep: opts.Deep, Quick: !opts.Full, Jobs: opts.Jobs, Bars: f.Terminal(),
		Dial: dialTarget(c, f.Log), Holders: holders(c), Log: f.Log,
		Track: func(ctx context.Context, iface, period string) func(*verify.Result) {
			run := ledger.Run{Stage: ledger.StageVerify, Iface: iface, Period: period, Hour: hourOf(period)}
			if opts.Remote {
				var ts []string
				for _, rt := range c.Interfaces[iface].Routes {
					ts = append(ts, rt.Target)
				}
				run.Target = strings.Join(ts, ",")
			}
			sp := rc.Begin(ctx, run)
			return func(r *verify.Result) { sp.End(ctx, verifyResult(r)) }
		},
	})
	if err != nil {
		return exit.With(exit.Usage, err)
	}
	if opts.JSON {
		err = verify.WriteJSON(f.Stdout, rep)
	} else if err = verify.WriteLines(f.Stdout, rep); err == nil {
		fmt.Fprintln(f.Stdout)
		err = verify.WriteTable(f.Stdout, rep)
	}
	if err != nil {
		return err
	}
	if !rep.OK {
		bad := 0
		for _, r := range rep.Results {
			if !r.OK {
				bad++
			}
		}
		return exit.With(exit.Failure, fmt.Errorf("verify: %d of %d interface periods failed", bad, len(rep.Results)))
	}
	return nil
}

// hourOf is the ledger's hour of a period: "HH" for an hourly period.
func hourOf(period string) string {
	if len(period) == 10 {
		return period[8:]
	}
	return ""
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

// dialTarget opens a target with push's auth and host-key rules and
// deadlines: the endpoint asked for, else (or when it is not one of the
// target's endpoints any more) its primaries then its standbys in order.
func dialTarget(c *config.Config, log *slog.Logger) verify.Dialer {
	return func(ctx context.Context, name string, t *config.Target, host string) (verify.RemoteFS, string, func() error, error) {
		eps := append(append([]config.Endpoint{}, t.Primary...), t.Standby...)
		if host != "" {
			for _, ep := range eps {
				if ep.Addr() == host {
					eps = []config.Endpoint{ep}
					break
				}
			}
			if len(eps) != 1 || eps[0].Addr() != host {
				log.Warn("the delivery record names a host the target no longer lists; checking the target's first host that answers", "target", name, logkey.Host, host)
			}
		}
		var errs []string
		for _, ep := range eps {
			tfs, err := sshconn.OpenTargetFS(ctx, c, name, ep, log)
			if err != nil {
				msg := err.Error()
				if !strings.Contains(msg, ep.Addr()) {
					msg = ep.Addr() + ": " + msg
				}
				errs = append(errs, msg)
				continue
			}
			return tfs, ep.Addr(), tfs.Close, nil
		}
		return nil, "", nil, fmt.Errorf("target %s: no endpoint reachable: %s", name, strings.Join(errs, "; "))
	}
}

// holders reads push's delivery records: for a target whose hosts keep
// storage of their own, which host holds which set's .verf, so verify
// checks each set where it was published.
func holders(c *config.Config) verify.Holders {
	return func(iface, period, target string) map[string][]string {
		if t := c.Targets[target]; t == nil || t.SharedStorage {
			return nil // any host sees every file
		}
		d, err := delivery.Read(workdir.New(c.Workdir).Out(iface, period), target)
		if err != nil || d == nil {
			return nil
		}
		out := map[string][]string{}
		for _, f := range d.Files {
			if f.Verf {
				for _, h := range f.Hosts {
					out[h] = append(out[h], f.Name)
				}
			}
		}
		return out
	}
}

// verifyStage is the verify step of `chama run`: the local checks, and the
// remote ones too, as push runs before it (see stages). Findings are
// printed as stable lines; the run is recorded in the ledger.
func verifyStage(ctx context.Context, p pipeline.Params, period naming.Period) error {
	rc := p.Recorder
	// An hour of an hourly_pack interface is verified with its day.
	whole, _ := pipeline.SplitHourly(p.Ifaces, period)
	if len(whole) == 0 {
		return nil
	}
	rep, err := verify.Run(ctx, verify.Options{
		Config: p.Config, Periods: []naming.Period{period}, Ifaces: whole, Remote: true, // push went before verify
		Dial: dialTarget(p.Config, p.Log), Holders: holders(p.Config), Log: p.Log,
		Track: func(ctx context.Context, iface, period string) func(*verify.Result) {
			sp := rc.Begin(ctx, ledger.Run{Stage: ledger.StageVerify, Iface: iface, Period: period, Hour: hourOf(period)})
			return func(r *verify.Result) { sp.End(ctx, verifyResult(r)) }
		},
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
