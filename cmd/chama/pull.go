package main

import (
	"context"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/stages"
	"github.com/chama-data/chama/transfer/pull"
)

// PullOptions are `chama pull`'s flags.
type PullOptions struct {
	Factory     *Factory
	Period      PeriodOptions
	Wait        time.Duration // --wait
	Poll        time.Duration // --poll
	Concurrency int           // --concurrency; 0: the source's
	JSON        bool          // --json
}

// NewCmdPull is `chama pull`; runF, when not nil, runs instead of runPull.
func NewCmdPull(f *Factory, runF func(context.Context, *PullOptions) error) *cobra.Command {
	opts := &PullOptions{Factory: f}
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

A from: transform interface has no partitions of its own: pulling it stages
the ODS table its transform reads, from the table's source, under
<workdir>/raw/ods.<table>/<YYYYMMDD>/, once however many of the interfaces
given read it (their status lines say table=<table>). pack, transform and
run then read the verified copies instead of the source (--source auto, the
default; see their --help).

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
  CHAMA_PULL OK iface=51006 period=2024121207 path=... table=events source=hdfs1 files=2 skipped=0 bytes=...

Exit codes: 0 all staged; 1 a copy did not match its source; 2 usage or
config error; 3 some partitions failed (staged files are kept: run again);
4 some partitions are not ready yet (after --wait).`,
		Example: `  # hour 07 of interface 51007, now or exit 4
  chama pull --date 2024121207 --iface 51007

  # a whole day, waiting up to 30 minutes for late hours
  chama pull --date 20241212 --iface 51007 --wait 30m

  # hour 07 of the ODS table read by two from: transform interfaces, staged once
  chama pull --date 2024121207 --iface 51006,51010

  # a machine-readable summary
  chama pull --date 20241212 --json > pull.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Wait < 0 || opts.Poll < 0 || opts.Concurrency < 0 {
				return exit.Usagef("--wait, --poll and --concurrency must not be negative")
			}
			if err := opts.Period.Parse(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runPull(cmd.Context(), opts)
		},
	}
	addPeriodFlags(cmd, &opts.Period)
	fl := cmd.Flags()
	fl.DurationVar(&opts.Wait, "wait", 0, "keep checking partitions that are not ready for this long (e.g. 30m)")
	fl.DurationVar(&opts.Poll, "poll", time.Minute, "pause between readiness checks while waiting")
	fl.IntVar(&opts.Concurrency, "concurrency", 0, "files in flight (default: the source's concurrency)")
	fl.BoolVar(&opts.JSON, "json", false, "print a JSON summary on stdout (status lines go to stderr)")
	return cmd
}

func runPull(ctx context.Context, opts *PullOptions) error {
	f := opts.Factory
	c, ifs, err := opts.Period.Load(f)
	if err != nil {
		return err
	}
	var out io.Writer = f.Stdout
	if opts.JSON {
		out = f.Stderr
	}
	rc, closeRec := f.Recorder(c)
	defer closeRec()
	res, err := pull.Run(ctx, pull.Options{
		Config: c, Periods: opts.Period.Periods, Ifaces: ifs,
		Wait: opts.Wait, Poll: opts.Poll, Concurrency: opts.Concurrency,
		Log: f.Log, Out: out, Progress: f.Terminal(),
		Track: stages.TrackPull(rc),
	})
	if opts.JSON && res != nil {
		err = printJSON(f.Stdout, res, err)
	}
	return err
}
