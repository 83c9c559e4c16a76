package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/gen"
	"github.com/chama-data/chama/naming"
)

// GenOptions are `chama gen`'s flags.
type GenOptions struct {
	Factory *Factory
	// Gen holds --out, --date, --rows, --files-per-hour, --seed, --level
	// and --workers; RunE sets its Hours, Marker and Gzip from the flags
	// below.
	Gen      gen.Options
	Hours    string // --hours
	NoMarker bool   // --no-marker
	Plain    bool   // --plain
}

// NewCmdGen is `chama gen`; runF, when not nil, runs instead of runGen.
func NewCmdGen(f *Factory, runF func(context.Context, *GenOptions) error) *cobra.Command {
	opts := &GenOptions{Factory: f, Gen: gen.Defaults()}
	o := &opts.Gen
	cmd := &cobra.Command{
		Use:   "gen --out DIR --date YYYYMMDD --rows N",
		Short: "Generate synthetic Hive ODS partitions (no config needed)",
		Long: `gen writes synthetic event rows shaped like the tracking team's ODS table
into Hive partitions <out>/dt=YYYYMMDD/hour=HH/part-NNNNN.gz: \x01-delimited,
\n-terminated, gzip level 1 by default. Rows are spread over the hours along a
daily curve (fewer at night) and summed exactly to --rows. The same flags and
--seed give byte-identical files.

Each file is written under a hidden temp name and renamed into place; the
hour's _SUCCESS marker is written last, so a reader waiting for the marker
never sees half a partition. Parts and markers of an earlier run in the same
hour folders are replaced.

Mobile numbers in user_value are encrypted with a public DEMO key
(gen.DemoMobileKeyHex): the data holds no secret and no real person.

Exit codes: 0 written; 1 a file could not be written; 2 usage error.`,
		Example: `  # one day, 2 million rows, 4 files per hour, into ./demo/ods
  chama gen --out ./demo/ods --date 20241212 --rows 2000000 --files-per-hour 4

  # three hours of plain text without markers
  chama gen --out /tmp/ods --date 20241212 --hours 07-09 --rows 30000 --plain --no-marker`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Dir == "" {
				return exit.Usagef("--out is required")
			}
			if o.Date == "" {
				return exit.Usagef("--date is required (e.g. --date 20241212)")
			}
			if p, err := naming.ParsePeriod(o.Date); err != nil || p.Hourly {
				return exit.Usagef("--date %q: want one day, YYYYMMDD", o.Date)
			}
			if opts.Hours != "" {
				hs, err := naming.ParseHours(opts.Hours)
				if err != nil {
					return exit.With(exit.Usage, fmt.Errorf("--hours: %w", err))
				}
				o.Hours = hs
			}
			if !cmd.Flags().Changed("rows") {
				return exit.Usagef("--rows is required (e.g. --rows 2000000)")
			}
			if o.Rows < 0 {
				return exit.Usagef("--rows %d: want 0 or more", o.Rows)
			}
			if o.FilesPerHour < 1 {
				return exit.Usagef("--files-per-hour %d: want 1 or more", o.FilesPerHour)
			}
			o.Marker, o.Gzip = !opts.NoMarker, !opts.Plain
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runGen(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Dir, "out", "", "root folder of the partitions (required)")
	fl.StringVar(&o.Date, "date", "", "the day, YYYYMMDD (required)")
	fl.StringVar(&opts.Hours, "hours", "", "hours to write, e.g. 00-05,07 (default all 24)")
	fl.Int64Var(&o.Rows, "rows", 0, "total rows over all hours (required)")
	fl.IntVar(&o.FilesPerHour, "files-per-hour", o.FilesPerHour, "part files per hour folder")
	fl.Int64Var(&o.Seed, "seed", 1, "random seed; the same seed gives the same bytes")
	fl.BoolVar(&opts.NoMarker, "no-marker", false, "do not write _SUCCESS in each hour folder")
	fl.BoolVar(&opts.Plain, "plain", false, "write plain text (part-NNNNN.txt) instead of gzip")
	fl.IntVar(&o.Level, "level", o.Level, "gzip level 1-9")
	fl.IntVar(&o.Workers, "workers", 0, "files generated at once (default: number of cores)")
	return cmd
}

func runGen(ctx context.Context, opts *GenOptions) error {
	f := opts.Factory
	res, err := gen.Run(ctx, opts.Gen)
	if errors.Is(err, gen.ErrBadOptions) {
		return exit.With(exit.Usage, err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(f.Stdout, "gen: %d files, %d rows, %d raw bytes, %d gz bytes, ratio %.2f\n",
		len(res.Files), res.Rows, res.RawBytes, res.Bytes, res.Ratio())
	return nil
}
