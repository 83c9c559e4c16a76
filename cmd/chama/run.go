package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/pipeline"
	"github.com/chama-data/chama/internal/stages"
)

// RunOptions are `chama run`'s flags.
type RunOptions struct {
	Factory *Factory
	Period  PeriodOptions
	Resend  int // --resend, 0-99
	Source  SourceOptions
}

// NewCmdRun is `chama run`; runF, when not nil, runs instead of runRun.
func NewCmdRun(f *Factory, runF func(context.Context, *RunOptions) error) *cobra.Command {
	opts := &RunOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "run --date PERIOD [--hours HH-HH] [--iface LIST] [--resend NN] [--source auto|pulled|origin]",
		Short: "Run every stage (pack, then the later stages) for the periods",
		Long: `run runs chama's stages for each period in order, so one cron or Airflow
task can produce a period end to end. The stages, in order:

  pack    as 'chama pack' (from: transform interfaces run their transform
          inside it; hourly_pack interfaces pack an hour or assemble a day)
  push    as 'chama push' (an hour of an hourly_pack interface: --partial)
  verify  as 'chama verify --remote' (an hourly_pack hour: with its day)

A stage that fails stops the later stages of that period for the
interfaces it failed for (nothing is delivered from a failed pack; the
interfaces that packed are still pushed and verified); the other periods
still run. Each stage
prints its own status lines (CHAMA_PACK, CHAMA_PUSH, CHAMA_VERIFY).

Pull is not a stage of run: run 'chama pull' before it, and pack (with
the transforms inside it) reads what was pulled.

` + sourceHelp + `

Exit codes: 0 all done; 1 a stage failed; 2 usage or config error; 3 partly
done (safe to run again); 4 input not ready yet.`,
		Example: `  # a day, every interface, end to end
  chama run --date 20241212

  # some interfaces; a re-send of a range of days as 01
  chama run --date 20241212 --iface 51007,CM001
  chama run --date 20231220..20231228 --iface 51007 --resend 1

  # pull first, then run from the pulled copies only
  chama pull --date 20241212 --iface 51007 && chama run --date 20241212 --iface 51007 --source pulled`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Resend < 0 || opts.Resend > 99 {
				return exit.Usagef("--resend %d: want 0-99", opts.Resend)
			}
			if err := opts.Period.Parse(); err != nil {
				return err
			}
			if err := opts.Source.Parse(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runRun(cmd.Context(), opts)
		},
	}
	addPeriodFlags(cmd, &opts.Period)
	cmd.Flags().IntVar(&opts.Resend, "resend", 0, "re-send number for {resend} in file names (0-99)")
	addSourceFlag(cmd, &opts.Source)
	return cmd
}

func runRun(ctx context.Context, opts *RunOptions) error {
	f := opts.Factory
	c, ifs, err := opts.Period.Load(f)
	if err != nil {
		return err
	}
	rc, done := f.Recorder(c)
	defer done()
	return pipeline.Run(ctx, stages.AllFrom(opts.Source.Mode), pipeline.Params{
		Config: c, Ifaces: ifs, Resend: opts.Resend, Stdout: f.Stdout, Log: f.Log, Version: f.Version, Recorder: rc,
	}, opts.Period.Periods)
}
