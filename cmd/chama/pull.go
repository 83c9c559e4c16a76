package main

import (
	"context"
	"errors"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/ledger"
	"github.com/chama-data/chama/internal/obs"
	"github.com/chama-data/chama/transfer/pull"
)

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

func init() {
	register(func(g *globals) *cobra.Command {
		var pf periodFlags
		var wait, poll time.Duration
		var concurrency int
		var asJSON bool
		cmd := &cobra.Command{
			Use:   "pull --date PERIOD [--hours HH-HH] [--iface LIST] [--wait 30m]",
			Short: "Stage a period's partitions from HDFS (or a relay or mount) under <workdir>/raw",
			Long: `pull copies each interface's partitions for the period from its source into
<workdir>/raw/<iface>/<YYYYMMDD>/<source path> (the period's day, so hours
pulled one by one assemble into the day), many files at a time (the source's
concurrency; very large files as several byte ranges), once each partition
is ready:
  ready: marker (default for hdfs)  the partition has its _SUCCESS marker
  ready: quiet                      no file changed within quiet_period
  ready: command                    ready_command exits 0
  ready: none                       the folder exists

Every copy is written under a hidden temporary name, checked (size, and for
HDFS the file checksum the cluster computes, against the same checksum
computed from the bytes copied) and only then renamed into place. A re-run
skips files already staged and verified. Transient errors are retried with
backoff; an HA namenode failover and a datanode dying mid-block are ridden
through; when the source fails past its retries and names a fallback, the
fallback is used and the status line and pull record say so.

One status line per partition, for scrapers:
  CHAMA_PULL OK iface=51007 period=2024121207 path=... source=hdfs1 files=12 skipped=0 bytes=...
  CHAMA_PULL NOTREADY iface=51007 period=2024121208 path=... source=hdfs1 reason="no _SUCCESS marker"
  CHAMA_PULL FAIL iface=51007 period=2024121209 path=... source=hdfs1 err="..."

Exit codes: 0 all staged; 1 a copy did not match its source; 2 usage or
config error; 3 some partitions failed (staged files are kept: run again);
4 some partitions are not ready yet (after --wait).`,
			Example: `  # hour 07 of interface 51007, now or exit 4
  chama pull --date 2024121207 --iface 51007

  # a whole day, waiting up to 30 minutes for late hours
  chama pull --date 20241212 --iface 51007 --wait 30m

  # a machine-readable summary
  chama pull --date 20241212 --json > pull.json`,
			Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				if wait < 0 || poll < 0 || concurrency < 0 {
					return exit.Usagef("--wait, --poll and --concurrency must not be negative")
				}
				c, periods, ifs, err := pf.resolve(g)
				if err != nil {
					return err
				}
				var out io.Writer = g.Stdout
				if asJSON {
					out = g.Stderr
				}
				var bar io.Writer
				if f, ok := g.Stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
					bar = f
				}
				rc, closeRec := g.recorder(c)
				defer closeRec()
				res, err := pull.Run(cmd.Context(), pull.Options{
					Config: c, Periods: periods, Ifaces: ifs,
					Wait: wait, Poll: poll, Concurrency: concurrency,
					Log: g.Log, Out: out, Progress: bar,
					Track: func(ctx context.Context, p *pull.Partition) func(*pull.Partition) {
						period := p.Period
						if p.Hour != "" && len(period) == 8 {
							period += p.Hour
						}
						sp := rc.Begin(ctx, ledger.Run{Stage: ledger.StagePull, Iface: p.Iface, Period: period, Hour: hourOf(period)})
						return func(p *pull.Partition) { sp.End(ctx, pullResult(p)) }
					},
				})
				if asJSON && res != nil {
					err = printJSON(g.Stdout, res, err)
				}
				return err
			},
		}
		pf.add(cmd)
		f := cmd.Flags()
		f.DurationVar(&wait, "wait", 0, "keep checking partitions that are not ready for this long (e.g. 30m)")
		f.DurationVar(&poll, "poll", time.Minute, "pause between readiness checks while waiting")
		f.IntVar(&concurrency, "concurrency", 0, "files in flight (default: the source's concurrency)")
		f.BoolVar(&asJSON, "json", false, "print a JSON summary on stdout (status lines go to stderr)")
		return cmd
	})
}
