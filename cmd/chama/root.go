package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/chama-data/chama/internal/exit"
)

// newRoot is chama's root command for this process (NewFactory).
func newRoot() *cobra.Command { return NewCmdRoot(NewFactory()) }

// NewCmdRoot is chama with every subcommand, all sharing f.
func NewCmdRoot(f *Factory) *cobra.Command {
	root := newCmdRootBare(f)
	root.AddCommand(
		NewCmdPull(f, nil),
		NewCmdTransform(f, nil),
		NewCmdPack(f, nil),
		NewCmdPush(f, nil),
		NewCmdVerify(f, nil),
		NewCmdRun(f, nil),
		NewCmdStatus(f, nil),
		NewCmdReport(f),
		NewCmdClean(f, nil),
		NewCmdConfig(f),
		NewCmdGen(f, nil),
		NewCmdDemo(f, nil),
		NewCmdAirflowDag(f, nil),
	)
	return root
}

// newCmdRootBare is the root command without its subcommands: its help,
// the global flags bound to f, f.Setup before any command runs, and flag
// errors as usage errors (exit 2). Tests add one subcommand to it.
func newCmdRootBare(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "chama",
		Short: "Produce and deliver offline interface files",
		Long: `chama turns the hourly Hive partitions of an interface into exactly
split, correctly named, gzipped interface files with a .verf check file,
and delivers them over SFTP to the file-exchange platform.

One subcommand per stage and period, so Airflow or cron can call them:
  chama pull      --date 2024121207 --iface 51007   stage an hour from HDFS
  chama transform --date 20241212 --layer ads       clean and route ODS rows
  chama pack      --date 20241212 --iface 51007     cut and gzip the files
  chama push      --date 20241212                   deliver them over SFTP
  chama verify    --date 20241212 --remote          check what was delivered
  chama run       --date 20241212                   pack, push, verify in order
  chama status    --date 20241212                   what is done, per stage

Try it end to end on generated data: chama demo --dir /tmp/chama-demo

Periods: --date 20241212 (a day), 2024121207 (an hour), 20231220..20231228
(a range), or a comma list of these; 400 days of periods at most in all
(an hour counts 1/24 of a day: 9600 hours).

Exit codes: 0 success, 1 failure, 2 usage or config error,
3 partly done and safe to retry, 4 nothing to do yet (input not ready).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       f.Version,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return f.Setup()
		},
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return exit.With(exit.Usage, fmt.Errorf("%w (see '%s --help')", err, c.CommandPath()))
	})
	def := os.Getenv("CHAMA_CONFIG")
	if def == "" {
		def = "chama.yaml"
	}
	pf := root.PersistentFlags()
	pf.StringVar(&f.ConfigPath, "config", def, "config file (when not given: $CHAMA_CONFIG, else ./chama.yaml)")
	pf.StringVar(&f.LogFormat, "log-format", "text", "log format: text or json (one object per line)")
	pf.CountVarP(&f.Verbose, "verbose", "v", "more logging (-v debug)")
	pf.StringVar(&f.MetricsFile, "metrics-file", "", "write Prometheus text-format metrics to this file (node_exporter textfile collector)")
	return root
}
