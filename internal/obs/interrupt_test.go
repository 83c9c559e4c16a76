package obs

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/chama-data/chama/internal/ledger"
)

// TestEndRecordsAnInterruptedRun: Airflow ends a task with SIGTERM, which
// cancels the command's context; the run must still be finished in the
// ledger (failed, with the reason), not left "running" for ever.
func TestEndRecordsAnInterruptedRun(t *testing.T) {
	l, err := ledger.OpenSQLite(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rc := &Recorder{Ledger: l, Log: slog.New(slog.DiscardHandler), RunID: "r-1"}
	ctx, cancel := context.WithCancel(context.Background())
	sp := rc.Begin(ctx, ledger.Run{Stage: ledger.StagePush, Iface: "51007", Period: "20241212"})
	cancel() // SIGTERM
	sp.End(ctx, Result(ctx.Err()))
	rows, err := l.Rows(context.Background(), ledger.Query{Days: []string{"20241212"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Status != ledger.Failed || rows[0].Finished.IsZero() || rows[0].Err != "context canceled" {
		t.Fatalf("ledger after an interrupted run: %+v", rows)
	}
}
