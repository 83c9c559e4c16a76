package metrics

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestRecordMergesAndIsExact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chama.prom")
	end := time.Unix(1734052500, 0)
	if err := Record(path, Sample{Stage: "pack", Iface: "51007", Rows: 2500, Bytes: 4096, Files: 3, Duration: 1500 * time.Millisecond, Success: true, End: end}); err != nil {
		t.Fatal(err)
	}
	if err := Record(path, Sample{Stage: "push", Iface: "51007", Files: 1, Success: false, End: end}); err != nil {
		t.Fatal(err)
	}
	if err := Record(path, Sample{Stage: "pack", Iface: "51007", Rows: 2600, Bytes: 4000, Files: 4, Duration: 2 * time.Second, Success: true, End: end}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := `# HELP chama_last_run_rows Rows written by the last run of a stage for an interface.
# TYPE chama_last_run_rows gauge
chama_last_run_rows{stage="pack",iface="51007"} 2600
chama_last_run_rows{stage="push",iface="51007"} 0
# HELP chama_last_run_bytes Bytes written or sent by the last run.
# TYPE chama_last_run_bytes gauge
chama_last_run_bytes{stage="pack",iface="51007"} 4000
chama_last_run_bytes{stage="push",iface="51007"} 0
# HELP chama_last_run_files Files written or sent by the last run.
# TYPE chama_last_run_files gauge
chama_last_run_files{stage="pack",iface="51007"} 4
chama_last_run_files{stage="push",iface="51007"} 1
# HELP chama_last_run_duration_seconds Wall time of the last run.
# TYPE chama_last_run_duration_seconds gauge
chama_last_run_duration_seconds{stage="pack",iface="51007"} 2
chama_last_run_duration_seconds{stage="push",iface="51007"} 0
# HELP chama_last_run_success 1 if the last run succeeded, else 0.
# TYPE chama_last_run_success gauge
chama_last_run_success{stage="pack",iface="51007"} 1
chama_last_run_success{stage="push",iface="51007"} 0
# HELP chama_last_run_timestamp_seconds Unix time the last run ended.
# TYPE chama_last_run_timestamp_seconds gauge
chama_last_run_timestamp_seconds{stage="pack",iface="51007"} 1734052500
chama_last_run_timestamp_seconds{stage="push",iface="51007"} 1734052500
# HELP chama_runs_total Runs of a stage for an interface, by result.
# TYPE chama_runs_total counter
chama_runs_total{stage="pack",iface="51007",result="ok"} 2
chama_runs_total{stage="push",iface="51007",result="failed"} 1
`
	if string(got) != want {
		t.Fatalf("textfile:\n%s\nwant:\n%s", got, want)
	}
}

// Concurrent processes (here goroutines) never lose each other's series.
func TestRecordConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chama.prom")
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := Record(path, Sample{Stage: "verify", Iface: "X", Success: i%2 == 0, End: time.Unix(0, 0)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	s := parse(must(os.ReadFile(path)))
	if s[`chama_runs_total{stage="verify",iface="X",result="ok"}`] != 10 || s[`chama_runs_total{stage="verify",iface="X",result="failed"}`] != 10 {
		t.Fatalf("lost updates: %v", s)
	}
}

func TestRecordNoPath(t *testing.T) {
	if err := Record("", Sample{}); err != nil {
		t.Fatal(err)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
