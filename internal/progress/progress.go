// Package progress tells an operator how far a long stage is: a bar on a
// terminal (mpb), a log line every interval otherwise (cron, Airflow), so
// that at 1 TB a day slow can be told from stuck. It is the one progress
// implementation of chama: pack, verify, pull and push all count with a
// Meter.
package progress

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// Options describe one meter.
type Options struct {
	// What is measured, e.g. "pack 51007 20241212 input": the name of the
	// bar, and "what" in the default log line.
	Label string
	// LabelWidth is the width of the bars' name column (default: the
	// label's length + 1); bars of one run line up with the same width.
	LabelWidth int
	// Total is the amount expected (bytes, or files with Unit "files").
	// It may start at 0 and follow the work found with Grow and Skip.
	Total int64
	Unit  string // "bytes" (default) or "files"
	// Speed adds the average speed to the bars.
	Speed bool
	// NoETA leaves the estimated time out of the bars (for a total that
	// is only learnt as the work goes).
	NoETA bool
	// Bars, when set, is the terminal the bars are drawn on; otherwise a
	// line goes to Log every Every (default 10s).
	Bars  io.Writer
	Log   *slog.Logger
	Every time.Duration
	// Line makes the periodic log line from the meter's count; nil is
	// the default line: "progress" with what, done, total, unit, percent
	// and eta.
	Line func(Snapshot) (msg string, args []any)
}

// Snapshot is a meter's count at one moment, for a log line.
type Snapshot struct {
	Label   string
	Unit    string // "bytes" or "files"
	Done    int64  // counted so far (Add, AddTo)
	Total   int64  // expected (Options.Total, Grow, Skip)
	Files   int64  // files finished (AddFiles)
	Elapsed time.Duration
}

// Rate is Done per second since the meter started.
func (s Snapshot) Rate() float64 { return float64(s.Done) / max(s.Elapsed.Seconds(), 0.001) }

// ETA is the time left at the average rate so far, "?" when unknown.
func (s Snapshot) ETA() string {
	if rate := s.Rate(); rate > 0 && s.Total > s.Done {
		return time.Duration(float64(s.Total-s.Done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	return "?"
}

// Percent is Done of Total in whole percent (rounded down); 0 without a
// total.
func (s Snapshot) Percent() int64 {
	if s.Total <= 0 {
		return 0
	}
	return int64(float64(s.Done)*100/float64(s.Total)*10) / 10
}

// defaultLine is the log line of a meter without Options.Line.
func defaultLine(s Snapshot) (string, []any) {
	return "progress", []any{"what", s.Label, "done", s.Done, "total", s.Total, "unit", s.Unit,
		"percent", s.Percent(), "eta", s.ETA()}
}

// Meter counts progress. A nil *Meter is valid and counts nothing, so
// code paths without a meter need no checks. Its methods may be called
// from any goroutine.
type Meter struct {
	o      Options
	done   atomic.Int64
	total  atomic.Int64
	files  atomic.Int64
	start  time.Time
	p      *mpb.Progress
	bar    *mpb.Bar
	mu     sync.Mutex
	subs   map[string]*mpb.Bar
	cancel context.CancelFunc
	ended  chan struct{}
	closed sync.Once
}

// New starts a meter; Close ends it.
func New(o Options) *Meter {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Every <= 0 {
		o.Every = 10 * time.Second
	}
	if o.Unit == "" {
		o.Unit = "bytes"
	}
	if o.LabelWidth <= 0 {
		o.LabelWidth = len(o.Label) + 1
	}
	if o.Line == nil {
		o.Line = defaultLine
	}
	m := &Meter{o: o, start: time.Now(), ended: make(chan struct{})}
	m.total.Store(o.Total)
	if o.Bars != nil {
		m.p = mpb.New(mpb.WithOutput(o.Bars), mpb.WithWidth(40), mpb.WithRefreshRate(200*time.Millisecond), mpb.WithAutoRefresh())
		counter := decor.CountersKibiByte("% .1f / % .1f")
		if o.Unit == "files" {
			counter = decor.CountersNoUnit("%d / %d")
		}
		after := append([]decor.Decorator{counter}, m.speed()...)
		if !o.NoETA {
			after = append(after, decor.Name("  ETA "), decor.AverageETA(decor.ET_STYLE_GO))
		}
		m.bar = m.p.AddBar(o.Total,
			mpb.PrependDecorators(m.name(o.Label)),
			mpb.AppendDecorators(after...),
			// Below the bars of AddTo.
			mpb.BarPriority(1<<30))
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
				msg, args := o.Line(m.Snapshot())
				o.Log.Info(msg, args...)
			}
		}
	}()
	return m
}

func (m *Meter) name(label string) decor.Decorator {
	return decor.Name(label, decor.WC{W: m.o.LabelWidth, C: decor.DindentRight})
}

func (m *Meter) speed() []decor.Decorator {
	if !m.o.Speed {
		return nil
	}
	var unit any = 0
	if m.o.Unit != "files" {
		unit = decor.SizeB1024(0)
	}
	return []decor.Decorator{decor.Name("  "), decor.AverageSpeed(unit, "% .1f")}
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

// AddTo counts n more, done by one part of the work, such as push's
// "<target> <host>": on a terminal each label gets a bar of its own
// (what it did so far, and its speed) above the meter's bar. The log
// line counts only the whole.
func (m *Meter) AddTo(label string, n int64) {
	if m == nil || n == 0 {
		return
	}
	if m.bar != nil {
		m.mu.Lock()
		bar, ok := m.subs[label]
		if !ok {
			current := decor.CurrentKibiByte("% .1f")
			if m.o.Unit == "files" {
				current = decor.CurrentNoUnit("%d")
			}
			bar = m.p.AddBar(0,
				mpb.PrependDecorators(m.name(label)),
				mpb.AppendDecorators(append([]decor.Decorator{current}, m.speed()...)...))
			if m.subs == nil {
				m.subs = map[string]*mpb.Bar{}
			}
			m.subs[label] = bar
		}
		m.mu.Unlock()
		// A part's total is unknown: keep it just ahead of what is done.
		bar.SetTotal(bar.Current()+n+1, false)
		bar.IncrInt64(n)
	}
	m.Add(n)
}

// Grow adds n to the amount expected (work found as it goes, or to be
// done once more).
func (m *Meter) Grow(n int64) {
	if m == nil || n == 0 {
		return
	}
	t := m.total.Add(n)
	if m.bar != nil {
		m.bar.SetTotal(t, false)
	}
}

// Skip takes n off the amount expected (work found already done).
func (m *Meter) Skip(n int64) { m.Grow(-n) }

// AddFiles counts n more files finished (Snapshot.Files), for a meter
// of bytes that also reports files.
func (m *Meter) AddFiles(n int64) {
	if m == nil {
		return
	}
	m.files.Add(n)
}

// Writer is w counting what is written to it.
func (m *Meter) Writer(w io.Writer) io.Writer {
	if m == nil {
		return w
	}
	return counter{w, m}
}

type counter struct {
	w io.Writer
	m *Meter
}

func (c counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.m.Add(int64(n))
	return n, err
}

// Snapshot is the count now.
func (m *Meter) Snapshot() Snapshot {
	if m == nil {
		return Snapshot{}
	}
	return Snapshot{Label: m.o.Label, Unit: m.o.Unit, Done: m.done.Load(), Total: m.total.Load(),
		Files: m.files.Load(), Elapsed: time.Since(m.start)}
}

// Close ends the meter (the bars are completed, the log ticker stops).
// Closing again does nothing.
func (m *Meter) Close() {
	if m == nil {
		return
	}
	m.closed.Do(func() {
		if m.bar != nil {
			m.mu.Lock()
			for _, bar := range m.subs {
				bar.SetTotal(-1, true)
			}
			m.mu.Unlock()
			m.bar.SetTotal(-1, true)
			m.p.Wait()
			return
		}
		m.cancel()
		<-m.ended
	})
}
