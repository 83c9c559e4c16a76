package config

import (
	"os"
	"strings"
	"testing"
)

const airflowBase = `workdir: w
sources:
  s: {type: file, root: r}
interfaces:
  "51007": {source: s, path: "dt={date}/hour={hour}", hourly_pack: true}
  CM001: {source: s, path: "dt={date}/hour={hour}", partition_field: 3}
`

// Without the section every key has its default: Airflow's own pool and
// queue, one slot a task, DefaultMaxActiveRuns.
func TestAirflowDefaults(t *testing.T) {
	c, err := Parse([]byte(airflowBase))
	if err != nil {
		t.Fatal(err)
	}
	a := c.Airflow
	if a != nil || a.PoolName() != "" || a.QueueFor("51007") != "" || a.Slots("pack") != 1 || a.RunsAtOnce() != DefaultMaxActiveRuns || a.TasksAtOnce() != 0 {
		t.Errorf("defaults: %+v pool %q queue %q slots %d runs %d tasks %d", a, a.PoolName(), a.QueueFor("51007"), a.Slots("pack"), a.RunsAtOnce(), a.TasksAtOnce())
	}
	c, err = Parse([]byte(airflowBase + "airflow: {pool: chama}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if a := c.Airflow; a.PoolName() != "chama" || a.Slots("push") != 1 || a.QueueFor("") != "" || a.RunsAtOnce() != DefaultMaxActiveRuns {
		t.Errorf("pool only: %+v", a)
	}
}

func TestAirflowSection(t *testing.T) {
	c, err := Parse([]byte(airflowBase + `airflow:
  pool: chama
  pool_slots: {pack: 4, push: 2}
  queue: default
  queues: {"51007": big-1.a}
  max_active_runs: 3
  max_active_tasks: 64
`))
	if err != nil {
		t.Fatal(err)
	}
	a := c.Airflow
	for _, tc := range []struct {
		what      string
		got, want any
	}{
		{"pool", a.PoolName(), "chama"},
		{"slots pack", a.Slots("pack"), 4},
		{"slots push", a.Slots("push"), 2},
		{"slots pull", a.Slots("pull"), 1},
		{"queue 51007", a.QueueFor("51007"), "big-1.a"},
		{"queue CM001", a.QueueFor("CM001"), "default"},
		{"queue report", a.QueueFor(""), "default"},
		{"runs", a.RunsAtOnce(), 3},
		{"tasks", a.TasksAtOnce(), 64},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %v, want %v", tc.what, tc.got, tc.want)
		}
	}
}

// Every problem of the section is reported at once, with its key path.
func TestAirflowValidation(t *testing.T) {
	_, err := Parse([]byte(airflowBase + `airflow:
  pool: "chama pool"
  pool_slots: {pak: 2, push: 0}
  queue: "-q"
  queues: {"51007": "", "99999": x, CM001: "a;b"}
  max_active_runs: -1
  max_active_tasks: -2
`))
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{
		`airflow.pool: "chama pool" is not a pool name: letters, digits, '_', '.' and '-', starting with a letter or digit`,
		`airflow.pool_slots.pak: unknown stage "pak" (stages: pull, pack, push, verify, report)`,
		`airflow.pool_slots.push: 0: a task takes at least 1 slot`,
		`airflow.queue: "-q" is not a queue name`,
		`airflow.queues.51007: empty: name a queue, or remove the entry to use airflow.queue`,
		`airflow.queues.99999: unknown interface "99999" (configured: 51007, CM001)`,
		`airflow.queues.CM001: "a;b" is not a queue name`,
		`airflow.max_active_runs: -1: want 1 or more (default 2)`,
		`airflow.max_active_tasks: -2: want 1 or more`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in\n%s", want, msg)
		}
	}
	if n := strings.Count(msg, "\n  airflow."); n != 9 {
		t.Errorf("%d airflow problems, want 9:\n%s", n, msg)
	}
	// A mistyped key names the section and the nearest key.
	_, err = Parse([]byte(airflowBase + "airflow: {queus: {}}\n"))
	if err == nil || !strings.Contains(err.Error(), `airflow.queus: unknown key "queus" (did you mean queue`) {
		t.Errorf("unknown key: %v", err)
	}
	if _, err := Parse([]byte(airflowBase + "airflow: {pool: " + strings.Repeat("p", 257) + "}\n")); err == nil || !strings.Contains(err.Error(), "airflow.pool: a pool name of 257 bytes: at most 256") {
		t.Errorf("long pool: %v", err)
	}
}

// The example of docs/operations.md loads, and its error lines are what
// the config says.
func TestAirflowDocExample(t *testing.T) {
	data, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	i := strings.Index(s, "#### Pools, queues and runs at once")
	if i < 0 {
		t.Fatal("docs/operations.md has no airflow section")
	}
	s = s[i:]
	start := strings.Index(s, "```yaml\n")
	if start < 0 {
		t.Fatal("no yaml example in the airflow section")
	}
	y := s[start+len("```yaml\n"):]
	y = y[:strings.Index(y, "```")]
	c, err := Parse([]byte(airflowBase + y))
	if err != nil {
		t.Fatalf("the example does not load:\n%v", err)
	}
	if a := c.Airflow; a.PoolName() != "chama" || a.Slots("pack") != 4 || a.QueueFor("51007") != "chama-big" || a.QueueFor("CM001") != "chama-prov" || a.RunsAtOnce() != 2 || a.TasksAtOnce() != 64 {
		t.Errorf("the example loaded oddly: %+v", a)
	}
	_, err = Parse([]byte(airflowBase + "airflow:\n  pool_slots: {pak: 1}\n  queues: {\"51008\": q}\n"))
	for _, line := range []string{
		`airflow.pool_slots.pak: unknown stage "pak" (stages: pull, pack, push, verify, report)`,
		`airflow.queues.51008: unknown interface "51008" (configured: 51007, CM001)`,
	} {
		if !strings.Contains(s, line) {
			t.Errorf("the docs lack %q", line)
		}
		if err == nil || !strings.Contains(err.Error(), line) {
			t.Errorf("the config does not say %q: %v", line, err)
		}
	}
}
