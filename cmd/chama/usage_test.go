package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/chama-data/chama/internal/exit"
)

// TestArgumentErrorsAreUsageErrors: the documented exit code 2 covers
// every kind of bad command line, not only bad flags.
func TestArgumentErrorsAreUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"nosuch"},
		{"verify", "--date", "20241212", "stray"},
		{"gen", "--out", t.TempDir(), "--date", "20241212", "--rows", "1", "stray"},
		{"report", "volume", "stray"},
		{"verify", "--bogus"},
		{"demo", "--dir", t.TempDir(), "--date", "2024121207"},
		{"demo", "--dir", t.TempDir(), "--rows", "0"},
		{"pack", "--config", writeMinimalConfig(t), "--date", "20241212", "--workers", "-3"},
		{"pack", "--config", writeMinimalConfig(t), "--date", "20241212", "--resend", "100"},
		{"run", "--config", writeMinimalConfig(t), "--date", "20241212", "--resend", "-1"},
		{"pack", "--config", writeMinimalConfig(t), "--date", "20241312"},
		{"report", "volume", "--config", writeMinimalConfig(t), "--date", "20241212", "--stage", "bogus"},
	} {
		root := newRoot()
		root.SetArgs(args)
		if code := exit.Code(execute(t.Context(), root)); code != exit.Usage {
			t.Errorf("chama %v: exit %d, want %d", args, code, exit.Usage)
		}
	}
}

// TestHelpStatesEachDefaultOnce: a flag whose usage explains its default
// must not also print pflag's "(default ...)" (a sentinel such as -1, or
// a value the config overrides, reads as a contradiction in --help).
func TestHelpStatesEachDefaultOnce(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, line := range strings.Split(c.LocalFlags().FlagUsages()+c.InheritedFlags().FlagUsages(), "\n") {
			if strings.Count(line, "default") > 1 {
				t.Errorf("chama %s --help: %s", c.CommandPath(), strings.TrimSpace(line))
			}
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(newRoot())
}

// TestPrintJSONKeepsTheRunError: push and pull print their summary even
// when the run failed; the run's exit code must survive the printing.
func TestPrintJSONKeepsTheRunError(t *testing.T) {
	var b strings.Builder
	runErr := exit.With(exit.Partial, errors.New("2 files pending"))
	if err := printJSON(&b, map[string]int{"files": 3}, runErr); exit.Code(err) != exit.Partial {
		t.Errorf("exit %d, want %d", exit.Code(err), exit.Partial)
	}
	if b.String() != "{\n  \"files\": 3\n}\n" {
		t.Errorf("printed %q", b.String())
	}
	if err := printJSON(&b, func() {}, nil); err == nil {
		t.Error("an unencodable summary must fail the command")
	}
}

// writeMinimalConfig writes a valid config with one interface.
func writeMinimalConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "chama.yaml")
	y := "workdir: w\nsources: {s: {type: file, root: r}}\ninterfaces:\n  \"51007\": {source: s, path: \"dt={date}\"}\n"
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Every command interrupted by a signal (here: a context cancelled before
// it runs) ends with exit 3, safe to run again: verify said 2, pack 1.
func TestInterruptedRunIsExit3(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "ods", "dt=20241212"), 0o755)
	os.WriteFile(filepath.Join(dir, "ods", "dt=20241212", "part-0"), []byte("1\x01x\n"), 0o644)
	cfg := filepath.Join(dir, "chama.yaml")
	os.WriteFile(cfg, []byte("workdir: work\nsources:\n  ods: {type: file, root: ods}\ninterfaces:\n  \"51007\": {source: ods, path: \"dt={date}\"}\n"), 0o644)
	for _, args := range [][]string{{"pack", "--date", "20241212"}, {"verify", "--date", "20241212"}} {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		root := newRoot()
		root.SetArgs(append([]string{"--config", cfg}, args...))
		root.SetOut(io.Discard)
		root.SetErr(io.Discard)
		err := execute(ctx, root)
		if exit.Code(err) != exit.Partial || !strings.Contains(fmt.Sprint(err), "interrupted") {
			t.Errorf("%v interrupted: exit %d (%v), want 3", args, exit.Code(err), err)
		}
	}
}
