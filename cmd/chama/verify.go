package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/stages"
	"github.com/chama-data/chama/verify"
)

// VerifyOptions are `chama verify`'s flags.
type VerifyOptions struct {
	Factory *Factory
	Period  PeriodOptions
	Remote  bool // --remote (also set by --deep)
	Deep    bool // --deep
	Full    bool // --full
	JSON    bool // --json
	Jobs    int  // --jobs; 0: one per CPU
}

// NewCmdVerify is `chama verify`; runF, when not nil, runs instead of
// runVerify.
func NewCmdVerify(f *Factory, runF func(context.Context, *VerifyOptions) error) *cobra.Command {
	opts := &VerifyOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "verify --date PERIOD [--iface LIST] [--remote] [--deep] [--json]",
		Short: "Check that a period's files are complete and correct, locally and on the targets",
		Long: `verify answers "was 51007 for 20241212 delivered completely and correctly?".

Locally (<workdir>/out/<iface>/<period>): every file the .verf names exists,
is a regular file and has the listed size; sequences run 1..N without gaps
or repeats; no file named like the set is left out of the .verf; the .verf
agrees with manifest.json; and the lines add up to the manifest's rows
read - rejected - filtered. That is a stat-level answer: seconds for a
4,000-file day whatever its bytes. --full also reads every local file: its
checksum, a whole gzip stream (decompressed to the end) holding the listed
line count (about 70 minutes for a 500 GB day on 2 cores). A period packed
by an older build is read as its .verf and manifest say.

--remote lists each route's target folder (on the host holding each set's
.verf, from push's delivery record): every file and the .verf present with
the right size, no .part leftovers, no stray files of the period.
--deep also streams every remote file back: md5 and gzip integrity (and
implies --full). When the local output is gone (retention), --remote checks
the targets against their own .verf.

Output: one stable line per finding, each with the command that repairs it
(fix=), then a table for people.
  CHAMA_VERIFY FAIL iface=51007 period=20241212 file=NAME reason=size_mismatch where=target:panda host=10.1.0.11:22 want=N got=M fix="chama push --date 20241212 --iface 51007 --force (...)"
  CHAMA_VERIFY OK iface=51007 period=20241212 files=3645 lines=2916000000 hosts=10.1.0.11:22
--json prints one JSON document instead.

Exit codes: 0 everything holds; 1 something does not; 2 usage or config error.`,
		Example: `  chama verify --date 20241212 --iface 51007
  chama verify --date 20241201..20241212 --remote
  chama verify --date 20241212 --iface CM001 --remote --deep --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Deep && !opts.Remote {
				opts.Remote = true
			}
			if err := opts.Period.Parse(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runVerify(cmd.Context(), opts)
		},
	}
	addPeriodFlags(cmd, &opts.Period)
	cmd.Flags().BoolVar(&opts.Remote, "remote", false, "also check each route's target folder over SFTP")
	cmd.Flags().BoolVar(&opts.Deep, "deep", false, "with --remote: stream every remote file back (md5, gzip)")
	cmd.Flags().BoolVar(&opts.Full, "full", false, "also read every local file: checksum, gzip integrity, line count (slow: every byte)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print one JSON document instead of lines and table")
	cmd.Flags().IntVar(&opts.Jobs, "jobs", 0, "files checked at once (default: one per CPU)")
	return cmd
}

func runVerify(ctx context.Context, opts *VerifyOptions) error {
	f := opts.Factory
	c, ifs, err := opts.Period.Load(f)
	if err != nil {
		return err
	}
	rc, closeRec := f.Recorder(c)
	defer closeRec()
	var targets *config.Config // the ledger rows name the targets checked
	if opts.Remote {
		targets = c
	}
	rep, err := verify.Run(ctx, verify.Options{
		Config: c, Periods: opts.Period.Periods, Ifaces: ifs, Remote: opts.Remote, Deep: opts.Deep, Quick: !opts.Full, Jobs: opts.Jobs, Bars: f.Terminal(),
		Dial: verify.SSHDialer(c, f.Log), Holders: verify.RecordHolders(c), Log: f.Log, Track: stages.TrackVerify(rc, targets),
	})
	if err != nil {
		return exit.With(exit.Usage, err)
	}
	if opts.JSON {
		err = verify.WriteJSON(f.Stdout, rep)
	} else if err = verify.WriteLines(f.Stdout, rep); err == nil {
		fmt.Fprintln(f.Stdout)
		err = verify.WriteTable(f.Stdout, rep)
	}
	if err != nil {
		return err
	}
	if !rep.OK {
		bad := 0
		for _, r := range rep.Results {
			if !r.OK {
				bad++
			}
		}
		return exit.With(exit.Failure, fmt.Errorf("verify: %d of %d interface periods failed", bad, len(rep.Results)))
	}
	return nil
}
