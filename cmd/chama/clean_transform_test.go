package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCleanRealTransformOutput: clean over what transform and
// transform-to-pack really write. The golden day is transformed on its own
// (staged Parquet, summaries and reject lists under stage/), then packed
// from the transform, pushed and verified (out/ with delivery records and
// locks). Aged past the retention, every file the stages wrote goes, the
// ledger stays; the same run on fresh files deletes nothing. A file
// renamed in one stage and not in internal/workdir fails here.
func TestCleanRealTransformOutput(t *testing.T) {
	cfg, work, _ := goldenConfig(t, nil)
	run := func(args ...string) string {
		t.Helper()
		out, code, err := packCLI(t, append([]string{"--config", cfg}, args...)...)
		if code != 0 {
			t.Fatalf("chama %v: exit %d (%v)\n%s", args, code, err, out)
		}
		return out
	}
	run("transform", "--date", "20241212", "--layer", "dwd")
	run("transform", "--date", "20241212")
	run("run", "--date", "20241212")

	var files []string
	for _, p := range workTree(t, work) {
		if !strings.HasSuffix(p, "/") && p != "ledger.db" {
			files = append(files, p)
		}
	}
	for _, want := range []string{"stage/dwd/20241212.summary.json", "stage/ads/20241212.summary.json", "stage/ads/20241212.rejects.txt", "out/51007/20241212/manifest.json",
		"out/51007/20241212/delivery-plat.json", "out/51007/.20241212.lock", "out/51007/.20241212.push.lock"} {
		found := false
		for _, p := range files {
			found = found || p == want
		}
		if !found {
			t.Fatalf("the stages left no %s:\n%s", want, strings.Join(files, "\n"))
		}
	}
	var parquet int
	for _, p := range files {
		if strings.HasSuffix(p, ".parquet") {
			parquet++
		}
	}
	if parquet == 0 {
		t.Fatalf("transform staged no Parquet:\n%s", strings.Join(files, "\n"))
	}

	if out := run("clean", "--days", "30"); !strings.Contains(out, "CHAMA_CLEAN OK files=0 ") {
		t.Fatalf("a clean of fresh output deleted something:\n%s", out)
	}
	long := time.Now().AddDate(0, 0, -40)
	for _, p := range files {
		if err := os.Chtimes(filepath.Join(work, filepath.FromSlash(p)), long, long); err != nil {
			t.Fatal(err)
		}
	}
	out := run("clean", "--days", "30")
	var left []string
	for _, p := range workTree(t, work) {
		if !strings.HasSuffix(p, "/") && p != "ledger.db" {
			left = append(left, p)
		}
	}
	if len(left) != 0 {
		t.Errorf("clean left files the stages wrote:\n%s\nclean said:\n%s", strings.Join(left, "\n"), out)
	}
	if _, err := os.Stat(filepath.Join(work, "ledger.db")); err != nil {
		t.Errorf("clean deleted the ledger: %v", err)
	}
}
