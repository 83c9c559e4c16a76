package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/chunkstore"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/hdfstest"
	"github.com/chama-data/chama/internal/pgtest"
)

// Several interface machines: separate chama processes, each with its own
// workdir, sharing one PostgreSQL ledger (leases) and one chunk store.

const machinesDSNEnv = "CHAMA_TEST_MACHINES_DSN"

const machineConfig = `workdir: "{{WORK}}"
ledger: {driver: postgres, dsn_env: ` + machinesDSNEnv + `, lease_ttl: 10s}
chunk_store: {{CHUNKSTORE}}
sources:
  local: {type: file, root: "{{ROOT}}", ready: none}{{HDFS}}
targets:
  plat:
    primary: [{host: 127.0.0.1, port: {{PORT}}}]
    user: chama
    auth: {key_file: "{{KEY}}"}
    known_hosts: "{{KNOWN_HOSTS}}"
interfaces:
  "51007":
    source: local
    path: ods/events/dt={date}/hour={hour}
    fields: 3
    hourly_pack: true
    lines_per_file: 5
    max_rejects: 1
    routes: [{target: plat, dir: /national}]
`

// cluster is the shared part: the ledger, the store, the source, the
// exchange.
type cluster struct {
	dir, root, store, dsn string
	port                  int
	// hdfs, when set, holds the chunk store on the HDFS test server
	// (namenode addresses), under store (an HDFS path).
	hdfs      []string
	soloStore string // the store of the one-machine run
	remote    string
	events    func() []string // renames into place on the exchange
}

// machine is one chama "machine": a workdir and a config.
type machine struct {
	name, cfg, work string
	cl              *cluster
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	cl := &cluster{dir: t.TempDir(), dsn: pgtest.Start(t)}
	cl.root, cl.store, cl.soloStore = filepath.Join(cl.dir, "root"), filepath.Join(cl.dir, "store"), filepath.Join(cl.dir, "solo-store")
	for _, d := range []string{cl.store, cl.soloStore} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	srv, remote := startExchange(t, cl.dir, "national")
	cl.port, cl.remote = srv.Port(), remote
	cl.events = func() []string {
		var out []string
		for _, e := range srv.Events() {
			if e.Op == "rename" || e.Op == "posix-rename" {
				out = append(out, filepath.Base(e.Target))
			}
		}
		return out
	}
	// 24 hours of rows, some hours empty, one with a bad line.
	for h := range 24 {
		dir := filepath.Join(cl.root, "ods/events/dt=20241212", fmt.Sprintf("hour=%02d", h))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for i := range (h * 7) % 13 {
			fmt.Fprintf(&b, "e%02d%03d\x01%02d\x01payload %d\n", h, i, h, i)
		}
		if h == 9 {
			b.WriteString("broken line\n")
		}
		if err := os.WriteFile(filepath.Join(dir, "000000_0"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return cl
}

func (cl *cluster) machine(t *testing.T, name, store string) *machine {
	t.Helper()
	m := &machine{name: name, work: filepath.Join(cl.dir, name), cl: cl}
	chunkStore, hdfs := fmt.Sprintf("{type: file, dir: %q}", store), ""
	if cl.hdfs != nil {
		chunkStore = fmt.Sprintf("{type: hdfs, dir: %q, source: hdfs1}", store)
		hdfs = fmt.Sprintf("\n  hdfs1: {type: hdfs, namenodes: [%s], user: chama, root: /, hadoop_conf_dir: none}", strings.Join(cl.hdfs, ", "))
	}
	y := strings.NewReplacer("{{WORK}}", m.work, "{{CHUNKSTORE}}", chunkStore, "{{HDFS}}", hdfs, "{{ROOT}}", cl.root, "{{PORT}}", strconv.Itoa(cl.port),
		"{{KEY}}", filepath.Join(cl.dir, "id"), "{{KNOWN_HOSTS}}", filepath.Join(cl.dir, "known_hosts")).Replace(machineConfig)
	m.cfg = filepath.Join(cl.dir, name+".yaml")
	if err := os.WriteFile(m.cfg, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return m
}

// start runs chama on m as a separate process (this test binary, see
// TestMain).
func (m *machine) start(env []string, args ...string) (*exec.Cmd, *strings.Builder) {
	cmd := exec.Command(os.Args[0], append([]string{"--config", m.cfg}, args...)...)
	cmd.Env = append(os.Environ(), "CHAMA_TEST_AS_CHAMA=1", machinesDSNEnv+"="+m.cl.dsn)
	cmd.Env = append(cmd.Env, env...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	return cmd, &out
}

// run runs chama on m and returns its output and exit code.
func (m *machine) run(t *testing.T, args ...string) (string, int, time.Duration) {
	t.Helper()
	start := time.Now()
	cmd, out := m.start(nil, args...)
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%s: %v", m.name, err)
	}
	return out.String(), cmd.ProcessState.ExitCode(), time.Since(start)
}

// runUntilDone runs chama until it exits 0, again after each exit 3
// (busy: another machine holds the unit; safe to retry), as Airflow's
// retries would.
func (m *machine) runUntilDone(t *testing.T, args ...string) (string, time.Duration, int) {
	t.Helper()
	start := time.Now()
	for tries := 1; ; tries++ {
		out, code, _ := m.run(t, args...)
		switch code {
		case 0:
			return out, time.Since(start), tries
		case exit.Partial:
			time.Sleep(20 * time.Millisecond)
		default:
			t.Errorf("%s: chama %s: exit %d\n%s", m.name, strings.Join(args, " "), code, out)
			return out, time.Since(start), tries
		}
	}
}

func (m *machine) out(t *testing.T) map[string]string {
	return readOutput(t, filepath.Join(m.work, "out"))
}

func (cl *cluster) storeVersions(t *testing.T, dir string) map[string][]*chunkstore.Version {
	t.Helper()
	c := &config.Config{ChunkStore: &config.ChunkStore{Type: "file", Dir: dir}}
	if cl.hdfs != nil {
		c.ChunkStore = &config.ChunkStore{Type: "hdfs", Dir: dir, Source: "hdfs1"}
		c.Sources = map[string]*config.Source{"hdfs1": {Type: "hdfs", Namenodes: cl.hdfs, User: "chama", Root: "/"}}
		c.Sources["hdfs1"].HDFS.HadoopConfDir = "none"
	}
	s, err := chunkstore.Open(c)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	vs, err := s.Versions(t.Context(), "51007")
	if err != nil {
		t.Fatal(err)
	}
	by := map[string][]*chunkstore.Version{}
	for _, v := range vs {
		by[v.Hour] = append(by[v.Hour], v)
	}
	return by
}

// TestTwoMachinesOneDay: two machines run every hour task of a day, in
// opposite orders and at once; each hour is packed exactly once (one
// version in the store); either machine assembles the day byte for byte
// as one machine alone does; both push it and no file reaches the
// exchange twice.
func TestTwoMachinesOneDay(t *testing.T) {
	twoMachines(t, newCluster(t), true)
}

// TestTwoMachinesOneDayHDFSStore: the same with the chunk store in an
// HDFS directory (the HDFS test server), without the push.
func TestTwoMachinesOneDayHDFSStore(t *testing.T) {
	cl := newCluster(t)
	hroot := t.TempDir()
	if err := os.MkdirAll(filepath.Join(hroot, "chama/chunks"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(hroot, "solo/chunks"), 0o755); err != nil {
		t.Fatal(err)
	}
	h, err := hdfstest.Start(hdfstest.Options{Root: hroot})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	cl.hdfs, cl.store, cl.soloStore = h.Addrs(), "/chama/chunks", "/solo/chunks"
	twoMachines(t, cl, false)
	if _, err := os.Stat(filepath.Join(hroot, "chama/chunks/51007/2024121207")); err != nil {
		t.Errorf("the chunks are not on HDFS: %v", err)
	}
}

func twoMachines(t *testing.T, cl *cluster, push bool) {
	a, b := cl.machine(t, "m1", cl.store), cl.machine(t, "m2", cl.store)
	var orders [2][]string
	for h := range 24 {
		orders[0] = append(orders[0], fmt.Sprintf("20241212%02d", h))
		orders[1] = append([]string{fmt.Sprintf("20241212%02d", h)}, orders[1]...)
	}
	type timing struct {
		machine, hour string
		took          time.Duration
		tries         int
		packed        bool
	}
	var mu sync.Mutex
	var timings []timing
	var wg sync.WaitGroup
	for i, m := range []*machine{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, hour := range orders[i] {
				out, took, tries := m.runUntilDone(t, "pack", "--date", hour, "--iface", "51007")
				mu.Lock()
				timings = append(timings, timing{m.name, hour, took, tries, strings.Contains(out, "hour chunk put in the chunk store")})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	packedBy := map[string]int{}
	sort.Slice(timings, func(i, j int) bool {
		return timings[i].hour < timings[j].hour || timings[i].hour == timings[j].hour && timings[i].machine < timings[j].machine
	})
	for _, tm := range timings {
		what := "fetched"
		if tm.packed {
			what = "packed"
			packedBy[tm.machine]++
		}
		t.Logf("hour task %s on %s: %s in %s (%d tries)", tm.hour, tm.machine, what, tm.took.Round(time.Millisecond), tm.tries)
	}
	vs := cl.storeVersions(t, cl.store)
	if len(vs) != 24 {
		t.Fatalf("%d hours in the store, want 24", len(vs))
	}
	for hour, v := range vs {
		if len(v) != 1 {
			t.Errorf("hour %s packed %d times", hour, len(v))
		}
	}
	if packedBy["m1"]+packedBy["m2"] != 24 || packedBy["m1"] == 0 || packedBy["m2"] == 0 {
		t.Errorf("hours packed: %v, want 24 in all, shared by both machines", packedBy)
	}

	// The day, assembled on both machines and on one machine alone.
	for _, m := range []*machine{a, b} {
		if out, code, _ := m.run(t, "pack", "--date", "20241212", "--iface", "51007"); code != 0 || !strings.Contains(out, `chunks="00=v`) {
			t.Fatalf("%s: assembly: exit %d\n%s", m.name, code, out)
		}
	}
	solo := cl.machine(t, "solo", cl.soloStore)
	for _, hour := range orders[0] {
		solo.runUntilDone(t, "pack", "--date", hour, "--iface", "51007")
	}
	if out, code, _ := solo.run(t, "pack", "--date", "20241212", "--iface", "51007"); code != 0 {
		t.Fatalf("solo assembly: exit %d\n%s", code, out)
	}
	want := solo.out(t)
	if len(want) < 3 {
		t.Fatalf("solo output %v", want)
	}
	for _, m := range []*machine{a, b} {
		if got := m.out(t); !reflect.DeepEqual(got, want) {
			t.Errorf("%s's day differs from one machine's:\n got %q\nwant %q", m.name, got, want)
		}
	}

	if !push {
		return
	}
	// Both push the day at once: the exchange gets each file once.
	wg.Add(2)
	for _, m := range []*machine{a, b} {
		go func() {
			defer wg.Done()
			m.runUntilDone(t, "push", "--date", "20241212", "--iface", "51007")
		}()
	}
	wg.Wait()
	seen := map[string]int{}
	for _, name := range cl.events() {
		seen[name]++
	}
	files := 0
	for name, n := range seen {
		if n != 1 {
			t.Errorf("%s reached the exchange %d times", name, n)
		}
		files++
	}
	if files == 0 || seen["a_10000_20241212_51007_00.verf"] != 1 {
		t.Errorf("delivered %v", seen)
	}
}

// TestMachineDiesMidHour: one machine is frozen (SIGSTOP) just before it
// puts an hour's chunk in the store; once its lease expires the other
// takes the hour over and finishes it; the frozen one, thawed, finds its
// lease taken (fencing number) and publishes nothing (exit 3). Then one is
// killed (SIGKILL) at the same point, and the other takes over again.
func TestMachineDiesMidHour(t *testing.T) {
	cl := newCluster(t)
	a, b := cl.machine(t, "m1", cl.store), cl.machine(t, "m2", cl.store)
	stall := filepath.Join(cl.dir, "stall")

	freezeAt := func(hour string) (*exec.Cmd, *strings.Builder) {
		if err := os.WriteFile(stall, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		os.Remove(stall + ".ready")
		cmd, out := a.start([]string{"CHAMA_TEST_STALL=" + stall}, "pack", "--date", hour, "--iface", "51007")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := os.Stat(stall + ".ready"); err == nil {
				return cmd, out
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	// Frozen, then thawed after the takeover.
	cmd, out := freezeAt("2024121205")
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if _, code, _ := b.run(t, "pack", "--date", "2024121205", "--iface", "51007"); code != exit.Partial {
		t.Fatalf("the frozen machine's live lease: exit %d, want 3 (busy)", code)
	}
	if out, code, _ := b.run(t, "status", "--date", "20241212", "--leases"); code != 0 || !strings.Contains(out, "pack/51007/2024121205") || !strings.Contains(out, "held") {
		t.Errorf("status --leases: exit %d\n%s", code, out)
	}
	bout, took, tries := b.runUntilDone(t, "pack", "--date", "2024121205", "--iface", "51007")
	t.Logf("takeover after %s (%d tries)", took.Round(time.Millisecond), tries)
	if !strings.Contains(bout, "hour chunk put in the chunk store") {
		t.Fatalf("m2 did not pack the hour:\n%s", bout)
	}
	os.Remove(stall)
	if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != exit.Partial || !strings.Contains(out.String(), "taken over") {
		t.Errorf("the thawed stale run: exit %d (%v), want 3 and 'taken over':\n%s", code, err, out.String())
	}
	vs := cl.storeVersions(t, cl.store)["2024121205"]
	if len(vs) != 1 {
		t.Errorf("hour 05 in the store: %+v, want one version, fencing number 2", vs)
	}
	for _, v := range vs {
		if v.Fence != 2 {
			t.Errorf("version %s has fencing number %d, want 2 (the takeover's)", v.Name, v.Fence)
		}
	}

	// Killed outright.
	cmd, _ = freezeAt("2024121206")
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	os.Remove(stall)
	b.runUntilDone(t, "pack", "--date", "2024121206", "--iface", "51007")
	if vs := cl.storeVersions(t, cl.store)["2024121206"]; len(vs) != 1 || vs[0].Fence != 2 {
		t.Errorf("hour 06 after the kill: %+v, want one version by the takeover", vs)
	}
}
