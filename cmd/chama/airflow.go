package main

import (
	"context"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/chama-data/chama/internal/airflow"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/manifest"
)

// AirflowDagOptions are `chama airflow-dag`'s flags.
type AirflowDagOptions struct {
	Factory *Factory
	// Airflow holds --binary, --config-path, --dag-id, --schedule,
	// --start-date, --retries and --retry-minutes; runAirflowDag adds the
	// config and the interfaces.
	Airflow airflow.Options
	Iface   string // --iface
	Out     string // --out; "": stdout
}

// NewCmdAirflowDag is `chama airflow-dag`; runF, when not nil, runs
// instead of runAirflowDag.
func NewCmdAirflowDag(f *Factory, runF func(context.Context, *AirflowDagOptions) error) *cobra.Command {
	opts := &AirflowDagOptions{Factory: f}
	o := &opts.Airflow
	cmd := &cobra.Command{
		Use:   "airflow-dag [--out FILE] [--binary PATH] [--config-path PATH]",
		Short: "Render an Airflow DAG (pull, pack, push, verify per interface) from the config",
		Long: `airflow-dag writes a Python DAG file that runs, per configured interface and
period, pull (HDFS sources; for from: transform interfaces, one pull of
their ODS table when it is on HDFS, shared by its readers) -> pack -> push
(when routed) -> verify (--remote when routed), then report volume. An hourly_pack interface pulls and packs
its 24 hours side by side (tasks pull_<iface>_HH, pack_<iface>_HH), and its
day's pack, the assembly, waits for all of them. Each task runs one chama
subcommand (a PythonOperator, no shell: --binary and --config-path reach
chama unchanged, whatever they hold) and maps its exit code: 3 (partly
done) and 4 (not ready) fail the try and Airflow retries it (--retries,
exponential backoff from --retry-minutes); 1 (failure) and 2 (usage or
config error) fail the task at once, without retries; a chama killed by a
signal is retried. Day interfaces go in a daily DAG (default 00:30, for the
day before), hourly interfaces in <dag-id>_hourly. The config's airflow
section gives every task a pool (pool_slots per stage) and a queue (queues
per interface), and sets max_active_runs (default 2: runs are different
periods, which never share a unit of work) and max_active_tasks. Each task
passes Airflow's run id as CHAMA_RUN_ID, so ledger rows and JSON logs carry
it. Render again whenever the interfaces or the airflow section change.

Exit codes: 0 written; 2 usage or config error.`,
		Example: `  chama airflow-dag --out /opt/airflow/dags/chama.py \
      --binary /usr/local/bin/chama --config-path /etc/chama/chama.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runAirflowDag(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Out, "out", "", "write the DAG to this file (default: stdout)")
	addIfaceFlag(cmd, &opts.Iface)
	fl.StringVar(&o.Binary, "binary", "chama", "chama's path on the Airflow workers")
	fl.StringVar(&o.ConfigPath, "config-path", "", "the config's path on the Airflow workers (default: this config, absolute)")
	fl.StringVar(&o.DagID, "dag-id", "chama", "DAG id (hourly interfaces: <dag-id>_hourly)")
	fl.StringVar(&o.Schedule, "schedule", "30 0 * * *", "cron schedule of the daily DAG")
	fl.StringVar(&o.StartDate, "start-date", "2024-12-01", "DAG start date, YYYY-MM-DD")
	fl.IntVar(&o.Retries, "retries", 6, "retries per task, for exit 3 (partly done) and 4 (not ready) only")
	fl.IntVar(&o.RetryMinutes, "retry-minutes", 10, "first retry delay in minutes (doubles, up to an hour)")
	return cmd
}

func runAirflowDag(_ context.Context, opts *AirflowDagOptions) error {
	f, o := opts.Factory, opts.Airflow
	c, err := f.Config()
	if err != nil {
		return err
	}
	if o.Ifaces, err = ifaces(c, opts.Iface); err != nil {
		return err
	}
	o.Config = c
	if o.ConfigPath == "" {
		if o.ConfigPath, err = filepath.Abs(c.Path()); err != nil {
			return err
		}
	}
	var w io.Writer = f.Stdout
	var buf bytesBuffer
	if opts.Out != "" {
		w = &buf
	}
	if err := airflow.Render(w, o); err != nil {
		return exit.With(exit.Usage, err)
	}
	if opts.Out != "" {
		return manifest.WriteFileAtomic(opts.Out, buf.b, 0o644)
	}
	return nil
}

// bytesBuffer collects the rendered DAG before an atomic write.
type bytesBuffer struct{ b []byte }

func (w *bytesBuffer) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }
