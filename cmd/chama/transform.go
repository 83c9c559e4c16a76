package main

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chama-data/chama/etl/transform"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/stages"
)

// TransformOptions are `chama transform`'s flags.
type TransformOptions struct {
	Factory *Factory
	// Period is --date and --hours; its Iface (--iface) names ADS
	// interfaces, not resolved against the config's interfaces.
	Period     PeriodOptions
	Layer      string // --layer: transform.LayerADS or transform.LayerDWD
	Tables     string // --table
	CPUProfile string // --cpuprofile (hidden)
	Source     SourceOptions

	// Names are the --iface (ads) or --table (dwd) entries to produce
	// (set by RunE; empty: all).
	Names []string
}

// NewCmdTransform is `chama transform`; runF, when not nil, runs instead
// of runTransform.
func NewCmdTransform(f *Factory, runF func(context.Context, *TransformOptions) error) *cobra.Command {
	opts := &TransformOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "transform --date P --layer dwd|ads [--iface LIST | --table LIST] [--source auto|pulled|origin]",
		Short: "Run the ODS -> DWD -> ADS layer spec and stage the result as Parquet",
		Long: `transform reads the ODS partitions of a period (Hive \x01 text, plain or
gzip, or Parquet), derives the DWD columns and routes the rows to the ADS
interfaces, as declared in the config's transform section. Run on its own it
writes Parquet:

  <workdir>/stage/<layer>/<iface or table>/<period>/[<part>/]part-NNNNN.parquet
  <workdir>/stage/<layer>/<period>.summary.json   rows read/rejected/filtered/written
  <workdir>/stage/<layer>/<period>.rejects.txt    source:line: reason: "line"

--layer ads (default) produces the interfaces (--iface narrows them);
--layer dwd produces the DWD tables (--table narrows them).
Every run checks read = routed + filtered + rejected, per hour and in total.

The ODS partitions are read from the pulled copies chama pull stages for
the from: transform interfaces (<workdir>/raw/ods.<table>/), as --source says
(dimension tables always read their own source).

` + sourceHelp + `

Status lines (one per period):
  CHAMA_TRANSFORM OK layer=ads period=20241212 read=N routed=N filtered=N rejected=N written=51006:N,51007:N input=source
  CHAMA_TRANSFORM NOTREADY layer=ads period=20241212 err="..."
  CHAMA_TRANSFORM FAIL layer=ads period=20241212 err="..."

Exit codes: 0 done; 1 failure (including broken accounting); 2 usage or
config error (a bad expression names its key, text and line:column);
3 a pull is staging a partition being read (run again); 4 an input
partition does not exist yet (with --source pulled: is not pulled yet).`,
		Example: `  chama transform --date 20241212 --layer ads --iface 51007,CM001
  chama transform --date 2024121207 --layer dwd

  # the ODS hour as pulled for 51007 (from: transform), not HDFS
  chama pull --date 2024121207 --iface 51007
  chama transform --date 2024121207 --layer ads --iface 51007 --source pulled`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Period.Date == "" {
				return exit.Usagef("--date is required (e.g. --date 20241212)")
			}
			switch opts.Layer {
			case transform.LayerADS:
				if opts.Tables != "" {
					return exit.Usagef("--table is for --layer dwd; use --iface with --layer ads")
				}
				opts.Names = splitList(opts.Period.Iface)
			case transform.LayerDWD:
				if opts.Period.Iface != "" {
					return exit.Usagef("--iface is for --layer ads; use --table with --layer dwd")
				}
				opts.Names = splitList(opts.Tables)
			default:
				return exit.Usagef("--layer %q: want dwd or ads", opts.Layer)
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
			return runTransform(cmd.Context(), opts)
		},
	}
	addPeriodFlags(cmd, &opts.Period)
	setUsage(cmd, "iface", "interfaces (ads), comma separated (default: every transform.ads entry)")
	fl := cmd.Flags()
	fl.StringVar(&opts.Layer, "layer", transform.LayerADS, "dwd or ads")
	fl.StringVar(&opts.Tables, "table", "", "DWD tables (dwd), comma separated (default: all)")
	addSourceFlag(cmd, &opts.Source)
	fl.StringVar(&opts.CPUProfile, "cpuprofile", "", "write a Go CPU profile (for tuning)")
	fl.MarkHidden("cpuprofile")
	return cmd
}

func runTransform(ctx context.Context, opts *TransformOptions) error {
	f := opts.Factory
	c, err := f.Config()
	if err != nil {
		return err
	}
	if c.Transform == nil {
		return exit.Usagef("config %s has no transform section", c.Path())
	}
	stop, err := startCPUProfile(opts.CPUProfile)
	if err != nil {
		return err
	}
	defer stop()
	rc, closeRec := f.Recorder(c)
	defer closeRec()
	return stages.Transform(ctx, f.Stdout, rc, transform.Options{Config: c, Layer: opts.Layer, Names: opts.Names, Input: opts.Source.Mode, Log: f.Log}, opts.Period.Periods)
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
