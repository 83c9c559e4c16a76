package airflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/chama-data/chama/config"
)

const cfgYAML = `
workdir: /var/lib/chama
sources:
  hdfs1: {type: hdfs, namenodes: ["nn1:8020"], user: hive}
  local: {type: file, root: /data}
targets:
  panda:
    primary: [{host: 127.0.0.1, port: 2222}]
    user: chama
    auth: {key_file: /etc/chama/id_ed25519}
    known_hosts: /etc/chama/known_hosts
    dir: /incoming
interfaces:
  "51007":
    source: hdfs1
    path: ads/51007/dt={date}/hour={hour}
    file_name: a_10000_{date}_{iface}_{resend:02}_{seq}.dat.gz
    verf_name: a_10000_{date}_{iface}_{resend:02}.verf
    hourly_pack: true
    routes: [{target: panda}]
  "99001":
    source: local
    path: ads/99001/dt={date}/hour={hour}
    granularity: hour
    file_name: a_10000_{period}_{iface}_{resend:02}_{seq}.dat.gz
    verf_name: a_10000_{period}_{iface}_{resend:02}.verf
`

func TestRenderGolden(t *testing.T) {
	c, err := config.Parse([]byte(cfgYAML))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Render(&b, Options{Config: c, ConfigPath: "/etc/chama/chama.yaml", Binary: "/usr/local/bin/chama"}); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "dag.py")
	if os.Getenv("CHAMA_UPDATE_GOLDEN") != "" {
		os.MkdirAll("testdata", 0o755)
		os.WriteFile(golden, b.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Fatalf("rendered DAG differs from %s:\n%s", golden, b.String())
	}
	for _, s := range []string{
		// hourly_pack: the 24 hours pulled and packed side by side in the
		// daily DAG, then the day assembled, pushed and verified.
		`hours_51007 >> pack_51007 >> push_51007 >> verify_51007`,
		`        pull_51007_hh = chama("pull_51007_" + HH, ["pull", "--date", HOUR, "--iface", "51007"])`,
		`        pack_51007_hh = chama("pack_51007_" + HH, ["pack", "--date", HOUR, "--iface", "51007"])`,
		`pack_51007 = chama("pack_51007", ["pack", "--date", PERIOD, "--iface", "51007"])`,
		`verify_51007 = chama("verify_51007", ["verify", "--date", PERIOD, "--iface", "51007", "--remote"])`,
		`pack_99001 >> verify_99001`,
		`PERIOD = "{{ logical_date.strftime('%Y%m%d%H') }}"`,
		`max_active_runs=2,`,
	} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("DAG lacks %q", s)
		}
	}
	// No early partial push from hourly runs: the hours are packed in the
	// daily run, once (docs/operations.md, Scheduling).
	for _, s := range []string{"--partial", "pool=", "queue=", "max_active_tasks"} {
		if strings.Contains(b.String(), s) {
			t.Errorf("DAG holds %q", s)
		}
	}
	// The file is valid Python (when python3 is installed).
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Log("python3 not installed: syntax not checked")
		return
	}
	cmd := exec.Command(py, "-c", "import ast,sys; ast.parse(sys.stdin.read())")
	cmd.Stdin = bytes.NewReader(b.Bytes())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("not valid Python: %v\n%s", err, out)
	}
}

// The example DAG in scripts/airflow is what the example config renders.
func TestExampleDAGInSync(t *testing.T) {
	c, err := config.Load(filepath.Join("..", "..", "scripts", "airflow", "chama.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Render(&b, Options{Config: c, ConfigPath: "/etc/chama/chama.yaml", Binary: "/usr/local/bin/chama"}); err != nil {
		t.Fatal(err)
	}
	example := filepath.Join("..", "..", "scripts", "airflow", "chama_dag.py")
	if os.Getenv("CHAMA_UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(example, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Fatal("scripts/airflow/chama_dag.py is stale: render it again (see the header of chama.example.yaml, or CHAMA_UPDATE_GOLDEN=1 go test ./internal/airflow/)")
	}
}

// hostilePath is a folder name that breaks naive quoting in Python, in a
// shell and in Jinja: spaces, both quotes, command substitutions, a
// backslash, a tab, a newline, a Jinja expression, a byte that is not
// UTF-8 and a right-to-left override.
const hostilePath = "dir with spaces 'single' \"double\" $(touch x) `touch y` back\\slash\ttab\nnewline {{ ds }} \xff \u202e end"

// fakeChama records its argv (NUL separated, $0 first) and CHAMA_RUN_ID in
// $FAKE_CHAMA_OUT and exits with $FAKE_CHAMA_RC ("kill": killed by a signal).
const fakeChama = `#!/bin/sh
{ printf '%s\0' "$0" "$@"; printf 'CHAMA_RUN_ID=%s\0' "$CHAMA_RUN_ID"; } > "$FAKE_CHAMA_OUT"
[ "$FAKE_CHAMA_RC" = kill ] && kill -KILL $$
exit "$FAKE_CHAMA_RC"
`

// renderWithFake renders the test config's DAG with chama and its config
// in the folder name (under a temporary folder), chama being fakeChama; it
// returns the DAG file, the two paths and a folder to run tasks in.
func renderWithFake(t *testing.T, name string) (dagFile, bin, cfg, work string) {
	t.Helper()
	tmp := t.TempDir()
	dir := filepath.Join(tmp, name)
	work = filepath.Join(tmp, "work")
	for _, d := range []string{dir, work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin, cfg = filepath.Join(dir, "chama"), filepath.Join(dir, "chama.yaml")
	if err := os.WriteFile(bin, []byte(fakeChama), 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse([]byte(cfgYAML))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Render(&b, Options{Config: c, ConfigPath: cfg, Binary: bin}); err != nil {
		t.Fatal(err)
	}
	dagFile = filepath.Join(tmp, "dag.py")
	if err := os.WriteFile(dagFile, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dagFile, bin, cfg, work
}

// TestHostilePathsStayOneArgument: paths with quotes, $(...), backslashes
// and a newline give a DAG that parses, and each task passes them to
// chama as one argument each, unchanged, with nothing executed on the way.
func TestHostilePathsStayOneArgument(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	dagFile, bin, cfg, work := renderWithFake(t, hostilePath)
	if out, err := exec.Command(py, "-c", "import ast,sys; ast.parse(open(sys.argv[1], 'rb').read())", dagFile).CombinedOutput(); err != nil {
		src, _ := os.ReadFile(dagFile)
		t.Fatalf("not valid Python: %v\n%s\n%s", err, out, src)
	}
	for _, c := range []struct {
		dag, task string
		args      []string
	}{
		{"chama", "pack_51007", []string{"pack", "--date", "20241212", "--iface", "51007"}},
		{"chama", "verify_51007", []string{"verify", "--date", "20241212", "--iface", "51007", "--remote"}},
		{"chama", "report_volume", []string{"report", "volume", "--date", "20241212", "--iface", "51007"}},
		{"chama", "pull_51007_00", []string{"pull", "--date", "2024121200", "--iface", "51007"}},
		{"chama", "pack_51007_23", []string{"pack", "--date", "2024121223", "--iface", "51007"}},
		{"chama_hourly", "pack_99001", []string{"pack", "--date", "2024121207", "--iface", "99001"}},
	} {
		res := runTask(t, py, dagFile, work, c.dag, c.task, "0")
		if res.Outcome != "ok" {
			t.Errorf("%s.%s: %+v", c.dag, c.task, res)
			continue
		}
		want := append([]string{bin, "--config", cfg, "--log-format", "json"}, c.args...)
		want = append(want, "CHAMA_RUN_ID=manual__test")
		got, err := os.ReadFile(filepath.Join(work, "argv"))
		if err != nil {
			t.Errorf("%s.%s: chama was not run: %v", c.dag, c.task, err)
			continue
		}
		if g := strings.Split(strings.TrimSuffix(string(got), "\x00"), "\x00"); strings.Join(g, "\x00") != strings.Join(want, "\x00") {
			t.Errorf("%s.%s: chama got argv\n%q\nwant\n%q", c.dag, c.task, g, want)
		}
		os.Remove(filepath.Join(work, "argv"))
	}
	for _, f := range []string{"x", "y"} {
		if _, err := os.Stat(filepath.Join(work, f)); err == nil {
			t.Errorf("a command substitution in the path was run (%s exists)", f)
		}
	}
}

// TestExitCodesDriveRetries: exit 3 (partly done) and 4 (not ready) fail
// the try so that Airflow retries it; 1 (failure) and 2 (usage or config
// error) fail the task at once, since retries cannot help; a process
// killed by a signal or an exit code chama does not use is retried.
func TestExitCodesDriveRetries(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	dagFile, _, _, work := renderWithFake(t, "bin")
	for rc, want := range map[string]string{"0": "ok", "1": "fail", "2": "fail", "3": "retry", "4": "retry", "5": "retry", "kill": "retry"} {
		res := runTask(t, py, dagFile, work, "chama", "push_51007", rc)
		if res.Outcome != want {
			t.Errorf("exit %s: %s (%s), want %s", rc, res.Outcome, res.Err, want)
		}
		if rc != "0" && !strings.Contains(res.Err, "push") {
			t.Errorf("exit %s: message %q does not name the stage", rc, res.Err)
		}
	}
}

type taskResult struct{ Outcome, Err string }

// runTask runs one task of the DAG with the Airflow stand-in in
// testdata/stub, chama exiting with rc.
func runTask(t *testing.T, py, dagFile, work, dag, task, rc string) taskResult {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("testdata", "run_task.py"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, script, dagFile, dag, task)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "FAKE_CHAMA_OUT="+filepath.Join(work, "argv"), "FAKE_CHAMA_RC="+rc, "PYTHONDONTWRITEBYTECODE=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s.%s: %v\n%s", dag, task, err, stderr.String())
	}
	var r taskResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%s.%s: %v: %s", dag, task, err, out)
	}
	return r
}

// pyString gives Python literals whose value is the Go string, byte for
// byte once os.fsencode'd: Go's %q differs for bytes that are not UTF-8.
func TestPyString(t *testing.T) {
	for in, want := range map[string]string{
		`/usr/local/bin/chama`:      `"/usr/local/bin/chama"`,
		`a "b" 'c' \d $(e) {{ f }}`: `"a \"b\" 'c' \\d $(e) {{ f }}"`,
		"a\nb\rc\td\x00e\x7f":       `"a\nb\rc\td\x00e\x7f"`,
		"\xff\xfe":                  `"\udcff\udcfe"`,
		"数据/é":                      `"数据/é"`,
		"\u202e\u2028\U000e0001":    `"\u202e\u2028\U000e0001"`,
	} {
		if got := pyString(in); got != want {
			t.Errorf("pyString(%q) = %s, want %s", in, got, want)
		}
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed: values not checked")
	}
	// What Python makes of the literal, fs-encoded, is the original bytes.
	in := "x \"'\\ $(y)\n\t\x00\x7f\xff\xc3\x28 数据 \u202e\U000e0001 {{ z }}"
	out, err := exec.Command(py, "-c", "import os,sys; sys.stdout.buffer.write(os.fsencode("+pyString(in)+"))").Output()
	if err != nil || string(out) != in {
		t.Errorf("python3 gives %q (%v), want %q", out, err, in)
	}
}

// A config path with a newline does not end the header comment.
func TestHeaderCommentOneLine(t *testing.T) {
	c, err := config.Parse([]byte(cfgYAML))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Render(&b, Options{Config: c, ConfigPath: "/etc/chama\n/x.yaml", Binary: "chama"}); err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(b.String(), "\n")
	if want := "# Generated by `chama airflow-dag` from \"/etc/chama\\n/x.yaml\"."; first != want {
		t.Errorf("first line %q, want %q", first, want)
	}
}

// spreadYAML has one interface of each kind: CM001 a plain day interface
// from HDFS with a route, 51007 hourly_pack from HDFS, 51006 and 51010
// hourly_pack from transform, over the same ODS table on HDFS; and an
// airflow section with a pool, a queue, an interface's own queue, more
// pool slots for pack and more runs at once.
const spreadYAML = `
workdir: /var/lib/chama
sources:
  hdfs1: {type: hdfs, namenodes: ["nn1:8020"], user: hive}
targets:
  panda:
    primary: [{host: 127.0.0.1, port: 2222}]
    user: chama
    auth: {key_file: /etc/chama/id_ed25519}
    known_hosts: /etc/chama/known_hosts
    dir: /incoming
airflow:
  pool: chama
  pool_slots: {pack: 4}
  queue: default
  queues: {"51007": big}
  max_active_runs: 3
  max_active_tasks: 64
transform:
  ods:
    events:
      source: hdfs1
      path: ods/events/dt={date}/hour={hour}
      columns: {event_id: string, data_source_id: string}
  dwd:
    events: {from: events}
  ads:
    "51006":
      from: events
      filter: data_source_id in ["a", "b"]
      columns: {event_id: event_id}
    "51010":
      from: events
      filter: data_source_id in ["c"]
      columns: {event_id: event_id}
interfaces:
  CM001:
    source: hdfs1
    path: ads/cm001/dt={date}/hour={hour}
    partition_field: 5
    routes: [{target: panda, dir: /incoming/province}]
  "51007":
    source: hdfs1
    path: ads/51007/dt={date}/hour={hour}
    hourly_pack: true
    routes: [{target: panda}]
  "51006":
    from: transform
    hourly_pack: true
    routes: [{target: panda}]
  "51010":
    from: transform
    hourly_pack: true
    routes: [{target: panda}]
`

// spreadConfig parses spreadYAML.
func spreadConfig(t *testing.T) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(spreadYAML))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// node is a task as Airflow sees it.
type node struct {
	Upstream  []string `json:"upstream"`
	Pool      *string  `json:"pool"`
	PoolSlots int      `json:"pool_slots"`
	Queue     *string  `json:"queue"`
	Args      []string `json:"args"` // as rendered for the run of 2024-12-12 (graph.py)
}

// graphOf expands the model of a DAG the way the template writes it: the
// ODS tables' pulls (per hour or not), each hour chain once per hour
// (after its table's pull of the hour), each hour's last task and the
// tasks of the chain in order (after its table's pull, every hour of it,
// when it has no hours), the report after every chain's last task. Only
// the upstream ids are filled in.
func graphOf(d dag) map[string]*node {
	g := map[string]*node{}
	add := func(id string, up ...string) {
		if g[id] != nil {
			panic("duplicate task id " + id)
		}
		g[id] = &node{Upstream: up}
	}
	pullIDs := map[*pull][]string{}
	for _, p := range d.Pulls {
		if !p.Hourly {
			pullIDs[p] = []string{p.Task.Name}
		} else {
			for _, hh := range hours {
				pullIDs[p] = append(pullIDs[p], p.Task.Name+"_"+hh)
			}
		}
		for _, id := range pullIDs[p] {
			add(id)
		}
	}
	var last []string
	for _, c := range d.Chains {
		var hourEnds []string
		for h, hh := range hours {
			var prev []string
			if c.Pull != nil && len(c.Hour) > 0 {
				prev = []string{pullIDs[c.Pull][h]}
			}
			for _, t := range c.Hour {
				id := t.Name + "_" + hh
				add(id, prev...)
				prev = []string{id}
			}
			if len(c.Hour) > 0 {
				hourEnds = append(hourEnds, prev...)
			}
		}
		prev := hourEnds
		if len(c.Hour) == 0 && c.Pull != nil {
			prev = pullIDs[c.Pull]
		}
		for _, t := range c.Tasks {
			add(t.Name, prev...)
			prev = []string{t.Name}
		}
		last = append(last, prev...)
	}
	if d.Report != nil {
		add(d.Report.Name, last...)
	}
	for _, n := range g {
		slices.Sort(n.Upstream)
	}
	return g
}

// TestRenderSpreadsWork renders the four-interface config: the hourly
// interfaces' 24 hours run side by side in the daily DAG and all of them
// come before the day's assembly; the two transform interfaces' hours
// wait for one pull of their ODS table's hour; every task has the pool
// and its queue; runs of different days go side by side.
func TestRenderSpreadsWork(t *testing.T) {
	c := spreadConfig(t)
	o := Options{Config: c, ConfigPath: "/etc/chama/chama.yaml", Binary: "/usr/local/bin/chama"}
	v, err := build(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.DAGs) != 1 || v.DAGs[0].ID != "chama" {
		t.Fatalf("want the daily DAG alone, got %d DAGs", len(v.DAGs))
	}
	d := v.DAGs[0]
	if d.MaxActiveRuns != 3 || d.MaxActiveTasks != 64 {
		t.Errorf("max_active_runs %d, max_active_tasks %d", d.MaxActiveRuns, d.MaxActiveTasks)
	}

	// The graph wanted: task id -> upstream ids, and its stage and queue.
	want := map[string]*node{}
	stageOf, queueOf := map[string]string{}, map[string]string{}
	put := func(id, stage, queue string, up ...string) {
		slices.Sort(up)
		want[id] = &node{Upstream: up}
		stageOf[id], queueOf[id] = stage, queue
	}
	put("pull_CM001", "pull", "default")
	put("pack_CM001", "pack", "default", "pull_CM001")
	put("push_CM001", "push", "default", "pack_CM001")
	put("verify_CM001", "verify", "default", "push_CM001")
	var hours51007, hours51006, hours51010 []string
	for h := 0; h < 24; h++ {
		hh := fmt.Sprintf("%02d", h)
		put("pull_51007_"+hh, "pull", "big")
		put("pack_51007_"+hh, "pack", "big", "pull_51007_"+hh)
		hours51007 = append(hours51007, "pack_51007_"+hh)
		// From transform: the ODS table's hour, pulled once for both.
		put("pull_ods_events_"+hh, "pull", "default")
		put("pack_51006_"+hh, "pack", "default", "pull_ods_events_"+hh)
		hours51006 = append(hours51006, "pack_51006_"+hh)
		put("pack_51010_"+hh, "pack", "default", "pull_ods_events_"+hh)
		hours51010 = append(hours51010, "pack_51010_"+hh)
	}
	put("pack_51007", "pack", "big", hours51007...) // the assembly waits for every hour
	put("push_51007", "push", "big", "pack_51007")
	put("verify_51007", "verify", "big", "push_51007")
	put("pack_51006", "pack", "default", hours51006...)
	put("push_51006", "push", "default", "pack_51006")
	put("verify_51006", "verify", "default", "push_51006")
	put("pack_51010", "pack", "default", hours51010...)
	put("push_51010", "push", "default", "pack_51010")
	put("verify_51010", "verify", "default", "push_51010")
	put("report_volume", "report", "default", "verify_51006", "verify_51007", "verify_51010", "verify_CM001")
	if len(want) != 4+48+3+24+24+3+24+3+1 {
		t.Fatalf("want holds %d tasks", len(want))
	}

	got := graphOf(d)
	for id, w := range want {
		if g := got[id]; g == nil {
			t.Errorf("no task %s", id)
		} else if !slices.Equal(g.Upstream, w.Upstream) {
			t.Errorf("%s: upstream %v, want %v", id, g.Upstream, w.Upstream)
		}
	}
	for id := range got {
		if want[id] == nil {
			t.Errorf("unexpected task %s", id)
		}
	}
	// Every task of the model has the pool, its stage's slots and its
	// interface's queue.
	if len(d.Pulls) != 1 {
		t.Fatalf("%d table pulls, want events alone", len(d.Pulls))
	}
	if k := d.Pulls[0].Task.Kw; k != `, pool="chama", queue="default"` {
		t.Errorf("pull_ods_events: keywords %q", k)
	}
	for _, ch := range d.Chains {
		for _, tk := range append(slices.Clone(ch.Hour), ch.Tasks...) {
			id := tk.Name
			if len(ch.Hour) > 0 && slices.Contains(ch.Hour, tk) {
				id += "_07"
			}
			wantKw := `, pool="chama"`
			if stageOf[id] == "pack" {
				wantKw += ", pool_slots=4"
			}
			wantKw += `, queue="` + queueOf[id] + `"`
			if tk.Kw != wantKw {
				t.Errorf("%s: keywords %q, want %q", tk.Name, tk.Kw, wantKw)
			}
		}
	}
	if k := d.Report.Kw; k != `, retries=0, trigger_rule="all_done", pool="chama", queue="default"` {
		t.Errorf("report_volume: keywords %q", k)
	}

	// The file: as saved in testdata (quoted in docs and notes), and what
	// it says verbatim.
	var b bytes.Buffer
	if err := Render(&b, o); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "dag_spread.py")
	if os.Getenv("CHAMA_UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if w, err := os.ReadFile(golden); err != nil {
		t.Fatal(err)
	} else if b.String() != string(w) {
		t.Errorf("rendered DAG differs from %s (CHAMA_UPDATE_GOLDEN=1 rewrites it; review the diff):\n%s", golden, b.String())
	}
	for _, s := range []string{
		"    max_active_runs=3,\n    max_active_tasks=64,\n",
		`        pull_51007_hh = chama("pull_51007_" + HH, ["pull", "--date", HOUR, "--iface", "51007"], pool="chama", queue="big")`,
		`        pack_51007_hh = chama("pack_51007_" + HH, ["pack", "--date", HOUR, "--iface", "51007"], pool="chama", pool_slots=4, queue="big")`,
		"        pull_51007_hh >> pack_51007_hh\n        hours_51007.append(pack_51007_hh)\n",
		`    hours_51007 >> pack_51007 >> push_51007 >> verify_51007`,
		"        hours_51006.append(pack_51006_hh)\n",
		`    hours_51006 >> pack_51006 >> push_51006 >> verify_51006`,
		"    pull_ods_events = {}\n    for HH in HOURS:\n        HOUR = DAY + HH\n" +
			`        pull_ods_events[HH] = chama("pull_ods_events_" + HH, ["pull", "--date", HOUR, "--iface", "51006,51010"], pool="chama", queue="default")` + "\n",
		"        pull_ods_events[HH] >> pack_51006_hh\n        hours_51006.append(pack_51006_hh)\n",
		"        pull_ods_events[HH] >> pack_51010_hh\n        hours_51010.append(pack_51010_hh)\n",
		`    pull_CM001 >> pack_CM001 >> push_CM001 >> verify_CM001`,
	} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("DAG lacks %q", s)
		}
	}

	// What Airflow makes of the file (when python3 is installed): it
	// parses, and importing it with the stand-in Airflow gives the same
	// graph, with the pool, slots and queues, and chama's arguments.
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed: the file was not parsed nor imported")
	}
	if out, err := exec.Command(py, "-c", "import ast,sys; ast.parse(open(sys.argv[1]).read())", golden).CombinedOutput(); err != nil {
		t.Fatalf("not valid Python: %v\n%s", err, out)
	}
	dagFile := filepath.Join(t.TempDir(), "dag.py")
	if err := os.WriteFile(dagFile, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	script, _ := filepath.Abs(filepath.Join("testdata", "graph.py"))
	cmd := exec.Command(py, script, dagFile)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("importing the DAG: %v\n%s", err, stderr.String())
	}
	var dags map[string]struct {
		Kw    map[string]any   `json:"kw"`
		Tasks map[string]*node `json:"tasks"`
	}
	if err := json.Unmarshal(out, &dags); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	pd, ok := dags["chama"]
	if len(dags) != 1 || !ok {
		t.Fatalf("DAGs %v, want chama alone", slices.Collect(maps.Keys(dags)))
	}
	if pd.Kw["max_active_runs"] != float64(3) || pd.Kw["max_active_tasks"] != float64(64) || pd.Kw["catchup"] != false {
		t.Errorf("DAG arguments %v", pd.Kw)
	}
	if len(pd.Tasks) != len(want) {
		t.Errorf("Python sees %d tasks, want %d", len(pd.Tasks), len(want))
	}
	for id, w := range want {
		g := pd.Tasks[id]
		if g == nil {
			t.Errorf("Python: no task %s", id)
			continue
		}
		if !slices.Equal(g.Upstream, w.Upstream) {
			t.Errorf("Python: %s: upstream %v, want %v", id, g.Upstream, w.Upstream)
		}
		slots := 1
		if stageOf[id] == "pack" {
			slots = 4
		}
		if g.Pool == nil || *g.Pool != "chama" || g.PoolSlots != slots || g.Queue == nil || *g.Queue != queueOf[id] {
			t.Errorf("Python: %s: pool %v, slots %d, queue %v; want chama, %d, %s", id, deref(g.Pool), g.PoolSlots, deref(g.Queue), slots, queueOf[id])
		}
	}
	for id, args := range map[string]string{
		"pull_51007_00":      "pull --date 2024121200 --iface 51007",
		"pack_51007_23":      "pack --date 2024121223 --iface 51007",
		"pack_51007":         "pack --date 20241212 --iface 51007",
		"pack_51006_07":      "pack --date 2024121207 --iface 51006",
		"pack_51006":         "pack --date 20241212 --iface 51006",
		"pull_ods_events_07": "pull --date 2024121207 --iface 51006,51010",
		"pull_ods_events_23": "pull --date 2024121223 --iface 51006,51010",
		"push_51006":         "push --date 20241212 --iface 51006",
		"verify_CM001":       "verify --date 20241212 --iface CM001 --remote",
		"report_volume":      "report volume --date 20241212 --iface 51006,51007,51010,CM001",
	} {
		if g := pd.Tasks[id]; g != nil && strings.Join(g.Args, " ") != args {
			t.Errorf("Python: %s runs chama %q, want %q", id, strings.Join(g.Args, " "), args)
		}
	}
}

func deref(p *string) string {
	if p == nil {
		return "<none>"
	}
	return *p
}

// An interface name becomes part of Python names: one that is not letters
// and digits (the config refuses it; a config built in code might not) is
// refused, never written.
func TestRenderRefusesOddInterfaceNames(t *testing.T) {
	c, err := config.Parse([]byte(cfgYAML))
	if err != nil {
		t.Fatal(err)
	}
	i := c.Interfaces["51007"]
	i.Name = "x = 1\nimport os"
	var b bytes.Buffer
	if err := Render(&b, Options{Config: c, Ifaces: []*config.Interface{i}}); err == nil || b.Len() != 0 {
		t.Fatalf("rendered (%v):\n%s", err, b.String())
	}
}

// tablesYAML has from: transform interfaces over ODS tables: events on
// HDFS, read by 51006 (hourly_pack) and 51010 (a day) on the default
// queue and by 51040 on its own queue; clicks.v2 on HDFS read by 51020,
// an hourly interface; x-y and x.y on HDFS (their Python names meet),
// read by 51050 and 51060; files on a file source, read by 51030.
const tablesYAML = `
workdir: /var/lib/chama
sources:
  hdfs1: {type: hdfs, namenodes: ["nn1:8020"], user: hive}
  local: {type: file, root: /data}
airflow:
  queues: {"51040": big}
transform:
  ods:
    events: {source: hdfs1, path: "ods/events/dt={date}/hour={hour}", columns: {id: string}}
    clicks.v2: {source: hdfs1, path: "ods/clicks/dt={date}/hour={hour}", columns: {id: string}}
    x-y: {source: hdfs1, path: "ods/xy1/dt={date}", columns: {id: string}}
    x.y: {source: hdfs1, path: "ods/xy2/dt={date}", columns: {id: string}}
    files: {source: local, path: "ods/files/dt={date}/hour={hour}", columns: {id: string}}
  dwd:
    events: {from: events}
    clicks: {from: clicks.v2}
    xy1: {from: x-y}
    xy2: {from: x.y}
    files: {from: files}
  ads:
    "51006": {from: events, columns: {id: id}}
    "51010": {from: events, columns: {id: id}}
    "51040": {from: events, columns: {id: id}}
    "51020": {from: clicks, columns: {id: id}}
    "51050": {from: xy1, columns: {id: id}}
    "51060": {from: xy2, columns: {id: id}}
    "51030": {from: files, columns: {id: id}}
interfaces:
  "51006": {from: transform, hourly_pack: true}
  "51010": {from: transform}
  "51040": {from: transform}
  "51020": {from: transform, granularity: hour,
    file_name: "a_10000_{period}_{iface}_{resend:02}_{seq}.dat.gz", verf_name: "a_10000_{period}_{iface}_{resend:02}.verf"}
  "51050": {from: transform}
  "51060": {from: transform}
  "51030": {from: transform}
`

// TestRenderTablePulls: the from: transform interfaces whose ODS table is
// on HDFS get one pull of the table per DAG and queue, for all of them
// (chama pull --iface A,B stages it once; two pulls of a partition at
// once would make one of them busy): hour by hour when one of them is
// hourly_pack, its hour packs waiting for their hour and a day pack for
// every hour; a table on a file source gets none.
func TestRenderTablePulls(t *testing.T) {
	c, err := config.Parse([]byte(tablesYAML))
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Config: c, ConfigPath: "/etc/chama/chama.yaml", Binary: "chama"}
	v, err := build(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.DAGs) != 2 {
		t.Fatalf("%d DAGs, want the daily and the hourly", len(v.DAGs))
	}
	type pulled struct{ name, v, ifaces string }
	var pulls [][]pulled
	for _, d := range v.DAGs {
		var ps []pulled
		for _, p := range d.Pulls {
			ps = append(ps, pulled{p.Task.Name, p.Task.Var, strings.Join(p.Ifaces, ",")})
		}
		pulls = append(pulls, ps)
	}
	wantPulls := [][]pulled{
		{
			{"pull_ods_events_51006", "pull_ods_events_51006", "51006,51010"}, // two queues: told apart
			{"pull_ods_events_51040", "pull_ods_events_51040", "51040"},
			{"pull_ods_x-y", "pull_ods_x_y", "51050"},
			{"pull_ods_x.y", "pull_ods_x_y_2", "51060"},
		},
		{{"pull_ods_clicks.v2", "pull_ods_clicks_v2", "51020"}},
	}
	if !slices.EqualFunc(pulls, wantPulls, slices.Equal) {
		t.Fatalf("pulls %v\nwant  %v", pulls, wantPulls)
	}

	want := map[string]map[string]*node{"chama": {}, "chama_hourly": {}}
	put := func(dag, id string, up ...string) {
		slices.Sort(up)
		want[dag][id] = &node{Upstream: up}
	}
	var evHours, hours51006 []string
	for h := 0; h < 24; h++ {
		hh := fmt.Sprintf("%02d", h)
		put("chama", "pull_ods_events_51006_"+hh)
		put("chama", "pack_51006_"+hh, "pull_ods_events_51006_"+hh)
		evHours = append(evHours, "pull_ods_events_51006_"+hh)
		hours51006 = append(hours51006, "pack_51006_"+hh)
	}
	put("chama", "pack_51006", hours51006...)
	put("chama", "pack_51010", evHours...) // a day: every hour pulled first
	put("chama", "pull_ods_events_51040")
	put("chama", "pack_51040", "pull_ods_events_51040")
	put("chama", "pull_ods_x-y")
	put("chama", "pack_51050", "pull_ods_x-y")
	put("chama", "pull_ods_x.y")
	put("chama", "pack_51060", "pull_ods_x.y")
	put("chama", "pack_51030") // a file source: nothing to pull
	var verifies []string
	for _, i := range []string{"51006", "51010", "51030", "51040", "51050", "51060"} {
		put("chama", "verify_"+i, "pack_"+i)
		verifies = append(verifies, "verify_"+i)
	}
	put("chama", "report_volume", verifies...)
	put("chama_hourly", "pull_ods_clicks.v2")
	put("chama_hourly", "pack_51020", "pull_ods_clicks.v2")
	put("chama_hourly", "verify_51020", "pack_51020")

	for _, d := range v.DAGs {
		got := graphOf(d)
		if len(got) != len(want[d.ID]) {
			t.Errorf("%s: %d tasks, want %d", d.ID, len(got), len(want[d.ID]))
		}
		for id, w := range want[d.ID] {
			if g := got[id]; g == nil || !slices.Equal(g.Upstream, w.Upstream) {
				t.Errorf("%s: %s: %v, want upstream %v", d.ID, id, g, w.Upstream)
			}
		}
	}
	for _, p := range v.DAGs[0].Pulls {
		if p.Task.Name == "pull_ods_events_51040" && p.Task.Kw != `, queue="big"` {
			t.Errorf("%s: keywords %q, want 51040's queue", p.Task.Name, p.Task.Kw)
		}
	}

	// What Airflow makes of the file: the same graph and arguments.
	var b bytes.Buffer
	if err := Render(&b, o); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"    # ODS table events, pulled once for 51006, 51010, hour by hour\n",
		`        pull_ods_events_51006[HH] = chama("pull_ods_events_51006_" + HH, ["pull", "--date", HOUR, "--iface", "51006,51010"])`,
		"        pull_ods_events_51006[HH] >> pack_51006_hh\n",
		"    list(pull_ods_events_51006.values()) >> pack_51010 >> verify_51010\n",
		"    pull_ods_events_51040 >> pack_51040 >> verify_51040\n",
		"    pull_ods_clicks_v2 >> pack_51020 >> verify_51020\n",
		"    pack_51030 >> verify_51030\n",
	} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("DAG lacks %q", s)
		}
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed: the file was not imported")
	}
	dagFile := filepath.Join(t.TempDir(), "dag.py")
	if err := os.WriteFile(dagFile, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	script, _ := filepath.Abs(filepath.Join("testdata", "graph.py"))
	cmd := exec.Command(py, script, dagFile)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("importing the DAG: %v\n%s", err, stderr.String())
	}
	var dags map[string]struct {
		Tasks map[string]*node `json:"tasks"`
	}
	if err := json.Unmarshal(out, &dags); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for id, w := range want {
		if len(dags[id].Tasks) != len(w) {
			t.Errorf("Python: %s has %d tasks, want %d", id, len(dags[id].Tasks), len(w))
		}
		for tid, wn := range w {
			if g := dags[id].Tasks[tid]; g == nil || !slices.Equal(g.Upstream, wn.Upstream) {
				t.Errorf("Python: %s.%s: %v, want upstream %v", id, tid, g, wn.Upstream)
			}
		}
	}
	for id, args := range map[string]string{
		"chama/pull_ods_events_51006_07":  "pull --date 2024121207 --iface 51006,51010",
		"chama/pull_ods_events_51040":     "pull --date 20241212 --iface 51040",
		"chama/pull_ods_x.y":              "pull --date 20241212 --iface 51060",
		"chama_hourly/pull_ods_clicks.v2": "pull --date 2024121207 --iface 51020",
		"chama/pack_51010":                "pack --date 20241212 --iface 51010",
	} {
		d, tid, _ := strings.Cut(id, "/")
		if g := dags[d].Tasks[tid]; g == nil || strings.Join(g.Args, " ") != args {
			t.Errorf("Python: %s runs %v, want chama %q", id, g, args)
		}
	}
}

// Two tasks of one id would make Airflow refuse the file: an ODS table
// named so that its pull meets the hour pulls of another is refused when
// the DAG is built, naming the id.
func TestRenderRefusesTwoTasksOfOneID(t *testing.T) {
	y := strings.Replace(tablesYAML, "    files: {source: local,", "    events_07: {source: hdfs1, path: \"ods/e7/dt={date}\", columns: {id: string}}\n    files: {source: local,", 1)
	y = strings.Replace(y, "    files: {from: files}\n", "    files: {from: files}\n    e7: {from: events_07}\n", 1)
	y = strings.Replace(y, `    "51030": {from: files, columns: {id: id}}`+"\n", `    "51030": {from: files, columns: {id: id}}`+"\n"+`    "51070": {from: e7, columns: {id: id}}`+"\n", 1)
	y += `  "51070": {from: transform}` + "\n"
	// events on one queue: its hour pulls are pull_ods_events_HH.
	y = strings.Replace(y, `  queues: {"51040": big}`, `  queue: default`, 1)
	c, err := config.Parse([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	err = Render(&b, Options{Config: c})
	if err == nil || !strings.Contains(err.Error(), "pull_ods_events_07") || b.Len() != 0 {
		t.Fatalf("rendered (%v):\n%s", err, b.String())
	}
}

// With a shared chunk store the hours run on any worker, but an
// hourly_pack interface's assembly, push and verify read one workdir: they
// are one task, chama run, after all 24 hours.
func TestRenderChunkStoreDeliversInOneTask(t *testing.T) {
	y := strings.Replace(spreadYAML, "workdir: /var/lib/chama\n", "workdir: /var/lib/chama\nledger: {driver: postgres, dsn_env: CHAMA_LEDGER_DSN}\nchunk_store: {type: file, dir: /mnt/chama/chunks}\n", 1)
	c, err := config.Parse([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	v, err := build(Options{Config: c})
	if err != nil {
		t.Fatal(err)
	}
	g := graphOf(v.DAGs[0])
	run := g["run_51007"]
	if run == nil {
		t.Fatalf("no run_51007 task: %v", keysOf(g))
	}
	for _, id := range []string{"push_51007", "verify_51007", "pack_51007"} {
		if g[id] != nil {
			t.Errorf("%s rendered beside run_51007", id)
		}
	}
	for h := range 24 {
		if !slices.Contains(run.Upstream, fmt.Sprintf("pack_51007_%02d", h)) {
			t.Errorf("run_51007 does not wait for hour %02d: %v", h, run.Upstream)
		}
	}
	if g["push_CM001"] == nil {
		t.Error("a plain interface lost its push task")
	}
	// An hour's pull would land on one worker and its pack run on another:
	// the spread hours read the source themselves.
	for id := range g {
		if strings.HasPrefix(id, "pull_51007") || strings.HasPrefix(id, "pull_ods_") {
			t.Errorf("%s rendered with a chunk store", id)
		}
	}
	if g["pull_CM001"] == nil {
		t.Error("a plain interface lost its pull task")
	}
}

func keysOf(g map[string]*node) []string {
	var out []string
	for k := range g {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
