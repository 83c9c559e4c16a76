package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/chama-data/chama/internal/ledger"
)

// The table shows rows read and filtered next to written and rejected, so
// that read = rows + filtered + rejected can be checked from it.
func TestStatusTableShowsRowsRead(t *testing.T) {
	var b bytes.Buffer
	ss := []StageStatus{{Iface: "51007", Period: "20241212", Stage: "pack", State: StateDone, RowsIn: 103, RowsOut: 100, Filtered: 2, Rejected: 1, Files: 3, Bytes: 4096}}
	if err := WriteStatus(&b, ss, time.UTC); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	head, row := strings.Fields(lines[0]), strings.Fields(lines[1])
	got := map[string]string{}
	for i, h := range head {
		if i < len(row) {
			got[h] = row[i]
		}
	}
	for col, want := range map[string]string{"READ": "103", "ROWS": "100", "FILTERED": "2", "REJECTED": "1", "FILES": "3", "BYTES": "4096"} {
		if got[col] != want {
			t.Errorf("column %s = %q, want %q\n%s", col, got[col], want, b.String())
		}
	}
}

// A run refused as busy (another run held the period's lock) never hides
// the outcome of the run that held it; it shows only when nothing else
// was recorded.
func TestBusyRunNeverHidesTheOtherRun(t *testing.T) {
	rows := []ledger.Row{
		{ID: 1, Run: ledger.Run{Stage: ledger.StagePack, Iface: "51007", Period: "20241212"}, Result: ledger.Result{Status: ledger.OK}},
		{ID: 2, Run: ledger.Run{Stage: ledger.StagePack, Iface: "51007", Period: "20241212"}, Result: ledger.Result{Status: ledger.Busy}},
		{ID: 3, Run: ledger.Run{Stage: ledger.StagePack, Iface: "51007", Period: "20241213"}, Result: ledger.Result{Status: ledger.Busy}},
	}
	got := map[string]string{}
	for _, r := range latest(rows) {
		got[r.Period] = r.Status
	}
	if got["20241212"] != ledger.OK || got["20241213"] != ledger.Busy {
		t.Errorf("shown %v, want the ok run for 20241212 and the busy one where it is alone", got)
	}
}
