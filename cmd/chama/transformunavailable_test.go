package main

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/transfer/source"
)

// chama transform with its ODS table's HDFS cluster down (the test server
// closed: no namenode answers) exits 3, not 1: running it again once the
// cluster is back can succeed. The status line says why.
func TestTransformSourceUnavailableExits3(t *testing.T) {
	e := newPulledEnv(t)
	e.cluster.Close()
	for _, src := range []string{"auto", "origin"} {
		out, code := e.chama("transform", "--date", "2024121207", "--layer", "ads", "--source", src)
		if code != exit.Partial {
			t.Errorf("--source %s with the cluster down: exit %d, want 3\n%s", src, code, out)
		}
		if !regexp.MustCompile(`(?m)^CHAMA_TRANSFORM FAIL layer=ads period=2024121207 err=".*hdfs unavailable: .*no available namenodes`).MatchString(out) {
			t.Errorf("--source %s: status line:\n%s", src, out)
		}
	}
	// A day: the first hour's failure is the run's, exit 3 too.
	if out, code := e.chama("transform", "--date", "20241212", "--layer", "ads"); code != exit.Partial || !strings.Contains(out, "CHAMA_TRANSFORM FAIL layer=ads period=20241212") {
		t.Errorf("a day with the cluster down: exit %d\n%s", code, out)
	}
}

// The error chama pack returns with the cluster down carries
// source.ErrUnavailable (each layer wraps with %w), so pack's classifier
// can test errors.Is instead of the message: text input, and from:
// transform input (through transform.Stream, which makes it exit 3).
func TestPackSourceUnavailableErrorIsTyped(t *testing.T) {
	e := newPulledEnv(t)
	e.cluster.Close()
	for _, iface := range []string{"51007", "51006"} {
		out, code, err := packCLI(t, "--config", e.cfg, "pack", "--date", "2024121207", "--iface", iface, "--source", "origin")
		if code != exit.Partial || !errors.Is(err, source.ErrUnavailable) {
			t.Errorf("pack %s with the cluster down: exit %d, %v (ErrUnavailable: %t)\n%s", iface, code, err, errors.Is(err, source.ErrUnavailable), out)
		}
	}
}
