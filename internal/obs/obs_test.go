package obs

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/ledger"
	"github.com/chama-data/chama/internal/logkey"
	"github.com/chama-data/chama/internal/manifest"
)

func noTime(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey && len(groups) == 0 {
		return slog.Attr{}
	}
	return a
}

func TestJSONLinesCarryEveryFixedKey(t *testing.T) {
	var b bytes.Buffer
	log := slog.New(NewJSONHandler(&b, &slog.HandlerOptions{ReplaceAttr: noTime}))
	l := Logger(log, "r-1", "push", "51007", "20241212")
	l.Info("sent", slog.String(logkey.File, "a.dat.gz"), slog.Int64(logkey.Bytes, 4096), slog.String(logkey.Host, "127.0.0.1:22"), slog.Int(logkey.Attempt, 2), slog.String("extra", "x"))
	l.Error("failed", Err(errors.New("connection reset")), slog.Int64(logkey.Rows, 7))
	l.Info("no error", Err(nil))
	l.WithGroup("g").Info("grouped", slog.Int("n", 1))
	want := `{"level":"INFO","msg":"sent","run_id":"r-1","stage":"push","iface":"51007","period":"20241212","file":"a.dat.gz","rows":null,"bytes":4096,"host":"127.0.0.1:22","attempt":2,"err":null,"extra":"x"}
{"level":"ERROR","msg":"failed","run_id":"r-1","stage":"push","iface":"51007","period":"20241212","file":null,"rows":7,"bytes":null,"host":null,"attempt":null,"err":"connection reset"}
{"level":"INFO","msg":"no error","run_id":"r-1","stage":"push","iface":"51007","period":"20241212","file":null,"rows":null,"bytes":null,"host":null,"attempt":null,"err":null}
{"level":"INFO","msg":"grouped","run_id":"r-1","stage":"push","iface":"51007","period":"20241212","file":null,"rows":null,"bytes":null,"host":null,"attempt":null,"err":null,"g":{"n":1}}
`
	if b.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestRunIDFromEnv(t *testing.T) {
	t.Setenv(RunIDEnv, "scheduled__2024-12-13T01:00:00")
	if got := NewRunID(); got != "scheduled__2024-12-13T01:00:00" {
		t.Fatal(got)
	}
	t.Setenv(RunIDEnv, "")
	if a, b := NewRunID(), NewRunID(); a == b || len(a) != len("20241213T011500Z-1a2b3c4d") {
		t.Fatalf("ids %q %q", a, b)
	}
}

func TestRecorderWritesLedgerMetricsAndLog(t *testing.T) {
	dir := t.TempDir()
	l, err := ledger.OpenSQLite(filepath.Join(dir, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var logs bytes.Buffer
	clock := time.Date(2024, 12, 13, 2, 0, 0, 0, time.UTC)
	now := func() time.Time { clock = clock.Add(time.Minute); return clock }
	l.Now = now
	rc := &Recorder{Ledger: l, MetricsFile: filepath.Join(dir, "chama.prom"), RunID: "r-9", Now: now,
		Log: slog.New(NewJSONHandler(&logs, &slog.HandlerOptions{ReplaceAttr: noTime}))}
	sp := rc.Begin(t.Context(), ledger.Run{Stage: ledger.StagePack, Iface: "51007", Period: "20241212"})
	sp.End(t.Context(), ledger.Result{RowsIn: 10, RowsOut: 9, Filtered: 1, Files: 1, Bytes: 100})
	sp = rc.Begin(t.Context(), ledger.Run{Stage: ledger.StagePush, Iface: "51007", Period: "20241212", Target: "t1"})
	sp.End(t.Context(), ledger.Result{Files: 1, Host: "h1:22", Err: "auth refused"})

	rows, err := l.Rows(t.Context(), ledger.Query{})
	if err != nil || len(rows) != 2 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	if r := rows[0]; r.RunID != "r-9" || r.Status != ledger.OK || r.RowsOut != 9 || r.Filtered != 1 {
		t.Errorf("pack row %+v", r)
	}
	if r := rows[1]; r.Status != ledger.Failed || r.Err != "auth refused" || r.Host != "h1:22" || r.Target != "t1" {
		t.Errorf("push row %+v", r)
	}
	prom, _ := os.ReadFile(rc.MetricsFile)
	for _, want := range []string{`chama_last_run_rows{stage="pack",iface="51007"} 9`, `chama_last_run_success{stage="push",iface="51007"} 0`, `chama_last_run_duration_seconds{stage="pack",iface="51007"} 120`} {
		if !strings.Contains(string(prom), want+"\n") {
			t.Errorf("metrics lack %q:\n%s", want, prom)
		}
	}
	wantLogs := `{"level":"INFO","msg":"stage run ended","run_id":"r-9","stage":"pack","iface":"51007","period":"20241212","file":null,"rows":9,"bytes":100,"host":null,"attempt":null,"err":null,"files":1,"status":"ok","took":120000000000}
{"level":"ERROR","msg":"stage run ended","run_id":"r-9","stage":"push","iface":"51007","period":"20241212","file":null,"rows":0,"bytes":0,"host":"h1:22","attempt":null,"err":"auth refused","files":1,"status":"failed","took":120000000000}
`
	if logs.String() != wantLogs {
		t.Errorf("logs:\n%s\nwant:\n%s", logs.String(), wantLogs)
	}
}

func TestNilRecorderAndResults(t *testing.T) {
	var rc *Recorder
	sp := rc.Begin(t.Context(), ledger.Run{Stage: "pack", Iface: "51007", Period: "20241212"})
	sp.End(t.Context(), ledger.Result{}) // records nothing, does not panic
	m := &manifest.Manifest{Rows: manifest.Rows{Read: 10, Written: 7, Filtered: 2, Rejected: 1},
		Sets: []manifest.Set{{Files: []manifest.File{{Bytes: 5}, {Bytes: 6}}}, {Files: []manifest.File{{Bytes: 7}}}}}
	r := FromManifest(m, nil)
	if r != (ledger.Result{RowsIn: 10, RowsOut: 7, Filtered: 2, Rejected: 1, Files: 3, Bytes: 18, Status: ledger.OK}) {
		t.Errorf("%+v", r)
	}
	for err, want := range map[error]string{
		nil:                                      ledger.OK,
		exit.With(exit.Partial, errors.New("x")): ledger.Partial,
		exit.With(exit.NotReady, errors.New("x")): ledger.NotReady,
		errors.New("disk full"):                   ledger.Failed,
	} {
		if got := Result(err); got.Status != want || (err != nil && got.Err != err.Error()) {
			t.Errorf("%v: %+v", err, got)
		}
	}
}
