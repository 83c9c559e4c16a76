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
