package push

import (
	"strings"
	"testing"

	"github.com/chama-data/chama/internal/delivery"
	"github.com/chama-data/chama/internal/manifest"
)

// The way out of a changed set offers a new re-send number only while one
// exists: two digits end at 99.
func TestRefuseMixedWayOut(t *testing.T) {
	for _, tc := range []struct {
		resend  int
		partial bool
		want    string
		not     string
	}{
		{0, false, "--resend 01", ""},
		{99, false, "chama push --date 20241212 --force", "--resend 100"},
		{5, true, "--partial --force", ""},
		{99, true, "--partial --force", "--resend 100"},
	} {
		verf := "a.verf"
		if tc.partial {
			verf = ""
		}
		m := &manifest.Manifest{Period: "20241212", Resend: tc.resend, Sets: []manifest.Set{{Verf: verf, Files: []manifest.File{{Name: "f1", Bytes: 20, MD5: "bb"}}}}}
		prev := &delivery.Record{Target: "plat", Resend: tc.resend, Files: []delivery.File{{Name: "f1", Bytes: 10, MD5: "aa"}}}
		err := refuseMixed(m, prev, false)
		if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.not != "" && strings.Contains(err.Error(), tc.not)) {
			t.Errorf("resend %d partial %v: %v", tc.resend, tc.partial, err)
		}
	}
}
