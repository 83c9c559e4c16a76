package etl

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// Exact cuts of lines_per_file lines run across input-file boundaries, in
// sorted input order, with the delimiter swapped.
func TestPackCutsExactlyAcrossInputFiles(t *testing.T) {
	e := newEnv(t, "lines_per_file: 7\nfields: 3")
	var want []string
	n := 0
	add := func(name string, k int) {
		var ls []string
		for range k {
			n++
			ls = append(ls, row(fmt.Sprint(n), "a"+fmt.Sprint(n), "b"))
		}
		e.writeInput("ods/dt=20241212/"+name, ls...)
	}
	add("part-00000.gz", 5)
	add("part-00001", 9) // plain text mixed with gzip
	add("part-00002.gz", 6)
	e.writeInput("ods/dt=20241212/_SUCCESS") // markers are not data
	for i := 1; i <= n; i++ {
		want = append(want, fmt.Sprintf("%d|a%d|b", i, i))
	}
	m := e.mustPack("20241212")
	out := e.outDir("20241212")
	names := []string{"a_10000_20241212_X_00_0001.dat.gz", "a_10000_20241212_X_00_0002.dat.gz", "a_10000_20241212_X_00_0003.dat.gz"}
	var got []string
	for k, name := range names {
		ls := readGz(t, filepath.Join(out, name))
		wantN := []int{7, 7, 6}[k]
		if len(ls) != wantN {
			t.Errorf("%s: %d lines, want %d", name, len(ls), wantN)
		}
		got = append(got, ls...)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("content/order differs:\n got %q\nwant %q", got, want)
	}
	if FileCount(m) != 3 || m.Rows.Read != 20 || m.Rows.Written != 20 || m.Rows.Rejected != 0 {
		t.Errorf("manifest: files %d rows %+v", FileCount(m), m.Rows)
	}
	if len(m.Inputs) != 3 || m.Inputs[0].Path != "ods/dt=20241212/part-00000.gz" || m.Inputs[1].Lines != 9 {
		t.Errorf("inputs %+v", m.Inputs)
	}
	files := listTree(t, out)
	wantFiles := append([]string{"a_10000_20241212_X_00.verf"}, names...)
	wantFiles = append(wantFiles, "manifest.json")
	if strings.Join(files, ",") != strings.Join(wantFiles, ",") {
		t.Errorf("out folder holds %v, want %v", files, wantFiles)
	}
	e.noTemporaries()
}
