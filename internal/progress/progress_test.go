package progress

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// Without a terminal the meter logs how far it is, every interval. (The
// interval is short so the test sees lines; nothing asserts timing.)
func TestMeterLogsProgress(t *testing.T) {
	var buf syncBuf
	m := New(Options{Label: "pack X 20241212 input", Total: 1000, Log: slog.New(slog.NewTextHandler(&buf, nil)), Every: time.Millisecond})
	m.Add(250)
	for i := 0; i < 1000 && !strings.Contains(buf.String(), "done=250"); i++ {
		time.Sleep(time.Millisecond)
	}
	m.Close()
	out := buf.String()
	if !strings.Contains(out, `msg=progress what="pack X 20241212 input" done=250 total=1000 unit=bytes percent=25`) {
		t.Errorf("log:\n%s", out)
	}
	var nilMeter *Meter
	nilMeter.Add(5) // a nil meter counts nothing and does not panic
	nilMeter.Close()
}

// On a terminal a bar is drawn and completed at Close.
func TestMeterDrawsABar(t *testing.T) {
	var buf syncBuf
	m := New(Options{Label: "verify", Total: 3, Unit: "files", Bars: &buf})
	m.Add(3)
	m.Close()
	if !strings.Contains(buf.String(), "verify") || !strings.Contains(buf.String(), "3 / 3") {
		t.Errorf("bar output %q", buf.String())
	}
}

// A meter follows a total learnt as it goes (Grow, Skip), counts through
// a writer and files, and logs with the caller's line.
func TestMeterGrowSkipWriterAndLine(t *testing.T) {
	var buf syncBuf
	var seen []Snapshot
	var mu sync.Mutex
	m := New(Options{Label: "x", Log: slog.New(slog.NewTextHandler(&buf, nil)), Every: time.Hour,
		Line: func(s Snapshot) (string, []any) {
			mu.Lock()
			seen = append(seen, s)
			mu.Unlock()
			return "x progress", []any{"bytes", s.Done}
		}})
	m.Grow(100)
	m.Grow(50)
	m.Skip(30)
	w := m.Writer(&bytes.Buffer{})
	if _, err := w.Write(make([]byte, 40)); err != nil {
		t.Fatal(err)
	}
	m.AddTo("plat 10.0.0.1:22", 2)
	m.AddFiles(1)
	s := m.Snapshot()
	if s.Done != 42 || s.Total != 120 || s.Files != 1 || s.Unit != "bytes" || s.Label != "x" {
		t.Fatalf("snapshot %+v", s)
	}
	if s.Percent() != 35 {
		t.Errorf("percent %d, want 35 (whole percent, rounded down)", s.Percent())
	}
	m.Close()
	m.Close() // closing again does nothing
	if (Snapshot{Done: 1}).ETA() != "?" || (Snapshot{Done: 10, Total: 30, Elapsed: 10 * time.Second}).ETA() != "20s" {
		t.Error("eta")
	}

	var nilMeter *Meter
	nilMeter.Grow(1)
	nilMeter.Skip(1)
	nilMeter.AddTo("a", 1)
	nilMeter.AddFiles(1)
	var out bytes.Buffer
	if w := nilMeter.Writer(&out); w != &out {
		t.Error("a nil meter's writer is not the writer itself")
	}
}

func TestMeterLogsTheCallersLine(t *testing.T) {
	var buf syncBuf
	m := New(Options{Log: slog.New(slog.NewTextHandler(&buf, nil)), Every: time.Millisecond,
		Line: func(s Snapshot) (string, []any) { return "x progress", []any{"bytes", s.Done} }})
	m.Add(7)
	for i := 0; i < 1000 && !strings.Contains(buf.String(), "bytes=7"); i++ {
		time.Sleep(time.Millisecond)
	}
	m.Close()
	if !strings.Contains(buf.String(), `msg="x progress" bytes=7`) {
		t.Errorf("log:\n%s", buf.String())
	}
}

// AddTo draws a bar per label beside the meter's own. (Off a terminal
// mpb draws 80 columns, so the end of the overall line is cut.)
func TestMeterDrawsABarPerLabel(t *testing.T) {
	var buf syncBuf
	m := New(Options{Label: "all", LabelWidth: 28, Total: 3 << 20, Speed: true, Bars: &buf})
	m.AddTo("plat 10.0.0.1:22", 1<<20)
	m.AddTo("plat 10.0.0.2:22", 2<<20)
	m.Close()
	out := buf.String()
	for _, want := range []string{"all", "plat 10.0.0.1:22", "plat 10.0.0.2:22", "1.0 MiB", "2.0 MiB", "3.0 MiB / 3"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in bar output %q", want, out)
		}
	}
}
