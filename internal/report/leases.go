package report

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/ledger"
	"github.com/chama-data/chama/naming"
)

// LeaseStatus is one lease of the shared ledger, as status shows it.
type LeaseStatus struct {
	Unit    string    `json:"unit"` // stage/iface/period[/hour][/target]
	Owner   string    `json:"owner,omitempty"`
	Fence   int64     `json:"fence"`
	Expires time.Time `json:"expires"`
	// State: held (renewed, not expired), expired (its holder stopped
	// renewing: the next run takes it over) or free (released).
	State string `json:"state"`
}

// Leases lists the leases of the interfaces' units in the periods' days.
func Leases(ctx context.Context, l *ledger.Ledger, periods []naming.Period, ifaces []*config.Interface, now time.Time) ([]LeaseStatus, error) {
	rows, err := l.Leases(ctx, "")
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, i := range ifaces {
		want[i.Name] = true
	}
	days := map[string]bool{}
	for _, p := range periods {
		days[p.Date()] = true
	}
	var out []LeaseStatus
	for _, r := range rows {
		parts := strings.Split(r.Unit, "/")
		if len(parts) < 3 || len(parts[2]) < 8 || !want[parts[1]] || !days[parts[2][:8]] {
			continue
		}
		st := LeaseStatus{Unit: r.Unit, Owner: r.Owner, Fence: r.Fence, Expires: r.Expires, State: "held"}
		switch {
		case r.Owner == "":
			st.State = "free"
		case !r.Expires.After(now):
			st.State = "expired"
		}
		out = append(out, st)
	}
	return out, nil
}

// WriteLeases prints leases as a table.
func WriteLeases(w io.Writer, ls []LeaseStatus, loc *time.Location) error {
	if loc == nil {
		loc = time.Local
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "UNIT\tSTATE\tFENCE\tOWNER\tEXPIRES")
	for _, s := range ls {
		owner := s.Owner
		if owner == "" {
			owner = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", s.Unit, s.State, s.Fence, owner, s.Expires.In(loc).Format("2006-01-02 15:04:05"))
	}
	return tw.Flush()
}
