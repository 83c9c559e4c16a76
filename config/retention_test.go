package config

import (
	"fmt"
	"strings"
	"testing"
)

// TestRetentionDaysRange (#14): retention_days: 1000000 loaded, and clean
// then overflowed its cutoff into the future and deleted everything. The
// retention is 1..3650 days (ten years); 0 or absent is the default 15.
func TestRetentionDaysRange(t *testing.T) {
	for _, tc := range []struct {
		line string
		want int    // the loaded value, when valid
		err  string // else the problem
	}{
		{"", 15, ""},
		{"retention_days: 0", 15, ""},
		{"retention_days: 1", 1, ""},
		{"retention_days: 3650", 3650, ""},
		{"retention_days: 3651", 0, "retention_days: must be at most 3650"},
		{"retention_days: 106752", 0, "retention_days: must be at most 3650"},
		{"retention_days: 1000000", 0, "retention_days: must be at most 3650"},
		{"retention_days: 9223372036854775807", 0, "retention_days: must be at most 3650"},
		{"retention_days: -1", 0, "retention_days: must be at least 1"},
	} {
		c, err := Parse([]byte(fmt.Sprintf(`workdir: w
sources:
  local: {type: file, root: r}
interfaces:
  "51007": {source: local, path: "dt={date}"}
%s
`, tc.line)))
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.line, err)
		case tc.err == "" && c.RetentionDays != tc.want:
			t.Errorf("%q: loaded %d, want %d", tc.line, c.RetentionDays, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: err %v, want %q", tc.line, err, tc.err)
		}
	}
}
