package report

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/ledger"
	"github.com/chama-data/chama/naming"
)

func openLedger(t *testing.T) *ledger.Ledger {
	t.Helper()
	l, err := ledger.OpenSQLite(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// add records one finished run that started at start and took d.
func add(t *testing.T, l *ledger.Ledger, r ledger.Run, res ledger.Result, start time.Time, d time.Duration) {
	t.Helper()
	l.Now = func() time.Time { return start }
	id, err := l.Start(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status == ledger.Running {
		return
	}
	l.Now = func() time.Time { return start.Add(d) }
	if err := l.Finish(t.Context(), id, res); err != nil {
		t.Fatal(err)
	}
}

var t0 = time.Date(2024, 12, 13, 1, 0, 0, 0, time.UTC)

func TestVolumeAlertAt79NotAt81(t *testing.T) {
	l := openLedger(t)
	// 51007 per hour: hour 07 has 790 rows today, 1000 a day earlier,
	// 800 four weeks earlier; hour 08 has 810 against 1000 and 1000.
	for _, x := range []struct {
		day, hour string
		rows      int64
	}{
		{"20241212", "07", 790}, {"20241211", "07", 1000}, {"20241114", "07", 800},
		{"20241212", "08", 810}, {"20241211", "08", 1000}, {"20241114", "08", 1000},
	} {
		add(t, l, ledger.Run{Stage: "pack", Iface: "51007", Period: x.day, Hour: x.hour}, ledger.Result{RowsOut: x.rows}, t0, time.Minute)
	}
	// A failed rerun does not replace the successful count; a later
	// successful one does.
	add(t, l, ledger.Run{Stage: "pack", Iface: "51007", Period: "20241211", Hour: "08"}, ledger.Result{RowsOut: 5, Err: "disk full"}, t0, time.Minute)
	// 51006 per day: 81% of the day before: no alert.
	add(t, l, ledger.Run{Stage: "pack", Iface: "51006", Period: "20241212"}, ledger.Result{RowsOut: 81}, t0, time.Minute)
	add(t, l, ledger.Run{Stage: "pack", Iface: "51006", Period: "20241211"}, ledger.Result{RowsOut: 100}, t0, time.Minute)

	vs, err := Volume(t.Context(), VolumeOptions{Ledger: l, Days: []naming.Period{naming.MustPeriod("20241212")}, Ifaces: []string{"51007", "51006"}})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(AlertLines(vs, 0.8), "\n")
	// Hours without any run anywhere do not alert; only hour 07 vs -1 day does.
	want := "CHAMA_ALERT kind=volume iface=51007 period=20241212 hour=07 rows=790 base_period=20241211 base_rows=1000 ratio=0.79 threshold=0.80"
	if got != want {
		t.Fatalf("alerts:\n%s\nwant:\n%s", got, want)
	}
	// 790 against 800 (four weeks earlier) is 98.75%: no alert there.
	for _, v := range vs {
		if v.Iface == "51007" && v.Hour == "07" && (v.Against[1].Alert || !v.Against[0].Alert) {
			t.Errorf("hour 07: %+v", v)
		}
		if v.Iface == "51007" && v.Hour == "08" && v.Alerting() {
			t.Errorf("hour 08 at 81%% alerted: %+v", v)
		}
		if v.Iface == "51006" && (v.Hour != "" || v.Alerting() || v.Against[0].Ratio != 0.81) {
			t.Errorf("51006 per day: %+v", v)
		}
	}
	if n := len(vs); n != 25 {
		t.Errorf("%d rows, want 24 hours of 51007 + 1 day of 51006", n)
	}
	var b bytes.Buffer
	WriteVolume(&b, vs)
	if !strings.Contains(b.String(), "51007  20241212  07    790   1000    79% LOW  800       99%") {
		t.Errorf("table:\n%s", b.String())
	}
}

func TestVolumeMissingHourAlertsAgainstKnownBaseline(t *testing.T) {
	l := openLedger(t)
	add(t, l, ledger.Run{Stage: "pack", Iface: "51007", Period: "20241211", Hour: "03"}, ledger.Result{RowsOut: 500}, t0, time.Minute)
	vs, err := Volume(t.Context(), VolumeOptions{Ledger: l, Days: []naming.Period{naming.MustPeriod("20241212")}, Ifaces: []string{"51007"}, Threshold: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(AlertLines(vs, 0.5), "\n")
	if got != "CHAMA_ALERT kind=volume iface=51007 period=20241212 hour=03 rows=0 base_period=20241211 base_rows=500 ratio=0.00 threshold=0.50" {
		t.Fatalf("got %q", got)
	}
}

func ifc(name string, routes ...string) *config.Interface {
	i := &config.Interface{Name: name, Granularity: "day"}
	for _, r := range routes {
		i.Routes = append(i.Routes, config.Route{Target: r})
	}
	return i
}

func TestDeadline(t *testing.T) {
	l := openLedger(t)
	utc := time.UTC
	at := func(h, m int) time.Time { return time.Date(2024, 12, 13, h, m, 0, 0, utc) }
	// 51007: two targets, both before 09:00 -> on time (a failed first try does not matter).
	add(t, l, ledger.Run{Stage: "push", Iface: "51007", Period: "20241212", Target: "a"}, ledger.Result{Err: "reset"}, at(2, 0), time.Minute)
	add(t, l, ledger.Run{Stage: "push", Iface: "51007", Period: "20241212", Target: "a"}, ledger.Result{Files: 3}, at(3, 0), 25*time.Minute)
	add(t, l, ledger.Run{Stage: "push", Iface: "51007", Period: "20241212", Target: "b"}, ledger.Result{Files: 3}, at(3, 0), 30*time.Minute)
	// 51006: delivered at 09:06 -> late.
	add(t, l, ledger.Run{Stage: "push", Iface: "51006", Period: "20241212", Target: "a"}, ledger.Result{Files: 1}, at(8, 0), 66*time.Minute)
	// 51010: only target a of two -> missing.
	add(t, l, ledger.Run{Stage: "push", Iface: "51010", Period: "20241212", Target: "a"}, ledger.Result{Files: 1}, at(4, 0), time.Minute)
	// CM001: last push failed -> failed.
	add(t, l, ledger.Run{Stage: "push", Iface: "CM001", Period: "20241212", Target: "a"}, ledger.Result{Err: "auth"}, at(4, 0), time.Minute)
	ifs := []*config.Interface{ifc("51007", "a", "b"), ifc("51006", "a"), ifc("51010", "a", "b"), ifc("CM001", "a")}
	days := []naming.Period{naming.MustPeriod("20241212")}

	rs, err := Deadline(t.Context(), DeadlineOptions{Ledger: l, Days: days, Ifaces: ifs, By: "09:00", Now: at(10, 0), Loc: utc})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(DeadlineAlertLines(rs, utc), "\n")
	want := `CHAMA_ALERT kind=deadline iface=51006 period=20241212 by=2024-12-13T09:00 state=late delivered=2024-12-13T09:06
CHAMA_ALERT kind=deadline iface=51010 period=20241212 by=2024-12-13T09:00 state=missing missing=1
CHAMA_ALERT kind=deadline iface=CM001 period=20241212 by=2024-12-13T09:00 state=failed missing=1`
	if got != want {
		t.Fatalf("alerts:\n%s\nwant:\n%s", got, want)
	}
	if rs[0].State != DeadlineOnTime || !rs[0].Delivered.Equal(at(3, 30)) {
		t.Errorf("51007: %+v", rs[0])
	}
	// Before the deadline, what is not delivered is pending, not an alert.
	rs, _ = Deadline(t.Context(), DeadlineOptions{Ledger: l, Days: days, Ifaces: ifs, By: "09:00", Now: at(8, 59), Loc: utc})
	if lines := DeadlineAlertLines(rs, utc); len(lines) != 1 || !strings.Contains(lines[0], "iface=51006") {
		t.Errorf("at 08:59: %v", lines)
	}
	if rs[2].State != DeadlinePending || strings.Join(rs[2].Missing, ",") != "20241212@b" {
		t.Errorf("51010 at 08:59: %+v", rs[2])
	}
}

func TestStatus(t *testing.T) {
	l := openLedger(t)
	// 51007: pulled per hour (23 of 24 ok, hour 05 failed), packed, push running.
	for h := range 24 {
		res := ledger.Result{Files: 2, Bytes: 100}
		if h == 5 {
			res = ledger.Result{Err: "partition not found"}
		}
		add(t, l, ledger.Run{Stage: "pull", Iface: "51007", Period: "20241212", Hour: naming.MustPeriod("20241212").Hours()[h].Hour()}, res, t0.Add(time.Duration(h)*time.Minute), time.Minute)
	}
	add(t, l, ledger.Run{Stage: "pack", Iface: "51007", Period: "20241212"}, ledger.Result{RowsIn: 103, RowsOut: 100, Rejected: 1, Filtered: 2, Files: 3, Bytes: 4096}, t0.Add(time.Hour), 2*time.Minute)
	add(t, l, ledger.Run{Stage: "push", Iface: "51007", Period: "20241212", Target: "a"}, ledger.Result{Status: ledger.Running}, t0.Add(2*time.Hour), 0)
	// 51006: pack failed, then succeeded on the rerun.
	add(t, l, ledger.Run{Stage: "pack", Iface: "51006", Period: "20241212"}, ledger.Result{Err: "disk full"}, t0, time.Minute)
	add(t, l, ledger.Run{Stage: "pack", Iface: "51006", Period: "20241212"}, ledger.Result{RowsOut: 50, Files: 1}, t0.Add(time.Hour), time.Minute)
	// Another day is not shown.
	add(t, l, ledger.Run{Stage: "pack", Iface: "51006", Period: "20241211"}, ledger.Result{RowsOut: 7}, t0, time.Minute)

	ss, err := Status(t.Context(), StatusOptions{Ledger: l, Periods: []naming.Period{naming.MustPeriod("20241212")}, Ifaces: []*config.Interface{ifc("51007", "a"), ifc("51006")}})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteStatus(&b, ss, time.UTC); err != nil {
		t.Fatal(err)
	}
	want := `IFACE  PERIOD    STAGE   STATE    HOURS  READ  ROWS  FILTERED  REJECTED  FILES  BYTES  STARTED              FINISHED             NOTE
51007  20241212  pull    failed   23/24  -     -     -         -         46     2300   2024-12-13 01:00:00  2024-12-13 01:24:00  partition not found
51007  20241212  pack    done     -      103   100   2         1         3      4096   2024-12-13 02:00:00  2024-12-13 02:02:00  
51007  20241212  push    running  -      -     -     -         -         -      -      2024-12-13 03:00:00  -                    
51007  20241212  verify  missing  -      -     -     -         -         -      -      -                    -                    
51006  20241212  pack    done     -      -     50    -         -         1      -      2024-12-13 02:00:00  2024-12-13 02:01:00  
51006  20241212  verify  missing  -      -     -     -         -         -      -      -                    -                    
`
	if b.String() != want {
		t.Fatalf("status:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestStatusDiedRun(t *testing.T) {
	l := openLedger(t)
	add(t, l, ledger.Run{Stage: "pack", Iface: "51007", Period: "20241212"}, ledger.Result{Status: ledger.Running}, t0, 0)
	o := StatusOptions{Ledger: l, Periods: []naming.Period{naming.MustPeriod("20241212")}, Ifaces: []*config.Interface{ifc("51007")}}
	ss, err := Status(t.Context(), o)
	if err != nil || ss[0].State != StateRunning {
		t.Fatalf("this process is alive: %+v %v", ss, err)
	}
	o.Gone = func(machine string, pid int) bool { return machine == l.Machine() && pid > 0 }
	ss, _ = Status(t.Context(), o)
	if ss[0].State != StateDied || !strings.Contains(ss[0].Err, "is gone") {
		t.Fatalf("%+v", ss[0])
	}
}

// TestStatusVerifyCountsOneCheck: a local verify and a remote one (which
// records its targets) check the same files; status shows their lines
// and files once, not added up, and the state of each kind of check.
func TestStatusVerifyCountsOneCheck(t *testing.T) {
	l := openLedger(t)
	add(t, l, ledger.Run{Stage: "verify", Iface: "51007", Period: "20241212", Target: "a"}, ledger.Result{RowsIn: 100, RowsOut: 100, Files: 3, Bytes: 4096, Host: "h:22"}, t0, time.Minute)
	add(t, l, ledger.Run{Stage: "verify", Iface: "51007", Period: "20241212"}, ledger.Result{RowsIn: 100, RowsOut: 100, Files: 3, Bytes: 4096}, t0.Add(time.Hour), time.Minute)
	ss, err := Status(t.Context(), StatusOptions{Ledger: l, Periods: []naming.Period{naming.MustPeriod("20241212")}, Ifaces: []*config.Interface{ifc("51007", "a")}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ss {
		if s.Stage != "verify" {
			continue
		}
		if s.State != StateDone || s.RowsOut != 100 || s.Files != 3 || s.Bytes != 4096 || s.Hosts != "h:22" {
			t.Fatalf("verify status %+v: want done, 100 rows, 3 files, 4096 bytes, host h:22", s)
		}
		return
	}
	t.Fatal("no verify row")
}
