package push

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/delivery"
	"github.com/chama-data/chama/internal/logkey"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/transfer/sshconn"
)

// setState is one file set of a job on one target.
type setState struct {
	job    *job
	set    manifest.Set
	files  []*task // its data files
	queue  []*task // data files waiting for a connection
	left   int     // data files not yet confirmed on some host
	failed bool
	queued bool // the .verf was queued
	done   bool // the .verf is published
	// home, without shared storage, is the one host the set goes to whole:
	// a .verf on a host promises the whole set is on that host.
	home *hostState
	// verfOn: the hosts the .verf was published (or found) on this run.
	verfOn []string
}

type task struct {
	job      *job
	set      *setState
	u        upload
	verf     bool
	attempts int // attempts that failed through the file's own error (the retry budget)
	tries    int // attempts made, for the record
	lastErr  error
	// pin: only this host may take the task (its .verf check found the
	// file missing there).
	pin *hostState
	// prev is the delivery record's entry for the file (same re-send).
	prev    delivery.File
	hasPrev bool
	// on: the hosts that confirmed the file in this run.
	on map[string]bool
	// confirmed: per storage, the .part length an earlier attempt saw
	// acknowledged in order (resume point).
	confirmed map[string]int64
	// high is the progress already reported for the file's current
	// destination, so that re-sent bytes are not counted twice.
	high int64
}

// recordedHome is the configured host on which the record shows the
// set's .verf and every data file, or nil.
func (r *targetRun) recordedHome(prev *delivery.Record, s *setState) *hostState {
	if s.set.Verf == "" {
		return nil
	}
	v, ok := prev.Lookup(s.set.Verf)
	if !ok {
		return nil
	}
	for _, h := range r.hosts {
		if !v.On(h.addr) {
			continue
		}
		all := true
		for _, tk := range s.files {
			all = all && tk.hasPrev && tk.prev.On(h.addr) && tk.prev.MD5 == tk.u.MD5
		}
		if all {
			return h
		}
	}
	return nil
}

// targetRun is the scheduler of one target: per-set queues that the
// connections of every eligible host pull from. With shared storage a
// set's files spread over the primaries by themselves; without it each
// set has a home host that receives it whole. Before a .verf goes to a
// host, every file of its set is confirmed on that host (checkSet).
type targetRun struct {
	name string
	t    *config.Target
	o    *Options
	d    *sshconn.Dialer
	log  *slog.Logger
	prog meter

	mu      sync.Mutex
	wake    chan struct{}
	hosts   []*hostState
	sets    []*setState
	verfs   []*task // .verf tasks: they go before data files
	open    int     // tasks (data files and .verfs) not finished
	stopped bool
}

func (r *targetRun) broadcast() {
	close(r.wake)
	r.wake = make(chan struct{})
}

// eligible: primaries while up; a standby only when no primary is up and
// no standby before it in priority order is up.
func (r *targetRun) eligible(h *hostState, now time.Time) bool {
	if !h.up(now) {
		return false
	}
	if !h.standby {
		return true
	}
	for _, o := range r.hosts {
		if !o.standby && o.up(now) {
			return false
		}
		if o.standby && o.prio < h.prio && o.up(now) {
			return false
		}
	}
	return true
}

// wanted: h should hold connections: it is eligible, or it is the home
// of an unfinished set, or a task is pinned to it.
func (r *targetRun) wanted(h *hostState, now time.Time) bool {
	if !h.up(now) {
		return false
	}
	if r.eligible(h, now) {
		return true
	}
	for _, s := range r.sets {
		// A failed set's queued files still go out (its .verf does not).
		if s.home == h && (len(s.queue) > 0 || (!s.done && !s.failed)) {
			return true
		}
		for _, tk := range s.queue {
			if tk.pin == nil {
				break // pinned tasks lead their set's queue
			}
			if tk.pin == h {
				return true
			}
		}
	}
	return false
}

// canTake reports whether h may take tk now; assign makes h the home of
// a homeless set.
func (r *targetRun) canTake(h *hostState, tk *task, now time.Time, assign bool) bool {
	if tk.pin != nil {
		if tk.pin.up(now) {
			return tk.pin == h
		}
		tk.pin = nil // its host is gone: the usual rules apply
	}
	if r.t.SharedStorage {
		return r.eligible(h, now)
	}
	s := tk.set
	if s.home != nil && s.home.up(now) {
		return s.home == h
	}
	if !r.eligible(h, now) {
		return false
	}
	if assign && s.home != h {
		if s.home != nil {
			r.log.Warn("file set moves to another host; it will receive the whole set", "set", s.set.Verf, "from", s.home.addr, "to", h.addr)
		}
		s.home = h
	}
	return true
}

// take removes and returns the first task h may take, or nil.
func (r *targetRun) take(h *hostState, now time.Time) *task {
	for i, tk := range r.verfs {
		if r.canTake(h, tk, now, true) {
			r.verfs = slices.Delete(r.verfs, i, i+1)
			return tk
		}
	}
	for _, s := range r.sets {
		for i, tk := range s.queue {
			if r.canTake(h, tk, now, true) {
				s.queue = slices.Delete(s.queue, i, i+1)
				return tk
			}
			if tk.pin == nil {
				break // the set is not for h (only pinned tasks differ)
			}
		}
	}
	return nil
}

func (r *targetRun) finished() bool { return r.open == 0 || r.stopped }

// next hands out a task for a connection of h, or nil when h should stop
// using the connection.
func (r *targetRun) next(ctx context.Context, h *hostState, c *conn) *task {
	for {
		r.mu.Lock()
		now := time.Now()
		if r.finished() || !r.wanted(h, now) || c.Broken() || ctx.Err() != nil {
			r.mu.Unlock()
			return nil
		}
		if tk := r.take(h, now); tk != nil {
			// The record's md5 counts only where the record shows the
			// file: on this host, or anywhere with shared storage.
			tk.u.KnownMD5 = ""
			if tk.hasPrev && (r.t.SharedStorage || tk.prev.On(h.addr)) {
				tk.u.KnownMD5 = tk.prev.MD5
			}
			tk.u.Confirmed = tk.confirmed[r.storage(h)]
			r.mu.Unlock()
			return tk
		}
		w := r.wake
		r.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-c.Done():
			return nil
		case <-w:
		}
	}
}

// storage names where h's files live: one name for all hosts with
// shared storage, the host itself otherwise.
func (r *targetRun) storage(h *hostState) string {
	if r.t.SharedStorage {
		return ""
	}
	return h.addr
}

// run carries out one task on a connection of h. A .verf is published
// only once checkSet found every file of its set on h.
func (r *targetRun) run(ctx context.Context, h *hostState, c *conn, tk *task) (outcome, error) {
	if !tk.verf {
		high := tk.high
		return c.publish(ctx, &tk.u, r.d.MaxPacket, func(pos int64) {
			// pos is the file offset reached: count only what is new.
			if pos > high {
				r.prog.AddTo(r.name+" "+h.addr, pos-high)
				high = pos
				tk.high = pos
			}
		})
	}
	missing, err := r.checkSet(ctx, h, c, tk.set)
	if err != nil {
		return outcome{}, err
	}
	if len(missing) > 0 {
		return outcome{}, &missingOnHost{host: h, files: missing}
	}
	return c.publish(ctx, &tk.u, r.d.MaxPacket, nil)
}

// missingOnHost is a .verf held back: files of its set are not (yet) on
// the host it was about to go to.
type missingOnHost struct {
	host  *hostState
	files []*task
}

func (e *missingOnHost) Error() string {
	return fmt.Sprintf("%s: %d files of the set are not confirmed there", e.host.addr, len(e.files))
}

// checkSet returns the data files of s that are not on h: those not
// confirmed on h in this run and, with shared storage, not found there
// with the right size by a stat made through h right now.
func (r *targetRun) checkSet(ctx context.Context, h *hostState, c *conn, s *setState) ([]*task, error) {
	r.mu.Lock()
	var missing, stat []*task
	for _, tk := range s.files {
		switch {
		case tk.on[h.addr]:
		case r.t.SharedStorage && len(tk.on) > 0:
			stat = append(stat, tk)
		default:
			missing = append(missing, tk)
		}
	}
	r.mu.Unlock()
	// Not errgroup.WithContext: cancelling the ops' context would kill
	// the connection the other transfers share.
	var mu sync.Mutex
	var g errgroup.Group
	g.SetLimit(8)
	for _, tk := range stat {
		g.Go(func() error {
			var st os.FileInfo
			p := tk.u.final()
			err := c.Op(ctx, "stat "+p, func() (err error) { st, err = c.SFTP.Stat(p); return })
			switch {
			case errors.Is(err, os.ErrNotExist), err == nil && st.Size() != tk.u.Size:
				r.log.Warn("a file confirmed through another host is not on this one; sending it here (is the storage really shared?)", logkey.Host, h.addr, logkey.File, p)
				mu.Lock()
				missing = append(missing, tk)
				mu.Unlock()
			case err != nil:
				return err
			default:
				r.mu.Lock()
				tk.on[h.addr] = true
				r.mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return missing, nil
}

// requeue puts a task back: at the front when it made progress or was
// not at fault, so a file in flight is finished before new ones start.
func (r *targetRun) requeue(tk *task, front bool) {
	if tk.verf {
		r.verfs = append([]*task{tk}, r.verfs...)
		return
	}
	s := tk.set
	if front || tk.pin != nil {
		s.queue = append([]*task{tk}, s.queue...)
	} else {
		s.queue = append(s.queue, tk)
	}
}

// queueVerf queues a set's .verf: every data file of the set is confirmed
// on some host; checkSet confirms them on the host that takes it.
func (r *targetRun) queueVerf(s *setState) {
	j := s.job
	if s.set.Verf == "" {
		// A partial set: its .verf waits for the assembled day.
		s.done = true
		j.res.Done++
		r.open--
		r.writeRecord(j)
		return
	}
	st, err := os.Stat(filepath.Join(j.localDir, s.set.Dir, s.set.Verf))
	var size int64
	if err == nil {
		size = st.Size()
	}
	s.queued = true
	tk := &task{job: j, set: s, verf: true, on: map[string]bool{}, confirmed: map[string]int64{}, u: upload{
		Local: filepath.Join(j.localDir, s.set.Dir, s.set.Verf), Name: s.set.Verf, Dir: j.res.Dir, Size: size,
		Verf: true, VerfColumns: j.verfCols, Suffix: partSuffix(r.o, r.t), Overwrite: r.o.Force || (j.prev != nil && j.prev.Resend != j.m.Resend),
		NoPosixRename: r.o.noPosixRename, Fence: j.fence,
	}}
	if e, ok := j.prev.Lookup(s.set.Verf); ok && j.prev.Resend == j.m.Resend {
		tk.prev, tk.hasPrev = e, true
	}
	if err != nil {
		tk.job.hard = true
		r.failTask(tk, &LocalError{Err: fmt.Errorf("local .verf: %w", err)})
		return
	}
	r.verfs = append(r.verfs, tk)
	r.writeRecord(j)
}

func (r *targetRun) failTask(tk *task, err error) {
	j := tk.job
	r.open--
	j.res.Failed++
	j.errs = append(j.errs, err.Error())
	r.log.Error("file not delivered", logkey.File, tk.u.final(), logkey.Err, err)
	if !tk.verf && !tk.set.failed && !tk.set.queued {
		r.open-- // its .verf will never go
	}
	tk.set.failed = true
}
