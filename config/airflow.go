package config

import (
	"regexp"
	"slices"
	"strings"
)

// Airflow tunes the DAG that `chama airflow-dag` renders (internal/airflow):
// which Airflow pool and executor queue its tasks use and how many runs
// and tasks go at once. The section and each key are optional; the
// methods below give the defaults, on a nil *Airflow too.
type Airflow struct {
	// Pool is the Airflow pool every task takes slots of (create it in
	// Airflow first: `airflow pools set chama 32 "chama"`, or a task
	// never starts). "" (default): Airflow's default_pool.
	Pool string `yaml:"pool"`
	// PoolSlots are the slots a task of a stage takes, by stage: pull,
	// pack (an hour, a day or an assembly), push, verify, report. A
	// stage not listed takes 1 slot.
	PoolSlots map[string]int `yaml:"pool_slots"`
	// Queue is the executor queue of every task (Celery: the queue its
	// workers serve, `airflow celery worker -q NAME`). "" (default):
	// the executor's default queue.
	Queue string `yaml:"queue"`
	// Queues gives every task of an interface (its hours, its day) the
	// queue of the machine or machine group that holds its workdir,
	// instead of Queue: {"51007": big, CM001: prov}.
	Queues map[string]string `yaml:"queues"`
	// MaxActiveRuns is how many runs of each DAG go at once (default
	// DefaultMaxActiveRuns): different days (hours in the hourly DAG),
	// which never share a unit of work.
	MaxActiveRuns int `yaml:"max_active_runs"`
	// MaxActiveTasks caps the running tasks of each DAG, over all its
	// runs. 0 (default): Airflow's [core] max_active_tasks_per_dag (16
	// unless changed there), which 24 hour tasks per interface reach
	// quickly.
	MaxActiveTasks int `yaml:"max_active_tasks"`
}

// DefaultMaxActiveRuns is airflow.max_active_runs when unset: yesterday's
// run may still be retrying (an hour not ready, a push) when today's
// starts, and need not hold it up.
const DefaultMaxActiveRuns = 2

// AirflowStages are the keys of airflow.pool_slots: chama's stages as
// the DAG runs them, and the closing volume report.
var AirflowStages = []string{"pull", "pack", "push", "verify", "report"}

// airflowName is what a pool or queue name may be: Celery routing keys
// and Airflow pool names take more, but a name of this shape means the
// same thing in the DAG file, the Airflow UI, a worker's -q flag and a
// shell.
var airflowName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// maxAirflowName is the longest pool or queue name (Airflow keeps a pool
// name in 256 characters).
const maxAirflowName = 256

// PoolName is the pool of every task; "" for Airflow's default_pool.
func (a *Airflow) PoolName() string {
	if a == nil {
		return ""
	}
	return a.Pool
}

// Slots is the pool slots a task of stage takes (1 unless configured).
func (a *Airflow) Slots(stage string) int {
	if a == nil || a.PoolSlots[stage] < 1 {
		return 1
	}
	return a.PoolSlots[stage]
}

// QueueFor is the queue of the tasks of interface iface ("" for a task of
// no single interface, such as the volume report): its own queue, else
// Queue; "" for the executor's default queue.
func (a *Airflow) QueueFor(iface string) string {
	if a == nil {
		return ""
	}
	if q := a.Queues[iface]; q != "" {
		return q
	}
	return a.Queue
}

// RunsAtOnce is max_active_runs or its default.
func (a *Airflow) RunsAtOnce() int {
	if a == nil || a.MaxActiveRuns == 0 {
		return DefaultMaxActiveRuns
	}
	return a.MaxActiveRuns
}

// TasksAtOnce is max_active_tasks; 0 leaves Airflow's default.
func (a *Airflow) TasksAtOnce() int {
	if a == nil {
		return 0
	}
	return a.MaxActiveTasks
}

// validate checks the airflow section (Config.Validate), every problem
// with its key path.
func (a *Airflow) validate(c *Config, bad func(key, format string, a ...any)) {
	if a == nil {
		return
	}
	checkAirflowName("airflow.pool", "pool", a.Pool, bad)
	for _, stage := range sortedKeys(a.PoolSlots) {
		key := "airflow.pool_slots." + stage
		if !slices.Contains(AirflowStages, stage) {
			bad(key, "unknown stage %q (stages: %s)", stage, strings.Join(AirflowStages, ", "))
		} else if n := a.PoolSlots[stage]; n < 1 {
			bad(key, "%d: a task takes at least 1 slot", n)
		}
	}
	checkAirflowName("airflow.queue", "queue", a.Queue, bad)
	for _, iface := range sortedKeys(a.Queues) {
		key := "airflow.queues." + iface
		if _, ok := c.Interfaces[iface]; !ok {
			bad(key, "unknown interface %q (configured: %s)", iface, strings.Join(c.InterfaceNames(), ", "))
			continue
		}
		if a.Queues[iface] == "" {
			bad(key, "empty: name a queue, or remove the entry to use airflow.queue")
			continue
		}
		checkAirflowName(key, "queue", a.Queues[iface], bad)
	}
	if a.MaxActiveRuns < 0 {
		bad("airflow.max_active_runs", "%d: want 1 or more (default %d)", a.MaxActiveRuns, DefaultMaxActiveRuns)
	}
	if a.MaxActiveTasks < 0 {
		bad("airflow.max_active_tasks", "%d: want 1 or more, or leave it out for Airflow's max_active_tasks_per_dag", a.MaxActiveTasks)
	}
}

// checkAirflowName checks a pool or queue name; "" means unset.
func checkAirflowName(key, what, name string, bad func(key, format string, a ...any)) {
	switch {
	case name == "":
	case len(name) > maxAirflowName:
		bad(key, "a %s name of %d bytes: at most %d", what, len(name), maxAirflowName)
	case !airflowName.MatchString(name):
		bad(key, "%q is not a %s name: letters, digits, '_', '.' and '-', starting with a letter or digit", name, what)
	}
}
