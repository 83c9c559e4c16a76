// Package airflow renders an Airflow DAG from chama's config (`chama
// airflow-dag`), so the schedule stays in step with the interfaces
// configured: one chain of tasks per interface and period, pull (for
// HDFS sources) -> pack -> push (when routed) -> verify, each a chama
// subcommand run without a shell. chama's exit codes drive Airflow: 0
// success; 3 (partly done) and 4 (input not ready) fail the try, which
// Airflow retries later; 1 (failure) and 2 (usage or config error) fail
// the task at once (AirflowFailException), since retrying cannot help;
// a chama killed by a signal is retried.
//
// Every value from the command line and the config enters the DAG as a
// Python string literal (pyString), and chama's argv is a list: no shell
// ever parses it. The paths (--binary, --config-path) are used by the
// task's function itself, outside the templated op_kwargs, so Jinja does
// not render them either.
package airflow

import (
	"fmt"
	"io"
	"strings"
	"text/template"
	"unicode"
	"unicode/utf8"

	"github.com/chama-data/chama/config"
)

// Options for Render.
type Options struct {
	Config *config.Config
	Ifaces []*config.Interface // default: all configured
	// ConfigPath is the config file as the Airflow worker sees it.
	ConfigPath string
	// Binary is chama on the worker (default "chama").
	Binary string
	// DagID prefix (default "chama"); hourly interfaces get "<id>_hourly".
	DagID string
	// Schedule of the daily DAG (default "30 0 * * *": 00:30, for the day
	// before); the hourly DAG runs at minute 20 of every hour.
	Schedule       string
	HourlySchedule string
	StartDate      string // YYYY-MM-DD (default 2024-12-01)
	Retries        int    // per task (default 6)
	RetryMinutes   int    // first retry delay, doubled up to an hour (default 10)
	Owner          string // default "chama"
}

type task struct {
	ID   string
	Args string // chama's arguments after the global flags, a Python list expression
}

type chain struct {
	Iface string
	Tasks []task
}

type dag struct {
	ID, Schedule, Period, Doc string
	Chains                    []chain
	Report                    string // a task after every chain
}

type view struct {
	Options
	Source string
	DAGs   []dag
}

// Render writes the DAG file.
func Render(w io.Writer, o Options) error {
	if o.Config == nil {
		return fmt.Errorf("airflow: no config")
	}
	if o.Ifaces == nil {
		o.Ifaces, _ = o.Config.Select("")
	}
	if o.Binary == "" {
		o.Binary = "chama"
	}
	if o.DagID == "" {
		o.DagID = "chama"
	}
	if o.Schedule == "" {
		o.Schedule = "30 0 * * *"
	}
	if o.HourlySchedule == "" {
		o.HourlySchedule = "20 * * * *"
	}
	if o.StartDate == "" {
		o.StartDate = "2024-12-01"
	}
	if o.Retries == 0 {
		o.Retries = 6
	}
	if o.RetryMinutes == 0 {
		o.RetryMinutes = 10
	}
	if o.Owner == "" {
		o.Owner = "chama"
	}
	if o.ConfigPath == "" {
		o.ConfigPath = o.Config.Path()
	}
	daily := dag{ID: o.DagID, Schedule: o.Schedule, Period: "{{ ds_nodash }}",
		Doc: "Day D is processed by the run whose logical date is D (it starts after D ends)."}
	hourly := dag{ID: o.DagID + "_hourly", Schedule: o.HourlySchedule, Period: "{{ logical_date.strftime('%Y%m%d%H') }}",
		Doc: "Hour H is processed by the run whose logical date is H."}
	for _, ifc := range o.Ifaces {
		hdfs := false
		if src := o.Config.Sources[ifc.Source]; src != nil && src.Type == "hdfs" {
			hdfs = true
		}
		addTo := func(c *chain, stage, date string, extra ...string) {
			c.Tasks = append(c.Tasks, task{ID: stage + "_" + ifc.Name, Args: args([]string{stage, "--date"}, date, append([]string{"--iface", ifc.Name}, extra...))})
		}
		if ifc.HourlyPack {
			// Each hour is packed as it lands and the day's known hours go
			// out early (push --partial); the daily chain below assembles
			// the day, sends the rest and the .verf, and verifies.
			h := chain{Iface: ifc.Name}
			if hdfs {
				addTo(&h, "pull", "PERIOD")
			}
			addTo(&h, "pack", "PERIOD")
			if len(ifc.Routes) > 0 {
				addTo(&h, "push", "DAY", "--partial")
			}
			hourly.Chains = append(hourly.Chains, h)
		}
		c := chain{Iface: ifc.Name}
		if hdfs {
			addTo(&c, "pull", "PERIOD")
		}
		addTo(&c, "pack", "PERIOD")
		var remote []string
		if len(ifc.Routes) > 0 {
			addTo(&c, "push", "PERIOD")
			remote = []string{"--remote"}
		}
		addTo(&c, "verify", "PERIOD", remote...)
		if ifc.Granularity == "hour" {
			hourly.Chains = append(hourly.Chains, c)
		} else {
			daily.Chains = append(daily.Chains, c)
		}
	}
	var dags []dag
	for _, d := range []dag{daily, hourly} {
		if len(d.Chains) == 0 {
			continue
		}
		var names []string
		for _, c := range d.Chains {
			names = append(names, c.Iface)
		}
		if d.ID == o.DagID {
			d.Report = args([]string{"report", "volume", "--date"}, "PERIOD", []string{"--iface", strings.Join(names, ",")})
		}
		dags = append(dags, d)
	}
	return tmpl.Execute(w, view{Options: o, Source: comment(o.ConfigPath), DAGs: dags})
}

// args is a Python list expression: the literals before, the Python
// variable date (PERIOD or DAY, a Jinja template that Airflow renders),
// the literals after.
func args(before []string, date string, after []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for _, a := range before {
		b.WriteString(pyString(a) + ", ")
	}
	b.WriteString(date)
	for _, a := range after {
		b.WriteString(", " + pyString(a))
	}
	b.WriteByte(']')
	return b.String()
}

// pyString quotes s as a Python 3 string literal (double quotes) whose
// value is s. Bytes that are not UTF-8 (a path may hold any byte but NUL)
// become the surrogate escapes \udc80..\udcff that Python's os.fsdecode
// gives for them, which os.fsencode, and so subprocess, turns back into
// the same bytes. Printable characters are kept; quotes, backslashes,
// control and format characters (a newline, a right-to-left override) are
// escaped, so the literal is always one line. Go's %q is not enough: its
// \xff means the byte 0xff, Python's the character U+00FF.
func pyString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			fmt.Fprintf(&b, `\udc%02x`, s[i])
			i++
			continue
		}
		i += n
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r >= ' ' && r < 0x7f, r >= 0x80 && unicode.IsPrint(r):
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// comment is s for a "#" comment line: as it is when it is printable text,
// else its Python literal (a newline in it would end the comment).
func comment(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) || r == utf8.RuneError {
			return pyString(s)
		}
	}
	return s
}

var tmpl = template.Must(template.New("dag").Delims("[[", "]]").Funcs(template.FuncMap{
	"py":  pyString,
	"dec": func(n int) int { return n - 1 },
}).Parse(`# Generated by ` + "`chama airflow-dag`" + ` from [[ .Source ]].
# Do not edit: change the config and render again, so the DAG and the
# configured interfaces stay in step.
#
# Each interface is a chain of chama subcommands for the period, each run
# without a shell. chama's exit code decides what Airflow does:
#   0      done;
#   3, 4   partly done / input not ready: the try fails and Airflow retries
#          it later, with backoff (safe: every stage can be re-run);
#   1, 2   failure / config or usage error: the task fails at once, without
#          retries (they cannot help): fix the cause, then clear the task;
#   other  (chama killed by a signal, e.g. out of memory): retried.
import logging
import os
import subprocess
from datetime import datetime, timedelta

from airflow import DAG
from airflow.exceptions import AirflowException, AirflowFailException
from airflow.operators.python import PythonOperator

CHAMA = [[ py .Binary ]]
CONFIG = [[ py .ConfigPath ]]
RETRIED = {3: "partly done", 4: "input not ready"}
NOT_RETRIED = {1: "failed", 2: "usage or config error"}

default_args = {
    "owner": [[ py .Owner ]],
    "retries": [[ .Retries ]],
    "retry_delay": timedelta(minutes=[[ .RetryMinutes ]]),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(hours=1),
}


def run_chama(chama_args, run_id):
    """Runs chama with chama_args (no shell) and maps its exit code; its
    output goes to the task log. CHAMA_RUN_ID ties its ledger rows and logs
    to the Airflow run."""
    argv = [CHAMA, "--config", CONFIG, "--log-format", "json"] + list(chama_args)
    env = dict(os.environ, CHAMA_RUN_ID=run_id)
    log = logging.getLogger("airflow.task")
    with subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, encoding="utf-8", errors="replace") as proc:
        try:
            for line in proc.stdout:
                log.info("%s", line.rstrip("\n"))
        except BaseException:
            proc.terminate()  # the task is stopped (timeout, kill): stop chama too
            raise
    rc = proc.returncode
    what = "chama " + " ".join(chama_args)
    if rc == 0:
        return
    if rc in NOT_RETRIED:
        raise AirflowFailException("%s: exit %d (%s): not retried" % (what, rc, NOT_RETRIED[rc]))
    if rc in RETRIED:
        raise AirflowException("%s: exit %d (%s): retried" % (what, rc, RETRIED[rc]))
    if rc < 0:
        raise AirflowException("%s: killed by signal %d: retried" % (what, -rc))
    raise AirflowException("%s: exit %d: retried" % (what, rc))


def chama(task_id, chama_args, **kw):
    """A task that runs one chama subcommand; op_kwargs are templated, so
    PERIOD and DAY in chama_args become the run's period."""
    return PythonOperator(
        task_id=task_id,
        python_callable=run_chama,
        op_kwargs={"chama_args": chama_args},
        **kw,
    )

[[ range $n, $d := .DAGs ]][[ with $d ]]
# [[ .Doc ]]
with DAG(
    dag_id=[[ py .ID ]],
    schedule=[[ py .Schedule ]],
    start_date=datetime.fromisoformat([[ py $.StartDate ]]),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["chama"],
) as dag_[[ $n ]]:
    PERIOD = [[ py .Period ]]
    DAY = "{{ ds_nodash }}"
    verified = []
[[- range .Chains ]]

    # interface [[ .Iface ]]
[[- range $i, $t := .Tasks ]]
    [[ $t.ID ]] = chama([[ py $t.ID ]], [[ $t.Args ]])
[[- end ]]
    [[ range $i, $t := .Tasks ]][[ if $i ]] >> [[ end ]][[ $t.ID ]][[ end ]]
    verified.append([[ (index .Tasks (len .Tasks | dec)).ID ]])
[[- end ]]
[[- if .Report ]]

    # Volume against the same hours 1 and 28 days earlier; alerts (exit 1)
    # fail it without retries, like every exit 1.
    report_volume = chama("report_volume", [[ .Report ]], retries=0, trigger_rule="all_done")
    verified >> report_volume
[[- end ]]
[[ end ]][[ end -]]
`))
