package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/stages"
	"github.com/chama-data/chama/transfer/push"
)

// PushOptions are `chama push`'s flags.
type PushOptions struct {
	Factory *Factory
	Period  PeriodOptions
	Resend  int  // --resend, 0-99; -1 (not given): whatever was packed
	Force   bool // --force
	JSON    bool // --json
	Partial bool // --partial
}

// NewCmdPush is `chama push`; runF, when not nil, runs instead of runPush.
func NewCmdPush(f *Factory, runF func(context.Context, *PushOptions) error) *cobra.Command {
	opts := &PushOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "push --date PERIOD [--iface LIST] [--resend NN] [--force] [--json]",
		Short: "Deliver packed file sets to their SFTP targets",
		Long: `push delivers every packed file set of the periods (<workdir>/out/<iface>/<period>)
to each target the interface routes to; each target receives the full set
independently. Files go out in parallel over connections_per_host SSH
connections per primary host, transfers_per_connection files per connection.

Each file is uploaded as .<name>.part, confirmed (close, remote size, optional
remote md5sum), fsynced when the server offers it, and renamed into place.
A set's .verf goes last, and only to a host on which every data file of the
set was just confirmed: a .verf on a host promises the whole set is there.
Without shared_storage: true a set goes whole to one host, and a failover
sends the whole set to the next host before its .verf.

Broken connections are re-opened after a backoff and resume each file where
the server acknowledged it; a host goes down only after down_after failed
connects or connections that moved nothing, and then rests for cool_off
while its files go to the other primaries, then to the standbys in order (or
is probed again soon when no other host is up). Re-running is safe:
confirmed files are skipped (a same-size file with no record is compared by
content first), .part files are resumed, and a differing final remote file
is never replaced unless --force is given or the manifest's re-send number
changed. One push of a period runs at a time.

Each target's delivery record (the hosts each file is on, remote path,
bytes, time, attempts) is written to delivery-<target>.json beside
manifest.json.

One status line per interface, period and target, for scrapers (via= the
hosts holding the published set; failed_hosts= host:port:reason, only when a
host failed or went down; a delivery through standbys also prints a
CHAMA_ALERT kind=failover line):
  CHAMA_PUSH OK iface=51007 period=20241212 target=panda files=13 bytes=1234 skipped=0 via=10.1.0.11:22
  CHAMA_PUSH FAIL iface=51007 period=20241212 target=panda files=3 bytes=99 skipped=0 failed=0 pending=10 failed_hosts=10.1.0.11:22:refused err="..."
  CHAMA_PUSH NOTREADY iface=51007 period=20241213 target=panda err="... pack the period first"   (exit 4)
  CHAMA_PUSH PARTIAL iface=51007 period=20241212 target=panda files=40 bytes=... skipped=0   (--partial)

With --partial, a day of an hourly_pack interface that is not assembled yet
delivers the files of its hours 00..h packed so far (partial.json); the .verf
goes only once the day is assembled. A set that changed since a target
received it (a re-packed hour renumbers the later files) is refused before
anything is sent: re-pack with a new --resend, or push with --force.

Exit codes: 0 all delivered (also through standbys only: the alert line says
so); 1 a target refused (auth, host key, permission, missing folder, a
differing remote file); 2 usage or config error (also remote_checksum that
the server cannot run); 3 partly delivered, hosts down, transport trouble, or
another push of the period running (safe to run again); 4 nothing packed
yet.`,
		Example: `  chama push --date 20241212
  chama push --date 20231220..20231228 --iface 51007 --resend 1
  chama push --date 20241212 --json > push.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("resend") {
				opts.Resend = -1 // whatever was packed
			} else if opts.Resend < 0 || opts.Resend > 99 {
				return exit.Usagef("--resend %d: want 0-99", opts.Resend)
			}
			if err := opts.Period.Parse(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runPush(cmd.Context(), opts)
		},
	}
	addPeriodFlags(cmd, &opts.Period)
	cmd.Flags().IntVar(&opts.Resend, "resend", 0, "require the packed sets to be this re-send (0-99; default: whatever was packed)")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "compare existing remote files by content (not the delivery record) and replace those that differ")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print a JSON summary on stdout (status lines go to stderr)")
	cmd.Flags().BoolVar(&opts.Partial, "partial", false, "hourly_pack days not yet assembled: deliver the files of the hours packed so far (partial.json), never the .verf (docs/hourly.md)")
	return cmd
}

func runPush(ctx context.Context, opts *PushOptions) error {
	f := opts.Factory
	c, ifs, err := opts.Period.Load(f)
	if err != nil {
		return err
	}
	rc, closeRec := f.Recorder(c)
	defer closeRec()
	leases, err := stages.NewLeases(c, rc)
	if err != nil {
		return err
	}
	o := push.Options{
		Config: c, Periods: opts.Period.Periods, Ifaces: ifs, Resend: opts.Resend, Force: opts.Force,
		Log: f.Log, Status: f.Stdout, Track: stages.TrackPush(rc), Partial: opts.Partial,
		Bars: f.Terminal(), Claim: leases.Push(), PartTag: leases.PartTag(),
	}
	if opts.JSON {
		// stdout is the JSON document; status lines go to stderr.
		o.Status = f.Stderr
	}
	res, err := push.Run(ctx, o)
	if opts.JSON && res != nil {
		err = printJSON(f.Stdout, res, err)
	}
	return err
}
