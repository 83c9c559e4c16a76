package main

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// An interface built by the transform, packed hour by hour (hourly_pack)
// in any order and assembled, gives the day a one-pass pack gives: the
// same files, names and lines.
func TestTransformHourlyPackEqualsDay(t *testing.T) {
	root := t.TempDir()
	src := filepath.Join(goldenDir, "ods/events/dt=20241212")
	for h := 0; h < 24; h++ {
		dir := filepath.Join(root, "ods/events/dt=20241212", "hour="+twoDigits(h))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		var name string
		switch h {
		case 3:
			name = "000000_0"
		case 17:
			name = "000001_0"
		default:
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	edit := func(hourly bool) func(string) string {
		return func(y string) string {
			y = strings.Replace(y, `root: "`+mustAbs(t, goldenDir)+`"`, `root: "`+root+`"`, 1)
			y = strings.Replace(y, "path: ods/events/dt={date}\n", "path: ods/events/dt={date}/hour={hour}\n", 1)
			if hourly {
				y = strings.Replace(y, "  \"51007\":\n    from: transform\n", "  \"51007\":\n    from: transform\n    hourly_pack: true\n", 1)
			}
			return y
		}
	}
	cfg, work, _ := goldenConfig(t, edit(false))
	if out, code, err := packCLI(t, "--config", cfg, "pack", "--date", "20241212", "--iface", "51007"); code != 0 {
		t.Fatalf("day pack: exit %d: %v\n%s", code, err, out)
	}
	onePass := readOutput(t, filepath.Join(work, "out"))
	hourly := func(order []int) map[string]string {
		hcfg, hwork, _ := goldenConfig(t, edit(true))
		for _, h := range order {
			if out, code, err := packCLI(t, "--config", hcfg, "pack", "--date", "20241212"+twoDigits(h), "--iface", "51007"); code != 0 {
				t.Fatalf("hour %02d: exit %d: %v\n%s", h, code, err, out)
			}
		}
		if out, code, err := packCLI(t, "--config", hcfg, "pack", "--date", "20241212", "--iface", "51007"); code != 0 {
			t.Fatalf("assembly: exit %d: %v\n%s", code, err, out)
		}
		return readOutput(t, filepath.Join(hwork, "out"))
	}
	var inOrder []int
	for h := range 24 {
		inOrder = append(inOrder, h)
	}
	want := hourly(inOrder)
	got := hourly([]int{17, 0, 23, 3, 5, 9, 1, 2, 4, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20, 21, 22})
	if len(want) == 0 || !reflect.DeepEqual(got, want) {
		t.Errorf("hours packed out of order give another day:\n got %q\nwant %q", got, want)
	}
	// The rows are the one-pass day's, in order (an hour's last file is
	// shorter: the files are cut per hour).
	if a, b := dataLines(got), dataLines(onePass); a != b || a == "" {
		t.Errorf("hourly rows differ from the one-pass day's:\n got %q\nwant %q", a, b)
	}
	if got["51007/20241212/rejects.txt"] != onePass["51007/20241212/rejects.txt"] {
		t.Errorf("rejects differ: %q vs %q", got["51007/20241212/rejects.txt"], onePass["51007/20241212/rejects.txt"])
	}
}

// dataLines is every data file's lines, files in name order.
func dataLines(out map[string]string) string {
	var names []string
	for k := range out {
		if strings.HasSuffix(k, ".dat") {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	var b strings.Builder
	for _, n := range names {
		b.WriteString(out[n])
	}
	return b.String()
}

func twoDigits(h int) string { return string(rune('0'+h/10)) + string(rune('0'+h%10)) }

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
