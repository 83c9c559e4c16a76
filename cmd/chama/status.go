package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/chama-data/chama/etl/pack"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/ledger"
	"github.com/chama-data/chama/internal/report"
)

func init() {
	register(func(g *globals) *cobra.Command {
		var pf periodFlags
		var asJSON, byHour bool
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

Exit codes: 0 shown; 1 the ledger could not be read; 2 usage or config error.`,
			Example: `  chama status --date 20241212
  chama status --date 20241210..20241212 --iface 51007 --json
  chama status --date 20241212 --iface 51007 --by-hour`,
			Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				c, periods, ifs, err := pf.resolve(g)
				if err != nil {
					return err
				}
				if byHour {
					// hourly_pack days, per hour, from the files (docs/hourly.md).
					hs := pack.HourStatus(c, periods, ifs)
					if asJSON {
						return report.WriteJSON(g.Stdout, hs)
					}
					return pack.WriteHourStatus(g.Stdout, hs)
				}
				l, err := ledger.Open(c)
				if err != nil {
					return exit.With(exit.Failure, err)
				}
				defer l.Close()
				ss, err := report.Status(cmd.Context(), report.StatusOptions{Ledger: l, Periods: periods, Ifaces: ifs})
				if err != nil {
					return exit.With(exit.Failure, err)
				}
				if asJSON {
					return report.WriteJSON(g.Stdout, ss)
				}
				return report.WriteStatus(g.Stdout, ss, time.Local)
			},
		}
		pf.add(cmd)
		cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
		cmd.Flags().BoolVar(&byHour, "by-hour", false, "hourly_pack interfaces: per hour, packed, assembled (seq numbers) and pushed per target")
		return cmd
	})
}
