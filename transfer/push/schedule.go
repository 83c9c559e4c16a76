package push

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/delivery"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/logkey"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/internal/retry"
	"github.com/chama-data/chama/transfer/sshconn"
)

// recordEvery bounds how stale the delivery record may get during a set.
const recordEvery = 5 * time.Second

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
					Size: f.Bytes, MD5: f.MD5, Suffix: t.PartSuffix, Overwrite: overwrite,
					Checksum: t.RemoteChecksum, NoPosixRename: o.noPosixRename, Recheck: o.Force,
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

type hostState struct {
	ep      config.Endpoint
	addr    string
	standby bool
	prio    int

	// connFails counts connection attempts that failed (refused, timed
	// out, handshake) and stalls broken connections that moved no bytes,
	// since the last success. Either reaching down_after marks the host
	// down. A reset of the whole pool at once counts once: epoch changes
	// with every counted failure, and a failure counts only if the epoch
	// is still the one its connection (or attempt) started in.
	connFails int
	stalls    int
	epoch     int

	downSince time.Time // zero while up
	downUntil time.Time // not tried before this
	probes    int       // probes while it was the only hope
	downs     int       // times marked down this run
	dead      error     // never used again this run
	lastErr   error
	config    bool // dead through a config error (exit 2)

	nextDial  time.Time // no connection attempt before this (after a failed one)
	dialing   bool      // the first connection is being made
	connected bool      // a connection succeeded this run
	checked   bool      // the remote_checksum check passed

	files int
	bytes int64
}

// backoff is the jittered pause before attempt n of a reconnect or probe.
func (r *targetRun) backoff(n int) time.Duration {
	return retry.Backoff{Base: r.o.BackoffBase, Max: r.o.BackoffMax, Jitter: true}.Pause(n)
}

func (r *targetRun) broadcast() {
	close(r.wake)
	r.wake = make(chan struct{})
}

func (h *hostState) up(now time.Time) bool { return h.dead == nil && !now.Before(h.downUntil) }

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

// checkDown runs after a host went down: while no host is up, down hosts
// are probed again after a short backoff rather than after cool_off, for
// at most cool_off; then the target's run ends (exit 3).
func (r *targetRun) checkDown(now time.Time) {
	for _, h := range r.hosts {
		if h.up(now) {
			return
		}
	}
	hope := false
	for _, h := range r.hosts {
		if h.dead != nil || now.Sub(h.downSince) >= r.t.CoolOff.D() {
			continue
		}
		hope = true
		if next := now.Add(r.backoff(h.probes + 1)); next.Before(h.downUntil) {
			h.downUntil = next
		}
	}
	if !hope && !r.stopped {
		r.stopped = true
		var parts []string
		for _, h := range r.hosts {
			st := "down"
			if h.dead != nil {
				st = "failed"
			}
			parts = append(parts, fmt.Sprintf("%s %s: %v", h.addr, st, h.lastErr))
		}
		r.log.Error("every host of the target is down or failed; stopping its deliveries", "hosts", strings.Join(parts, "; "))
	}
	r.broadcast()
}

func (r *targetRun) allDead() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, h := range r.hosts {
		if h.dead == nil {
			return false
		}
	}
	return true
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

// worker is one connection slot of a host: connect, run the target's
// transfers-per-connection over it, reconnect after a backoff when it
// breaks, and give up when the host is down or failed.
func (r *targetRun) worker(ctx context.Context, h *hostState) {
	for r.waitTurn(ctx, h) {
		epoch := r.epochOf(h)
		c, err := dial(ctx, r.d, h.ep)
		if err == nil {
			err = r.checkHost(ctx, h, c)
			if err != nil {
				c.Close()
			}
		}
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
		var wg sync.WaitGroup
		var emu sync.Mutex
		var transportErr error
		var moved atomic.Bool // bytes confirmed or a file settled on this connection
		for i := 0; i < r.t.TransfersPerConnection; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
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
							emu.Lock()
							if transportErr == nil {
								transportErr = err
							}
							emu.Unlock()
						}
						c.Kill(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		c.Close()
		if transportErr != nil {
			n := r.connBroken(h, transportErr, moved.Load(), epoch)
			pause := r.backoff(n)
			if moved.Load() {
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

func (r *targetRun) epochOf(h *hostState) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return h.epoch
}

// dialed ends a slot's connection attempt: the first success lets the
// other slots of the host connect too.
func (r *targetRun) dialed(h *hostState, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h.dialing = false
	if ok {
		h.connected = true
		h.connFails = 0
		h.nextDial = time.Time{}
	}
	r.broadcast()
}

// serving records that h moved data: it is back for good. Only this (not
// a bare login) ends a down spell, so a host that accepts logins but
// never moves a byte is still given up on after cool_off.
func (r *targetRun) serving(h *hostState) {
	h.stalls = 0
	if !h.downSince.IsZero() {
		r.log.Info("host is back", logkey.Host, h.addr, "down_for", time.Since(h.downSince).Round(time.Second).String())
	}
	h.downSince, h.probes = time.Time{}, 0
}

// checkHost runs the once-per-host checks on a new connection: with
// remote_checksum, that the shell sees md5sum and the target's folders as
// SFTP does.
func (r *targetRun) checkHost(ctx context.Context, h *hostState, c *conn) error {
	if !r.t.RemoteChecksum {
		return nil
	}
	r.mu.Lock()
	done := h.checked
	dirs := map[string]bool{}
	for _, s := range r.sets {
		dirs[s.job.res.Dir] = true
	}
	r.mu.Unlock()
	if done {
		return nil
	}
	var list []string
	for d := range dirs {
		list = append(list, d)
	}
	sort.Strings(list)
	if err := c.checkShell(ctx, list, r.t.PartSuffix); err != nil {
		return err
	}
	r.mu.Lock()
	h.checked = true
	r.mu.Unlock()
	return nil
}

// connectFailed counts a failed connection attempt and sets when the
// host's slots may try again (a backoff for the whole host, so failures
// of several slots in a row are not counted without a pause between).
func (r *targetRun) connectFailed(h *hostState, err error, cls class, epoch int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.broadcast()
	h.dialing = false
	h.lastErr = err
	now := time.Now()
	if cls == classHost {
		r.kill(h, err)
		r.checkDown(now)
		return
	}
	r.count(h, &h.connFails, epoch, now, "connection attempts failed")
	if next := now.Add(r.backoff(max(h.connFails, 1))); next.After(h.nextDial) {
		h.nextDial = next
	}
	r.checkDown(now)
}

// connBroken handles a connection that broke in use. One that moved
// data is a network blip: reconnect soon. One that moved nothing counts
// toward marking the host down.
func (r *targetRun) connBroken(h *hostState, err error, moved bool, epoch int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.broadcast()
	h.lastErr = err
	now := time.Now()
	if moved {
		r.serving(h)
		r.log.Info("connection broke after progress; reconnecting", logkey.Host, h.addr, logkey.Err, err)
		return 1
	}
	r.count(h, &h.stalls, epoch, now, "connections broke without moving data")
	r.checkDown(now)
	return max(h.stalls, 1)
}

// count adds one to a failure counter of h, unless another failure was
// counted since the connection or attempt began (epoch): failures that
// happen together are one event. At down_after the host goes down.
func (r *targetRun) count(h *hostState, n *int, epoch int, now time.Time, what string) {
	if h.epoch != epoch {
		return
	}
	*n++
	h.epoch++
	r.log.Warn("host failure counted; will retry", logkey.Host, h.addr, "what", what, "consecutive", *n, "down_after", r.t.DownAfter, logkey.Err, h.lastErr)
	if *n >= r.t.DownAfter && h.up(now) {
		r.markDown(h, now, fmt.Sprintf("%d %s", *n, what))
	}
}

// hostFailed rules h out for the rest of the run (auth, host key,
// permission, missing folder).
func (r *targetRun) hostFailed(h *hostState, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h.lastErr = err
	r.kill(h, err)
	r.checkDown(time.Now())
	r.broadcast()
}

func (r *targetRun) kill(h *hostState, err error) {
	if h.dead != nil {
		return
	}
	h.dead = err
	var ce *ConfigError
	h.config = errors.As(err, &ce)
	r.log.Error("host failed; its files go to the other hosts", logkey.Host, h.addr, "reason", reasonCode(err), logkey.Err, err)
}

// markDown rests h: for cool_off while another host can take its files,
// else only for a probe backoff (checkDown bounds the probing).
func (r *targetRun) markDown(h *hostState, now time.Time, why string) {
	h.downs++
	if h.downSince.IsZero() {
		h.downSince = now
	}
	// Once back, one more failure sends it down again.
	h.connFails = max(r.t.DownAfter-1, 0)
	h.stalls = max(r.t.DownAfter-1, 0)
	other := false
	for _, o := range r.hosts {
		other = other || (o != h && o.up(now))
	}
	if other {
		h.downUntil = now.Add(r.t.CoolOff.D())
		r.log.Error("host marked down; its files go to the other hosts", logkey.Host, h.addr, "why", why, "cool_off", r.t.CoolOff.D().String(), logkey.Err, h.lastErr)
		return
	}
	h.probes++
	h.downUntil = now.Add(r.backoff(h.probes))
	r.log.Error("host marked down; no other host can take its files, probing it again", logkey.Host, h.addr, "why", why,
		"probe_in", h.downUntil.Sub(now).Round(time.Millisecond).String(), "gives_up_after", r.t.CoolOff.D().String(), logkey.Err, h.lastErr)
}

// finish records the outcome of one task.
func (r *targetRun) finish(h *hostState, tk *task, out outcome, err error) class {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.broadcast()
	j := tk.job
	if err == nil {
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
		return 0
	}
	var mh *missingOnHost
	if errors.As(err, &mh) {
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
		return classFile
	}
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
		Verf: true, VerfColumns: j.verfCols, Suffix: r.t.PartSuffix, Overwrite: r.o.Force || (j.prev != nil && j.prev.Resend != j.m.Resend),
		NoPosixRename: r.o.noPosixRename,
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

// failedHosts lists the hosts that failed or went down in this run, as
// host:port:reason.
// A host that went down and came back to deliver is not listed.
func (r *targetRun) failedHosts(via []string) []string {
	var out []string
	for _, h := range r.hosts {
		switch {
		case h.dead != nil:
			out = append(out, h.addr+":"+reasonCode(h.dead))
		case h.downs > 0 && !slices.Contains(via, h.addr):
			out = append(out, h.addr+":"+reasonCode(h.lastErr))
		}
	}
	return out
}

func (r *targetRun) downSummary() string {
	var parts []string
	for _, h := range r.hosts {
		// Most errors already start with the host: say it once.
		why := func(err error) string { return strings.TrimPrefix(fmt.Sprint(err), h.addr+": ") }
		switch {
		case h.dead != nil:
			parts = append(parts, fmt.Sprintf("%s failed: %s", h.addr, why(h.dead)))
		case h.downUntil.After(time.Now()) || !h.downSince.IsZero():
			parts = append(parts, fmt.Sprintf("%s down: %s", h.addr, why(h.lastErr)))
		}
	}
	if len(parts) == 0 {
		return "run stopped"
	}
	return strings.Join(parts, "; ")
}

func (r *targetRun) hostResults() []HostResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []HostResult
	now := time.Now()
	for _, h := range r.hosts {
		hr := HostResult{Target: r.name, Host: h.addr, Role: "primary", State: "up", Files: h.files, Bytes: h.bytes}
		if h.standby {
			hr.Role = "standby"
		}
		switch {
		case h.dead != nil:
			hr.State, hr.Err, hr.Reason = "failed", h.dead.Error(), reasonCode(h.dead)
		case h.downUntil.After(now) || !h.downSince.IsZero():
			hr.State, hr.Err, hr.Reason = "down", fmt.Sprint(h.lastErr), reasonCode(h.lastErr)
		}
		out = append(out, hr)
	}
	return out
}

// reasonCode is a short, stable word for why a host failed, for status
// lines and alerts.
func reasonCode(err error) string {
	var (
		hk *sshconn.HostKeyError
		ae *sshconn.AuthError
		pe *sshconn.PermissionError
		md *MissingDirError
		ce *ConfigError
		te *sshconn.TimeoutError
	)
	switch {
	case err == nil:
		return "unknown"
	case errors.As(err, &hk):
		if len(hk.Want) == 0 {
			return "host_key_unknown"
		}
		return "host_key_mismatch"
	case errors.As(err, &ae):
		return "auth_refused"
	case errors.As(err, &pe), sshconn.IsPermission(err):
		return "permission_denied"
	case errors.As(err, &md):
		return "missing_dir"
	case errors.As(err, &ce):
		return "config"
	case errors.As(err, &te):
		return "timeout"
	case strings.Contains(err.Error(), "connection refused"):
		return "refused"
	case strings.Contains(err.Error(), "sftp subsystem"):
		return "sftp_refused"
	}
	return "transport"
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
