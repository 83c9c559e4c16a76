package report

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/chama-data/chama/internal/ledger"
	"github.com/chama-data/chama/naming"
)

// Baselines are how many days back each comparison looks.
var Baselines = []int{1, 28}

// VolumeOptions select `chama report volume`.
type VolumeOptions struct {
	Ledger *ledger.Ledger
	Days   []naming.Period // days (an hour is taken as its day)
	Ifaces []string
	// Stage whose rows count (default pack, rows written); Threshold is
	// the share under which an hour alerts (default 0.8).
	Stage     string
	Threshold float64
}

// Compare is one baseline of a volume row.
type Compare struct {
	Period string  `json:"period"` // the baseline day
	Rows   int64   `json:"rows"`
	Known  bool    `json:"known"` // the ledger has a successful run for it
	Ratio  float64 `json:"ratio"` // rows / baseline rows; 0 when unknown
	Alert  bool    `json:"alert"`
}

// VolumeRow is one interface, day and hour ("" for a day counted whole).
type VolumeRow struct {
	Iface   string    `json:"iface"`
	Period  string    `json:"period"`
	Hour    string    `json:"hour"`
	Rows    int64     `json:"rows"`
	Known   bool      `json:"known"`
	Against []Compare `json:"against"`
}

// Alerting reports whether any baseline alerts.
func (v VolumeRow) Alerting() bool {
	for _, c := range v.Against {
		if c.Alert {
			return true
		}
	}
	return false
}

// volumeKey is the rows of a (day, hour) from the latest successful run.
type volumeKey struct{ iface, day, hour string }

// Volume compares each hour's rows with the same hour one and 28 days
// earlier. Rows of an hour are taken from the latest successful run of
// the stage for it; an interface whose runs are per day (no hour rows)
// is compared day against day. A missing current hour with a known
// baseline counts as 0 rows, so it alerts; an unknown baseline does not.
func Volume(ctx context.Context, o VolumeOptions) ([]VolumeRow, error) {
	if o.Stage == "" {
		o.Stage = ledger.StagePack
	}
	if o.Threshold == 0 {
		o.Threshold = 0.8
	}
	var days []string
	seen := map[string]bool{}
	addDay := func(d string) {
		if !seen[d] {
			seen[d] = true
			days = append(days, d)
		}
	}
	for _, p := range o.Days {
		addDay(p.Date())
		for _, b := range Baselines {
			addDay(p.Day().AddDays(-b).Date())
		}
	}
	rows, err := o.Ledger.Rows(ctx, ledger.Query{Days: days, Ifaces: o.Ifaces, Stages: []string{o.Stage}})
	if err != nil {
		return nil, err
	}
	// Latest successful run per (iface, period, hour).
	best := map[string]ledger.Row{}
	for _, r := range rows {
		if r.Status != ledger.OK {
			continue
		}
		k := r.Iface + "|" + r.Period + "|" + r.Hour
		if prev, ok := best[k]; !ok || r.ID > prev.ID {
			best[k] = r
		}
	}
	vol := map[volumeKey]int64{}
	hourly := map[string]bool{}
	for _, r := range best {
		n := r.RowsOut
		if n == 0 {
			n = r.RowsIn
		}
		h := r.Hour
		if h != "" {
			hourly[r.Iface] = true
		}
		vol[volumeKey{r.Iface, r.Day, h}] += n
	}
	var out []VolumeRow
	for _, p := range o.Days {
		day := p.Day()
		for _, iface := range o.Ifaces {
			hours := []string{""}
			if hourly[iface] {
				hours = nil
				for _, h := range p.Hours() {
					hours = append(hours, h.Hour())
				}
			}
			for _, h := range hours {
				cur, known := vol[volumeKey{iface, day.Date(), h}]
				v := VolumeRow{Iface: iface, Period: day.Date(), Hour: h, Rows: cur, Known: known}
				for _, b := range Baselines {
					bd := day.AddDays(-b).Date()
					base, bk := vol[volumeKey{iface, bd, h}]
					c := Compare{Period: bd, Rows: base, Known: bk && base > 0}
					if c.Known {
						c.Ratio = float64(cur) / float64(base)
						c.Alert = float64(cur) < o.Threshold*float64(base)
					}
					v.Against = append(v.Against, c)
				}
				out = append(out, v)
			}
		}
	}
	return out, nil
}

// AlertLines are the stable lines of every alerting comparison:
//
//	CHAMA_ALERT kind=volume iface=51007 period=20241212 hour=07 rows=790 base_period=20241211 base_rows=1000 ratio=0.79 threshold=0.80
//
// hour is "-" for an interface counted per day.
func AlertLines(vs []VolumeRow, threshold float64) []string {
	var out []string
	for _, v := range vs {
		h := v.Hour
		if h == "" {
			h = "-"
		}
		for _, c := range v.Against {
			if c.Alert {
				out = append(out, fmt.Sprintf("CHAMA_ALERT kind=volume iface=%s period=%s hour=%s rows=%d base_period=%s base_rows=%d ratio=%.2f threshold=%.2f",
					v.Iface, v.Period, h, v.Rows, c.Period, c.Rows, c.Ratio, threshold))
			}
		}
	}
	return out
}

func pct(c Compare) string {
	if !c.Known {
		return "-"
	}
	s := strconv.FormatFloat(c.Ratio*100, 'f', 0, 64) + "%"
	if c.Alert {
		s += " LOW"
	}
	return s
}

// WriteVolume prints the volume table.
func WriteVolume(w io.Writer, vs []VolumeRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "IFACE\tPERIOD\tHOUR\tROWS\t-1 DAY\tVS -1\t-28 DAYS\tVS -28")
	for _, v := range vs {
		h := v.Hour
		if h == "" {
			h = "day"
		}
		rows := "-"
		if v.Known {
			rows = strconv.FormatInt(v.Rows, 10)
		}
		base := func(c Compare) string {
			if !c.Known {
				return "-"
			}
			return strconv.FormatInt(c.Rows, 10)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Iface, v.Period, h, rows, base(v.Against[0]), pct(v.Against[0]), base(v.Against[1]), pct(v.Against[1]))
	}
	return tw.Flush()
}
