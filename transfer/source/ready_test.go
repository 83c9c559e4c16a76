package source

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/naming"
)

// ready_command gets a minimal environment, not chama's secrets.
func TestReadyCommandEnvironment(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "env")
	script := filepath.Join(dir, "check")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nenv > '"+out+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CHAMA_TEST_SFTP_PW", "Hunter2Secret!")
	t.Setenv("PGPASSWORD", "Hunter2Pg")
	t.Setenv("CHAMA_LEDGER_DSN", "postgres://chama:Hunter2@db/ledger")
	t.Setenv("SSH_AUTH_SOCK", "/tmp/agent.Hunter2")
	t.Setenv("TZ", "Asia/Shanghai")
	t.Setenv("LANG", "zh_CN.UTF-8")
	t.Setenv("LC_ALL", "C.UTF-8")
	cs := &config.Source{}
	cs.HDFS.ReadyCommand = []string{script}
	cs.HDFS.Timeout = config.Duration(10 * time.Second)
	ok, reason, err := readyCommand(context.Background(), cs, Partition{Iface: "51007", Period: "20241212", Hour: "07", Path: "ods/dt=20241212/hour=07", Source: "hdfs1"})
	if !ok || err != nil {
		t.Fatalf("%v %q %v", ok, reason, err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	env := "\n" + string(b)
	for _, want := range []string{"\nPATH=" + os.Getenv("PATH") + "\n", "\nTZ=Asia/Shanghai\n", "\nLANG=zh_CN.UTF-8\n", "\nLC_ALL=C.UTF-8\n",
		"\nCHAMA_IFACE=51007\n", "\nCHAMA_PERIOD=2024121207\n", "\nCHAMA_PATH=ods/dt=20241212/hour=07\n", "\nCHAMA_SOURCE=hdfs1\n"} {
		if !strings.Contains(env, want) {
			t.Errorf("no %q in the command's environment", strings.TrimSpace(want))
		}
	}
	if h := os.Getenv("HOME"); h != "" && !strings.Contains(env, "\nHOME="+h+"\n") {
		t.Errorf("no HOME in the command's environment")
	}
	// (Only names are printed: this machine's environment may hold
	// secrets of its own.)
	for _, kv := range strings.Split(env, "\n") {
		if name, v, _ := strings.Cut(kv, "="); strings.Contains(v, "Hunter2") {
			t.Errorf("the command got chama's secret in %s", name)
		}
	}
}

// One rule for every stage: the folder must exist, then the mode's check.
func TestReadyModes(t *testing.T) {
	root := t.TempDir()
	src := &Local{Root: root}
	now := time.Now()
	p := Partitions("51007", "file", "ods/dt={date}/hour={hour}", naming.MustPeriod("2024121207"))[0]
	if p.Path != "ods/dt=20241212/hour=07" || p.Hour != "07" {
		t.Fatalf("partition %+v", p)
	}
	check := func(cs *config.Source, wantReason string) {
		t.Helper()
		_, reason, err := Ready(context.Background(), cs, src, p, now)
		if err != nil || !strings.Contains(reason, wantReason) || (wantReason == "") != (reason == "") {
			t.Errorf("ready %q: reason %q, err %v; want reason containing %q", cs.Ready, reason, err, wantReason)
		}
	}
	check(&config.Source{}, "partition folder does not exist")
	dir := filepath.Join(root, filepath.FromSlash(p.Path))
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "000000_0"), []byte("x\n"), 0o644)
	check(&config.Source{}, "")
	check(&config.Source{Ready: "marker", Marker: "_SUCCESS"}, "no _SUCCESS marker")
	os.WriteFile(filepath.Join(dir, "_SUCCESS"), nil, 0o644)
	check(&config.Source{Ready: "marker", Marker: "_SUCCESS"}, "")
	check(&config.Source{Ready: "quiet", QuietPeriod: config.Duration(time.Hour)}, "quiet_period is 1h0m0s")
	old := now.Add(-2 * time.Hour)
	os.Chtimes(filepath.Join(dir, "000000_0"), old, old)
	check(&config.Source{Ready: "quiet", QuietPeriod: config.Duration(time.Hour)}, "")
	script := filepath.Join(t.TempDir(), "check")
	os.WriteFile(script, []byte("#!/bin/sh\necho not yet\nexit 1\n"), 0o755)
	cs := &config.Source{Ready: "command"}
	cs.HDFS.ReadyCommand = []string{script}
	check(cs, "ready_command exited 1: not yet")

	days := Partitions("51007", "file", "ods/dt={date}/hour={hour}", naming.MustPeriod("20241212"))
	if len(days) != 24 || days[23].Path != "ods/dt=20241212/hour=23" {
		t.Errorf("a day of an hourly layout: %d partitions", len(days))
	}
	if flat := Partitions("51007", "file", "ods/dt={date}", naming.MustPeriod("20241212")); len(flat) != 1 || flat[0].Path != "ods/dt=20241212" {
		t.Errorf("a daily layout: %+v", flat)
	}
}
