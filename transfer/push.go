package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/naming"
)

// PushOptions is one `chama push` run.
type PushOptions struct {
	Config  *config.Config
	Periods []naming.Period
	// Ifaces to push; nil means every configured interface.
	Ifaces []*config.Interface
	// Resend, when >= 0, requires each manifest to be that re-send.
	Resend int
	// Force allows overwriting final remote files that differ.
	Force bool
	Log   *slog.Logger
	// Status receives one CHAMA_PUSH line per interface/period/target
	// (nil: discarded).
	Status io.Writer
	// Bars, when set, is the terminal that progress bars are drawn on;
	// otherwise progress goes to Log every ProgressEvery (default 10s).
	Bars          io.Writer
	ProgressEvery time.Duration
	// BackoffBase and BackoffMax bound the reconnect backoff (default 1s
	// and 30s).
	BackoffBase, BackoffMax time.Duration
	// Track, when set, is called for each interface/period/target before
	// anything is sent; the function it returns gets the final result
	// (the run ledger hooks in here).
	Track func(ctx context.Context, iface, period, target string) func(JobResult)
	// Partial delivers, for a day still packed hour by hour and not yet
	// assembled, the files of its hours known so far (partial.json): data
	// files only, never a .verf (partial.go).
	Partial bool

	noPosixRename bool // tests: force the remove-then-rename path
}

// PushResult is what a run did, also printed by --json.
type PushResult struct {
	Jobs    []JobResult   `json:"jobs"`
	Hosts   []HostResult  `json:"hosts"`
	Files   int           `json:"files"` // files sent in this run
	Skipped int           `json:"skipped"`
	Failed  int           `json:"failed"`
	Pending int           `json:"pending"`
	Bytes   int64         `json:"bytes"`
	Elapsed time.Duration `json:"elapsed_ns"`
	Code    int           `json:"exit_code"`
}

// JobResult is one interface, period and target.
type JobResult struct {
	Iface   string `json:"iface"`
	Period  string `json:"period"`
	Target  string `json:"target"`
	Dir     string `json:"dir"`
	Sets    int    `json:"sets"`
	Done    int    `json:"sets_published"` // sets whose .verf is on the target
	Files   int    `json:"files"`          // sent in this run (data files and .verf)
	Skipped int    `json:"skipped"`        // already on the target
	Failed  int    `json:"failed"`         // gave up on
	Pending int    `json:"pending"`        // not delivered (hosts down, cancelled)
	Bytes   int64  `json:"bytes"`
	OK      bool   `json:"ok"`
	Err     string `json:"error,omitempty"`
	Record  string `json:"record,omitempty"` // the delivery record file
	// Hosts that confirmed files of this job in this run.
	Hosts []string `json:"hosts,omitempty"`
	Code  int      `json:"exit_code"`
	// Partial: only the known prefix of a day was delivered, no .verf.
	Partial bool `json:"partial,omitempty"`
	code    int
}

// HostResult is one endpoint's share of the run.
type HostResult struct {
	Target string `json:"target"`
	Host   string `json:"host"`
	Role   string `json:"role"`  // primary, standby
	State  string `json:"state"` // up, down, failed
	Files  int    `json:"files"`
	Bytes  int64  `json:"bytes"`
	Err    string `json:"error,omitempty"`
}

// StatusLine is the stable, greppable line for a job.
func (j *JobResult) StatusLine() string {
	if j.OK && j.Partial {
		return fmt.Sprintf("CHAMA_PUSH PARTIAL iface=%s period=%s target=%s files=%d bytes=%d skipped=%d",
			j.Iface, j.Period, j.Target, j.Files, j.Bytes, j.Skipped)
	}
	if j.OK {
		return fmt.Sprintf("CHAMA_PUSH OK iface=%s period=%s target=%s files=%d bytes=%d skipped=%d",
			j.Iface, j.Period, j.Target, j.Files, j.Bytes, j.Skipped)
	}
	return fmt.Sprintf("CHAMA_PUSH FAIL iface=%s period=%s target=%s files=%d bytes=%d skipped=%d failed=%d pending=%d err=%q",
		j.Iface, j.Period, j.Target, j.Files, j.Bytes, j.Skipped, j.Failed, j.Pending, j.Err)
}

// job is one interface, period and target.
type job struct {
	res      JobResult
	localDir string
	m        *manifest.Manifest
	rec      *Delivery
	prev     *Delivery
	sets     []*setState
	errs     []string
	hard     bool // a failure that needs an operator (exit 1)
	verfCols []string
	written  time.Time // last delivery-record write
	hosts    map[string]bool
	end      func(JobResult)
}

// recordEvery bounds how stale the delivery record may get during a set.
const recordEvery = 5 * time.Second

type setState struct {
	job    *job
	set    manifest.Set
	left   int // data files not yet confirmed
	failed bool
	queued bool // the .verf was queued
	done   bool // the .verf is published
}

type task struct {
	job      *job
	set      *setState
	u        upload
	verf     bool
	attempts int
	lastErr  error
}

// Push delivers the packed file sets of the given periods and
// interfaces to every target their routes name. Each target gets the
// full set independently. The error carries the exit code: 1 when a
// target refused (auth, host key, permission, missing folder, a
// conflicting remote file), 3 when transport trouble or downed hosts left
// files undelivered (safe to run again), 4 when nothing was packed yet.
func Push(ctx context.Context, o PushOptions) (*PushResult, error) {
	start := time.Now()
	if o.Config == nil {
		return nil, exit.Usagef("push: no config")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Status == nil {
		o.Status = io.Discard
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = time.Second
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 30 * time.Second
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 10 * time.Second
	}
	ifaces := o.Ifaces
	if ifaces == nil {
		ifaces, _ = o.Config.Select("")
	}

	// Build the jobs, grouped by target.
	var jobs []*job
	byTarget := map[string][]*job{}
	var total int64
	for _, p := range o.Periods {
		for _, ifc := range ifaces {
			if len(ifc.Routes) == 0 {
				j := &job{res: JobResult{Iface: ifc.Name, Period: p.String(), Target: "-", code: exit.Usage,
					Err: fmt.Sprintf("interface %s has no routes: nothing to push to", ifc.Name)}}
				jobs = append(jobs, j)
				continue
			}
			if p.Hourly && ifc.Granularity == "day" {
				// An hour of a day interface carries the day's names: sent
				// on its own it would look like (part of) the day's set.
				j := &job{res: JobResult{Iface: ifc.Name, Period: p.String(), Target: "-", code: exit.Usage,
					Err: fmt.Sprintf("interface %s is delivered per day: push --date %s (add --partial for the hours packed so far)", ifc.Name, p.Day())}}
				jobs = append(jobs, j)
				continue
			}
			dir := o.Config.OutDir(ifc.Name, p.String())
			m, partial, merr := readPushSet(dir, o.Partial)
			if merr == nil {
				merr = checkNames(m)
			}
			seenTarget := map[string]bool{}
			for _, rt := range ifc.Routes {
				j := &job{localDir: dir, m: m, verfCols: ifc.VerfColumns, res: JobResult{Iface: ifc.Name, Period: p.String(), Target: rt.Target, Partial: partial}}
				jobs = append(jobs, j)
				t := o.Config.Targets[rt.Target]
				if t == nil {
					j.res.code, j.res.Err = exit.Usage, fmt.Sprintf("unknown target %q", rt.Target)
					continue
				}
				if seenTarget[rt.Target] {
					// One delivery record per target and period.
					j.res.code, j.res.Err = exit.Usage, fmt.Sprintf("interface %s routes to target %s twice; use one route per target", ifc.Name, rt.Target)
					continue
				}
				seenTarget[rt.Target] = true
				j.res.Dir = rt.Dir
				if j.res.Dir == "" {
					j.res.Dir = t.Dir
				}
				switch {
				case errors.Is(merr, os.ErrNotExist):
					j.res.code, j.res.Err = exit.NotReady, fmt.Sprintf("%s has no %s: pack the period first", dir, manifest.FileName)
					continue
				case merr != nil:
					j.res.code, j.res.Err = exit.Failure, merr.Error()
					continue
				case o.Resend >= 0 && m.Resend != o.Resend:
					j.res.code, j.res.Err = exit.Usage, fmt.Sprintf("%s is re-send %02d, not %02d: pack it with --resend %02d first", filepath.Join(dir, manifest.FileName), m.Resend, o.Resend, o.Resend)
					continue
				}
				prev, err := ReadDelivery(dir, rt.Target)
				if err != nil {
					j.res.code, j.res.Err = exit.Failure, err.Error()
					continue
				}
				j.prev = prev
				if err := refuseMixed(m, prev, o.Force); err != nil {
					j.res.code, j.res.Err = exit.Failure, err.Error()
					continue
				}
				j.rec = &Delivery{Version: 1, Iface: ifc.Name, Period: p.String(), Target: rt.Target, Resend: m.Resend}
				if prev != nil && prev.Resend == m.Resend {
					j.rec.Files = append(j.rec.Files, prev.Files...)
				}
				j.res.Record = filepath.Join(dir, DeliveryFileName(rt.Target))
				for _, s := range m.Sets {
					ss := &setState{job: j, set: s, left: len(s.Files)}
					j.sets = append(j.sets, ss)
					for _, f := range s.Files {
						total += f.Bytes
					}
				}
				j.res.Sets = len(j.sets)
				byTarget[rt.Target] = append(byTarget[rt.Target], j)
			}
		}
	}

	if o.Track != nil {
		for _, j := range jobs {
			j.end = o.Track(ctx, j.res.Iface, j.res.Period, j.res.Target)
		}
	}
	var prog progress
	if o.Bars != nil {
		prog = newBarProgress(o.Bars, total)
	} else {
		prog = newLogProgress(o.Log, total, o.ProgressEvery)
	}

	var hosts []HostResult
	var wg sync.WaitGroup
	var mu sync.Mutex
	names := make([]string, 0, len(byTarget))
	for n := range byTarget {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hr := runTarget(ctx, &o, name, o.Config.Targets[name], byTarget[name], prog)
			mu.Lock()
			hosts = append(hosts, hr...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	prog.close()

	res := &PushResult{Hosts: hosts}
	sort.SliceStable(res.Hosts, func(a, b int) bool { return res.Hosts[a].Target < res.Hosts[b].Target })
	codes := map[int]bool{}
	for _, j := range jobs {
		r := &j.res
		if r.code == 0 && r.Err == "" {
			r.OK = true
		}
		if !r.OK && r.code == 0 {
			r.code = exit.Failure
		}
		if !r.OK {
			codes[r.code] = true
			r.Code = r.code
		}
		for h := range j.hosts {
			r.Hosts = append(r.Hosts, h)
		}
		sort.Strings(r.Hosts)
		if j.end != nil {
			j.end(*r)
		}
		res.Files += r.Files
		res.Skipped += r.Skipped
		res.Failed += r.Failed
		res.Pending += r.Pending
		res.Bytes += r.Bytes
		res.Jobs = append(res.Jobs, *r)
		fmt.Fprintln(o.Status, r.StatusLine())
	}
	res.Elapsed = time.Since(start)
	for _, c := range []int{exit.Failure, exit.Usage, exit.Partial, exit.NotReady} {
		if codes[c] {
			res.Code = c
			break
		}
	}
	if res.Code != 0 {
		bad := 0
		for _, j := range res.Jobs {
			if !j.OK {
				bad++
			}
		}
		return res, exit.With(res.Code, fmt.Errorf("push: %d of %d deliveries incomplete (sent %d files, %d bytes; %d skipped, %d failed, %d pending); see the CHAMA_PUSH lines",
			bad, len(res.Jobs), res.Files, res.Bytes, res.Skipped, res.Failed, res.Pending))
	}
	return res, nil
}

// checkNames refuses manifest names that could leave the remote folder.
func checkNames(m *manifest.Manifest) error {
	bad := func(n string) bool {
		return n == "" || strings.ContainsAny(n, "/\\\x00") || strings.HasPrefix(n, ".")
	}
	for _, s := range m.Sets {
		if s.Verf != "" && bad(s.Verf) { // "": a partial set (readPushSet)
			return fmt.Errorf("manifest: set %q: bad .verf name %q", s.Part, s.Verf)
		}
		for _, f := range s.Files {
			if bad(f.Name) {
				return fmt.Errorf("manifest: set %q: bad file name %q (no folders, no leading dot)", s.Part, f.Name)
			}
		}
	}
	return nil
}

// runTarget delivers every job of one target over its hosts.
func runTarget(ctx context.Context, o *PushOptions, name string, t *config.Target, jobs []*job, prog progress) []HostResult {
	log := o.Log.With("target", name)
	r := &targetRun{name: name, t: t, o: o, log: log, prog: prog, wake: make(chan struct{})}
	for i, ep := range t.Primary {
		r.hosts = append(r.hosts, &hostState{ep: ep, addr: ep.Addr(), prio: i})
	}
	for i, ep := range t.Standby {
		r.hosts = append(r.hosts, &hostState{ep: ep, addr: ep.Addr(), standby: true, prio: i})
	}
	for _, j := range jobs {
		overwrite := o.Force || (j.prev != nil && j.prev.Resend != j.m.Resend)
		for _, s := range j.sets {
			r.sets = append(r.sets, s)
			for _, f := range s.set.Files {
				u := upload{
					Local: filepath.Join(j.localDir, s.set.Dir, f.Name), Name: f.Name, Dir: j.res.Dir,
					Size: f.Bytes, MD5: f.MD5, Suffix: t.PartSuffix, Overwrite: overwrite,
					Checksum: t.RemoteChecksum, NoPosixRename: o.noPosixRename, Recheck: o.Force,
				}
				if e, ok := j.prev.Lookup(f.Name); ok && j.prev.Resend == j.m.Resend {
					u.KnownMD5 = e.MD5
				}
				r.queue = append(r.queue, &task{job: j, set: s, u: u})
				r.open++
			}
			r.open++ // its .verf
			if len(s.set.Files) == 0 {
				r.queueVerf(s)
			}
		}
	}
	d, err := newDialer(name, t, log)
	if err != nil {
		// Credentials or known_hosts are unusable: nothing can go out.
		log.Error("target unusable", "err", err)
		for _, j := range jobs {
			j.errs = append(j.errs, err.Error())
		}
		r.finishJobs(exit.Failure)
		return r.hostResults()
	}
	defer d.close()
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

// targetRun is the scheduler of one target: a shared queue that the
// connections of every eligible host pull from, so files spread over
// primaries by themselves and a failed host's files go to the others.
type targetRun struct {
	name string
	t    *config.Target
	o    *PushOptions
	d    *dialer
	log  *slog.Logger
	prog progress

	mu      sync.Mutex
	wake    chan struct{}
	hosts   []*hostState
	queue   []*task
	sets    []*setState
	open    int // tasks (data files and .verfs) not finished
	stopped bool
}

type hostState struct {
	ep        config.Endpoint
	addr      string
	standby   bool
	prio      int
	fails     int // consecutive transport failures
	downUntil time.Time
	downs     int
	dead      error // a host error: never used again this run
	lastErr   error
	files     int
	bytes     int64
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

func (r *targetRun) finished() bool { return r.open == 0 || r.stopped }

// checkDown ends the target's run when no host can take files.
func (r *targetRun) checkDown(now time.Time) {
	for _, h := range r.hosts {
		if h.up(now) {
			return
		}
	}
	if !r.stopped {
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
func (r *targetRun) waitTurn(ctx context.Context, h *hostState) bool {
	for {
		r.mu.Lock()
		now := time.Now()
		if r.finished() || h.dead != nil {
			r.mu.Unlock()
			return false
		}
		if r.eligible(h, now) {
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
		if r.finished() || !r.eligible(h, time.Now()) || c.broken() || ctx.Err() != nil {
			r.mu.Unlock()
			return nil
		}
		if len(r.queue) > 0 {
			tk := r.queue[0]
			r.queue = r.queue[1:]
			r.mu.Unlock()
			return tk
		}
		w := r.wake
		r.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-c.done:
			return nil
		case <-w:
		}
	}
}

// worker is one connection slot of a host: connect, run the target's
// transfers-per-connection over it, reconnect after a backoff when it
// breaks, and give up when the host is down or failed.
func (r *targetRun) worker(ctx context.Context, h *hostState) {
	for r.waitTurn(ctx, h) {
		c, err := r.d.dial(ctx, h.ep)
		if err != nil {
			cls := classify(err)
			if cls == classCancel {
				if ctx.Err() != nil {
					return
				}
				// Not this run's cancellation: a failure of the host, so
				// that it is marked down and the standbys get their turn.
				cls = classTransport
			}
			n := r.hostFailure(h, err, cls)
			if cls == classTransport && sleep(ctx, backoff(n, r.o.BackoffBase, r.o.BackoffMax)) != nil {
				return
			}
			continue
		}
		r.log.Debug("connected", "host", h.addr, "posix_rename", c.posixRename, "fsync", c.fsync)
		var wg sync.WaitGroup
		var emu sync.Mutex
		var transportErr error
		for i := 0; i < r.t.TransfersPerConnection; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					tk := r.next(ctx, h, c)
					if tk == nil {
						return
					}
					out, err := c.publish(ctx, &tk.u, r.d.maxPacket, func(n int64) { r.prog.add(r.name, h.addr, n) })
					cls := r.finish(h, tk, out, err)
					if err != nil && cls == classHost {
						r.hostFailure(h, err, classHost)
					}
					if err != nil && (cls == classTransport || cls == classHost || cls == classCancel) {
						if cls == classTransport {
							emu.Lock()
							if transportErr == nil {
								transportErr = err
							}
							emu.Unlock()
						}
						c.kill(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		c.close()
		if transportErr != nil {
			// One broken connection counts once, however many
			// transfers it carried.
			n := r.hostFailure(h, transportErr, classTransport)
			if sleep(ctx, backoff(n, r.o.BackoffBase, r.o.BackoffMax)) != nil {
				return
			}
		}
	}
}

// hostFailure counts a failure of h and returns its consecutive count.
func (r *targetRun) hostFailure(h *hostState, err error, cls class) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	h.lastErr = err
	now := time.Now()
	switch cls {
	case classHost:
		if h.dead == nil {
			h.dead = err
			r.log.Error("host failed; its files go to the other hosts", "host", h.addr, "err", err)
		}
	default:
		h.fails++
		r.log.Warn("transport failure; will reconnect", "host", h.addr, "consecutive", h.fails, "err", err)
		if h.fails >= r.t.DownAfter && h.up(now) {
			h.downUntil = now.Add(r.t.CoolOff.D())
			h.downs++
			h.fails = 0
			r.log.Error("host marked down", "host", h.addr, "cool_off", r.t.CoolOff.D().String(), "after_failures", r.t.DownAfter, "err", err)
		}
	}
	r.checkDown(now)
	r.broadcast()
	return max(h.fails, 1)
}

// finish records the outcome of one task.
func (r *targetRun) finish(h *hostState, tk *task, out outcome, err error) class {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.broadcast()
	j := tk.job
	if err == nil {
		h.fails = 0
		r.open--
		if out.Skipped {
			j.res.Skipped++
			r.prog.skip(tk.u.Size)
			r.log.Debug("already on target", "host", h.addr, "file", tk.u.final())
		} else {
			j.res.Files++
			j.res.Bytes += tk.u.Size
			if j.hosts == nil {
				j.hosts = map[string]bool{}
			}
			j.hosts[h.addr] = true
			h.files++
			h.bytes += tk.u.Size
			r.log.Debug("delivered", "host", h.addr, "file", tk.u.final(), "attempts", tk.attempts+1, "resumed_from", out.ResumedFrom)
		}
		attempts := tk.attempts + 1
		if out.Skipped {
			attempts = 0
		}
		j.rec.put(Delivered{Set: tk.set.set.Part, Name: tk.u.Name, Verf: tk.verf, Host: h.addr, Path: tk.u.final(),
			Bytes: tk.u.Size, MD5: tk.u.MD5, Time: time.Now().UTC(), Attempts: attempts, Skipped: out.Skipped, Resumed: out.ResumedFrom})
		if tk.verf {
			tk.set.done = true
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
	cls := classify(err)
	tk.lastErr = err
	switch cls {
	case classCancel:
		r.queue = append([]*task{tk}, r.queue...)
	case classHost:
		// Not the file's fault: it goes to another host.
		r.queue = append([]*task{tk}, r.queue...)
	case classConflict:
		// Needs an operator (a differing remote file, a broken local
		// file): retrying cannot help.
		j.hard = true
		r.failTask(tk, err)
	default:
		tk.attempts++
		if tk.attempts > r.t.Retries {
			r.failTask(tk, fmt.Errorf("gave up on %s after %d attempts: %w", tk.u.Name, tk.attempts, err))
		} else {
			r.log.Warn("retrying file", "host", h.addr, "file", tk.u.final(), "attempt", tk.attempts, "class", cls.String(), "err", err)
			r.queue = append(r.queue, tk)
		}
	}
	return cls
}

// queueVerf puts a set's .verf at the head of the queue: every data file
// of the set is confirmed on the target.
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
	tk := &task{job: j, set: s, verf: true, u: upload{
		Local: filepath.Join(j.localDir, s.set.Dir, s.set.Verf), Name: s.set.Verf, Dir: j.res.Dir, Size: size,
		Verf: true, VerfColumns: j.verfCols, Suffix: r.t.PartSuffix, Overwrite: r.o.Force || (j.prev != nil && j.prev.Resend != j.m.Resend),
		NoPosixRename: r.o.noPosixRename,
	}}
	if err != nil {
		tk.job.hard = true
		r.failTask(tk, &LocalError{Err: fmt.Errorf("local .verf: %w", err)})
		return
	}
	r.queue = append([]*task{tk}, r.queue...)
	r.writeRecord(j)
}

func (r *targetRun) failTask(tk *task, err error) {
	j := tk.job
	r.open--
	j.res.Failed++
	j.errs = append(j.errs, err.Error())
	r.log.Error("file not delivered", "file", tk.u.final(), "err", err)
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
	if err := j.rec.write(j.localDir); err != nil {
		r.log.Error("cannot write the delivery record", "dir", j.localDir, "err", err)
	}
}

// finishJobs settles every job's result after the workers stopped.
func (r *targetRun) finishJobs(code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pending := map[*job]int{}
	for _, tk := range r.queue {
		pending[tk.job]++
	}
	for _, s := range r.allSets() {
		if !s.done && !s.failed && !s.queued {
			pending[s.job]++ // the .verf
		}
	}
	jobs := map[*job]bool{}
	for _, s := range r.allSets() {
		jobs[s.job] = true
	}
	for j := range jobs {
		j.res.Pending = pending[j]
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
		if code == exit.Failure || j.hard {
			j.res.code = exit.Failure
		}
	}
	// Jobs with no sets at all (empty manifest) are fine as they are.
}

func (r *targetRun) allSets() []*setState {
	seen := map[*setState]bool{}
	var out []*setState
	add := func(s *setState) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, tk := range r.queue {
		add(tk.set)
	}
	for _, s := range r.sets {
		add(s)
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
		case h.downUntil.After(time.Now()):
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
			hr.State, hr.Err = "failed", h.dead.Error()
		case h.downUntil.After(now):
			hr.State, hr.Err = "down", fmt.Sprint(h.lastErr)
		}
		out = append(out, hr)
	}
	return out
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

// DialTarget opens an SFTP session for reading to one endpoint of a
// configured target with push's auth and host-key rules. The client has
// no deadlines of its own: prefer OpenTargetFS. Close the returned Closer
// when done; it also closes the client.
func DialTarget(ctx context.Context, cfg *config.Config, target string, ep config.Endpoint, log *slog.Logger) (*sftp.Client, io.Closer, error) {
	t, err := OpenTargetFS(ctx, cfg, target, ep, log)
	if err != nil {
		return nil, nil, err
	}
	return t.Client(), t, nil
}
