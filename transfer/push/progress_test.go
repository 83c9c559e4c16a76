package push

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/chama-data/chama/internal/progress"
)

// Off a terminal push logs "push progress" with its own keys.
func TestPushProgressLine(t *testing.T) {
	var buf bytes.Buffer
	msg, args := progressLine(progress.Snapshot{Done: 30e6, Total: 100e6, Elapsed: 10 * time.Second})
	slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: noTime})).Info(msg, args...)
	if want := "level=INFO msg=\"push progress\" sent_bytes=30000000 total_bytes=100000000 rate_mb_s=3 eta=23s\n"; buf.String() != want {
		t.Errorf("line %q, want %q", buf.String(), want)
	}
}

func noTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// On a terminal: an overall bar "all" and one per target and host.
func TestPushProgressBars(t *testing.T) {
	var buf bytes.Buffer
	m := newMeter(&Options{Bars: &buf}, 3<<20)
	m.AddTo("plat 10.0.0.1:22", 1<<20)
	m.AddTo("plat 10.0.0.2:22", 2<<20)
	m.Close()
	for _, want := range []string{"plat 10.0.0.1:22              1.0 MiB", "all                         3.0 MiB / 3"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("no %q in %q", want, buf.String())
		}
	}
}
