package ledger

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/pgtest"
	"github.com/chama-data/chama/internal/workdir"
)

// exercise runs the same checks on any driver.
func exercise(t *testing.T, l *Ledger) {
	t.Helper()
	ctx := t.Context()
	clock := time.Date(2024, 12, 13, 1, 0, 0, 0, time.UTC)
	l.Now = func() time.Time { clock = clock.Add(90 * time.Second); return clock }

	id, err := l.Start(ctx, Run{RunID: "r1", Stage: StagePack, Iface: "51007", Period: "20241212", Hour: "07"})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Finish(ctx, id, Result{RowsIn: 103, RowsOut: 100, Rejected: 1, Filtered: 2, Files: 3, Bytes: 4096}); err != nil {
		t.Fatal(err)
	}
	id2, err := l.Start(ctx, Run{RunID: "r2", Stage: StagePush, Iface: "51007", Period: "20241212", Target: "panda"})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Finish(ctx, id2, Result{Files: 4, Bytes: 5000, Host: "127.0.0.1:2222", Err: "connection reset"}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Start(ctx, Run{RunID: "r3", Stage: StageVerify, Iface: "CM001", Period: "2024121300"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Finish(ctx, 999999, Result{}); err == nil {
		t.Error("finishing an unknown run succeeded")
	}
	if _, err := l.Start(ctx, Run{Stage: StagePack, Period: "20241212"}); err == nil {
		t.Error("a run without iface was accepted")
	}

	rows, err := l.Rows(ctx, Query{Days: []string{"20241212"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("got %d rows for 20241212, want 2: %+v", len(rows), rows)
	}
	p := rows[0]
	want := Row{ID: p.ID, Run: Run{RunID: "r1", Stage: "pack", Iface: "51007", Period: "20241212", Hour: "07"},
		Result: Result{RowsIn: 103, RowsOut: 100, Rejected: 1, Filtered: 2, Files: 3, Bytes: 4096, Status: OK},
		Day:    "20241212", Machine: l.machine, PID: os.Getpid(),
		Started: time.Date(2024, 12, 13, 1, 1, 30, 0, time.UTC), Finished: time.Date(2024, 12, 13, 1, 3, 0, 0, time.UTC)}
	if fmt.Sprintf("%+v", p) != fmt.Sprintf("%+v", want) {
		t.Errorf("pack row:\n%+v\nwant\n%+v", p, want)
	}
	if p.Duration() != 90*time.Second {
		t.Errorf("duration %v", p.Duration())
	}
	if q := rows[1]; q.Status != Failed || q.Err != "connection reset" || q.Target != "panda" || q.Host != "127.0.0.1:2222" {
		t.Errorf("push row: %+v", q)
	}
	rows, err = l.Rows(ctx, Query{Ifaces: []string{"CM001"}, Stages: []string{StageVerify}})
	if err != nil || len(rows) != 1 || rows[0].Status != Running || !rows[0].Finished.IsZero() || rows[0].Day != "20241213" || rows[0].Hour != "" {
		t.Fatalf("running verify row: %+v %v", rows, err)
	}
}

func TestSQLiteLedger(t *testing.T) {
	dir := t.TempDir()
	cfg := &config.Config{Workdir: filepath.Join(dir, "work"), Ledger: config.Ledger{Driver: "sqlite"}}
	l, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	exercise(t, l)
	if _, err := os.Stat(filepath.Join(cfg.Workdir, workdir.LedgerFile)); err != nil {
		t.Fatalf("no ledger file in the workdir: %v", err)
	}
	// A second open of the same file sees the rows (and does not re-create the table).
	l2, err := OpenSQLite(filepath.Join(cfg.Workdir, workdir.LedgerFile))
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	rows, err := l2.Rows(t.Context(), Query{})
	if err != nil || len(rows) != 3 {
		t.Fatalf("reopened: %d rows, %v", len(rows), err)
	}
}

func TestPostgresNeedsDSN(t *testing.T) {
	t.Setenv("CHAMA_TEST_EMPTY_DSN", "")
	_, err := Open(&config.Config{Ledger: config.Ledger{Driver: "postgres", DSNEnv: "CHAMA_TEST_EMPTY_DSN"}})
	if err == nil || err.Error() != "ledger: driver postgres but the env var CHAMA_TEST_EMPTY_DSN (ledger.dsn_env) is empty" {
		t.Fatalf("err = %v", err)
	}
}

// TestPostgresLedger runs the same checks against a real PostgreSQL
// server started for the test on a loopback port.
func TestPostgresLedger(t *testing.T) {
	dsn := pgtest.Start(t)
	t.Setenv("CHAMA_TEST_LEDGER_DSN", dsn)
	l, err := Open(&config.Config{Ledger: config.Ledger{Driver: "postgres", DSNEnv: "CHAMA_TEST_LEDGER_DSN"}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	exercise(t, l)
}

// Several chama processes (here: separate handles) write one SQLite
// ledger at once without "database is locked" failures.
func TestSQLiteConcurrentWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), workdir.LedgerFile)
	var ls []*Ledger
	for range 4 {
		l, err := OpenSQLite(path)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ls = append(ls, l)
	}
	errs := make(chan error, 4)
	for i, l := range ls {
		go func() {
			for k := range 25 {
				id, err := l.Start(t.Context(), Run{RunID: fmt.Sprint(i), Stage: StagePack, Iface: "51007", Period: "20241212", Hour: fmt.Sprintf("%02d", k%24)})
				if err == nil {
					err = l.Finish(t.Context(), id, Result{RowsOut: int64(k)})
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range ls {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	rows, err := ls[0].Rows(t.Context(), Query{})
	if err != nil || len(rows) != 100 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	for _, r := range rows {
		if r.Status != OK {
			t.Fatalf("unfinished row %+v", r)
		}
	}
}
