package airflow

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
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
		`pull_51007 >> pack_51007 >> push_51007 >> verify_51007`,
		`verify_51007 = chama("verify_51007", ["verify", "--date", PERIOD, "--iface", "51007", "--remote"])`,
		`pack_99001 >> verify_99001`,
		// hourly_pack: each hour packed and the day's known hours sent early.
		`push_51007 = chama("push_51007", ["push", "--date", DAY, "--iface", "51007", "--partial"])`,
		`pack_51007 = chama("pack_51007", ["pack", "--date", PERIOD, "--iface", "51007"])`,
		`PERIOD = "{{ logical_date.strftime('%Y%m%d%H') }}"`,
	} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("DAG lacks %q", s)
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
	want, err := os.ReadFile(filepath.Join("..", "..", "scripts", "airflow", "chama_dag.py"))
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Fatal("scripts/airflow/chama_dag.py is stale: render it again (see the header of chama.example.yaml)")
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
		{"chama_hourly", "pack_51007", []string{"pack", "--date", "2024121207", "--iface", "51007"}},
		{"chama_hourly", "push_51007", []string{"push", "--date", "20241212", "--iface", "51007", "--partial"}},
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
