package clean

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chama-data/chama/internal/exit"
)

// TestCleanRefusesRetentionPastTheRange (#14): a retention of 106752 days
// or more overflowed time.Duration, the cutoff landed in the future and
// clean deleted every chama file, output packed minutes earlier included.
// Anything outside 1..3650 days is a usage error (exit 2), from the flag
// or from the config, and nothing is deleted.
func TestCleanRefusesRetentionPastTheRange(t *testing.T) {
	for _, tc := range []struct {
		days, configured int
	}{
		{days: 106752}, {days: 1000000}, {days: math.MaxInt}, {days: 3651}, {days: -1},
		{configured: 1000000}, {configured: 106752}, {configured: -5},
	} {
		work, _ := layout(t)
		before := tree(t, work)
		c := cfg(t, work)
		if tc.configured != 0 {
			c.RetentionDays = tc.configured // a config that escaped validation
		}
		var out bytes.Buffer
		res, err := Run(t.Context(), Options{Config: c, Days: tc.days, Now: now, Out: &out})
		if exit.Code(err) != exit.Usage || !strings.Contains(err.Error(), "3650") {
			t.Errorf("%+v: err %v (exit %d), want a usage error naming the 3650-day limit; result %+v", tc, err, exit.Code(err), res)
		}
		if got := tree(t, work); strings.Join(got, "\n") != strings.Join(before, "\n") {
			t.Errorf("%+v: the workdir changed:\n%s\nlines:\n%s", tc, strings.Join(got, "\n"), out.String())
		}
	}
}

// TestCleanLongestRetention: 3650 days is the longest retention; its
// cutoff is ten calendar years back, computed without overflow.
func TestCleanLongestRetention(t *testing.T) {
	work := filepath.Join(t.TempDir(), "work")
	dir := filepath.Join(work, "out", "51007", "20241201")
	// Another period folder: a folder ages as one, by its newest file.
	older := filepath.Join(work, "out", "51007", "20241130", "a_10000_20241130_51007_00_0001.dat.gz")
	newer := filepath.Join(dir, "a_10000_20241201_51007_00_0002.dat.gz")
	recent := filepath.Join(dir, "a_10000_20241201_51007_00.verf")
	put(t, older, 0)
	put(t, newer, 0)
	put(t, recent, 1)
	cut := now.AddDate(0, 0, -3650)
	must(t, chtimes(older, cut.Add(-time.Minute)))
	must(t, chtimes(newer, cut.Add(time.Minute)))
	var out bytes.Buffer
	res, err := Run(t.Context(), Options{Config: cfg(t, work), Days: 3650, Now: now, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if res.Files != 1 || res.Kept != 2 || !strings.Contains(out.String(), "DELETE file=out/51007/20241130/a_10000_20241130_51007_00_0001.dat.gz ") ||
		!strings.HasSuffix(out.String(), "CHAMA_CLEAN OK files=1 bytes=1 dirs=1 kept=2 retention_days=3650 dry_run=false\n") {
		t.Fatalf("result %+v\n%s", res, out.String())
	}
}

func chtimes(p string, m time.Time) error { return os.Chtimes(p, m, m) }

// A period folder goes whole or not at all: files of one set made hours
// apart (an assembled hourly day is hard links to 24 hour chunks) are
// never split by a clean at the boundary, which would leave the .verf
// promising files that are gone.
func TestCleanAgesAPeriodFolderAsOne(t *testing.T) {
	work := filepath.Join(t.TempDir(), "work")
	dir := filepath.Join(work, "out", "51007", "20241201")
	early := filepath.Join(dir, "a_10000_20241201_51007_00_0001.dat.gz")
	late := filepath.Join(dir, "a_10000_20241201_51007_00_0002.dat.gz")
	verf := filepath.Join(dir, "a_10000_20241201_51007_00.verf")
	put(t, early, 0)
	put(t, late, 0)
	put(t, verf, 0)
	cut := now.AddDate(0, 0, -15)
	must(t, chtimes(early, cut.Add(-time.Hour)))
	must(t, chtimes(late, cut.Add(time.Hour)))
	must(t, chtimes(verf, cut.Add(time.Hour)))
	res, err := Run(t.Context(), Options{Config: cfg(t, work), Days: 15, Now: now, Out: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Files != 0 {
		t.Fatalf("a clean at the boundary took %d files of a set whose newest file is young", res.Files)
	}
	must(t, chtimes(late, cut.Add(-time.Minute)))
	must(t, chtimes(verf, cut.Add(-time.Minute)))
	if res, err = Run(t.Context(), Options{Config: cfg(t, work), Days: 15, Now: now, Out: &bytes.Buffer{}}); err != nil || res.Files != 3 {
		t.Fatalf("once all are old the folder goes whole: %+v %v", res, err)
	}
}
