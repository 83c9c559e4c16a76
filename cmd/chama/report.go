package main

import (
	"context"
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

// NewCmdReport is `chama report`, the ledger's reports.
func NewCmdReport(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Operator reports from the run ledger: volume and deadline alerts",
		Long: `report reads the run ledger and raises stable CHAMA_ALERT lines that
monitoring scrapes; it exits 1 when anything alerts.`,
	}
	cmd.AddCommand(NewCmdReportVolume(f, nil), NewCmdReportDeadline(f, nil))
	return cmd
}

// ReportVolumeOptions are `chama report volume`'s flags.
type ReportVolumeOptions struct {
	Factory      *Factory
	Period       PeriodOptions
	JSON         bool    // --json
	Threshold    float64 // --threshold, when ThresholdSet
	ThresholdSet bool    // --threshold given (else the config's)
	Stage        string  // --stage; "": the config's
}

// NewCmdReportVolume is `chama report volume`; runF, when not nil, runs
// instead of runReportVolume.
func NewCmdReportVolume(f *Factory, runF func(context.Context, *ReportVolumeOptions) error) *cobra.Command {
	opts := &ReportVolumeOptions{Factory: f}
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
			opts.ThresholdSet = cmd.Flags().Changed("threshold")
			if err := opts.Period.Parse(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runReportVolume(cmd.Context(), opts)
		},
	}
	addPeriodFlags(cmd, &opts.Period)
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON instead of lines and a table")
	cmd.Flags().Float64Var(&opts.Threshold, "threshold", 0, "alert under this share of the baseline (default alerts.volume_threshold, else 0.8)")
	cmd.Flags().StringVar(&opts.Stage, "stage", "", "stage whose rows are compared (default alerts.volume_stage, else pack)")
	return cmd
}

func runReportVolume(ctx context.Context, opts *ReportVolumeOptions) error {
	f := opts.Factory
	c, ifs, err := opts.Period.Load(f)
	if err != nil {
		return err
	}
	if err := c.Alerts.Check(); err != nil {
		return exit.With(exit.Usage, err)
	}
	threshold, stage := opts.Threshold, opts.Stage
	if !opts.ThresholdSet {
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
	vs, err := report.Volume(ctx, report.VolumeOptions{Ledger: l, Days: opts.Period.Periods, Ifaces: names, Stage: stage, Threshold: threshold})
	if err != nil {
		return exit.With(exit.Failure, err)
	}
	alerts := report.AlertLines(vs, threshold)
	if opts.JSON {
		err = report.WriteJSON(f.Stdout, map[string]any{"threshold": threshold, "stage": stage, "alerts": alerts, "rows": vs})
	} else {
		for _, a := range alerts {
			fmt.Fprintln(f.Stdout, a)
		}
		if len(alerts) > 0 {
			fmt.Fprintln(f.Stdout)
		}
		err = report.WriteVolume(f.Stdout, vs)
	}
	if err != nil {
		return err
	}
	if len(alerts) > 0 {
		return exit.With(exit.Failure, fmt.Errorf("report volume: %d alerts", len(alerts)))
	}
	return nil
}

// ReportDeadlineOptions are `chama report deadline`'s flags.
type ReportDeadlineOptions struct {
	Factory *Factory
	// Period is --date (default: the day before Now), --hours, --iface.
	Period PeriodOptions
	JSON   bool   // --json
	By     string // --by; "": the config's
	// Now is when the command started: the deadlines are checked
	// against it.
	Now time.Time
}

// NewCmdReportDeadline is `chama report deadline`; runF, when not nil,
// runs instead of runReportDeadline.
func NewCmdReportDeadline(f *Factory, runF func(context.Context, *ReportDeadlineOptions) error) *cobra.Command {
	opts := &ReportDeadlineOptions{Factory: f}
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
			opts.Now = time.Now()
			if opts.Period.Date == "" {
				opts.Period.Date = opts.Now.AddDate(0, 0, -1).Format("20060102")
			}
			if err := opts.Period.Parse(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runReportDeadline(cmd.Context(), opts)
		},
	}
	addPeriodFlags(cmd, &opts.Period)
	setUsage(cmd, "date", "day(s) to check, YYYYMMDD or a range (default: yesterday)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON instead of lines and a table")
	cmd.Flags().StringVar(&opts.By, "by", "", "deadline on the next day, HH:MM local (default alerts.deadline, else 09:00)")
	return cmd
}

func runReportDeadline(ctx context.Context, opts *ReportDeadlineOptions) error {
	f := opts.Factory
	c, ifs, err := opts.Period.Load(f)
	if err != nil {
		return err
	}
	if err := c.Alerts.Check(); err != nil {
		return exit.With(exit.Usage, err)
	}
	by := opts.By
	if by == "" {
		by = c.Alerts.By()
	}
	days := map[string]bool{}
	var ds []naming.Period
	for _, p := range opts.Period.Periods {
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
	rs, err := report.Deadline(ctx, report.DeadlineOptions{Ledger: l, Days: ds, Ifaces: ifs, By: by, Now: opts.Now, Loc: time.Local})
	if err != nil {
		return exit.With(exit.Usage, fmt.Errorf("--by: %w", err))
	}
	alerts := report.DeadlineAlertLines(rs, time.Local)
	if opts.JSON {
		err = report.WriteJSON(f.Stdout, map[string]any{"by": by, "alerts": alerts, "rows": rs})
	} else {
		for _, a := range alerts {
			fmt.Fprintln(f.Stdout, a)
		}
		if len(alerts) > 0 {
			fmt.Fprintln(f.Stdout)
		}
		err = report.WriteDeadline(f.Stdout, rs, time.Local)
	}
	if err != nil {
		return err
	}
	if len(alerts) > 0 {
		return exit.With(exit.Failure, fmt.Errorf("report deadline: %d alerts", len(alerts)))
	}
	return nil
}
