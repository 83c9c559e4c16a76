package push

import "github.com/chama-data/chama/internal/progress"

// meter is what push reports bytes to as they go out: a
// *progress.Meter, or a test's recorder.
type meter interface {
	AddTo(label string, n int64) // bytes sent to one host, label "<target> <host>"
	Skip(n int64)                // bytes that will not be sent (already on the target)
	Grow(n int64)                // bytes to send again (a file that must go to one more host)
	Close()
}

// newMeter counts total bytes to send: an overall bar and one per host
// on a terminal, a "push progress" log line every ProgressEvery
// otherwise.
func newMeter(o *Options, total int64) *progress.Meter {
	return progress.New(progress.Options{
		Label: "all", LabelWidth: 28, Total: total, Speed: true,
		Bars: o.Bars, Log: o.Log, Every: o.ProgressEvery, Line: progressLine,
	})
}

// progressLine is the log line of push's meter.
func progressLine(s progress.Snapshot) (string, []any) {
	return "push progress", []any{"sent_bytes", s.Done, "total_bytes", s.Total,
		"rate_mb_s", int64(s.Rate()/1e6*10) / 10.0, "eta", s.ETA()}
}
