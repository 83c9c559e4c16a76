package etl

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/naming"
)

// PackAll prints one greppable line per interface and period, carries on
// past a failure, and says "partly done" (3) when some succeeded.
func TestPackAllStatusLinesAndExitCodes(t *testing.T) {
	e := newEnv(t, "")
	e.writeInput("ods/dt=20241212/a.gz", row("1", "2"))
	var out strings.Builder
	ps, _ := naming.ParsePeriods("20241212,20241213")
	err := PackAll(context.Background(), PackAllOptions{Config: e.cfg, Periods: ps, Ifaces: []*config.Interface{e.cfg.Interfaces["X"]}, Out: &out})
	if exit.Code(err) != exit.Partial {
		t.Errorf("exit code %d (%v), want 3", exit.Code(err), err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("status lines %q", lines)
	}
	okRe := regexp.MustCompile(`^CHAMA_PACK OK iface=X period=20241212 sets=1 files=1 rows=1 rejected=0 embedded_delimiters=0 bytes=\d+ secs=\d+\.\d$`)
	if !okRe.MatchString(lines[0]) {
		t.Errorf("ok line %q", lines[0])
	}
	if !strings.HasPrefix(lines[1], `CHAMA_PACK FAIL iface=X period=20241213 err="interface X period 20241213: partition not found: `) {
		t.Errorf("fail line %q", lines[1])
	}

	// Only failures: exit 1. A missing _SUCCESS marker: not ready, exit 4.
	ps, _ = naming.ParsePeriods("20241213")
	out.Reset()
	err = PackAll(context.Background(), PackAllOptions{Config: e.cfg, Periods: ps, Ifaces: []*config.Interface{e.cfg.Interfaces["X"]}, Out: &out})
	if exit.Code(err) != exit.Failure {
		t.Errorf("exit code %d, want 1", exit.Code(err))
	}
	e.cfg.Sources["local"].Ready = "marker"
	ps, _ = naming.ParsePeriods("20241212")
	out.Reset()
	err = PackAll(context.Background(), PackAllOptions{Config: e.cfg, Periods: ps, Ifaces: []*config.Interface{e.cfg.Interfaces["X"]}, Out: &out})
	if exit.Code(err) != exit.NotReady || !strings.HasPrefix(out.String(), "CHAMA_PACK NOTREADY iface=X period=20241212 err=\"interface X period 20241212: partition not ready: ods/dt=20241212 has no _SUCCESS marker") {
		t.Errorf("exit %d, line %q", exit.Code(err), out.String())
	}
	e.writeInput("ods/dt=20241212/_SUCCESS")
	out.Reset()
	if err := PackAll(context.Background(), PackAllOptions{Config: e.cfg, Periods: ps, Ifaces: []*config.Interface{e.cfg.Interfaces["X"]}, Out: &out}); err != nil {
		t.Errorf("with the marker: %v", err)
	}
}
