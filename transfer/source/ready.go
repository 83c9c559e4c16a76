package source

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/naming"
)

// Partition is one folder of an interface's period on its source.
type Partition struct {
	Iface  string
	Period string // the period asked for (a day or an hour)
	Hour   string // the hour, when a day is read from an hourly layout
	Path   string // the interface's path with {date} and {hour} expanded
	Source string // the source's name in the config
}

// Partitions expands an interface's path for a period: one folder, or
// one per hour when a day is read from an hourly layout ({hour} in the
// path). It is the only place {date} and {hour} are expanded: pull, pack
// and transform read the same folders.
func Partitions(iface, src, pathTemplate string, period naming.Period) []Partition {
	expand := func(p naming.Period) string {
		return strings.NewReplacer("{date}", p.Date(), "{hour}", p.Hour()).Replace(pathTemplate)
	}
	if !strings.Contains(pathTemplate, "{hour}") {
		return []Partition{{Iface: iface, Period: period.String(), Path: expand(period), Source: src}}
	}
	var out []Partition
	for _, h := range period.Hours() {
		out = append(out, Partition{Iface: iface, Period: period.String(), Hour: h.Hour(), Path: expand(h), Source: src})
	}
	return out
}

// reasonMissing is Ready's reason for a partition folder not there yet.
const reasonMissing = "partition folder does not exist"

// Ready applies the source's readiness rule to partition p and lists its
// files. The rule is the source's `ready`:
//
//	command  ready_command exits 0 (run with a minimal environment)
//	marker   the marker file (Hive's _SUCCESS) is in the folder
//	quiet    no file changed within quiet_period of now
//
// and in every mode the folder must exist. A partition that is not ready
// yet gives a reason and no error; an error is a check that could not be
// made. Pull, pack and transform all decide readiness here.
func Ready(ctx context.Context, cs *config.Source, src Source, p Partition, now time.Time) (files []FileInfo, reason string, err error) {
	if cs == nil {
		cs = &config.Source{}
	}
	if cs.Ready == "command" {
		ok, why, err := readyCommand(ctx, cs, p)
		if err != nil || !ok {
			return nil, why, err
		}
	}
	if cs.Ready == "marker" {
		ok, err := src.Exists(ctx, strings.TrimSuffix(p.Path, "/")+"/"+cs.Marker)
		if err != nil {
			return nil, "", err
		}
		if !ok {
			return nil, "no " + cs.Marker + " marker", nil
		}
	}
	files, err = src.List(ctx, p.Path)
	if errors.Is(err, ErrNotFound) {
		return nil, reasonMissing, nil
	}
	if err != nil {
		return nil, "", err
	}
	if cs.Ready == "quiet" {
		for _, f := range files {
			if age := now.Sub(f.ModTime); age < cs.QuietPeriod.D() {
				return nil, fmt.Sprintf("%s changed %s ago, quiet_period is %s", f.Path, age.Round(time.Second), cs.QuietPeriod.D()), nil
			}
		}
	}
	return files, "", nil
}

// readyCommandEnv lists the variables ready_command gets from chama's
// environment (a trailing * is a prefix); everything else, the secrets
// chama reads among it, is left out. CHAMA_IFACE, CHAMA_PERIOD,
// CHAMA_PATH and CHAMA_SOURCE are added.
// The Hadoop, Java and Kerberos client variables are there so that the
// usual check (hdfs dfs -test -e ...) can run; they hold paths, not secrets.
var readyCommandEnv = []string{"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_*", "TZ",
	"HADOOP_CONF_DIR", "HADOOP_HOME", "HADOOP_USER_NAME", "JAVA_HOME", "KRB5CCNAME", "KRB5_CONFIG"}

// readyEnv is ready_command's environment for partition p.
func readyEnv(p Partition, period string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		for _, k := range readyCommandEnv {
			if name == k || strings.HasSuffix(k, "*") && strings.HasPrefix(name, strings.TrimSuffix(k, "*")) {
				env = append(env, kv)
				break
			}
		}
	}
	return append(env, "CHAMA_IFACE="+p.Iface, "CHAMA_PERIOD="+period, "CHAMA_PATH="+p.Path, "CHAMA_SOURCE="+p.Source)
}

// readyCommand runs the source's external readiness check, with the
// minimal environment of readyEnv. Exit status 0 is ready; any other
// status is not ready, with the first line of its output as the reason;
// a program that cannot be run is an error.
func readyCommand(ctx context.Context, cs *config.Source, p Partition) (bool, string, error) {
	argv := cs.HDFS.ReadyCommand
	ctx, cancel := context.WithTimeout(ctx, max(cs.HDFS.Timeout.D(), time.Second))
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	period := p.Period
	if p.Hour != "" && len(period) == 8 {
		period += p.Hour
	}
	cmd.Env = readyEnv(p, period)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ctx.Err() == nil {
		line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		if line == "" {
			line = "no output"
		}
		if c := ee.ExitCode(); c == 126 || c == 127 {
			// The shell's "cannot execute" and "not found": the check
			// itself is broken, which waiting will not mend.
			return false, "", fmt.Errorf("ready_command %s could not run (exit %d: %s); check the command and its environment (docs/security.md)", argv[0], c, line)
		}
		return false, fmt.Sprintf("ready_command exited %d: %s", ee.ExitCode(), line), nil
	}
	if err != nil {
		return false, "", fmt.Errorf("ready_command %s: %w", argv[0], err)
	}
	return true, "", nil
}

// NotReady is the error of a stage that reads a partition that is not
// ready (exit 4, so the scheduler waits and tries again): the partition,
// the reason Ready gave and the source, worded the same by every stage.
func NotReady(p Partition, reason string, src Source) error {
	if reason == reasonMissing {
		return exit.With(exit.NotReady, fmt.Errorf("partition not found: %s in %s", p.Path, src))
	}
	return exit.With(exit.NotReady, fmt.Errorf("partition not ready: %s: %s in %s", p.Path, reason, src))
}
