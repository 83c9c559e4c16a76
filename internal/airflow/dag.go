// Package airflow renders an Airflow DAG from chama's config (`chama
// airflow-dag`), so the schedule stays in step with the interfaces
// configured: one chain of tasks per interface and period, pull (for
// HDFS sources) -> pack -> push (when routed) -> verify, each a chama
// subcommand run without a shell. An hourly_pack interface's 24 hours are
// pulled and packed side by side in the daily DAG, and its day's pack
// (the assembly) waits for all of them. The from: transform interfaces
// whose ODS table is on HDFS share one pull task per table (and queue),
// hour by hour when one of them is hourly_pack, and each of them waits for
// it: two pulls of the same partition at once would make the second exit
// 3 (busy). The config's airflow section
// (config/airflow.go) gives every task its pool, pool slots and queue,
// and each DAG its max_active_runs: runs are different periods, and
// chama's locks and leases key on interface and period, so runs side by
// side never share a unit of work. chama's exit codes drive Airflow: 0
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
	"slices"
	"strings"
	"text/template"
	"unicode"
	"unicode/utf8"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/workdir"
)

// Options for Render.
type Options struct {
	Config *config.Config
	Ifaces []*config.Interface // default: all configured
	// ConfigPath is the config file as the Airflow worker sees it.
	ConfigPath string
	// Binary is chama on the worker (default "chama").
	Binary string
	// DagID prefix (default "chama"); hourly interfaces (granularity:
	// hour) get "<id>_hourly".
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

// task is one chama subcommand in the DAG file.
type task struct {
	Stage string // pull, pack, push, verify or report: its pool slots
	Name  string // the task id; an hour task's id is Name + "_" + HH
	Var   string // the Python variable
	ID    string // the task id, a Python expression
	Args  string // chama's arguments after the global flags, a Python list expression
	Kw    string // more keyword arguments of chama(): ", pool=...", or ""
}

// chain is the tasks of one interface in a DAG.
type chain struct {
	Iface string
	// Pull, for a from: transform interface whose ODS table is on HDFS,
	// is the table's pull (one of the DAG's Pulls), shared with the other
	// interfaces that read the table: each hour's pull comes before the
	// hour's first task, or the pull (every hour of it) before Tasks[0].
	Pull *pull
	// Hour, for an hourly_pack interface in the daily DAG, is the chain of
	// one hour (pull, pack), made for each hour HH of HOURS in a loop:
	// the 24 chains run side by side, and the day's assembly, Tasks[0],
	// waits for all of them.
	Hour []task
	// HoursVar is the Python list of the hours' last tasks.
	HoursVar string
	Tasks    []task // in order
}

// pull is the pull of an ODS table for the from: transform interfaces
// that read it (chama pull stages the table once, under
// raw/ods.<table>/, for all of them). It is one task for all of them,
// not one per interface: a second chama pull of a partition while the
// first holds its lock exits 3 (busy) and would be retried, minutes
// later, holding up its interface's packs (and a pull restaging a
// partition makes a pack reading it busy too).
type pull struct {
	Table  string
	Ifaces []string // the interfaces reading it, on one queue: --iface
	// Hourly: one task per hour HH of the day (a dict by HH, Task.Var),
	// as an hourly_pack interface among Ifaces needs; else one task for
	// the period.
	Hourly bool
	Task   task
	// hourlyDAG: the pull is in the hourly DAG (granularity: hour).
	hourlyDAG bool
}

type dag struct {
	ID, Schedule, Period, Doc     string
	MaxActiveRuns, MaxActiveTasks int
	Pulls                         []*pull // before the chains, which use them
	Chains                        []chain
	Report                        *task // a task after every chain
}

type view struct {
	Options
	Source string
	DAGs   []dag
}

// hours are the hours of a day: "07" is the end of the period YYYYMMDD07.
var hours = func() []string {
	hs := make([]string, 24)
	for h := range hs {
		hs[h] = fmt.Sprintf("%02d", h)
	}
	return hs
}()

// Render writes the DAG file.
func Render(w io.Writer, o Options) error {
	v, err := build(o)
	if err != nil {
		return err
	}
	return tmpl.Execute(w, v)
}

// build fills in the defaults of o and lays out the DAGs: per interface,
// pull (HDFS sources) -> pack -> push (when routed) -> verify, where an
// hourly_pack interface's pack is the assembly of its day, after the 24
// hours pulled and packed side by side (hour tasks "<stage>_<iface>_HH").
// The from: transform interfaces reading an ODS table on HDFS share its
// pull task, pull_ods_<table>[_HH] (tablePulls). Day interfaces go in the
// daily DAG, hourly ones in <id>_hourly; every task gets the airflow
// section's pool, pool slots and queue.
func build(o Options) (view, error) {
	if o.Config == nil {
		return view{}, fmt.Errorf("airflow: no config")
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
	af := o.Config.Airflow // nil: every default
	kw := func(stage, iface string) string {
		var b strings.Builder
		if p := af.PoolName(); p != "" {
			b.WriteString(", pool=" + pyString(p))
		}
		if n := af.Slots(stage); n != 1 {
			fmt.Fprintf(&b, ", pool_slots=%d", n)
		}
		if q := af.QueueFor(iface); q != "" {
			b.WriteString(", queue=" + pyString(q))
		}
		return b.String()
	}
	daily := dag{ID: o.DagID, Schedule: o.Schedule, Period: "{{ ds_nodash }}",
		Doc: "Day D is processed by the run whose logical date is D (it starts after D ends)."}
	hourly := dag{ID: o.DagID + "_hourly", Schedule: o.HourlySchedule, Period: "{{ logical_date.strftime('%Y%m%d%H') }}",
		Doc: "Hour H is processed by the run whose logical date is H."}
	for _, d := range []*dag{&daily, &hourly} {
		d.MaxActiveRuns, d.MaxActiveTasks = af.RunsAtOnce(), af.TasksAtOnce()
	}
	for _, ifc := range o.Ifaces {
		// The name is part of Python variable names and task ids: the
		// config allows letters and digits only; a config built
		// otherwise is refused rather than quoted.
		if !plainName(ifc.Name) {
			return view{}, fmt.Errorf("airflow: interface name %q: letters and digits only", ifc.Name)
		}
	}
	pulls := tablePulls(o.Config, o.Ifaces, kw)
	for _, ifc := range o.Ifaces {
		hdfs := isHDFS(o.Config, ifc.Source)
		// stage makes the task of one stage: for the period (date PERIOD),
		// or for hour HH of the day (date HOUR, hour true).
		stage := func(name, date string, hour bool, extra ...string) task {
			id := name + "_" + ifc.Name
			t := task{Stage: name, Name: id, Var: id, ID: pyString(id), Kw: kw(name, ifc.Name),
				Args: args([]string{name, "--date"}, date, append([]string{"--iface", ifc.Name}, extra...))}
			if hour {
				t.Var, t.ID = id+"_hh", pyString(id+"_")+" + HH"
			}
			return t
		}
		c := chain{Iface: ifc.Name, Pull: pulls[ifc.Name]}
		// With a shared chunk store an hour's tasks may run on any worker:
		// a pull would land on one machine and the pack run on another,
		// so the hour's pack reads the source itself (--source auto).
		spread := ifc.HourlyPack && o.Config.ChunkStore != nil
		if spread {
			c.Pull, hdfs = nil, false
		}
		if ifc.HourlyPack {
			// The hours are pulled and packed side by side; the day's
			// pack assembles them (docs/hourly.md).
			if hdfs {
				c.Hour = append(c.Hour, stage("pull", "HOUR", true))
			}
			c.Hour = append(c.Hour, stage("pack", "HOUR", true))
			c.HoursVar = "hours_" + ifc.Name
		} else if hdfs {
			c.Tasks = append(c.Tasks, stage("pull", "PERIOD", false))
		}
		if ifc.HourlyPack && o.Config.ChunkStore != nil {
			// With a shared chunk store the hours run on any worker, but
			// the day's assembly, push and verify read one workdir: they
			// are one task (chama run: pack, push, verify), on one worker.
			t := stage("run", "PERIOD", false)
			t.Kw = kw("pack", ifc.Name)
			c.Tasks = append(c.Tasks, t)
		} else {
			c.Tasks = append(c.Tasks, stage("pack", "PERIOD", false))
			var remote []string
			if len(ifc.Routes) > 0 {
				c.Tasks = append(c.Tasks, stage("push", "PERIOD", false))
				remote = []string{"--remote"}
			}
			c.Tasks = append(c.Tasks, stage("verify", "PERIOD", false, remote...))
		}
		if ifc.Granularity == "hour" {
			hourly.Chains = append(hourly.Chains, c)
		} else {
			daily.Chains = append(daily.Chains, c)
		}
	}
	// Each DAG's table pulls, in the order of the chains that use them.
	for _, d := range []*dag{&daily, &hourly} {
		for _, c := range d.Chains {
			if p := c.Pull; p != nil && !slices.Contains(d.Pulls, p) {
				d.Pulls = append(d.Pulls, p)
			}
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
			d.Report = &task{Stage: "report", Name: "report_volume", Var: "report_volume", ID: pyString("report_volume"),
				Args: args([]string{"report", "volume", "--date"}, "PERIOD", []string{"--iface", strings.Join(names, ",")}),
				Kw:   `, retries=0, trigger_rule="all_done"` + kw("report", "")}
		}
		if err := uniqueIDs(d); err != nil {
			return view{}, err
		}
		dags = append(dags, d)
	}
	return view{Options: o, Source: comment(o.ConfigPath), DAGs: dags}, nil
}

// isHDFS reports whether the source named is an HDFS source: its
// partitions are pulled before they are packed.
func isHDFS(c *config.Config, name string) bool {
	src := c.Sources[name]
	return src != nil && src.Type == "hdfs"
}

// odsTable is the name and spec of the ODS table a from: transform
// interface reads (ads -> dwd -> ods), or "", nil.
func odsTable(c *config.Config, ifc *config.Interface) (string, *config.ODSTable) {
	if ifc.From != config.FromTransform || c.Transform == nil {
		return "", nil
	}
	ods := c.Transform.ODSFor(ifc.Name)
	if ods == nil {
		return "", nil
	}
	return c.Transform.DWD[c.Transform.ADS[ifc.Name].From].From, ods
}

// tablePulls gives each from: transform interface whose ODS table is on
// HDFS the pull of its table, shared by the interfaces of the same DAG
// and queue that read the table: chama pull --iface A,B stages the table
// once and records each interface's partitions. Interfaces on different
// queues (different machines, perhaps each with its own workdir) get a
// pull each, named pull_ods_<table>_<first interface>; on one shared
// workdir, the later of two such pulls of a partition is busy (exit 3)
// and retried. A table whose name cannot name a raw/ folder gets no pull
// (chama pull refuses it): its interfaces read the source.
func tablePulls(c *config.Config, ifaces []*config.Interface, kw func(stage, iface string) string) map[string]*pull {
	type inDAG struct { // a table, or a name, in the daily or the hourly DAG
		hourly bool
		name   string
	}
	type key struct {
		inDAG
		queue string
	}
	byIface := map[string]*pull{}
	groups := map[key]*pull{}
	var order []*pull
	queues := map[inDAG]int{} // a table's pulls in a DAG
	for _, ifc := range ifaces {
		table, ods := odsTable(c, ifc)
		if ods == nil || !isHDFS(c, ods.Source) || !workdir.ValidTableName(table) {
			continue
		}
		k := key{inDAG{ifc.Granularity == "hour", table}, c.Airflow.QueueFor(ifc.Name)}
		p := groups[k]
		if p == nil {
			p = &pull{Table: table, hourlyDAG: k.hourly}
			groups[k] = p
			order = append(order, p)
			queues[k.inDAG]++
		}
		p.Ifaces = append(p.Ifaces, ifc.Name)
		p.Hourly = p.Hourly || ifc.HourlyPack
		byIface[ifc.Name] = p
	}
	// Python names: a table's "-" and "." become "_"; two tables that
	// then meet in a DAG (a-b, a_b) are told apart by a number.
	vars := map[inDAG]bool{}
	for _, p := range order {
		id := "pull_ods_" + p.Table
		if queues[inDAG{p.hourlyDAG, p.Table}] > 1 {
			id += "_" + p.Ifaces[0]
		}
		v := pyName(id)
		for n := 2; vars[inDAG{p.hourlyDAG, v}]; n++ {
			v = fmt.Sprintf("%s_%d", pyName(id), n)
		}
		vars[inDAG{p.hourlyDAG, v}] = true
		date, pyID := "PERIOD", pyString(id)
		if p.Hourly {
			date, pyID = "HOUR", pyString(id+"_")+" + HH"
		}
		p.Task = task{Stage: "pull", Name: id, Var: v, ID: pyID, Kw: kw("pull", p.Ifaces[0]),
			Args: args([]string{"pull", "--date"}, date, []string{"--iface", strings.Join(p.Ifaces, ",")})}
	}
	return byIface
}

// pyName is s as a Python identifier: every character but ASCII letters,
// digits and "_" becomes "_" (s starts with a letter).
func pyName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' {
			return r
		}
		return '_'
	}, s)
}

// taskIDs are the ids of every task of a DAG, each hour task once per
// hour.
func taskIDs(d dag) []string {
	var ids []string
	each := func(t task, hourly bool) {
		if !hourly {
			ids = append(ids, t.Name)
			return
		}
		for _, hh := range hours {
			ids = append(ids, t.Name+"_"+hh)
		}
	}
	for _, p := range d.Pulls {
		each(p.Task, p.Hourly)
	}
	for _, c := range d.Chains {
		for _, t := range c.Hour {
			each(t, true)
		}
		for _, t := range c.Tasks {
			each(t, false)
		}
	}
	if d.Report != nil {
		each(*d.Report, false)
	}
	return ids
}

// uniqueIDs refuses a DAG with two tasks of one id (Airflow would refuse
// the file): only ODS table names chosen to meet another task's id can
// do that, e.g. a table events_07 beside events pulled hour by hour.
func uniqueIDs(d dag) error {
	seen := map[string]bool{}
	for _, id := range taskIDs(d) {
		if seen[id] {
			return fmt.Errorf("airflow: DAG %s: two tasks would be named %s (rename an ODS table)", d.ID, id)
		}
		seen[id] = true
	}
	return nil
}

// plainName reports whether s is non-empty ASCII letters and digits.
func plainName(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
			return false
		}
	}
	return s != ""
}

// args is a Python list expression: the literals before, the Python
// variable date (PERIOD, DAY or HOUR: a Jinja template that Airflow
// renders), the literals after.
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
	"pylist": func(ss []string) string {
		q := make([]string, len(ss))
		for i, s := range ss {
			q[i] = pyString(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	},
	"hours": func() []string { return hours },
	"join":  func(ss []string) string { return strings.Join(ss, ", ") },
}).Parse(`# Generated by ` + "`chama airflow-dag`" + ` from [[ .Source ]].
# Do not edit: change the config and render again, so the DAG and the
# configured interfaces stay in step.
#
# Each interface is a chain of chama subcommands for the period, each run
# without a shell; an hourly_pack interface first pulls and packs its 24
# hours side by side, and the day's pack assembles them. The from: transform
# interfaces reading an ODS table on HDFS share one pull of the table
# (pull_ods_<table>, hour by hour for hourly_pack interfaces). chama's exit
# code decides what Airflow does:
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
HOURS = [[ pylist hours ]]

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
    PERIOD, DAY and HOUR in chama_args become the run's period, its day
    and an hour of the day."""
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
    max_active_runs=[[ .MaxActiveRuns ]],
[[- if .MaxActiveTasks ]]
    max_active_tasks=[[ .MaxActiveTasks ]],
[[- end ]]
    default_args=default_args,
    tags=["chama"],
) as dag_[[ $n ]]:
    PERIOD = [[ py .Period ]]
    DAY = "{{ ds_nodash }}"
    verified = []
[[- range .Pulls ]]

    # ODS table [[ .Table ]], pulled once for [[ join .Ifaces ]][[ if .Hourly ]], hour by hour[[ end ]]
[[- if .Hourly ]]
    [[ .Task.Var ]] = {}
    for HH in HOURS:
        HOUR = DAY + HH
        [[ .Task.Var ]][HH] = chama([[ .Task.ID ]], [[ .Task.Args ]][[ .Task.Kw ]])
[[- else ]]
    [[ .Task.Var ]] = chama([[ .Task.ID ]], [[ .Task.Args ]][[ .Task.Kw ]])
[[- end ]]
[[- end ]]
[[- range .Chains ]]

    # interface [[ .Iface ]]
[[- if .Hour ]]: its hours side by side, then the day's assembly
[[- else if .Pull ]]: after the pull of ODS table [[ .Pull.Table ]]
[[- end ]]
[[- if .Hour ]]
    [[ .HoursVar ]] = []
    for HH in HOURS:
        HOUR = DAY + HH
[[- range .Hour ]]
        [[ .Var ]] = chama([[ .ID ]], [[ .Args ]][[ .Kw ]])
[[- end ]]
[[- if or .Pull (gt (len .Hour) 1) ]]
        [[ with .Pull ]][[ .Task.Var ]][HH] >> [[ end ]][[ range $i, $t := .Hour ]][[ if $i ]] >> [[ end ]][[ $t.Var ]][[ end ]]
[[- end ]]
        [[ .HoursVar ]].append([[ (index .Hour (len .Hour | dec)).Var ]])
[[- end ]]
[[- range .Tasks ]]
    [[ .Var ]] = chama([[ .ID ]], [[ .Args ]][[ .Kw ]])
[[- end ]]
    [[ if .Hour ]][[ .HoursVar ]] >> [[ else if .Pull ]][[ if .Pull.Hourly ]]list([[ .Pull.Task.Var ]].values())[[ else ]][[ .Pull.Task.Var ]][[ end ]] >> [[ end ]][[ range $i, $t := .Tasks ]][[ if $i ]] >> [[ end ]][[ $t.Var ]][[ end ]]
    verified.append([[ (index .Tasks (len .Tasks | dec)).Var ]])
[[- end ]]
[[- with .Report ]]

    # Volume against the same hours 1 and 28 days earlier; alerts (exit 1)
    # fail it without retries, like every exit 1.
    [[ .Var ]] = chama([[ .ID ]], [[ .Args ]][[ .Kw ]])
    verified >> [[ .Var ]]
[[- end ]]
[[ end ]][[ end -]]
`))
