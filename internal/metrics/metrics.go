// Package metrics writes Prometheus text-format metrics for
// node_exporter's textfile collector (--metrics-file PATH). Every stage
// run updates its own series in the shared file: the file is read,
// merged and replaced atomically under a lock (internal/lock, PATH.lock),
// so concurrent chama processes (one per interface from Airflow) never
// lose each other's series and the collector never reads half a file.
package metrics

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/chama-data/chama/internal/lock"
	"github.com/chama-data/chama/internal/manifest"
)

// Sample is the outcome of one stage run for one interface.
type Sample struct {
	Stage    string
	Iface    string
	Rows     int64
	Bytes    int64
	Files    int64
	Duration time.Duration
	Success  bool
	End      time.Time
}

type family struct{ name, typ, help string }

// families, in the order they are written.
var families = []family{
	{"chama_last_run_rows", "gauge", "Rows written by the last run of a stage for an interface."},
	{"chama_last_run_bytes", "gauge", "Bytes written or sent by the last run."},
	{"chama_last_run_files", "gauge", "Files written or sent by the last run."},
	{"chama_last_run_duration_seconds", "gauge", "Wall time of the last run."},
	{"chama_last_run_success", "gauge", "1 if the last run succeeded, else 0."},
	{"chama_last_run_timestamp_seconds", "gauge", "Unix time the last run ended."},
	{"chama_runs_total", "counter", "Runs of a stage for an interface, by result."},
}

// Record merges s into the textfile at path. An empty path does nothing.
func Record(path string, s Sample) error {
	if path == "" {
		return nil
	}
	unlock, err := lock.Wait(path+".lock", lock.Exclusive)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	defer unlock()

	series := map[string]float64{}
	if data, err := os.ReadFile(path); err == nil {
		series = parse(data)
	} else if !os.IsNotExist(err) {
		return fmt.Errorf("metrics: %w", err)
	}
	l := fmt.Sprintf(`{stage="%s",iface="%s"}`, esc(s.Stage), esc(s.Iface))
	ok := 0.0
	result := "failed"
	if s.Success {
		ok, result = 1, "ok"
	}
	series["chama_last_run_rows"+l] = float64(s.Rows)
	series["chama_last_run_bytes"+l] = float64(s.Bytes)
	series["chama_last_run_files"+l] = float64(s.Files)
	series["chama_last_run_duration_seconds"+l] = s.Duration.Seconds()
	series["chama_last_run_success"+l] = ok
	series["chama_last_run_timestamp_seconds"+l] = float64(s.End.Unix())
	series[fmt.Sprintf(`chama_runs_total{stage="%s",iface="%s",result="%s"}`, esc(s.Stage), esc(s.Iface), result)]++
	return manifest.WriteFileAtomic(path, format(series), 0o644)
}

func esc(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}

// parse reads back the series this package wrote: "name{labels} value".
func parse(data []byte) map[string]float64 {
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out
}

func format(series map[string]float64) []byte {
	var b bytes.Buffer
	for _, f := range families {
		var keys []string
		for k := range series {
			if strings.HasPrefix(k, f.name+"{") {
				keys = append(keys, k)
			}
		}
		if len(keys) == 0 {
			continue
		}
		sort.Strings(keys)
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", f.name, f.help, f.name, f.typ)
		for _, k := range keys {
			fmt.Fprintf(&b, "%s %s\n", k, strconv.FormatFloat(series[k], 'f', -1, 64))
		}
	}
	return b.Bytes()
}
