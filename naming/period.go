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

// maxRangeDays bounds the periods of one --date, ranges and lists alike
// (an hour counting as 1/24 of a day: 400 days, or 9600 hours, or a mix),
// so a typo such as 20231220..20331228, or a long list of ranges, cannot
// start years of work (or a `status` over millions of periods) by
// accident; a year of re-sends still fits.
const maxRangeDays = 400

// span is one item of a --date list: from..to (the same kind), both
// included; a single period is a span of one.
type span struct{ from, to Period }

// len is the number of periods in s, counted without listing them.
func (s span) len() int64 {
	step := 24 * time.Hour
	if s.from.Hourly {
		step = time.Hour
	}
	return int64(s.to.Start.Sub(s.from.Start)/step) + 1
}

// tooMany says days and hours exceed the limit, naming both numbers.
func tooMany(days, hours int64) string {
	switch {
	case hours == 0:
		return fmt.Sprintf("%d days, more than the limit of %d days", days, maxRangeDays)
	case days == 0:
		return fmt.Sprintf("%d hours, more than the limit of %d hours (%d days)", hours, maxRangeDays*24, maxRangeDays)
	}
	return fmt.Sprintf("%d days and %d hours (%d hours), more than the limit of %d hours (%d days)", days, hours, days*24+hours, maxRangeDays*24, maxRangeDays)
}

// distinct counts the periods of spans of one kind, overlaps once.
func distinct(spans []span) int64 {
	sort.Slice(spans, func(i, j int) bool { return spans[i].from.Start.Before(spans[j].from.Start) })
	var n int64
	var end time.Time // the last period counted
	for k, s := range spans {
		if k > 0 && !s.from.Start.After(end) {
			if !s.to.Start.After(end) {
				continue // inside what is counted
			}
			s.from = Period{Start: end, Hourly: s.from.Hourly}.Next()
		}
		n += s.len()
		end = s.to.Start
	}
	return n
}

// ParsePeriods reads the --date syntax: a period, a range A..B of the same
// kind (both ends included), or a comma list of either. The result is
// sorted and free of duplicates. All together they may not exceed 400
// days' worth of periods (an hour counts 1/24 of a day); the limit is
// checked before any period is listed.
func ParsePeriods(spec string) ([]Period, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, fmt.Errorf("no period given: use --date YYYYMMDD, YYYYMMDDHH, A..B or a comma list")
	}
	var days, hours []span
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		var s span
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
			s = span{from, to}
			if n := s.len(); from.Hourly && n > maxRangeDays*24 {
				return nil, fmt.Errorf("bad period range %q: %s (run it in parts if you mean it)", item, tooMany(0, n))
			} else if !from.Hourly && n > maxRangeDays {
				return nil, fmt.Errorf("bad period range %q: %s (run it in parts if you mean it)", item, tooMany(n, 0))
			}
		} else {
			p, err := ParsePeriod(item)
			if err != nil {
				return nil, err
			}
			s = span{p, p}
		}
		if s.from.Hourly {
			hours = append(hours, s)
		} else {
			days = append(days, s)
		}
	}
	// A day and one of its hours are different periods: both count.
	if nd, nh := distinct(days), distinct(hours); nd*24+nh > maxRangeDays*24 {
		return nil, fmt.Errorf("too many periods: %s (run it in parts if you mean it)", tooMany(nd, nh))
	}
	seen := map[string]bool{}
	var out []Period
	for _, s := range append(days, hours...) {
		for p := s.from; !p.Start.After(s.to.Start); p = p.Next() {
			if k := p.String(); !seen[k] {
				seen[k] = true
				out = append(out, p)
			}
		}
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
