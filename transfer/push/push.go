// Package push is the push stage: it delivers packed file sets over SFTP
// to every target of their routes, several connections per host, with
// resume, retries and failover to standby hosts, and sends a set's .verf
// to a host only after checking the whole set there.
package push

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

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/delivery"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/lock"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/internal/workdir"
	"github.com/chama-data/chama/naming"
)

// Options is one `chama push` run.
type Options struct {
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
	// Claim, when set, takes the lease of each interface/period/target
	// before anything is sent (several machines on one ledger): a held
	// lease makes the job busy (exit 3, nothing sent); check is the
	// fencing check run before each remote rename, release ends the lease.
	Claim func(ctx context.Context, iface, period, target string) (check func(context.Context) error, release func(), err error)
	// PartTag, when set, goes into every temporary file name
	// (.<name>.<tag><part_suffix>): with several machines, each its own
	// name, so that a machine whose lease was taken over can never write
	// into the file the new holder resumes and renames.
	PartTag string
	// Partial delivers, for a day still packed hour by hour and not yet
	// assembled, the files of its hours known so far (partial.json): data
	// files only, never a .verf (partial.go).
	Partial bool

	noPosixRename bool  // tests: force the remove-then-rename path
	prog          meter // tests: record the progress
}

// Result is what a run did, also printed by --json.
type Result struct {
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
	// Via: the hosts the sets' .verf files were published or found on in
	// this run, each of which holds the whole set.
	Via []string `json:"via,omitempty"`
	// FailedHosts: the target's hosts that failed or went down in this
	// run, as host:port:reason (reason: host_key_mismatch, auth_refused,
	// permission_denied, missing_dir, refused, timeout, transport, ...).
	FailedHosts []string `json:"failed_hosts,omitempty"`
	Code        int      `json:"exit_code"`
	// Partial: only the known prefix of a day was delivered, no .verf.
	Partial bool `json:"partial,omitempty"`
	// Busy: another push of the period was running; nothing was done.
	Busy bool `json:"busy,omitempty"`
	code int
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
	Reason string `json:"reason,omitempty"` // the short word of FailedHosts
}

// StatusLine is the stable, greppable line for a job. via= names the
// hosts that hold the published set; failed_hosts= (only when a host
// failed or went down) says which and why.
func (j *JobResult) StatusLine() string {
	hosts := ""
	if len(j.Via) > 0 {
		hosts += " via=" + strings.Join(j.Via, ",")
	}
	if len(j.FailedHosts) > 0 {
		hosts += " failed_hosts=" + strings.Join(j.FailedHosts, ",")
	}
	if j.OK && j.Partial {
		return fmt.Sprintf("CHAMA_PUSH PARTIAL iface=%s period=%s target=%s files=%d bytes=%d skipped=%d%s",
			j.Iface, j.Period, j.Target, j.Files, j.Bytes, j.Skipped, hosts)
	}
	if j.OK {
		return fmt.Sprintf("CHAMA_PUSH OK iface=%s period=%s target=%s files=%d bytes=%d skipped=%d%s",
			j.Iface, j.Period, j.Target, j.Files, j.Bytes, j.Skipped, hosts)
	}
	if j.Code == exit.NotReady {
		// Nothing packed yet: the same word pack and pull use.
		return fmt.Sprintf("CHAMA_PUSH NOTREADY iface=%s period=%s target=%s err=%q", j.Iface, j.Period, j.Target, j.Err)
	}
	return fmt.Sprintf("CHAMA_PUSH FAIL iface=%s period=%s target=%s files=%d bytes=%d skipped=%d failed=%d pending=%d%s err=%q",
		j.Iface, j.Period, j.Target, j.Files, j.Bytes, j.Skipped, j.Failed, j.Pending, hosts, j.Err)
}

// AlertLine is the CHAMA_ALERT line of a delivery that succeeded only
// because other hosts stood in for failed ones ("" when none failed).
func (j *JobResult) AlertLine() string {
	if !j.OK || len(j.FailedHosts) == 0 {
		return ""
	}
	return fmt.Sprintf("CHAMA_ALERT kind=failover stage=push iface=%s period=%s target=%s via=%s failed_hosts=%s",
		j.Iface, j.Period, j.Target, strings.Join(j.Via, ","), strings.Join(j.FailedHosts, ","))
}

// job is one interface, period and target.
type job struct {
	res      JobResult
	localDir string
	m        *manifest.Manifest
	rec      *delivery.Record
	prev     *delivery.Record
	sets     []*setState
	errs     []string
	hard     bool                        // a failure that needs an operator (exit 1)
	fence    func(context.Context) error // the lease's check (nil: none)
	verfCols []string
	written  time.Time // last delivery-record write
	hosts    map[string]bool
	end      func(JobResult)
}

// Run delivers the packed file sets of the given periods and
// interfaces to every target their routes name. Each target gets the
// full set independently. The error carries the exit code: 1 when a
// target refused (auth, host key, permission, missing folder, a
// conflicting remote file), 3 when transport trouble or downed hosts left
// files undelivered (safe to run again), 4 when nothing was packed yet.
func Run(ctx context.Context, o Options) (*Result, error) {
	start := time.Now()
	if o.Config == nil {
		return nil, exit.Usagef("push: no config")
	}
	o.setDefaults()
	ifaces := o.Ifaces
	if ifaces == nil {
		ifaces, _ = o.Config.Select("")
	}

	pl := &plan{byTarget: map[string][]*job{}}
	defer pl.unlock()
	pl.build(ctx, &o, ifaces)

	if o.Track != nil {
		for _, j := range pl.jobs {
			j.end = o.Track(ctx, j.res.Iface, j.res.Period, j.res.Target)
		}
	}
	prog := o.prog
	if prog == nil {
		prog = newMeter(&o, pl.total)
	}
	hosts := runTargets(ctx, &o, pl.byTarget, prog)
	prog.Close()
	return summarize(&o, pl.jobs, hosts, start)
}

// setDefaults fills in the options a caller left unset.
func (o *Options) setDefaults() {
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
}

// plan is the jobs of a run: one per interface, period and target, those
// that can go out grouped by target. A job that cannot go out (no route,
// nothing packed, a busy period, ...) carries its error and exit code.
type plan struct {
	jobs     []*job
	byTarget map[string][]*job
	total    int64    // bytes of the data files to send, for the progress meter
	unlocks  []func() // push locks, held until the run ends
}

// unlock releases the push locks, last taken first.
func (pl *plan) unlock() {
	for i := len(pl.unlocks) - 1; i >= 0; i-- {
		pl.unlocks[i]()
	}
}

// build plans the jobs of every period and interface.
func (pl *plan) build(ctx context.Context, o *Options, ifaces []*config.Interface) {
	for _, p := range o.Periods {
		for _, ifc := range ifaces {
			pl.addIface(ctx, o, p, ifc)
		}
	}
}

// addIface plans the jobs of one interface and period: it reads the
// packed set once and locks the period, then adds a job per route.
func (pl *plan) addIface(ctx context.Context, o *Options, p naming.Period, ifc *config.Interface) {
	if len(ifc.Routes) == 0 {
		j := &job{res: JobResult{Iface: ifc.Name, Period: p.String(), Target: "-", code: exit.Usage,
			Err: fmt.Sprintf("interface %s has no routes: nothing to push to", ifc.Name)}}
		pl.jobs = append(pl.jobs, j)
		return
	}
	if p.Hourly && ifc.Granularity == "day" {
		// An hour of a day interface carries the day's names: sent
		// on its own it would look like (part of) the day's set.
		j := &job{res: JobResult{Iface: ifc.Name, Period: p.String(), Target: "-", code: exit.Usage,
			Err: fmt.Sprintf("interface %s is delivered per day: push --date %s (add --partial for the hours packed so far)", ifc.Name, p.Day())}}
		pl.jobs = append(pl.jobs, j)
		return
	}
	dir := workdir.New(o.Config.Workdir).Out(ifc.Name, p.String())
	m, partial, merr := readPushSet(dir, o.Partial)
	if merr == nil {
		merr = checkNames(m)
	}
	if merr == nil {
		// One push of a period at a time: two would race on the
		// same .part files and delivery records.
		unlock, err := lock.Try(workdir.PushLock(dir), lock.Exclusive)
		switch {
		case errors.Is(err, lock.ErrHeld):
			merr = exit.Busy(errBusy{dir: dir})
		case err != nil:
			merr = fmt.Errorf("push lock: %w", err)
		default:
			pl.unlocks = append(pl.unlocks, unlock)
		}
	}
	seenTarget := map[string]bool{}
	for _, rt := range ifc.Routes {
		j := &job{localDir: dir, m: m, verfCols: ifc.VerfColumns, res: JobResult{Iface: ifc.Name, Period: p.String(), Target: rt.Target, Partial: partial}}
		pl.jobs = append(pl.jobs, j)
		jerr := merr
		if jerr == nil && o.Claim != nil {
			jerr = pl.claim(ctx, o, j)
		}
		pl.addRoute(o, j, rt, jerr, seenTarget)
	}
}

// claim takes job j's lease (o.Claim): busy when another machine holds
// it; the fencing check goes with every upload of the job.
func (pl *plan) claim(ctx context.Context, o *Options, j *job) error {
	check, release, err := o.Claim(ctx, j.res.Iface, j.res.Period, j.res.Target)
	if err != nil {
		return err
	}
	j.fence = check
	pl.unlocks = append(pl.unlocks, release)
	return nil
}

// addRoute readies job j of one route: it checks the target and the
// packed set (merr: why it cannot be read or pushed now), reads the
// previous delivery record, and queues the sets for the target.
func (pl *plan) addRoute(o *Options, j *job, rt config.Route, merr error, seenTarget map[string]bool) {
	dir, m := j.localDir, j.m
	t := o.Config.Targets[rt.Target]
	if t == nil {
		j.res.code, j.res.Err = exit.Usage, fmt.Sprintf("unknown target %q", rt.Target)
		return
	}
	if seenTarget[rt.Target] {
		// One delivery record per target and period.
		j.res.code, j.res.Err = exit.Usage, fmt.Sprintf("interface %s routes to target %s twice; use one route per target", j.res.Iface, rt.Target)
		return
	}
	seenTarget[rt.Target] = true
	j.res.Dir = rt.Dir
	if j.res.Dir == "" {
		j.res.Dir = t.Dir
	}
	switch {
	case errors.Is(merr, os.ErrNotExist):
		j.res.code, j.res.Err = exit.NotReady, fmt.Sprintf("%s has no %s: pack the period first", dir, workdir.ManifestFile)
		return
	case errors.Is(merr, exit.ErrBusy):
		j.res.code, j.res.Err, j.res.Busy = exit.Partial, merr.Error(), true
		return
	case merr != nil:
		// An error with its own code keeps it (a ledger out of reach at
		// the lease: 3); any other is an operator's.
		j.res.code, j.res.Err = exit.Failure, merr.Error()
		if c := exit.Code(merr); c != exit.Failure {
			j.res.code = c
		}
		return
	case o.Resend >= 0 && m.Resend != o.Resend:
		j.res.code, j.res.Err = exit.Usage, fmt.Sprintf("%s is re-send %02d, not %02d: pack it with --resend %02d first", filepath.Join(dir, workdir.ManifestFile), m.Resend, o.Resend, o.Resend)
		return
	}
	prev, err := delivery.Read(dir, rt.Target)
	if err != nil {
		j.res.code, j.res.Err = exit.Failure, err.Error()
		return
	}
	j.prev = prev
	if err := refuseMixed(m, prev, o.Force); err != nil {
		j.res.code, j.res.Err = exit.Failure, err.Error()
		return
	}
	j.rec = &delivery.Record{Version: 1, Iface: j.res.Iface, Period: j.res.Period, Target: rt.Target, Resend: m.Resend}
	if prev != nil && prev.Resend == m.Resend {
		j.rec.Files = append(j.rec.Files, prev.Files...)
	}
	j.res.Record = filepath.Join(dir, workdir.DeliveryFile(rt.Target))
	for _, s := range m.Sets {
		ss := &setState{job: j, set: s, left: len(s.Files)}
		j.sets = append(j.sets, ss)
		for _, f := range s.Files {
			pl.total += f.Bytes
		}
	}
	j.res.Sets = len(j.sets)
	pl.byTarget[rt.Target] = append(pl.byTarget[rt.Target], j)
}

// runTargets delivers to every target at once, each independently of
// the others, and returns what their hosts did.
func runTargets(ctx context.Context, o *Options, byTarget map[string][]*job, prog meter) []HostResult {
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
			hr := runTarget(ctx, o, name, o.Config.Targets[name], byTarget[name], prog)
			mu.Lock()
			hosts = append(hosts, hr...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return hosts
}

// summarize settles each job's result, hands it to its Track hook,
// writes its status lines and totals the run. The run's exit code is the
// most serious of the jobs'.
func summarize(o *Options, jobs []*job, hosts []HostResult, start time.Time) (*Result, error) {
	res := &Result{Hosts: hosts}
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
		if a := r.AlertLine(); a != "" {
			fmt.Fprintln(o.Status, a)
		}
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

// errBusy is a period another push is delivering right now: exit 3,
// busy, safe to run again once it is done.
type errBusy struct{ dir string }

func (e errBusy) Error() string {
	return fmt.Sprintf("busy: another chama push is delivering %s (lock %s held); run again when it is done", e.dir, workdir.PushLock(e.dir))
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
