package verify

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteLines prints one stable line per finding, and the OK line of each
// period that holds (after its warnings, if any).
func WriteLines(w io.Writer, rep *Report) error {
	for _, r := range rep.Results {
		for _, f := range r.Findings {
			if _, err := fmt.Fprintln(w, f.Line()); err != nil {
				return err
			}
		}
		if r.OK {
			if _, err := fmt.Fprintln(w, r.OKLine()); err != nil {
				return err
			}
		}
	}
	return nil
}

// WriteJSON prints the report as one indented JSON document.
func WriteJSON(w io.Writer, rep *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// maxReasons is how many kinds of problem a table row names.
const maxReasons = 3

// WriteTable prints one row per interface and period for a person at
// 3 a.m.: OK, or the first kinds of problem with their counts and the
// first file each concerns.
func WriteTable(w io.Writer, rep *Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "IFACE\tPERIOD\tSTATUS\tFILES\tLINES\tPROBLEMS")
	bad := 0
	for _, r := range rep.Results {
		status := "OK"
		if !r.OK {
			status = "FAIL"
			bad++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", r.Iface, r.Period, status, r.Files, r.Lines, summarize(r.Findings))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d of %d interface periods OK\n", len(rep.Results)-bad, len(rep.Results))
	return err
}

func summarize(fs []Finding) string {
	if len(fs) == 0 {
		return "-"
	}
	type group struct {
		reason, where, first string
		n                    int
	}
	var order []*group
	by := map[string]*group{}
	for _, f := range fs {
		key := f.Reason + "@" + f.Where
		g := by[key]
		if g == nil {
			g = &group{reason: f.Reason, where: f.Where, first: f.File}
			by[key] = g
			order = append(order, g)
		}
		g.n++
	}
	var parts []string
	for i, g := range order {
		if i == maxReasons {
			parts = append(parts, fmt.Sprintf("+%d more kinds", len(order)-maxReasons))
			break
		}
		s := fmt.Sprintf("%s x%d", g.reason, g.n)
		if g.where != "local" {
			s += " on " + strings.TrimPrefix(g.where, "target:")
		}
		if g.first != "-" {
			s += " (" + g.first + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}
