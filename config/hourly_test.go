package config

import (
	"strings"
	"testing"
)

// hourly_pack is for day interfaces whose path can be read hour by hour.
func TestHourlyPackValidation(t *testing.T) {
	base := `workdir: w
sources:
  s: {type: file, root: r}
interfaces:
  X:
    source: s
    hourly_pack: true
`
	for _, tc := range []struct{ extra, want string }{
		{"    path: dt={date}\n", "interfaces.X.path: hourly_pack reads one hour at a time: the path needs {hour}"},
		{"    path: dt={date}/hour={hour}\n    granularity: hour\n    file_name: a_{date}{hour}_{seq}.dat.gz\n    verf_name: a_{date}{hour}.verf\n", "interfaces.X.hourly_pack: only a day interface can be packed hour by hour"},
	} {
		_, err := Parse([]byte(base + tc.extra))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.extra, err, tc.want)
		}
	}
	c, err := Parse([]byte(base + "    path: dt={date}/hour={hour}\n"))
	if err != nil || !c.Interfaces["X"].HourlyPack {
		t.Fatalf("valid hourly_pack config: %v", err)
	}
}
