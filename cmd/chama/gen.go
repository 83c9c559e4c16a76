package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/gen"
	"github.com/chama-data/chama/naming"
)

func init() {
	register(func(g *globals) *cobra.Command {
		o := gen.Defaults()
		var hours string
		var noMarker, plain bool
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
				if hours != "" {
					hs, err := naming.ParseHours(hours)
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
				o.Marker, o.Gzip = !noMarker, !plain
				res, err := gen.Run(cmd.Context(), o)
				if errors.Is(err, gen.ErrBadOptions) {
					return exit.With(exit.Usage, err)
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(g.Stdout, "gen: %d files, %d rows, %d raw bytes, %d gz bytes, ratio %.2f\n",
					len(res.Files), res.Rows, res.RawBytes, res.Bytes, res.Ratio())
				return nil
			},
		}
		f := cmd.Flags()
		f.StringVar(&o.Dir, "out", "", "root folder of the partitions (required)")
		f.StringVar(&o.Date, "date", "", "the day, YYYYMMDD (required)")
		f.StringVar(&hours, "hours", "", "hours to write, e.g. 00-05,07 (default all 24)")
		f.Int64Var(&o.Rows, "rows", 0, "total rows over all hours (required)")
		f.IntVar(&o.FilesPerHour, "files-per-hour", o.FilesPerHour, "part files per hour folder")
		f.Int64Var(&o.Seed, "seed", 1, "random seed; the same seed gives the same bytes")
		f.BoolVar(&noMarker, "no-marker", false, "do not write _SUCCESS in each hour folder")
		f.BoolVar(&plain, "plain", false, "write plain text (part-NNNNN.txt) instead of gzip")
		f.IntVar(&o.Level, "level", o.Level, "gzip level 1-9")
		f.IntVar(&o.Workers, "workers", 0, "files generated at once (default: number of cores)")
		return cmd
	})
}
