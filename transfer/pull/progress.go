package pull

import (
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// meter counts staged bytes and shows them: a bar on a terminal, a log
// line every interval otherwise.
type meter struct {
	done   atomic.Int64 // bytes copied
	want   atomic.Int64 // bytes listed for copying
	files  atomic.Int64
	bar    *mpb.Bar
	p      *mpb.Progress
	stop   chan struct{}
	wg     sync.WaitGroup
	closed sync.Once
}

func newMeter(term io.Writer, log *slog.Logger, every time.Duration) *meter {
	m := &meter{stop: make(chan struct{})}
	if term != nil {
		m.p = mpb.New(mpb.WithOutput(term), mpb.WithWidth(40), mpb.WithRefreshRate(200*time.Millisecond))
		m.bar = m.p.AddBar(0,
			mpb.PrependDecorators(decor.Name("pull", decor.WC{W: 6, C: decor.DindentRight})),
			mpb.AppendDecorators(
				decor.CountersKibiByte("% .1f / % .1f"),
				decor.Name("  "), decor.AverageSpeed(decor.SizeB1024(0), "% .1f"),
			),
		)
		return m
	}
	if log == nil || every <= 0 {
		return m
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		start := time.Now()
		for {
			select {
			case <-m.stop:
				return
			case <-t.C:
				d := m.done.Load()
				log.Info("pull progress", "bytes", d, "of", m.want.Load(), "files", m.files.Load(),
					"mib_per_s", float64(d)/(1<<20)/time.Since(start).Seconds())
			}
		}
	}()
	return m
}

// expect adds bytes about to be copied.
func (m *meter) expect(n int64) {
	w := m.want.Add(n)
	if m.bar != nil {
		m.bar.SetTotal(w, false)
	}
}

// add counts copied bytes (a retried copy counts again).
func (m *meter) add(n int64) {
	m.done.Add(n)
	if m.bar != nil {
		m.bar.IncrInt64(n)
	}
}

func (m *meter) close() {
	m.closed.Do(func() {
		close(m.stop)
		m.wg.Wait()
		if m.bar != nil {
			m.bar.SetTotal(-1, true)
			m.p.Wait()
		}
	})
}

// counter feeds a meter from a write path.
type counter struct {
	w io.Writer
	m *meter
}

func (c counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.m.add(int64(n))
	return n, err
}
