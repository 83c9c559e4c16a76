package main

import (
	"github.com/spf13/cobra"

	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/pipeline"
)

// stages are what `chama run` does for each period, in order. Later
// stages (push, verify) are appended here by their owners; each is a
// thin call into the package that does the work.
var stages = []pipeline.Stage{
	{Name: "pack", Run: packStage},
	{Name: "push", Run: pushStage},
	{Name: "verify", Run: verifyStage}, // keep last: push goes before it
}

func init() {
	register(func(g *globals) *cobra.Command {
		var pf periodFlags
		var resend int
		cmd := &cobra.Command{
			Use:   "run --date PERIOD [--hours HH-HH] [--iface LIST] [--resend NN]",
			Short: "Run every stage (pack, then the later stages) for the periods",
			Long: `run runs chama's stages for each period in order, so one cron or Airflow
task can produce a period end to end. The stages, in order:

  pack    as 'chama pack' (from: transform interfaces run their transform
          inside it; hourly_pack interfaces pack an hour or assemble a day)
  push    as 'chama push' (an hour of an hourly_pack interface: --partial)
  verify  as 'chama verify --remote' (an hourly_pack hour: with its day)

A stage that fails stops the later stages of that period for the
interfaces it failed for (nothing is delivered from a failed pack; the
interfaces that packed are still pushed and verified); the other periods
still run. Each stage
prints its own status lines (CHAMA_PACK, CHAMA_PUSH, CHAMA_VERIFY).

Exit codes: 0 all done; 1 a stage failed; 2 usage or config error; 3 partly
done (safe to run again); 4 input not ready yet.`,
			Example: `  # a day, every interface, end to end
  chama run --date 20241212

  # some interfaces; a re-send of a range of days as 01
  chama run --date 20241212 --iface 51007,CM001
  chama run --date 20231220..20231228 --iface 51007 --resend 1`,
			Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				if resend < 0 || resend > 99 {
					return exit.Usagef("--resend %d: want 0-99", resend)
				}
				c, periods, ifs, err := pf.resolve(g)
				if err != nil {
					return err
				}
				rc, done := g.recorder(c)
				defer done()
				return pipeline.Run(cmd.Context(), stages, pipeline.Params{
					Config: c, Ifaces: ifs, Resend: resend, Stdout: g.Stdout, Log: g.Log, Version: version, Recorder: rc,
				}, periods)
			},
		}
		pf.add(cmd)
		cmd.Flags().IntVar(&resend, "resend", 0, "re-send number for {resend} in file names (0-99)")
		return cmd
	})
}
