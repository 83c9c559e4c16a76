package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/clean"
	"github.com/chama-data/chama/internal/exit"
)

// CleanOptions are `chama clean`'s flags.
type CleanOptions struct {
	Factory *Factory
	Days    int  // --days; 0: the config's retention
	DryRun  bool // --dry-run
}

// NewCmdClean is `chama clean`; runF, when not nil, runs instead of
// runClean.
func NewCmdClean(f *Factory, runF func(context.Context, *CleanOptions) error) *cobra.Command {
	opts := &CleanOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "clean [--days N] [--dry-run]",
		Short: "Delete chama's local outputs, rejects and staged inputs older than the retention",
		Long: `clean applies the retention (retention_days, default 15, at most 3650) to
the workdir: a file goes when it is older than that many calendar days.

It deletes only files chama makes, in the places it makes them:
  <workdir>/out/<iface>/<period>/...   interface files and .verf (by the
      interface's templates), manifest.json, partial.json, rejects.txt,
      delivery-<target>.json, and temporaries (.chama-tmp-*, .chunk-*,
      .<name>.part, also in pack's .<period>.tmp-*/.old-* folders)
  <workdir>/out/<iface>/               a failed pack's <period>.rejects.txt;
      the locks .<period>.lock and .<period>.push.lock
  <workdir>/chunks/out/<iface>/<hour>/...   hourly_pack's hour chunks
      (chunk_HH_NNNNNN.dat.gz, chunk_HH.verf), manifest.json, rejects.txt;
      beside them <hour>.rejects.txt and .<hour>.lock
  <workdir>/raw/<iface>/<day>/...      staged inputs that carry pull's
      record (.<name>.chama), those records, the partitions' markers
      (_SUCCESS, or the source's marker), .chama-pull.json, temporaries,
      and pull's locks (.chama-pull.json.lock, .chama-pull-*.lock)
  <workdir>/stage/<dwd|ads>/...        transform's part-NNNNN.parquet under
      <name>/<period>[.partial]/, <period>.summary.json, <period>.rejects.txt
<iface> must be configured and <period> a valid period. Anything else (the
ledger, logs, unknown files, other interfaces) is never touched.

A staged input's age is when pull staged it (its record), not the source's
mtime. A partition's marker goes before the data it vouches for, so a clean
stopped part-way never leaves a marker over a partial folder; data whose
marker could not be deleted stays. A lock goes last, only when it is old,
what it guards is gone (its period folder; for pull's locks, pull's files of
the staged day) and no process holds it.

Symbolic links are never followed or deleted, even when a folder is swapped
for one while clean runs: every folder is opened from the workdir without
following links and every removal goes through it, so nothing outside the
workdir goes. Folders are removed only when this run emptied them.

Every deletion is logged and printed as a stable line:
  CHAMA_CLEAN DELETE file=out/51007/20241201/a_10000_20241201_51007_00_0001.dat.gz bytes=N mtime=...
  CHAMA_CLEAN DELETE dir=out/51007/20241201
  CHAMA_CLEAN OK files=N bytes=N dirs=N kept=N retention_days=15 dry_run=false
  CHAMA_CLEAN FAIL files=N bytes=N dirs=N kept=N not_deleted=N retention_days=15 dry_run=false
--dry-run prints WOULD_DELETE lines and deletes nothing.

To never clean, do not schedule chama clean: nothing else runs it.

Exit codes: 0 done; 1 a file could not be read or removed; 2 usage or config
error (a retention outside 1..3650 days among them).`,
		Example: `  chama clean --dry-run
  chama clean --days 30`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("days") && (opts.Days < 1 || opts.Days > config.MaxRetentionDays) {
				return exit.Usagef("--days %d: keep from 1 to %d days (ten years); to never clean, do not schedule chama clean", opts.Days, config.MaxRetentionDays)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runClean(cmd.Context(), opts)
		},
	}
	cmd.Flags().IntVar(&opts.Days, "days", 0, "retention in days, 1 to 3650 (default retention_days from the config, else 15)")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "list what would be deleted; delete nothing")
	return cmd
}

func runClean(ctx context.Context, opts *CleanOptions) error {
	f := opts.Factory
	c, err := f.Config()
	if err != nil {
		return err
	}
	_, err = clean.Run(ctx, clean.Options{Config: c, Days: opts.Days, DryRun: opts.DryRun, Now: time.Now(), Out: f.Stdout, Log: f.Log})
	return err
}
