package main

import (
	"context"
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"

	"github.com/chama-data/chama/etl/pack"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/stages"
)

// PackOptions are `chama pack`'s flags.
type PackOptions struct {
	Factory    *Factory
	Period     PeriodOptions
	Resend     int    // --resend, 0-99
	Workers    int    // --workers; 0: one per CPU
	CPUProfile string // --cpuprofile (hidden)
	Source     SourceOptions
	Repack     bool // --repack
}

// NewCmdPack is `chama pack`; runF, when not nil, runs instead of runPack.
func NewCmdPack(f *Factory, runF func(context.Context, *PackOptions) error) *cobra.Command {
	opts := &PackOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "pack --date PERIOD [--hours HH-HH] [--iface LIST] [--resend NN] [--source auto|pulled|origin]",
		Short: "Cut a period's partitions into gzipped interface files with a .verf",
		Long: `pack reads the period's input files (sorted paths; a day whose path has
{hour} reads its 24 hour folders in order), converts each line (delimiter,
charset, CR/LF, embedded-delimiter policy), cuts exactly lines_per_file lines
per file, numbered from 1 within each partition value, gzips the files on
all cores and writes a .verf and manifest.json beside them. An interface with
from: transform is packed from its transform.ads entry instead: the
transform runs for the period and its rows go straight into the files (one
transform pass for the interfaces of a period that read the same ODS table).

An interface with hourly_pack: true (a day interface) is packed hour by
hour: --date 2024121207 packs that hour into its chunk under
<workdir>/chunks/ and refreshes the day's known prefix (push --partial);
--date 20241212 assembles the day from the 24 chunks (packing missing hours
first) by hard-linking, never recompressing. See docs/hourly.md.

Several machines (chunk_store and the PostgreSQL ledger with leases,
docs/operations.md): every interface and period is packed under a lease
(another machine holding it: busy, exit 3, nothing touched; the lease is
checked again just before publishing). An hour chunk is put in the shared
chunk store; an hour the store already holds is fetched, not packed again
(--repack packs it anyway); the day is assembled from the store's chunks
on any machine, packing an hour only when it is in no store and no other
machine holds its lease, and logs which machine packed each hour.

Output: <workdir>/out/<iface>/<period>/ (one sub-folder per partition value
when the interface has partition_field). The folder is built under a hidden
temporary name and published by an atomic rename: a crash or kill leaves the
previous complete output or nothing. Re-running a period replaces it.

` + sourceHelp + `

One status line per interface and period, for scrapers:
  CHAMA_PACK OK iface=51007 period=20241212 sets=1 files=12 read=9600000 rows=9600000 filtered=0 rejected=0 ... input=pulled
  CHAMA_PACK FAIL iface=51007 period=20241213 err="partition not found: ..."
  CHAMA_PACK NOTREADY iface=51007 period=20241213 err="partition not ready: ..."

Exit codes: 0 all packed; 1 a failure that needs an operator (bad data,
too many rejects, a pulled copy that does not match its pull record), even
if others packed; 2 usage or config error; 3 only transient failures
(another pack held the period, a pull is staging a partition being read,
the source's link broke): safe to run again; 4 every failure is input not
ready yet (no marker, or no partition folder yet; with --source pulled,
not pulled yet).`,
		Example: `  # one day of every configured interface
  chama pack --date 20241212

  # one interface, a range of days, as re-send 01
  chama pack --date 20231220..20231228 --iface 51007 --resend 1

  # hours 00-05 of a day, as six hourly periods
  chama pack --date 20241212 --hours 00-05 --iface CM001

  # hourly_pack: pack hour 07 as soon as it lands, assemble the day after 23
  chama pack --date 2024121207 --iface 51007
  chama pack --date 20241212 --iface 51007

  # after chama pull: the pulled copies only, never HDFS
  chama pull --date 2024121207 --iface 51007
  chama pack --date 2024121207 --iface 51007 --source pulled`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Resend < 0 || opts.Resend > 99 {
				return exit.Usagef("--resend %d: want 0-99", opts.Resend)
			}
			if opts.Workers < 0 {
				return exit.Usagef("--workers %d: want 1 or more (0: one per CPU)", opts.Workers)
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
			return runPack(cmd.Context(), opts)
		},
	}
	addPeriodFlags(cmd, &opts.Period)
	cmd.Flags().IntVar(&opts.Resend, "resend", 0, "re-send number for {resend} in file names (0-99)")
	cmd.Flags().IntVar(&opts.Workers, "workers", 0, "compression workers (default: one per CPU)")
	addSourceFlag(cmd, &opts.Source)
	cmd.Flags().BoolVar(&opts.Repack, "repack", false, "hourly_pack with a chunk_store: pack an hour even when the store holds its chunk already (by default such an hour is fetched, not packed again)")
	cmd.Flags().StringVar(&opts.CPUProfile, "cpuprofile", "", "write a CPU profile (go tool pprof) to this file")
	cmd.Flags().MarkHidden("cpuprofile")
	return cmd
}

func runPack(ctx context.Context, opts *PackOptions) error {
	f := opts.Factory
	c, ifs, err := opts.Period.Load(f)
	if err != nil {
		return err
	}
	stop, err := startCPUProfile(opts.CPUProfile)
	if err != nil {
		return err
	}
	defer stop()
	rc, closeRec := f.Recorder(c)
	defer closeRec()
	cl, err := stages.OpenCluster(c, rc)
	if err != nil {
		return err
	}
	defer cl.Close()
	return pack.RunAll(ctx, pack.AllOptions{
		Config: c, Periods: opts.Period.Periods, Ifaces: ifs, Resend: opts.Resend, Input: opts.Source.Mode,
		Out: f.Stdout, Log: f.Log, Workers: opts.Workers, Version: f.Version,
		Bars: f.Terminal(), Track: stages.TrackPack(rc),
		Claim: cl.Leases.Pack(), Store: cl.Store, Repack: opts.Repack,
	})
}

// startCPUProfile starts the hidden --cpuprofile of pack and transform
// (for tuning); the returned function stops it. An empty path does nothing.
func startCPUProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
