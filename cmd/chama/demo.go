package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/demo"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/pipeline"
	"github.com/chama-data/chama/internal/stages"
	"github.com/chama-data/chama/naming"
)

// DemoOptions are `chama demo`'s flags.
type DemoOptions struct {
	Factory *Factory
	Demo    demo.Options // --dir, --date, --rows, --seed
}

// NewCmdDemo is `chama demo`; runF, when not nil, runs instead of runDemo.
func NewCmdDemo(f *Factory, runF func(context.Context, *DemoOptions) error) *cobra.Command {
	opts := &DemoOptions{Factory: f}
	o := &opts.Demo
	cmd := &cobra.Command{
		Use:   "demo [--dir DIR]",
		Short: "Run the whole job on generated data against a loopback SFTP server",
		Long: `demo shows chama end to end on one machine, needing nothing but the binary:
it generates a day of Hive-like partitions under DIR/hive, starts an
in-process SFTP server on 127.0.0.1 serving DIR/exchange, writes
DIR/chama.yaml for two interfaces (51007 flat, CM001 split by province),
runs every stage of 'chama run' for the day, and lists what arrived.

Re-running it regenerates the data, re-packs and re-pushes: files already
on the exchange are skipped. Look around afterwards:
  chama --config DIR/chama.yaml verify --date 20241219

Exit codes: 0 delivered and verified; 1 a stage failed; 2 usage error.`,
		Example: `  chama demo --dir /tmp/chama-demo
  chama demo --dir /tmp/chama-demo --rows 2000000 --date 20241212`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// Checked here, before anything is generated or started.
			if p, err := naming.ParsePeriod(o.Date); err != nil || p.Hourly {
				return exit.Usagef("--date %q: want one day, YYYYMMDD", o.Date)
			}
			if o.Rows < 1 {
				return exit.Usagef("--rows %d: want 1 or more", o.Rows)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runDemo(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&o.Dir, "dir", "demo", "folder for the demo's data, config, keys and exchange")
	cmd.Flags().StringVar(&o.Date, "date", "20241219", "the day to generate and deliver")
	cmd.Flags().Int64Var(&o.Rows, "rows", 240000, "rows to generate over the day")
	cmd.Flags().Int64Var(&o.Seed, "seed", 1, "generator seed")
	return cmd
}

func runDemo(ctx context.Context, opts *DemoOptions) error {
	f, o := opts.Factory, opts.Demo
	fmt.Fprintf(f.Stdout, "chama demo: generating %d rows for %s under %s ...\n", o.Rows, o.Date, o.Dir)
	env, err := demo.Setup(ctx, o)
	if err != nil {
		return err
	}
	defer env.Close()
	fmt.Fprintf(f.Stdout, "chama demo: %d files, %d rows, %d bytes raw; SFTP server on %s; config %s\n",
		len(env.Gen.Files), env.Gen.Rows, env.Gen.RawBytes, env.Server.Addr(), env.ConfigPath)
	c, err := config.Load(env.ConfigPath)
	if err != nil {
		return err
	}
	p, err := naming.ParsePeriod(env.Date)
	if err != nil {
		return err
	}
	ifs, _ := c.Select("")
	rc, done := f.Recorder(c)
	defer done()
	err = pipeline.Run(ctx, stages.All(), pipeline.Params{
		Config: c, Ifaces: ifs, Stdout: f.Stdout, Log: f.Log, Version: f.Version, Recorder: rc,
	}, []naming.Period{p})
	if lerr := env.Arrived(f.Stdout); lerr != nil && err == nil {
		err = lerr
	}
	return err
}
