package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/ledger"
	"github.com/chama-data/chama/internal/report"
	"github.com/chama-data/chama/naming"
)

func init() {
	register(func(g *globals) *cobra.Command {
		cmd := &cobra.Command{
			Use:   "report",
			Short: "Operator reports from the run ledger: volume and deadline alerts",
			Long: `report reads the run ledger and raises stable CHAMA_ALERT lines that
monitoring scrapes; it exits 1 when anything alerts.`,
		}
		cmd.AddCommand(volumeCmd(g), deadlineCmd(g))
		return cmd
	})
}

func volumeCmd(g *globals) *cobra.Command {
	var pf periodFlags
	var asJSON bool
	var threshold float64
	var stage string
	cmd := &cobra.Command{
		Use:   "volume --date DAY [--iface LIST] [--threshold 0.8] [--stage pack]",
		Short: "Compare rows per interface and hour with the same hour 1 and 28 days earlier",
		Long: `volume compares, per interface and hour, the rows of the latest successful
run of a stage (default pack: rows written into the interface files) with
the same hour one day and 28 days earlier. Interfaces recorded per day are
compared day against day. Anything under the threshold (alerts.volume_threshold,
default 0.8) prints

  CHAMA_ALERT kind=volume iface=51007 period=20241212 hour=07 rows=790 base_period=20241211 base_rows=1000 ratio=0.79 threshold=0.80

An hour with no rows against a known baseline alerts (rows=0); an unknown
baseline does not. Exit codes: 0 nothing alerts; 1 an alert (or the ledger
could not be read); 2 usage or config error.`,
		Example: `  chama report volume --date 20241212
  chama report volume --date 20241212 --iface 51007 --threshold 0.9`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, periods, ifs, err := pf.resolve(g)
			if err != nil {
				return err
			}
			if err := c.Alerts.Check(); err != nil {
				return exit.With(exit.Usage, err)
			}
			if !cmd.Flags().Changed("threshold") {
				threshold = c.Alerts.Threshold()
			} else if threshold <= 0 || threshold > 1 {
				return exit.Usagef("--threshold %v: want a share between 0 and 1, e.g. 0.8", threshold)
			}
			if stage == "" {
				stage = c.Alerts.Stage()
			} else if !slices.Contains(ledger.Stages, stage) {
				return exit.Usagef("--stage %q: want one of %s", stage, strings.Join(ledger.Stages, ", "))
			}
			l, err := ledger.Open(c)
			if err != nil {
				return exit.With(exit.Failure, err)
			}
			defer l.Close()
			var names []string
			for _, i := range ifs {
				names = append(names, i.Name)
			}
			vs, err := report.Volume(cmd.Context(), report.VolumeOptions{Ledger: l, Days: periods, Ifaces: names, Stage: stage, Threshold: threshold})
			if err != nil {
				return exit.With(exit.Failure, err)
			}
			alerts := report.AlertLines(vs, threshold)
			if asJSON {
				err = report.WriteJSON(g.Stdout, map[string]any{"threshold": threshold, "stage": stage, "alerts": alerts, "rows": vs})
			} else {
				for _, a := range alerts {
					fmt.Fprintln(g.Stdout, a)
				}
				if len(alerts) > 0 {
					fmt.Fprintln(g.Stdout)
				}
				err = report.WriteVolume(g.Stdout, vs)
			}
			if err != nil {
				return err
			}
			if len(alerts) > 0 {
				return exit.With(exit.Failure, fmt.Errorf("report volume: %d alerts", len(alerts)))
			}
			return nil
		},
	}
	pf.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of lines and a table")
	cmd.Flags().Float64Var(&threshold, "threshold", 0, "alert under this share of the baseline (default alerts.volume_threshold, else 0.8)")
	cmd.Flags().StringVar(&stage, "stage", "", "stage whose rows are compared (default alerts.volume_stage, else pack)")
	return cmd
}

func deadlineCmd(g *globals) *cobra.Command {
	var pf periodFlags
	var asJSON bool
	var by string
	cmd := &cobra.Command{
		Use:   "deadline [--date DAY] [--by 09:00] [--iface LIST]",
		Short: "Flag interfaces whose day was not delivered to every target by the deadline",
		Long: `deadline checks that every period of day D (24 hours for an hourly
interface) was pushed successfully to every route's target by D+1 at --by
(local time; default alerts.deadline, else 09:00). --date defaults to
yesterday. Late, missing or failed deliveries print

  CHAMA_ALERT kind=deadline iface=51007 period=20241212 by=2024-12-13T09:00 state=missing missing=1
  CHAMA_ALERT kind=deadline iface=51006 period=20241212 by=2024-12-13T09:00 state=late delivered=2024-12-13T09:06

Before the deadline, what is not delivered yet is "pending" and does not
alert. Exit codes: 0 nothing alerts; 1 an alert; 2 usage or config error.`,
		Example: `  chama report deadline --by 09:00
  chama report deadline --date 20241212 --iface 51007,51006`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			now := time.Now()
			if pf.Date == "" {
				pf.Date = now.AddDate(0, 0, -1).Format("20060102")
			}
			c, periods, ifs, err := pf.resolve(g)
			if err != nil {
				return err
			}
			if err := c.Alerts.Check(); err != nil {
				return exit.With(exit.Usage, err)
			}
			if by == "" {
				by = c.Alerts.By()
			}
			days := map[string]bool{}
			var ds []naming.Period
			for _, p := range periods {
				if !days[p.Date()] {
					days[p.Date()] = true
					ds = append(ds, p.Day())
				}
			}
			l, err := ledger.Open(c)
			if err != nil {
				return exit.With(exit.Failure, err)
			}
			defer l.Close()
			rs, err := report.Deadline(cmd.Context(), report.DeadlineOptions{Ledger: l, Days: ds, Ifaces: ifs, By: by, Now: now, Loc: time.Local})
			if err != nil {
				return exit.With(exit.Usage, fmt.Errorf("--by: %w", err))
			}
			alerts := report.DeadlineAlertLines(rs, time.Local)
			if asJSON {
				err = report.WriteJSON(g.Stdout, map[string]any{"by": by, "alerts": alerts, "rows": rs})
			} else {
				for _, a := range alerts {
					fmt.Fprintln(g.Stdout, a)
				}
				if len(alerts) > 0 {
					fmt.Fprintln(g.Stdout)
				}
				err = report.WriteDeadline(g.Stdout, rs, time.Local)
			}
			if err != nil {
				return err
			}
			if len(alerts) > 0 {
				return exit.With(exit.Failure, fmt.Errorf("report deadline: %d alerts", len(alerts)))
			}
			return nil
		},
	}
	pf.add(cmd)
	cmd.Flags().Lookup("date").Usage = "day(s) to check, YYYYMMDD or a range (default: yesterday)"
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of lines and a table")
	cmd.Flags().StringVar(&by, "by", "", "deadline on the next day, HH:MM local (default alerts.deadline, else 09:00)")
	return cmd
}
