package report

import (
	"context"
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

// Deadline states.
const (
	DeadlineOnTime  = "on_time" // every file set confirmed on every target before the deadline
	DeadlinePending = "pending" // not delivered yet, deadline not passed
	DeadlineLate    = "late"    // delivered, after the deadline
	DeadlineMissing = "missing" // not delivered and the deadline has passed
	DeadlineFailed  = "failed"  // the last push failed and the deadline has passed
)

// DeadlineOptions select `chama report deadline`.
type DeadlineOptions struct {
	Ledger *ledger.Ledger
	Days   []naming.Period
	Ifaces []*config.Interface
	// By is the time of day on D+1 by which day D is due (HH:MM, local).
	By  string
	Now time.Time
	Loc *time.Location // default time.Local
}

// DeadlineRow is one interface and day.
type DeadlineRow struct {
	Iface     string    `json:"iface"`
	Period    string    `json:"period"`
	Deadline  time.Time `json:"deadline"`
	State     string    `json:"state"`
	Delivered time.Time `json:"delivered,omitzero"` // when the last required push first succeeded
	Missing   []string  `json:"missing,omitempty"`  // period@target not delivered (yet)
}

// Alert reports whether the row is late, missing or failed.
func (d DeadlineRow) Alert() bool {
	return d.State == DeadlineLate || d.State == DeadlineMissing || d.State == DeadlineFailed
}

// Deadline checks that every period of day D (one, or 24 for an hourly
// interface) reached every route's target by D+1 at By. Delivery time is
// the first successful push of each period and target.
func Deadline(ctx context.Context, o DeadlineOptions) ([]DeadlineRow, error) {
	if o.Loc == nil {
		o.Loc = time.Local
	}
	if o.By == "" {
		o.By = config.DefaultDeadline
	}
	off, err := config.ParseClock(o.By)
	if err != nil {
		return nil, err
	}
	rows, err := pushRows(ctx, o)
	if err != nil {
		return nil, err
	}
	var out []DeadlineRow
	for _, d := range o.Days {
		day := d.Day()
		y, m, dd := day.Start.Date()
		due := time.Date(y, m, dd+1, 0, 0, 0, 0, o.Loc).Add(off)
		for _, ifc := range o.Ifaces {
			out = append(out, deadlineRow(rows, ifc, day, due, o.Now))
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Period < out[j].Period })
	return out, nil
}

// pushRows reads the ledger's push rows of the days and interfaces asked.
func pushRows(ctx context.Context, o DeadlineOptions) ([]ledger.Row, error) {
	var days, names []string
	for _, d := range o.Days {
		days = append(days, d.Date())
	}
	for _, i := range o.Ifaces {
		names = append(names, i.Name)
	}
	return o.Ledger.Rows(ctx, ledger.Query{Days: days, Ifaces: names, Stages: []string{ledger.StagePush}})
}

// deadlineRow is the row of interface ifc and day, due at due: every
// period of the day on every target, each delivered when first pushed.
func deadlineRow(rows []ledger.Row, ifc *config.Interface, day naming.Period, due, now time.Time) DeadlineRow {
	row := DeadlineRow{Iface: ifc.Name, Period: day.Date(), Deadline: due}
	periods, targets := dayPeriods(ifc, day), routeTargets(ifc)
	failed := false
	for _, p := range periods {
		for _, t := range targets {
			first, lastStatus := firstPush(rows, ifc.Name, p, t)
			if first.IsZero() {
				name := p
				if t != "" {
					name += "@" + t
				}
				row.Missing = append(row.Missing, name)
				if lastStatus == ledger.Failed || lastStatus == ledger.Partial {
					failed = true
				}
				continue
			}
			if first.After(row.Delivered) {
				row.Delivered = first
			}
		}
	}
	row.State = deadlineState(row, failed, due, now)
	if len(row.Missing) > 0 {
		row.Delivered = time.Time{}
	}
	return row
}

// dayPeriods are the periods of day an interface delivers: the day, or
// its 24 hours for an hourly interface.
func dayPeriods(ifc *config.Interface, day naming.Period) []string {
	periods := []string{day.String()}
	if ifc.Granularity == "hour" {
		periods = nil
		for _, h := range day.Hours() {
			periods = append(periods, h.String())
		}
	}
	return periods
}

// routeTargets are the targets of ifc's routes; "" (any target) when it
// has none.
func routeTargets(ifc *config.Interface) []string {
	targets := []string{""}
	if len(ifc.Routes) > 0 {
		targets = nil
		for _, rt := range ifc.Routes {
			targets = append(targets, rt.Target)
		}
	}
	return targets
}

// firstPush finds, among the push rows of iface, period p and target t
// ("" any), when the first successful one finished (zero: none) and the
// status of the newest one.
func firstPush(rows []ledger.Row, iface, p, t string) (first time.Time, lastStatus string) {
	var last ledger.Row
	for _, r := range rows {
		if r.Iface != iface || r.Period != p || (t != "" && r.Target != t) {
			continue
		}
		if r.Status == ledger.OK && (first.IsZero() || r.Finished.Before(first)) {
			first = r.Finished
		}
		if last.ID == 0 || newer(r, last) {
			last, lastStatus = r, r.Status
		}
	}
	return first, lastStatus
}

// deadlineState is the state of row, due at due, as of now; failed says
// the last push of something missing failed.
func deadlineState(row DeadlineRow, failed bool, due, now time.Time) string {
	switch {
	case len(row.Missing) > 0 && now.Before(due):
		return DeadlinePending
	case len(row.Missing) > 0 && failed:
		return DeadlineFailed
	case len(row.Missing) > 0:
		return DeadlineMissing
	case row.Delivered.After(due):
		return DeadlineLate
	default:
		return DeadlineOnTime
	}
}

// DeadlineAlertLines are the stable lines of late, missing or failed
// deliveries:
//
//	CHAMA_ALERT kind=deadline iface=51007 period=20241212 by=2024-12-13T09:00 state=missing missing=1
//	CHAMA_ALERT kind=deadline iface=51006 period=20241212 by=2024-12-13T09:00 state=late delivered=2024-12-13T09:06
func DeadlineAlertLines(rs []DeadlineRow, loc *time.Location) []string {
	if loc == nil {
		loc = time.Local
	}
	var out []string
	for _, r := range rs {
		if !r.Alert() {
			continue
		}
		l := fmt.Sprintf("CHAMA_ALERT kind=deadline iface=%s period=%s by=%s state=%s", r.Iface, r.Period, r.Deadline.In(loc).Format("2006-01-02T15:04"), r.State)
		if r.State == DeadlineLate {
			l += " delivered=" + r.Delivered.In(loc).Format("2006-01-02T15:04")
		} else {
			l += fmt.Sprintf(" missing=%d", len(r.Missing))
		}
		out = append(out, l)
	}
	return out
}

// WriteDeadline prints the deadline table.
func WriteDeadline(w io.Writer, rs []DeadlineRow, loc *time.Location) error {
	if loc == nil {
		loc = time.Local
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "IFACE\tPERIOD\tDEADLINE\tSTATE\tDELIVERED\tNOT DELIVERED")
	for _, r := range rs {
		miss := "-"
		if len(r.Missing) > 0 {
			miss = strings.Join(r.Missing, ",")
			if len(r.Missing) > 4 {
				miss = strings.Join(r.Missing[:4], ",") + fmt.Sprintf(" +%d more", len(r.Missing)-4)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Iface, r.Period, r.Deadline.In(loc).Format("2006-01-02 15:04"), r.State, clock(r.Delivered, loc), miss)
	}
	return tw.Flush()
}
