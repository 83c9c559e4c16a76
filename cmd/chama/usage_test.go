package main

import (
	"testing"

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
	} {
		root := newRoot()
		root.SetArgs(args)
		if code := exit.Code(execute(t.Context(), root)); code != exit.Usage {
			t.Errorf("chama %v: exit %d, want %d", args, code, exit.Usage)
		}
	}
}
