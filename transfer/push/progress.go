package push

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

// progress reports bytes as they go out: bars on a terminal, periodic
// log lines otherwise.
type progress interface {
	add(target, host string, n int64)
	skip(n int64) // bytes that will not be sent (already on the target)
	grow(n int64) // bytes to send again (a file that must go to one more host)
	close()
}

// barProgress draws an overall bar and one per host with mpb.
type barProgress struct {
	p     *mpb.Progress
	total *mpb.Bar
	want  atomic.Int64
	mu    sync.Mutex
	hosts map[string]*mpb.Bar
}

func newBarProgress(w io.Writer, total int64) *barProgress {
	b := &barProgress{p: mpb.New(mpb.WithOutput(w), mpb.WithWidth(40), mpb.WithRefreshRate(200*time.Millisecond)), hosts: map[string]*mpb.Bar{}}
	b.want.Store(total)
	b.total = b.p.AddBar(total,
		mpb.PrependDecorators(decor.Name("all", decor.WC{W: 28, C: decor.DindentRight})),
		mpb.AppendDecorators(
			decor.CountersKibiByte("% .1f / % .1f"),
			decor.Name("  "), decor.AverageSpeed(decor.SizeB1024(0), "% .1f"),
			decor.Name("  ETA "), decor.AverageETA(decor.ET_STYLE_GO),
		),
		mpb.BarPriority(1<<30),
	)
	return b
}

func (b *barProgress) add(target, host string, n int64) {
	key := target + " " + host
	b.mu.Lock()
	bar, ok := b.hosts[key]
	if !ok {
		bar = b.p.AddBar(0,
			mpb.PrependDecorators(decor.Name(key, decor.WC{W: 28, C: decor.DindentRight})),
			mpb.AppendDecorators(decor.CurrentKibiByte("% .1f"), decor.Name("  "), decor.AverageSpeed(decor.SizeB1024(0), "% .1f")),
		)
		b.hosts[key] = bar
	}
	b.mu.Unlock()
	bar.SetTotal(bar.Current()+n+1, false)
	bar.IncrInt64(n)
	b.total.IncrInt64(n)
}

func (b *barProgress) skip(n int64) {
	b.total.SetTotal(b.want.Add(-n), false)
}

func (b *barProgress) grow(n int64) {
	b.total.SetTotal(b.want.Add(n), false)
}

func (b *barProgress) close() {
	b.mu.Lock()
	for _, bar := range b.hosts {
		bar.SetTotal(-1, true)
	}
	b.mu.Unlock()
	b.total.SetTotal(-1, true)
	b.p.Wait()
}

// logProgress logs totals every interval.
type logProgress struct {
	log    *slog.Logger
	want   atomic.Int64
	sent   atomic.Int64
	start  time.Time
	cancel context.CancelFunc
	done   chan struct{}
}

func newLogProgress(log *slog.Logger, total int64, every time.Duration) *logProgress {
	ctx, cancel := context.WithCancel(context.Background())
	l := &logProgress{log: log, start: time.Now(), cancel: cancel, done: make(chan struct{})}
	l.want.Store(total)
	go func() {
		defer close(l.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				l.report()
			}
		}
	}()
	return l
}

func (l *logProgress) report() {
	sent, want := l.sent.Load(), l.want.Load()
	el := time.Since(l.start).Seconds()
	rate := float64(sent) / max(el, 0.001)
	eta := "?"
	if rate > 0 && want > sent {
		eta = time.Duration(float64(want-sent) / rate * float64(time.Second)).Round(time.Second).String()
	}
	l.log.Info("push progress", "sent_bytes", sent, "total_bytes", want, "rate_mb_s", int64(rate/1e6*10)/10.0, "eta", eta)
}

func (l *logProgress) add(_, _ string, n int64) { l.sent.Add(n) }
func (l *logProgress) skip(n int64)             { l.want.Add(-n) }
func (l *logProgress) grow(n int64)             { l.want.Add(n) }
func (l *logProgress) close()                   { l.cancel(); <-l.done }
