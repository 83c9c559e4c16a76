package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/naming"
	"github.com/chama-data/chama/transfer/pull"
)

// PeriodOptions are the shared period flags, --date, --hours and --iface,
// and the periods they name. addPeriodFlags declares the flags on every
// command that takes them; the command's RunE calls Parse before its run
// function, which calls Load for the config and the interfaces.
type PeriodOptions struct {
	Date  string // --date as given
	Hours string // --hours as given
	Iface string // --iface as given

	// Periods are Date narrowed by Hours (set by Parse).
	Periods []naming.Period
}

// addPeriodFlags adds --date, --hours and --iface to a command.
func addPeriodFlags(cmd *cobra.Command, p *PeriodOptions) {
	cmd.Flags().StringVar(&p.Date, "date", "", "period: YYYYMMDD, YYYYMMDDHH, A..B or a comma list (required)")
	cmd.Flags().StringVar(&p.Hours, "hours", "", "narrow days to hours, e.g. 00-05,07")
	addIfaceFlag(cmd, &p.Iface)
}

// addIfaceFlag adds --iface, the interfaces a command works on.
func addIfaceFlag(cmd *cobra.Command, iface *string) {
	cmd.Flags().StringVar(iface, "iface", "", "interfaces, comma separated (default: all configured)")
}

// SourceOptions is --source, where pack and transform read partitions
// from: auto, pulled or origin (pull.Mode).
type SourceOptions struct {
	Source string    // --source as given
	Mode   pull.Mode // set by Parse
}

// sourceHelp is the --help paragraph of --source (pack, transform, run).
const sourceHelp = `--source says where partitions are read from:
  auto    (default) the pulled copy of a partition when chama pull has
          staged and verified one under <workdir>/raw/, else the source;
          hour by hour, so hours not pulled are read from the source
  pulled  pulled copies only: a partition not pulled is not ready (exit 4)
  origin  always the configured source (HDFS, ...), never a pulled copy
A pulled copy is checked as it is read (each file's size and CRC-32C
against what pull recorded); a copy that differs fails the run naming the
file (exit 1) and nothing is published. The status line ends with
input=pulled, input=source or input=mixed.`

// addSourceFlag adds --source to a command.
func addSourceFlag(cmd *cobra.Command, s *SourceOptions) {
	cmd.Flags().StringVar(&s.Source, "source", string(pull.Auto), "where partitions are read from: auto (a verified pulled copy, else the source), pulled (pulled copies only) or origin (the source)")
}

// Parse checks --source (a usage error names the value).
func (s *SourceOptions) Parse() error {
	m, err := pull.ParseMode(s.Source)
	s.Mode = m
	return err
}

// setUsage replaces a flag's help text, for a command whose shared flag
// means something narrower.
func setUsage(cmd *cobra.Command, flag, usage string) {
	cmd.Flags().Lookup(flag).Usage = usage
}

// Parse checks that --date is given and sets Periods from --date and
// --hours. Its errors are usage errors (exit 2) naming the flag.
func (p *PeriodOptions) Parse() error {
	if p.Date == "" {
		return exit.Usagef("--date is required (e.g. --date 20241212)")
	}
	ps, err := periods(p.Date, p.Hours)
	if err != nil {
		return err
	}
	p.Periods = ps
	return nil
}

// Load loads the config and resolves --iface against it.
func (p *PeriodOptions) Load(f *Factory) (*config.Config, []*config.Interface, error) {
	c, err := f.Config()
	if err != nil {
		return nil, nil, err
	}
	is, err := ifaces(c, p.Iface)
	if err != nil {
		return nil, nil, err
	}
	return c, is, nil
}

// periods parses --date and narrows days by --hours (giving hours).
func periods(date, hours string) ([]naming.Period, error) {
	ps, err := naming.ParsePeriods(date)
	if err != nil {
		return nil, exit.With(exit.Usage, fmt.Errorf("--date: %w", err))
	}
	if hours == "" {
		return ps, nil
	}
	hs, err := naming.ParseHours(hours)
	if err != nil {
		return nil, exit.With(exit.Usage, fmt.Errorf("--hours: %w", err))
	}
	var out []naming.Period
	for _, p := range ps {
		if p.Hourly {
			return nil, exit.Usagef("--hours narrows days; %s is already an hour", p)
		}
		all := p.Hours()
		for _, h := range hs {
			out = append(out, all[h])
		}
	}
	return out, nil
}

// ifaces resolves --iface against the config.
func ifaces(c *config.Config, list string) ([]*config.Interface, error) {
	is, err := c.Select(list)
	if err != nil {
		return nil, exit.With(exit.Usage, fmt.Errorf("--iface: %w", err))
	}
	return is, nil
}
