// Package report turns the run ledger into what operators read: the
// status of each stage per interface and period, the volume comparison
// against earlier days, and the delivery deadline check. Alerts are
// stable CHAMA_ALERT lines for scrapers.
package report

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/ledger"
	"github.com/chama-data/chama/naming"
)

// Stage states in `chama status`.
const (
	StateDone    = "done"
	StateRunning = "running"
	StateFailed  = "failed"
	StatePartial = "partial"
	StateWaiting = "not_ready"
	StateMissing = "missing"
	StateDied    = "died" // recorded as running, but its process is gone
)

// StageStatus is one stage of one interface and period.
type StageStatus struct {
	Iface    string    `json:"iface"`
	Period   string    `json:"period"`
	Stage    string    `json:"stage"`
	State    string    `json:"state"`
	Runs     int       `json:"runs"`            // ledger rows, retries included
	Hours    string    `json:"hours,omitempty"` // "22/24": hour runs done, when the stage runs per hour
	RowsIn   int64     `json:"rows_in"`
	RowsOut  int64     `json:"rows_out"`
	Rejected int64     `json:"rejected"`
	Filtered int64     `json:"filtered"`
	Files    int64     `json:"files"`
	Bytes    int64     `json:"bytes"`
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
	Hosts    string    `json:"hosts,omitempty"`
	Err      string    `json:"err,omitempty"`
}

// StatusOptions select what `chama status` shows.
type StatusOptions struct {
	Ledger  *ledger.Ledger
	Periods []naming.Period
	Ifaces  []*config.Interface
	// Gone tells whether a running row's process no longer exists
	// (default: on this machine, signal 0 says no such process; a run on
	// another machine is taken as alive).
	Gone func(machine string, pid int) bool
}

// Status reports, per interface and period, every pipeline stage: done,
// running, failed (or partial / not_ready), or missing, with counts and
// times. Stages a site may not use (pull, transform) are shown only when
// they have runs; pack and verify always, push when the interface has
// routes.
func Status(ctx context.Context, o StatusOptions) ([]StageStatus, error) {
	days := map[string]bool{}
	var dayList, names []string
	for _, p := range o.Periods {
		if !days[p.Date()] {
			days[p.Date()] = true
			dayList = append(dayList, p.Date())
		}
	}
	for _, i := range o.Ifaces {
		names = append(names, i.Name)
	}
	rows, err := o.Ledger.Rows(ctx, ledger.Query{Days: dayList, Ifaces: names})
	if err != nil {
		return nil, err
	}
	if o.Gone == nil {
		o.Gone = localGone(o.Ledger.Machine())
	}
	var out []StageStatus
	for _, p := range o.Periods {
		for _, ifc := range o.Ifaces {
			for _, stage := range ledger.Stages {
				var mine []ledger.Row
				for _, r := range rows {
					if r.Iface == ifc.Name && r.Stage == stage && belongs(r, p) {
						mine = append(mine, r)
					}
				}
				show := len(mine) > 0 || stage == ledger.StagePack || stage == ledger.StageVerify || stage == ledger.StagePush && len(ifc.Routes) > 0
				if !show {
					continue
				}
				out = append(out, summarize(ifc.Name, p.String(), stage, mine, o.Gone))
			}
		}
	}
	return out, nil
}

// belongs tells whether a ledger row is part of period p: the period
// itself, or for a day, any of its hours.
func belongs(r ledger.Row, p naming.Period) bool {
	if r.Period == p.String() {
		return true
	}
	return !p.Hourly && r.Day == p.Date()
}

// latest keeps the newest row per (period, hour, target): a rerun
// replaces the attempt before it. A run refused as busy (another run
// held the period) changed nothing and never hides that other run.
func latest(rows []ledger.Row) []ledger.Row {
	last := map[string]ledger.Row{}
	for _, r := range rows {
		k := r.Period + "|" + r.Hour + "|" + r.Target
		if prev, ok := last[k]; !ok || newer(r, prev) {
			last[k] = r
		}
	}
	out := make([]ledger.Row, 0, len(last))
	for _, r := range last {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func summarize(iface, period, stage string, rows []ledger.Row, gone func(string, int) bool) StageStatus {
	s := StageStatus{Iface: iface, Period: period, Stage: stage, State: StateMissing, Runs: len(rows)}
	if len(rows) == 0 {
		return s
	}
	cur := latest(rows)
	// A whole-period row (an assembled day) carries the counts; hour rows
	// are summed only when there is none.
	var whole []ledger.Row
	hoursDone, hoursSeen := 0, 0
	for _, r := range cur {
		if r.Hour == "" || len(period) == 10 {
			whole = append(whole, r)
		} else {
			hoursSeen++
			if r.Status == ledger.OK {
				hoursDone++
			}
		}
	}
	if hoursSeen > 0 && len(period) == 8 {
		s.Hours = fmt.Sprintf("%d/24", hoursDone)
	}
	counted := whole
	if len(counted) == 0 {
		counted = cur
	}
	var hosts []string
	if stage == ledger.StageVerify {
		// A local and a remote check (one row per target list) look at
		// the same files: count them once, from the newest check of each
		// period and hour; hosts still come from every check.
		for _, r := range counted {
			if r.Host != "" && !contains(hosts, r.Host) {
				hosts = append(hosts, r.Host)
			}
		}
		counted = newestPerHour(counted)
	}
	for _, r := range counted {
		s.RowsIn += r.RowsIn
		s.RowsOut += r.RowsOut
		s.Rejected += r.Rejected
		s.Filtered += r.Filtered
		s.Files += r.Files
		s.Bytes += r.Bytes
		if r.Host != "" && !contains(hosts, r.Host) {
			hosts = append(hosts, r.Host)
		}
	}
	s.Hosts = strings.Join(hosts, ",")
	state := StateDone
	rank := map[string]int{StateDone: 0, StateWaiting: 1, StateRunning: 2, StatePartial: 3, StateFailed: 4, StateDied: 5}
	for _, r := range cur {
		if s.Started.IsZero() || r.Started.Before(s.Started) {
			s.Started = r.Started
		}
		if r.Finished.After(s.Finished) {
			s.Finished = r.Finished
		}
		// A lone busy refusal (the run that held the lock is not in this
		// ledger) means someone else is at it: partly done, retry.
		st := map[string]string{ledger.OK: StateDone, ledger.Running: StateRunning, ledger.Failed: StateFailed, ledger.Partial: StatePartial, ledger.NotReady: StateWaiting, ledger.Busy: StatePartial}[r.Status]
		if st == "" {
			st = StateFailed
		}
		if st == StateRunning && gone(r.Machine, r.PID) {
			st = StateDied
			s.Err = fmt.Sprintf("recorded as running, but process %d on %s is gone", r.PID, r.Machine)
		}
		if rank[st] > rank[state] {
			state = st
		}
		if r.Err != "" && st != StateDied && (s.Err == "" || r.Status != ledger.OK) {
			s.Err = r.Err
			if r.Target != "" {
				s.Err = r.Target + ": " + r.Err
			}
		}
	}
	if state == StateRunning {
		s.Finished = time.Time{}
	}
	s.State = state
	return s
}

// newestPerHour keeps the newest row of each (period, hour).
func newestPerHour(rows []ledger.Row) []ledger.Row {
	last := map[string]ledger.Row{}
	var keys []string
	for _, r := range rows {
		k := r.Period + "|" + r.Hour
		prev, ok := last[k]
		if !ok {
			keys = append(keys, k)
		}
		if !ok || newer(r, prev) {
			last[k] = r
		}
	}
	out := make([]ledger.Row, 0, len(keys))
	for _, k := range keys {
		out = append(out, last[k])
	}
	return out
}

// localGone reports a process of this machine that no longer exists.
func localGone(self string) func(string, int) bool {
	return func(machine string, pid int) bool {
		if machine != self || pid <= 0 {
			return false
		}
		return processGone(pid)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// clock formats a time for tables, in the machine's zone.
func clock(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(loc).Format("2006-01-02 15:04:05")
}

func count(n int64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

// WriteStatus prints the status table.
func WriteStatus(w io.Writer, ss []StageStatus, loc *time.Location) error {
	if loc == nil {
		loc = time.Local
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	// READ, ROWS (written), FILTERED and REJECTED reconcile for pack and
	// transform: read = rows + filtered + rejected.
	fmt.Fprintln(tw, "IFACE\tPERIOD\tSTAGE\tSTATE\tHOURS\tREAD\tROWS\tFILTERED\tREJECTED\tFILES\tBYTES\tSTARTED\tFINISHED\tNOTE")
	for _, s := range ss {
		rows := s.RowsOut
		if rows == 0 {
			rows = s.RowsIn
		}
		hours := s.Hours
		if hours == "" {
			hours = "-"
		}
		note := s.Err
		if note == "" && s.Hosts != "" {
			note = s.Hosts
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Iface, s.Period, s.Stage, s.State, hours,
			count(s.RowsIn), count(rows), count(s.Filtered), count(s.Rejected), count(s.Files), count(s.Bytes), clock(s.Started, loc), clock(s.Finished, loc), note)
	}
	return tw.Flush()
}

// WriteJSON prints any report value as indented JSON.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// newer: r replaces prev as the row to show. A busy refusal only shows
// when nothing else was recorded.
func newer(r, prev ledger.Row) bool {
	if rb, pb := r.Status == ledger.Busy, prev.Status == ledger.Busy; rb != pb {
		return pb
	}
	return r.ID > prev.ID
}
