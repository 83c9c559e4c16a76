package airflow

import (
	"bytes"
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
		`verify_51007 = chama("verify_51007", "verify --date " + PERIOD + " --iface 51007 --remote")`,
		`pack_99001 >> verify_99001`,
		// hourly_pack: each hour packed and the day's known hours sent early.
		`push_51007 = chama("push_51007", "push --date " + DAY + " --iface 51007 --partial")`,
		`pack_51007 = chama("pack_51007", "pack --date " + PERIOD + " --iface 51007")`,
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
