// Package naming turns accounting periods and file-name templates into the
// exact names the exchange platform expects, and back.
package naming

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Period is one accounting period (账期): a whole day or a single hour.
type Period struct {
	Start  time.Time // midnight or the top of the hour, UTC-free wall time
	Hourly bool
}

// ParsePeriod reads "20241212" (a day) or "2024121207" (an hour).
func ParsePeriod(s string) (Period, error) {
	switch len(s) {
	case 8:
		t, err := time.Parse("20060102", s)
		if err != nil {
			return Period{}, fmt.Errorf("bad period %q: want YYYYMMDD or YYYYMMDDHH", s)
		}
		return Period{Start: t}, nil
	case 10:
		t, err := time.Parse("2006010215", s)
		if err != nil {
			return Period{}, fmt.Errorf("bad period %q: want YYYYMMDD or YYYYMMDDHH (hour 00-23)", s)
		}
		return Period{Start: t, Hourly: true}, nil
	}
	return Period{}, fmt.Errorf("bad period %q: want YYYYMMDD or YYYYMMDDHH", s)
}

// MustPeriod is ParsePeriod for literals in tests and examples.
func MustPeriod(s string) Period {
	p, err := ParsePeriod(s)
	if err != nil {
		panic(err)
	}
	return p
}

// String gives the period as written on the command line and in file names.
func (p Period) String() string {
	if p.Hourly {
		return p.Start.Format("2006010215")
	}
	return p.Start.Format("20060102")
}

// Date is the day part, YYYYMMDD.
func (p Period) Date() string { return p.Start.Format("20060102") }

// Hour is "00".."23" for an hourly period and "" for a day.
func (p Period) Hour() string {
	if !p.Hourly {
		return ""
	}
	return p.Start.Format("15")
}

// Day returns the day that contains p.
func (p Period) Day() Period {
	y, m, d := p.Start.Date()
	return Period{Start: time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

// Hours lists the hourly periods of p: itself for an hour, 24 for a day.
func (p Period) Hours() []Period {
	if p.Hourly {
		return []Period{p}
	}
	out := make([]Period, 24)
	for h := range out {
		out[h] = Period{Start: p.Start.Add(time.Duration(h) * time.Hour), Hourly: true}
	}
	return out
}

// Next is the period of the same kind that follows p.
func (p Period) Next() Period {
	if p.Hourly {
		return Period{Start: p.Start.Add(time.Hour), Hourly: true}
	}
	return Period{Start: p.Start.AddDate(0, 0, 1)}
}

// AddDays shifts p by n days (negative for earlier), keeping its kind.
func (p Period) AddDays(n int) Period {
	return Period{Start: p.Start.AddDate(0, 0, n), Hourly: p.Hourly}
}

// maxRangeDays bounds a range (of days, or of hours over that many days)
// so a typo such as 20231220..20331228 cannot start years of work by
// accident; a year of re-sends still fits.
const maxRangeDays = 400

// ParsePeriods reads the --date syntax: a period, a range A..B of the same
// kind (both ends included), or a comma list of either. The result is
// sorted and free of duplicates.
func ParsePeriods(spec string) ([]Period, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, fmt.Errorf("no period given: use --date YYYYMMDD, YYYYMMDDHH, A..B or a comma list")
	}
	seen := map[string]bool{}
	var out []Period
	add := func(p Period) {
		if !seen[p.String()] {
			seen[p.String()] = true
			out = append(out, p)
		}
	}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if a, b, ok := strings.Cut(item, ".."); ok {
			from, err := ParsePeriod(a)
			if err != nil {
				return nil, err
			}
			to, err := ParsePeriod(b)
			if err != nil {
				return nil, err
			}
			if from.Hourly != to.Hourly {
				return nil, fmt.Errorf("bad period range %q: both ends must be days or both hours", item)
			}
			if to.Start.Before(from.Start) {
				return nil, fmt.Errorf("bad period range %q: end is before start", item)
			}
			limit, unit := maxRangeDays, "days"
			if from.Hourly {
				limit, unit = maxRangeDays*24, "hours"
			}
			n := 0
			for p := from; !p.Start.After(to.Start); p = p.Next() {
				if n++; n > limit {
					return nil, fmt.Errorf("bad period range %q: more than %d %s (split it if you mean it)", item, limit, unit)
				}
				add(p)
			}
			continue
		}
		p, err := ParsePeriod(item)
		if err != nil {
			return nil, err
		}
		add(p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Start.Equal(out[j].Start) {
			return !out[i].Hourly
		}
		return out[i].Start.Before(out[j].Start)
	})
	return out, nil
}

// ParseHours reads the --hours syntax, "00-05,07,22-23", into sorted hours.
func ParseHours(spec string) ([]int, error) {
	var set [24]bool
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		a, b, isRange := strings.Cut(item, "-")
		lo, err1 := strconv.Atoi(a)
		hi := lo
		var err2 error
		if isRange {
			hi, err2 = strconv.Atoi(b)
		}
		if err1 != nil || err2 != nil || lo < 0 || hi > 23 || hi < lo {
			return nil, fmt.Errorf("bad hours %q: want HH or HH-HH between 00 and 23, comma separated", item)
		}
		for h := lo; h <= hi; h++ {
			set[h] = true
		}
	}
	var out []int
	for h, ok := range set {
		if ok {
			out = append(out, h)
		}
	}
	return out, nil
}
