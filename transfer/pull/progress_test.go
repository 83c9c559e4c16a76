package pull

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/chama-data/chama/internal/progress"
)

// Off a terminal pull logs "pull progress" with its own keys.
func TestPullProgressLine(t *testing.T) {
	var buf bytes.Buffer
	msg, args := progressLine(progress.Snapshot{Done: 20 << 20, Total: 50 << 20, Files: 3, Elapsed: 10 * time.Second})
	slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})).Info(msg, args...)
	if want := "level=INFO msg=\"pull progress\" bytes=20971520 of=52428800 files=3 mib_per_s=2\n"; buf.String() != want {
		t.Errorf("line %q, want %q", buf.String(), want)
	}
}

// On a terminal: one bar "pull", its total growing as files are listed.
func TestPullProgressBar(t *testing.T) {
	var buf bytes.Buffer
	m := newMeter(&buf, nil, 0)
	m.Grow(5 << 20)
	if _, err := m.Writer(&bytes.Buffer{}).Write(make([]byte, 2<<20)); err != nil {
		t.Fatal(err)
	}
	m.Close()
	if want := "pull   [===========] 2.0 MiB / 2.0 MiB"; !strings.Contains(buf.String(), want) {
		t.Errorf("no %q in %q", want, buf.String())
	}
}
