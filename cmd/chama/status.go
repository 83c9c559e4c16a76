package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/chama-data/chama/etl/pack"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/ledger"
	"github.com/chama-data/chama/internal/report"
)

// StatusOptions are `chama status`'s flags.
type StatusOptions struct {
	Factory *Factory
	Period  PeriodOptions
	JSON    bool // --json
	ByHour  bool // --by-hour
	Leases  bool // --leases
}

// NewCmdStatus is `chama status`; runF, when not nil, runs instead of
// runStatus.
func NewCmdStatus(f *Factory, runF func(context.Context, *StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "status --date PERIOD [--iface LIST] [--json]",
		Short: "Show which stages of each interface are done, running, failed or missing",
		Long: `status reads the run ledger and prints, per interface and period, each
stage (pull, transform, pack, push, verify) with its state, hours done when
the stage runs per hour, counts (rows read, rows written, filtered, rejected, files, bytes), start and
end times and the last error. A rerun replaces the attempt before it.

States: done, running, failed, partial (safe to retry), not_ready (input
not ready yet), died (recorded as running, but its process on this
machine is gone: killed), missing (no run recorded). pull and transform are shown
only when they have runs; push when the interface has routes.

With --leases, the leases of the shared ledger (several machines,
docs/operations.md) for the interfaces and days instead: each unit
(stage/iface/period[/hour][/target]), held (and by whom, until when),
expired (its holder stopped renewing: the next run takes it over) or free.

Exit codes: 0 shown; 1 the ledger could not be read; 2 usage or config error.`,
		Example: `  chama status --date 20241212
  chama status --date 20241210..20241212 --iface 51007 --json
  chama status --date 20241212 --iface 51007 --by-hour
  chama status --date 20241212 --leases`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.Period.Parse(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runStatus(cmd.Context(), opts)
		},
	}
	addPeriodFlags(cmd, &opts.Period)
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON instead of a table")
	cmd.Flags().BoolVar(&opts.ByHour, "by-hour", false, "hourly_pack interfaces: per hour, packed, assembled (seq numbers) and pushed per target")
	cmd.Flags().BoolVar(&opts.Leases, "leases", false, "the shared ledger's leases of these interfaces and days: who holds each unit, until when")
	return cmd
}

func runStatus(ctx context.Context, opts *StatusOptions) error {
	f := opts.Factory
	c, ifs, err := opts.Period.Load(f)
	if err != nil {
		return err
	}
	periods := opts.Period.Periods
	if opts.ByHour {
		// hourly_pack days, per hour, from the files (docs/hourly.md).
		hs := pack.HourStatus(c, periods, ifs)
		if opts.JSON {
			return report.WriteJSON(f.Stdout, hs)
		}
		return pack.WriteHourStatus(f.Stdout, hs)
	}
	l, err := ledger.Open(c)
	if err != nil {
		return exit.With(exit.Failure, err)
	}
	defer l.Close()
	if opts.Leases {
		ls, err := report.Leases(ctx, l, periods, ifs, time.Now())
		if err != nil {
			return exit.With(exit.Failure, err)
		}
		if opts.JSON {
			return report.WriteJSON(f.Stdout, ls)
		}
		return report.WriteLeases(f.Stdout, ls, time.Local)
	}
	ss, err := report.Status(ctx, report.StatusOptions{Ledger: l, Periods: periods, Ifaces: ifs})
	if err != nil {
		return exit.With(exit.Failure, err)
	}
	if opts.JSON {
		return report.WriteJSON(f.Stdout, ss)
	}
	return report.WriteStatus(f.Stdout, ss, time.Local)
}
