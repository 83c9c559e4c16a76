package clean

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCleanNeverFollowsAFolderSwappedForASymlink (#14): a folder of the
// workdir swapped for a symlink to an outside folder between clean's
// listing and its removals must not lead clean out of the workdir. A race
// script deleted a file in another folder on its first try: removals went
// by path, and a path follows symlinks in its folders.
func TestCleanNeverFollowsAFolderSwappedForASymlink(t *testing.T) {
	for _, swap := range []string{
		"out",
		"out/51007",
		"out/51007/20241201",
		"out/CM001/20241201/250",
		"raw/51007/20241201/hour=00",
		"raw/51007",
		"chunks",
		"chunks/out/51007/2024120107",
		"stage/ads/51007",
		// The file itself: it was always re-checked, and stays so.
		"out/51007/20241201/a_10000_20241201_51007_00_0001.dat.gz",
	} {
		t.Run(strings.ReplaceAll(swap, "/", "_"), func(t *testing.T) {
			base := t.TempDir()
			work, outside := filepath.Join(base, "work"), filepath.Join(base, "outside")
			for _, rel := range []string{
				"out/51007/20241201/a_10000_20241201_51007_00_0001.dat.gz",
				"out/51007/20241201/manifest.json",
				"out/CM001/20241201/250/a_10000_20241201_CM001_250_00_0001.dat.gz",
				"raw/51007/20241201/hour=00/part-00000.gz",
				"raw/51007/20241201/hour=00/.part-00000.gz.chama",
				"raw/51007/20241201/.chama-pull.json",
				"chunks/out/51007/2024120107/chunk_07_000001.dat.gz",
				"stage/ads/51007/20241201/part-00001.parquet",
			} {
				put(t, filepath.Join(work, filepath.FromSlash(rel)), 30)
				// The outside folder holds the same names below it as the
				// swapped folder does, so a followed link finds them.
				if r, ok := strings.CutPrefix(rel, swap+"/"); ok {
					put(t, filepath.Join(outside, filepath.FromSlash(r)), 30)
				}
			}
			target := outside
			if strings.HasSuffix(swap, ".dat.gz") {
				target = filepath.Join(outside, "a_10000_20241201_51007_00_0001.dat.gz")
				put(t, target, 30)
			}
			outsideBefore := tree(t, outside)
			if len(outsideBefore) == 0 {
				t.Fatal("nothing outside")
			}
			defer func(f func()) { beforeRemove = f }(beforeRemove)
			swapped := false
			beforeRemove = func() {
				p := filepath.Join(work, filepath.FromSlash(swap))
				must(t, os.Rename(p, p+".moved"))
				must(t, os.Symlink(target, p))
				swapped = true
			}
			var out bytes.Buffer
			if _, err := Run(t.Context(), Options{Config: cfg(t, work), Now: now, Out: &out}); err != nil {
				t.Errorf("clean: %v", err)
			}
			if !swapped {
				t.Fatal("the hook did not run")
			}
			if got := tree(t, outside); strings.Join(got, "\n") != strings.Join(outsideBefore, "\n") {
				t.Fatalf("clean deleted outside the workdir through %s:\n%s\nwas:\n%s\nlines:\n%s", swap, strings.Join(got, "\n"), strings.Join(outsideBefore, "\n"), out.String())
			}
			// What was not deleted is not reported as deleted.
			if strings.Contains(out.String(), "DELETE file="+swap+"/") || strings.Contains(out.String(), "DELETE file="+swap+" ") {
				t.Errorf("lines claim deletions under the swapped %s:\n%s", swap, out.String())
			}
			// The link itself is never deleted.
			if st, err := os.Lstat(filepath.Join(work, filepath.FromSlash(swap))); err != nil || st.Mode()&os.ModeSymlink == 0 {
				t.Errorf("the link %s: %v", swap, err)
			}
		})
	}
}
