// Package obs is what every stage uses to be observable the same way: a
// run id, a logger carrying the fixed log keys, and a Recorder that
// writes the run ledger row, the Prometheus textfile series and the
// closing log line of a stage run in one call.
package obs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/ledger"
	"github.com/chama-data/chama/internal/logkey"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/internal/metrics"
)

// RunIDEnv lets a scheduler pass its own run id (Airflow: {{ run_id }}),
// so chama's ledger rows and logs join the scheduler's.
const RunIDEnv = "CHAMA_RUN_ID"

// NewRunID returns $CHAMA_RUN_ID, else a new id: UTC time and 8 random
// hex digits, e.g. 20241213T011500Z-1a2b3c4d.
func NewRunID() string {
	if id := os.Getenv(RunIDEnv); id != "" {
		return id
	}
	var b [4]byte
	rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// Logger returns base with the keys that name a stage run.
func Logger(base *slog.Logger, runID, stage, iface, period string) *slog.Logger {
	if base == nil {
		base = slog.Default()
	}
	return base.With(logkey.RunID, runID, logkey.Stage, stage, logkey.Iface, iface, logkey.Period, period)
}

// Err is the error attribute; a nil error gives an empty one.
func Err(err error) slog.Attr {
	if err == nil {
		return slog.Attr{}
	}
	return slog.String(logkey.Err, err.Error())
}

// Recorder records stage runs. Any field may be zero: no ledger, no
// metrics file, the default logger.
type Recorder struct {
	Ledger      *ledger.Ledger
	MetricsFile string
	Log         *slog.Logger
	RunID       string
	Now         func() time.Time
}

// Span is one stage run in progress.
type Span struct {
	rc    *Recorder
	run   ledger.Run
	id    int64
	start time.Time
	// Log carries run_id, stage, iface and period.
	Log *slog.Logger
}

func (rc *Recorder) now() time.Time {
	if rc.Now != nil {
		return rc.Now()
	}
	return time.Now()
}

// Begin starts a stage run: a "running" ledger row and a logger. A
// ledger that cannot be written is logged, never fatal to the stage. A
// nil Recorder records nothing, so stages can take one optionally.
func (rc *Recorder) Begin(ctx context.Context, run ledger.Run) *Span {
	if rc == nil {
		rc = &Recorder{Log: slog.New(slog.DiscardHandler)}
	}
	if run.RunID == "" {
		run.RunID = rc.RunID
	}
	s := &Span{rc: rc, run: run, start: rc.now(), Log: Logger(rc.Log, run.RunID, run.Stage, run.Iface, run.Period)}
	if rc.Ledger != nil {
		id, err := rc.Ledger.Start(ctx, run)
		if err != nil {
			s.Log.Warn("run ledger not written", Err(err))
		}
		s.id = id
	}
	return s
}

// End finishes the run: ledger row, metrics series, one log line. The
// status defaults to ok, or failed when res.Err is set.
func (s *Span) End(ctx context.Context, res ledger.Result) {
	if res.Status == "" {
		res.Status = ledger.OK
		if res.Err != "" {
			res.Status = ledger.Failed
		}
	}
	end := s.rc.now()
	if s.rc.Ledger != nil && s.id != 0 {
		// A cancelled run (SIGTERM from the scheduler) is exactly the one
		// whose ending must be recorded: write it anyway, in bounded time.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		if err := s.rc.Ledger.Finish(wctx, s.id, res); err != nil {
			s.Log.Warn("run ledger not written", Err(err))
		}
	}
	rows := res.RowsOut
	if rows == 0 {
		rows = res.RowsIn
	}
	if err := metrics.Record(s.rc.MetricsFile, metrics.Sample{Stage: s.run.Stage, Iface: s.run.Iface, Rows: rows, Bytes: res.Bytes, Files: res.Files,
		Duration: end.Sub(s.start), Success: res.Status == ledger.OK, End: end}); err != nil {
		s.Log.Warn("metrics file not written", Err(err))
	}
	attrs := []any{slog.Int64(logkey.Rows, rows), slog.Int64(logkey.Bytes, res.Bytes), slog.Int64("files", res.Files), slog.String("status", res.Status), slog.Duration("took", end.Sub(s.start))}
	if res.Host != "" {
		attrs = append(attrs, slog.String(logkey.Host, res.Host))
	}
	if res.Err != "" {
		attrs = append(attrs, slog.String(logkey.Err, res.Err))
		s.Log.Error("stage run ended", attrs...)
		return
	}
	s.Log.Info("stage run ended", attrs...)
}

// Status maps a stage's error to a ledger status by its exit code: nil ok,
// 3 partial, 4 not_ready, anything else failed.
func Status(err error) string {
	if errors.Is(err, exit.ErrBusy) {
		return ledger.Busy
	}
	switch exit.Code(err) {
	case exit.OK:
		return ledger.OK
	case exit.Partial:
		return ledger.Partial
	case exit.NotReady:
		return ledger.NotReady
	}
	return ledger.Failed
}

// Result builds a ledger result from a stage's error (status and message).
func Result(err error) ledger.Result {
	r := ledger.Result{Status: Status(err)}
	if err != nil {
		r.Err = err.Error()
	}
	return r
}

// FromManifest is a pack run's ledger result: rows from the manifest's
// accounting, files and bytes of every set, status from err.
func FromManifest(m *manifest.Manifest, err error) ledger.Result {
	r := Result(err)
	if m == nil {
		return r
	}
	r.RowsIn, r.RowsOut, r.Rejected, r.Filtered = m.Rows.Read, m.Rows.Written, m.Rows.Rejected, m.Rows.Filtered
	for _, s := range m.Sets {
		for _, f := range s.Files {
			r.Files++
			r.Bytes += f.Bytes
		}
	}
	return r
}
