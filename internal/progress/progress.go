// Package progress tells an operator how far a long stage is: a bar on a
// terminal (mpb), a log line every interval otherwise (cron, Airflow), so
// that at 1 TB a day slow can be told from stuck.
package progress

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// Options describe one meter.
type Options struct {
	// What is measured, e.g. "pack 51007 20241212 input".
	Label string
	// Total is the amount expected (bytes, or files with Unit "files").
	Total int64
	Unit  string // "bytes" (default) or "files"
	// Bars, when set, is the terminal the bar is drawn on; otherwise a
	// line goes to Log every Every (default 10s).
	Bars  io.Writer
	Log   *slog.Logger
	Every time.Duration
}

// Meter counts progress. A nil *Meter is valid and counts nothing, so
// code paths without a meter need no checks.
type Meter struct {
	o      Options
	done   atomic.Int64
	start  time.Time
	p      *mpb.Progress
	bar    *mpb.Bar
	cancel context.CancelFunc
	ended  chan struct{}
}

// New starts a meter; Close ends it.
func New(o Options) *Meter {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Every <= 0 {
		o.Every = 10 * time.Second
	}
	m := &Meter{o: o, start: time.Now(), ended: make(chan struct{})}
	if o.Bars != nil {
		m.p = mpb.New(mpb.WithOutput(o.Bars), mpb.WithWidth(40), mpb.WithRefreshRate(200*time.Millisecond), mpb.WithAutoRefresh())
		counter := decor.CountersKibiByte("% .1f / % .1f")
		if o.Unit == "files" {
			counter = decor.CountersNoUnit("%d / %d")
		}
		m.bar = m.p.AddBar(o.Total,
			mpb.PrependDecorators(decor.Name(o.Label, decor.WC{W: len(o.Label) + 1, C: decor.DindentRight})),
			mpb.AppendDecorators(counter, decor.Name("  ETA "), decor.AverageETA(decor.ET_STYLE_GO)))
		close(m.ended)
		return m
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	go func() {
		defer close(m.ended)
		t := time.NewTicker(o.Every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				m.report()
			}
		}
	}()
	return m
}

// Add counts n more.
func (m *Meter) Add(n int64) {
	if m == nil || n == 0 {
		return
	}
	m.done.Add(n)
	if m.bar != nil {
		m.bar.IncrInt64(n)
	}
}

func (m *Meter) report() {
	done, total := m.done.Load(), m.o.Total
	el := time.Since(m.start).Seconds()
	rate := float64(done) / max(el, 0.001)
	eta := "?"
	if rate > 0 && total > done {
		eta = time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	unit := m.o.Unit
	if unit == "" {
		unit = "bytes"
	}
	pct := 0.0
	if total > 0 {
		pct = float64(done) * 100 / float64(total)
	}
	m.o.Log.Info("progress", "what", m.o.Label, "done", done, "total", total, "unit", unit,
		"percent", int64(pct*10)/10.0, "eta", eta)
}

// Close ends the meter (the bar is completed, the log ticker stops).
func (m *Meter) Close() {
	if m == nil {
		return
	}
	if m.bar != nil {
		m.bar.SetTotal(-1, true)
		m.p.Wait()
		return
	}
	m.cancel()
	<-m.ended
}
