package pull

import (
	"io"
	"log/slog"
	"time"

	"github.com/chama-data/chama/internal/progress"
)

// newMeter counts staged bytes, its total growing as files are listed
// for copying: a bar on the terminal term, otherwise a "pull progress"
// line to log every interval.
func newMeter(term io.Writer, log *slog.Logger, every time.Duration) *progress.Meter {
	return progress.New(progress.Options{
		Label: "pull", LabelWidth: 6, Speed: true, NoETA: true,
		Bars: term, Log: log, Every: every, Line: progressLine,
	})
}

// progressLine is the log line of pull's meter.
func progressLine(s progress.Snapshot) (string, []any) {
	return "pull progress", []any{"bytes", s.Done, "of", s.Total, "files", s.Files,
		"mib_per_s", float64(s.Done) / (1 << 20) / s.Elapsed.Seconds()}
}
