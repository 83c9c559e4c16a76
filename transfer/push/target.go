package push

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/delivery"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/logkey"
	"github.com/chama-data/chama/internal/retry"
	"github.com/chama-data/chama/transfer/sshconn"
)

// recordEvery bounds how stale the delivery record may get during a set.
const recordEvery = 5 * time.Second

// runTarget delivers every job of one target over its hosts.
func runTarget(ctx context.Context, o *Options, name string, t *config.Target, jobs []*job, prog meter) []HostResult {
	log := o.Log.With("target", name)
	r := &targetRun{name: name, t: t, o: o, log: log, prog: prog, wake: make(chan struct{})}
	for i, ep := range t.Primary {
		r.hosts = append(r.hosts, &hostState{ep: ep, addr: ep.Addr(), prio: i})
	}
	for i, ep := range t.Standby {
		r.hosts = append(r.hosts, &hostState{ep: ep, addr: ep.Addr(), standby: true, prio: i})
	}
	if !t.SharedStorage && len(t.Primary) > 1 {
		log.Warn("the target has several primaries but shared_storage is not set: each file set goes whole to one host; set shared_storage: true if they are front-ends of one storage", "primaries", len(t.Primary))
	}
	for _, j := range jobs {
		overwrite := o.Force || (j.prev != nil && j.prev.Resend != j.m.Resend)
		sameResend := j.prev != nil && j.prev.Resend == j.m.Resend
		for _, s := range j.sets {
			r.sets = append(r.sets, s)
			for _, f := range s.set.Files {
				u := upload{
					Local: filepath.Join(j.localDir, s.set.Dir, f.Name), Name: f.Name, Dir: j.res.Dir,
					Size: f.Bytes, MD5: f.MD5, Suffix: partSuffix(o, t), Overwrite: overwrite,
					Checksum: t.RemoteChecksum, NoPosixRename: o.noPosixRename, Recheck: o.Force, Fence: j.fence,
				}
				tk := &task{job: j, set: s, u: u, on: map[string]bool{}, confirmed: map[string]int64{}}
				if e, ok := j.prev.Lookup(f.Name); ok && sameResend {
					tk.prev, tk.hasPrev = e, true
				}
				s.files = append(s.files, tk)
				s.queue = append(s.queue, tk)
				r.open++
			}
			r.open++ // its .verf
			if !t.SharedStorage && sameResend && !o.Force {
				// A set already published on a host stays there: a re-run
				// checks it through that host instead of sending the set
				// to whichever host is preferred now.
				s.home = r.recordedHome(j.prev, s)
			}
			if len(s.set.Files) == 0 {
				r.queueVerf(s)
			}
		}
	}
	d, err := sshconn.NewDialer(name, t, log)
	if err != nil {
		// Credentials or known_hosts are unusable: nothing can go out.
		log.Error("target unusable", logkey.Err, err)
		for _, j := range jobs {
			j.errs = append(j.errs, err.Error())
		}
		r.finishJobs(exit.Failure)
		return r.hostResults()
	}
	defer d.Close()
	r.d = d

	var wg sync.WaitGroup
	for _, h := range r.hosts {
		for slot := 0; slot < t.ConnectionsPerHost; slot++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.worker(ctx, h)
			}()
		}
	}
	wg.Wait()
	code := exit.Partial
	if r.allDead() {
		code = exit.Failure
	}
	r.finishJobs(code)
	return r.hostResults()
}

// waitTurn blocks until h may work (true) or the run is over for it.
// Until a first connection to h succeeded, one slot at a time connects,
// so a wrong password is tried once, not once per slot.
func (r *targetRun) waitTurn(ctx context.Context, h *hostState) bool {
	for {
		r.mu.Lock()
		now := time.Now()
		if r.finished() || h.dead != nil {
			r.mu.Unlock()
			return false
		}
		if r.wanted(h, now) && (h.connected || !h.dialing) && !now.Before(h.nextDial) {
			if !h.connected {
				h.dialing = true
			}
			r.mu.Unlock()
			return true
		}
		w := r.wake
		var next time.Duration = -1
		for _, o := range r.hosts {
			if o.dead == nil && o.downUntil.After(now) {
				if d := o.downUntil.Sub(now); next < 0 || d < next {
					next = d
				}
			}
		}
		if h.nextDial.After(now) {
			if d := h.nextDial.Sub(now); next < 0 || d < next {
				next = d
			}
		}
		r.mu.Unlock()
		var tc <-chan time.Time
		var timer *time.Timer
		if next >= 0 {
			timer = time.NewTimer(next)
			tc = timer.C
		}
		select {
		case <-ctx.Done():
		case <-w:
		case <-tc:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return false
		}
	}
}

// worker is one connection slot of a host: connect, run the target's
// transfers-per-connection over it, reconnect after a backoff when it
// breaks, and give up when the host is down or failed.
func (r *targetRun) worker(ctx context.Context, h *hostState) {
	for r.waitTurn(ctx, h) {
		epoch := r.epochOf(h)
		c, err := r.connect(ctx, h)
		if err != nil {
			cls := classify(err)
			if cls == classCancel {
				if ctx.Err() != nil {
					r.dialed(h, false)
					return
				}
				// Not this run's cancellation: a failure of the host, so
				// that it is marked down and the standbys get their turn.
				cls = classTransport
			}
			r.connectFailed(h, err, cls, epoch) // sets the host's next attempt
			continue
		}
		r.dialed(h, true)
		r.log.Debug("connected", logkey.Host, h.addr, "posix_rename", c.PosixRename, "fsync", c.Fsync)
		moved, transportErr := r.serve(ctx, h, c)
		c.Close()
		if transportErr != nil {
			n := r.connBroken(h, transportErr, moved, epoch)
			pause := r.backoff(n)
			if moved {
				// The host was serving: a blip, reconnect almost at once
				// (a tenth of the base backoff, so many slots do not
				// reconnect in lockstep).
				pause = retry.Backoff{Base: r.o.BackoffBase / 10, Max: r.o.BackoffMax, Jitter: true}.Pause(1)
			}
			if retry.Sleep(ctx, pause) != nil {
				return
			}
		}
	}
}

// connect opens a connection to h and runs the once-per-host checks on
// it; a connection that fails them is closed.
func (r *targetRun) connect(ctx context.Context, h *hostState) (*conn, error) {
	c, err := dial(ctx, r.d, h.ep)
	if err == nil {
		err = r.checkHost(ctx, h, c)
		if err != nil {
			c.Close()
		}
	}
	return c, err
}

// serve runs the target's transfers-per-connection over c until no task
// is left for it or one of them broke it. It reports whether c moved
// data and the first transport error that broke it (nil: none did), for
// the worker to pick the pause before reconnecting.
func (r *targetRun) serve(ctx context.Context, h *hostState, c *conn) (bool, error) {
	var wg sync.WaitGroup
	var emu sync.Mutex
	var transportErr error
	var moved atomic.Bool // bytes confirmed or a file settled on this connection
	broke := func(err error) {
		emu.Lock()
		if transportErr == nil {
			transportErr = err
		}
		emu.Unlock()
	}
	for i := 0; i < r.t.TransfersPerConnection; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.transfer(ctx, h, c, &moved, broke)
		}()
	}
	wg.Wait()
	return moved.Load(), transportErr
}

// transfer is one transfer slot of a connection: it runs tasks until
// none is left for c, or kills c when a task's error means the
// connection (or the host) is no longer usable. broke is told of a
// transport error before the connection is killed, so it sees the error
// that broke the connection rather than one its killing caused.
func (r *targetRun) transfer(ctx context.Context, h *hostState, c *conn, moved *atomic.Bool, broke func(error)) {
	for {
		tk := r.next(ctx, h, c)
		if tk == nil {
			return
		}
		tk.tries++
		out, err := r.run(ctx, h, c, tk)
		if err == nil || out.Confirmed > out.ResumedFrom {
			moved.Store(true)
		}
		cls := r.finish(h, tk, out, err)
		if err != nil && cls == classHost {
			r.hostFailed(h, err)
		}
		if err != nil && (cls == classTransport || cls == classHost || cls == classCancel) {
			if cls == classTransport {
				broke(err)
			}
			c.Kill(err)
			return
		}
	}
}

// finish records the outcome of one task.
func (r *targetRun) finish(h *hostState, tk *task, out outcome, err error) class {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.broadcast()
	if err == nil {
		r.delivered(h, tk, out)
		return 0
	}
	var mh *missingOnHost
	if errors.As(err, &mh) {
		r.holdVerf(h, tk, mh)
		return classFile
	}
	return r.retryOrFail(h, tk, out, err)
}

// delivered counts a task whose file is now on h (sent or found there),
// records it, and queues the set's .verf once every data file is on
// some host. r.mu is held.
func (r *targetRun) delivered(h *hostState, tk *task, out outcome) {
	j := tk.job
	r.open--
	tk.on[h.addr] = true
	r.serving(h)
	if out.Skipped {
		j.res.Skipped++
		if !tk.verf { // the total counts data files only
			r.prog.Skip(max(tk.u.Size-tk.high, 0))
		}
		r.log.Debug("already on target", logkey.Host, h.addr, logkey.File, tk.u.final())
	} else {
		j.res.Files++
		j.res.Bytes += tk.u.Size
		if j.hosts == nil {
			j.hosts = map[string]bool{}
		}
		j.hosts[h.addr] = true
		h.files++
		h.bytes += tk.u.Size
		r.log.Debug("delivered", logkey.Host, h.addr, logkey.File, tk.u.final(), "attempts", tk.tries, "resumed_from", out.ResumedFrom)
	}
	attempts := tk.tries
	if out.Skipped {
		attempts = 0
	}
	var hosts []string
	if tk.hasPrev && tk.prev.MD5 == tk.u.MD5 && tk.prev.Bytes == tk.u.Size {
		hosts = tk.prev.Hosts
	}
	j.rec.Put(delivery.File{Set: tk.set.set.Part, Name: tk.u.Name, Verf: tk.verf, Host: h.addr, Hosts: slices.Clone(hosts), Path: tk.u.final(),
		Bytes: tk.u.Size, MD5: tk.u.MD5, Time: time.Now().UTC(), Attempts: attempts, Skipped: out.Skipped, Resumed: out.ResumedFrom})
	if tk.verf {
		tk.set.done = true
		tk.set.verfOn = append(tk.set.verfOn, h.addr)
		j.res.Done++
		r.writeRecord(j)
	} else {
		tk.set.left--
		if tk.set.left == 0 && !tk.set.failed {
			r.queueVerf(tk.set)
		} else if time.Since(j.written) > recordEvery {
			// Long sets: keep the record recent for a crash.
			r.writeRecord(j)
		}
	}
}

// holdVerf puts back a set whose .verf found files missing on h: those
// files are pinned to h, ahead of the set's queue, and the .verf is
// queued again once they are there. r.mu is held.
func (r *targetRun) holdVerf(h *hostState, tk *task, mh *missingOnHost) {
	// The .verf waits: the missing files go to that host first.
	s := tk.set
	s.queued = false
	for _, f := range mh.files {
		f.pin = h
		f.attempts = 0
		f.high = 0
		r.prog.Grow(f.u.Size)
		s.left++
		r.open++
	}
	s.queue = append(slices.Clone(mh.files), s.queue...)
	r.log.Warn("holding the .verf back: files of its set are not on this host yet; sending them there first",
		logkey.Host, h.addr, "verf", tk.u.final(), "files", len(mh.files))
}

// retryOrFail decides what a failed task does next by the class of its
// error: back to the queue, another attempt, or given up on. r.mu is
// held.
func (r *targetRun) retryOrFail(h *hostState, tk *task, out outcome, err error) class {
	j := tk.job
	cls := classify(err)
	tk.lastErr = err
	if out.Confirmed > 0 {
		tk.confirmed[r.storage(h)] = out.Confirmed
	}
	progressed := out.Confirmed > out.ResumedFrom
	switch cls {
	case classCancel, classHost:
		// Not the file's fault: it goes back, for another host.
		r.requeue(tk, true)
	case classConflict:
		// Needs an operator (a differing remote file, a broken local
		// file): retrying cannot help.
		j.hard = true
		r.failTask(tk, err)
	case classFenced:
		// Another machine holds the job's lease now: stop, without an
		// operator's attention (exit 3) and without trying another host.
		r.failTask(tk, err)
	default:
		// A broken connection is the link's fault, not the file's: the
		// host's budget of connections that moved nothing bounds those.
		// Only the file's own errors use up its retries.
		if cls != classTransport {
			tk.attempts++
		}
		if tk.attempts > r.t.Retries {
			r.failTask(tk, fmt.Errorf("gave up on %s after %d failed attempts: %w", tk.u.Name, tk.attempts, err))
		} else {
			r.log.Warn("retrying file", logkey.Host, h.addr, logkey.File, tk.u.final(), "failed_attempts", tk.attempts, "confirmed", out.Confirmed, "class", cls.String(), logkey.Err, err)
			r.requeue(tk, progressed)
		}
	}
	return cls
}

func (r *targetRun) writeRecord(j *job) {
	complete := true
	for _, s := range j.sets {
		complete = complete && s.done && s.set.Verf != ""
	}
	j.rec.Complete = complete
	j.written = time.Now()
	if err := j.rec.Write(j.localDir); err != nil {
		r.log.Error("cannot write the delivery record", "dir", j.localDir, logkey.Err, err)
	}
}

// finishJobs settles every job's result after the workers stopped.
func (r *targetRun) finishJobs(code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pending := map[*job]int{}
	for _, tk := range r.verfs {
		pending[tk.job]++
	}
	for _, s := range r.sets {
		pending[s.job] += len(s.queue)
		if !s.done && !s.failed && !s.queued {
			pending[s.job]++ // the .verf
		}
	}
	cfgErr := false
	for _, h := range r.hosts {
		cfgErr = cfgErr || h.config
	}
	jobs := map[*job]bool{}
	for _, s := range r.sets {
		jobs[s.job] = true
	}
	for j := range jobs {
		j.res.Pending = pending[j]
		j.res.Via = nil
		for _, s := range j.sets {
			for _, h := range s.verfOn {
				if !slices.Contains(j.res.Via, h) {
					j.res.Via = append(j.res.Via, h)
				}
			}
		}
		if len(j.res.Via) == 0 && j.res.Partial {
			// Partial sets have no .verf: the hosts that hold their files.
			for h := range j.hosts {
				j.res.Via = append(j.res.Via, h)
			}
		}
		sort.Strings(j.res.Via)
		j.res.FailedHosts = r.failedHosts(j.res.Via)
		if j.rec != nil && (j.res.Files > 0 || j.res.Skipped > 0) {
			r.writeRecord(j)
		}
		ok := j.res.Done == len(j.sets) && j.res.Failed == 0
		if ok {
			continue
		}
		var reasons []string
		reasons = append(reasons, j.errs...)
		if j.res.Pending > 0 {
			reasons = append(reasons, fmt.Sprintf("%d files not delivered: %s", j.res.Pending, r.downSummary()))
		}
		reasons = dedupe(reasons)
		if len(reasons) > 3 {
			reasons = append(reasons[:3], fmt.Sprintf("and %d more (see the log)", len(reasons)-3))
		}
		j.res.Err = strings.Join(reasons, "; ")
		j.res.code = exit.Partial
		switch {
		case cfgErr:
			j.res.code = exit.Usage
		case code == exit.Failure || j.hard:
			j.res.code = exit.Failure
		}
	}
	// Jobs with no sets at all (empty manifest) are fine as they are.
}

func dedupe(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
