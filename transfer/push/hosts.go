package push

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/logkey"
	"github.com/chama-data/chama/internal/retry"
	"github.com/chama-data/chama/transfer/sshconn"
)

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

func (h *hostState) up(now time.Time) bool { return h.dead == nil && !now.Before(h.downUntil) }

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
	if err := c.checkShell(ctx, list, partSuffix(r.o, r.t)); err != nil {
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
