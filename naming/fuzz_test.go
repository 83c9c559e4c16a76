package naming

import (
	"strings"
	"testing"
)

// FuzzParsePeriods: any --date spec either fails with an error or gives
// periods that print back as periods that parse; never a panic.
func FuzzParsePeriods(f *testing.F) {
	for _, s := range []string{"20241212", "2024121207", "20231220..20231228", "20241212,2024121307", "2024121200..2024121223", "", "..", "2024", "99999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		ps, err := ParsePeriods(spec)
		if err != nil {
			return
		}
		for _, p := range ps {
			q, err := ParsePeriod(p.String())
			if err != nil || q.String() != p.String() {
				t.Fatalf("%q gave period %q, which parses as %q, %v", spec, p, q, err)
			}
		}
	})
}

// FuzzTemplate: a template that compiles formats names that it parses
// back to the same fields, and Parse never panics on any name.
func FuzzTemplate(f *testing.F) {
	f.Add("a_10000_{date}_{iface}_{part}_{resend:02}_{seq}.dat.gz", "a_10000_20241212_CM001_250_00_0001.dat.gz", 3)
	f.Add("{iface}_{date}{hour}_{seq}.txt.gz", "51007_2024121207_001.txt.gz", 7)
	f.Fuzz(func(t *testing.T, tpl, name string, seq int) {
		tp, err := ParseTemplate(tpl)
		if err != nil {
			return
		}
		tp.Parse(name) // must not panic
		if seq < 1 || seq > 9999 {
			return
		}
		fs := Fields{Date: "20241212", Hour: "07", Iface: "CM001", Part: "250", Resend: 1, Seq: seq}
		out, err := tp.Format(fs, 4)
		if err != nil {
			return
		}
		if strings.ContainsAny(out, "/\\\x00") {
			t.Fatalf("template %q formats a name with a separator: %q", tpl, out)
		}
		got, ok := tp.Parse(out)
		if !ok {
			t.Fatalf("template %q: formatted %q does not parse back", tpl, out)
		}
		if strings.Contains(tpl, "{seq}") && got.Seq != seq {
			t.Fatalf("template %q: %q parses to seq %d, want %d", tpl, out, got.Seq, seq)
		}
	})
}
