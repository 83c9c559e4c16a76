package naming

import (
	"fmt"
	"strings"
	"testing"
)

func TestParsePeriods(t *testing.T) {
	cases := []struct {
		spec string
		want string // periods joined by space
	}{
		{"20241212", "20241212"},
		{"2024121207", "2024121207"},
		{"20241230..20250102", "20241230 20241231 20250101 20250102"},
		{"2024121222..2024121301", "2024121222 2024121223 2024121300 2024121301"},
		{"20241213,20241212,20241212", "20241212 20241213"},
		{"20240228..20240301", "20240228 20240229 20240301"},
	}
	for _, c := range cases {
		ps, err := ParsePeriods(c.spec)
		if err != nil {
			t.Fatalf("%s: %v", c.spec, err)
		}
		var got []string
		for _, p := range ps {
			got = append(got, p.String())
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%s: got %v, want %s", c.spec, got, c.want)
		}
	}
}

func TestParsePeriodsErrorsNameTheValue(t *testing.T) {
	for _, spec := range []string{"2024121", "20241332", "2024121224", "20241212..2024121301", "20241213..20241212", "x", "20241212,bad"} {
		_, err := ParsePeriods(spec)
		if err == nil {
			t.Errorf("%q: no error", spec)
			continue
		}
		bad := spec
		if i := strings.LastIndex(spec, ","); i >= 0 {
			bad = spec[i+1:]
		}
		if !strings.Contains(err.Error(), bad) && !strings.Contains(err.Error(), "20241212") {
			t.Errorf("%q: error %q does not name the value", spec, err)
		}
	}
}

func TestParseHours(t *testing.T) {
	hs, err := ParseHours("00-02,07,22-23,01")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(hs); got != 6 || hs[0] != 0 || hs[3] != 7 || hs[5] != 23 {
		t.Errorf("got %v", hs)
	}
	for _, bad := range []string{"24", "05-03", "a", "", "1-"} {
		if _, err := ParseHours(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestPeriodHours(t *testing.T) {
	d := MustPeriod("20241212")
	hs := d.Hours()
	if len(hs) != 24 || hs[0].String() != "2024121200" || hs[23].String() != "2024121223" {
		t.Fatalf("hours of a day: %v..%v", hs[0], hs[23])
	}
	if hs[7].Hour() != "07" || hs[7].Date() != "20241212" || hs[7].Day() != d {
		t.Errorf("hour fields: %q %q %v", hs[7].Hour(), hs[7].Date(), hs[7].Day())
	}
	if d.AddDays(-28).String() != "20241114" {
		t.Errorf("AddDays: %v", d.AddDays(-28))
	}
}

func TestTemplateRoundTrip(t *testing.T) {
	tpl := MustTemplate("a_10000_{date}_{iface}_{part}_{resend:02}_{seq}.dat.gz")
	f := Fields{Date: "20241212", Iface: "CM001", Part: "250", Resend: 0, Seq: 1}
	name, err := tpl.Format(f, 4)
	if err != nil {
		t.Fatal(err)
	}
	if name != "a_10000_20241212_CM001_250_00_0001.dat.gz" {
		t.Fatalf("got %s", name)
	}
	back, ok := tpl.Parse(name)
	if !ok || back != f {
		t.Fatalf("parse back: %+v %v", back, ok)
	}
	if _, ok := tpl.Parse("a_10000_20241212_CM001_250_00_0001.dat"); ok {
		t.Error("parsed a name without the suffix")
	}
	if _, ok := tpl.Parse(".a_10000_20241212_CM001_250_00_0001.dat.gz.part"); ok {
		t.Error("parsed a .part name")
	}
	verf := MustTemplate("a_10000_{date}_{iface}_{part}_{resend:02}.verf")
	v, _ := verf.Format(Fields{Date: "20241212", Iface: "CM001", Part: "250", Resend: 3}, 0)
	if v != "a_10000_20241212_CM001_250_03.verf" {
		t.Errorf("verf name %s", v)
	}
	hourly := MustTemplate("b_{period}_{iface}_{seq:03}.txt.gz")
	n, _ := hourly.Format(Fields{Date: "20241212", Hour: "07", Iface: "51007", Seq: 12}, 9)
	if n != "b_2024121207_51007_012.txt.gz" {
		t.Errorf("hourly name %s", n)
	}
	if f, ok := hourly.Parse(n); !ok || f.Hour != "07" || f.Seq != 12 {
		t.Errorf("hourly parse %+v", f)
	}
}

func TestTemplateErrors(t *testing.T) {
	for _, s := range []string{"", "a_{nope}.gz", "a_{seq", "a}_{seq}", "dir/{seq}", "a_{date}{seq}", "a_{date:3}_{seq}",
		// A field of no fixed width followed by text it may hold: "{part}0{seq}"
		// makes 25000101 of part 250, seq 0101, which parses as part 250001.
		"{part}0{seq}", "a_{iface}x_{seq}.gz", "a_{part}-x_{seq}.gz", "a_{seq}9.gz", "a_{resend}1_{seq:03}.gz"} {
		if _, err := ParseTemplate(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
	// Fixed widths, or a separator the field cannot hold, parse back.
	for _, s := range []string{"a_{seq:04}9.gz", "{part}_{seq}", "{date}0{seq}.gz", "{iface}.{part}.{seq}"} {
		if _, err := ParseTemplate(s); err != nil {
			t.Errorf("%q refused: %v", s, err)
		}
	}
	tpl := MustTemplate("x_{resend:02}_{seq}.gz")
	if _, err := tpl.Format(Fields{Resend: 100, Seq: 1}, 3); err == nil {
		t.Error("resend 100 fit in 2 digits")
	}
	if _, err := tpl.Format(Fields{Seq: 1000}, 3); err == nil || !strings.Contains(err.Error(), "does not fit in 3 digits") {
		t.Errorf("seq 1000 in 3 digits: %v", err)
	}
	if _, err := tpl.Format(Fields{Seq: 0}, 3); err == nil {
		t.Error("seq 0 accepted")
	}
}

// The CM series switched from 3 to 4 digits on 20241219; re-running an
// old period must reproduce its old names.
func TestSeqWidthSwitch(t *testing.T) {
	rules := []WidthRule{{From: "20241219", Width: 4}, {From: "20000101", Width: 3}}
	for period, want := range map[string]int{
		"20241218": 3, "2024121823": 3, "20241219": 4, "2024121900": 4, "20250101": 4, "19991231": DefaultWidth,
	} {
		if got := SeqWidth(rules, period); got != want {
			t.Errorf("%s: width %d, want %d", period, got, want)
		}
	}
	tpl := MustTemplate("a_10000_{date}_{iface}_{part}_{resend:02}_{seq}.dat.gz")
	old, _ := tpl.Format(Fields{Date: "20241218", Iface: "CM001", Part: "250", Seq: 7}, SeqWidth(rules, "20241218"))
	nu, _ := tpl.Format(Fields{Date: "20241219", Iface: "CM001", Part: "250", Seq: 7}, SeqWidth(rules, "20241219"))
	if old != "a_10000_20241218_CM001_250_00_007.dat.gz" || nu != "a_10000_20241219_CM001_250_00_0007.dat.gz" {
		t.Errorf("names %s %s", old, nu)
	}
}

func TestCheckCapacity(t *testing.T) {
	if err := CheckCapacity("CM001", "20241218", 999, 3); err != nil {
		t.Errorf("999 files in 3 digits: %v", err)
	}
	err := CheckCapacity("CM001", "20241218", 1000, 3)
	if err == nil {
		t.Fatal("1000 files fit in 3 digits")
	}
	for _, want := range []string{"CM001", "20241218", "1000", "999"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

// A range is bounded by days whatever its kind: a year of days or of
// hours fits, ten years of days (a typo) is refused before any work.
func TestParsePeriodsRangeBound(t *testing.T) {
	if ps, err := ParsePeriods("20240101..20241231"); err != nil || len(ps) != 366 {
		t.Errorf("a leap year of days: %d periods, %v", len(ps), err)
	}
	if ps, err := ParsePeriods("2024010100..2024123123"); err != nil || len(ps) != 366*24 {
		t.Errorf("a year of hours: %d periods, %v", len(ps), err)
	}
	for _, spec := range []string{"20240101..20341231", "2024010100..2025123123"} {
		if _, err := ParsePeriods(spec); err == nil || !strings.Contains(err.Error(), "more than") {
			t.Errorf("%s: err = %v", spec, err)
		}
	}
}

// The bound is on the whole --date list, not on each range: 40 ranges of
// 300 days of hours (288,000 periods) are refused before any is listed,
// with the count and the limit, and hours count as 1/24 of a day.
func TestParsePeriodsListBound(t *testing.T) {
	var items []string
	for y := 1990; y < 2030; y++ {
		items = append(items, fmt.Sprintf("%d010100..%d102723", y, y)) // 300 days of hours
	}
	_, err := ParsePeriods(strings.Join(items, ","))
	if err == nil || !strings.Contains(err.Error(), "288240 hours, more than the limit of 9600 hours (400 days)") {
		t.Errorf("40 hour ranges: err = %v", err)
	}
	for _, c := range []struct {
		spec string
		want string // "" = accepted
	}{
		{"20240101..20240630,20240701..20241231", ""},     // 366 days
		{"20240101..20241231,20240101..20241231", ""},     // the same 366 days twice
		{"20240101..20241231,20250101..20250203", ""},     // 400 days
		{"20240101..20241231,2025010100..2025020323", ""}, // 366 days and 816 hours: 9600 hours
		{"20240101..20241231,20250101..20250204", "401 days, more than the limit of 400 days"},
		{"20230101..20231231,20240101..20240131,20240201..20240210,20240205", "406 days, more than the limit of 400 days"},
		{"20240101..20241231,2025010100..2025020423", "366 days and 840 hours (9624 hours), more than the limit of 9600 hours (400 days)"},
		// An hour and its day are different periods: both count.
		{"20240101..20241231,2024010100..2024020423", "366 days and 840 hours (9624 hours), more than the limit of 9600 hours (400 days)"},
		{"2024010100..2024123123,2025010100..2025013123", ""}, // 9528 hours
		{"2024010100..2024123123,2025010100..2025021023", "9768 hours, more than the limit of 9600 hours (400 days)"},
	} {
		_, err := ParsePeriods(c.spec)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.spec, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: err = %v, want %q", c.spec, err, c.want)
		}
	}
}
