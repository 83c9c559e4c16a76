package pack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/naming"
)

// RunAll prints one greppable line per interface and period and carries
// on past a failure. A missing partition is not ready (4), as in pull; a
// deterministic failure is 1 even when others succeeded (running again
// gives the same answer); 3 only for transient causes (a busy period).
func TestPackAllStatusLinesAndExitCodes(t *testing.T) {
	e := newEnv(t, "")
	e.writeInput("ods/dt=20241212/a.gz", row("1", "2"))
	var out strings.Builder
	ps, _ := naming.ParsePeriods("20241212,20241213")
	err := RunAll(context.Background(), AllOptions{Config: e.cfg, Periods: ps, Ifaces: []*config.Interface{e.cfg.Interfaces["X"]}, Out: &out})
	if exit.Code(err) != exit.NotReady {
		t.Errorf("exit code %d (%v), want 4", exit.Code(err), err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("status lines %q", lines)
	}
	okRe := regexp.MustCompile(`^CHAMA_PACK OK iface=X period=20241212 sets=1 files=1 read=1 rows=1 filtered=0 rejected=0 embedded_delimiters=0 bytes=\d+ secs=\d+\.\d input=source$`)
	if !okRe.MatchString(lines[0]) {
		t.Errorf("ok line %q", lines[0])
	}
	if !strings.HasPrefix(lines[1], `CHAMA_PACK NOTREADY iface=X period=20241213 err="interface X period 20241213: partition not found: `) {
		t.Errorf("not-ready line %q", lines[1])
	}

	// A deterministic failure beside a success: exit 1, not "retry".
	e.writeInput("ods/dt=20241213/a.gz", row("1|x", "2"))
	old := e.cfg.Interfaces["X"].EmbeddedDelimiter
	e.cfg.Interfaces["X"].EmbeddedDelimiter = "fail"
	ps, _ = naming.ParsePeriods("20241212,20241213")
	out.Reset()
	err = RunAll(context.Background(), AllOptions{Config: e.cfg, Periods: ps, Ifaces: []*config.Interface{e.cfg.Interfaces["X"]}, Out: &out})
	if exit.Code(err) != exit.Failure || !strings.Contains(out.String(), "CHAMA_PACK FAIL iface=X period=20241213") {
		t.Errorf("exit code %d, want 1\n%s", exit.Code(err), out.String())
	}
	os.RemoveAll(filepath.Join(e.root, "ods", "dt=20241213"))

	// A busy period (another pack holds its lock) is transient: exit 3.
	unlock, lerr := lockPeriod(filepath.Dir(e.outDir("20241212")), "20241212")
	if lerr != nil {
		t.Fatal(lerr)
	}
	ps, _ = naming.ParsePeriods("20241212")
	out.Reset()
	err = RunAll(context.Background(), AllOptions{Config: e.cfg, Periods: ps, Ifaces: []*config.Interface{e.cfg.Interfaces["X"]}, Out: &out})
	unlock()
	if exit.Code(err) != exit.Partial || !errors.Is(err, exit.ErrBusy) {
		t.Errorf("busy: exit code %d (%v), want 3", exit.Code(err), err)
	}
	e.cfg.Interfaces["X"].EmbeddedDelimiter = old
	e.cfg.Sources["local"].Ready = "marker"
	ps, _ = naming.ParsePeriods("20241212")
	out.Reset()
	err = RunAll(context.Background(), AllOptions{Config: e.cfg, Periods: ps, Ifaces: []*config.Interface{e.cfg.Interfaces["X"]}, Out: &out})
	if exit.Code(err) != exit.NotReady || !strings.HasPrefix(out.String(), "CHAMA_PACK NOTREADY iface=X period=20241212 err=\"interface X period 20241212: partition not ready: ods/dt=20241212: no _SUCCESS marker") {
		t.Errorf("exit %d, line %q", exit.Code(err), out.String())
	}
	e.writeInput("ods/dt=20241212/_SUCCESS")
	out.Reset()
	if err := RunAll(context.Background(), AllOptions{Config: e.cfg, Periods: ps, Ifaces: []*config.Interface{e.cfg.Interfaces["X"]}, Out: &out}); err != nil {
		t.Errorf("with the marker: %v", err)
	}
}

// A day of an hourly interface is packed as its 24 hours, each in its own
// folder with hour-stamped names.
func TestPackAllSplitsADayOfAnHourlyInterface(t *testing.T) {
	e := newEnv(t, `path: ods/dt={date}/hour={hour}
granularity: hour
file_name: "a_{period}_{iface}_{seq}.dat.gz"
verf_name: "a_{period}_{iface}.verf"`)
	for h := range 24 {
		e.writeInput(fmt.Sprintf("ods/dt=20241212/hour=%02d/p.gz", h), row(fmt.Sprint(h), "x"))
	}
	var out strings.Builder
	ps, _ := naming.ParsePeriods("20241212")
	if err := RunAll(context.Background(), AllOptions{Config: e.cfg, Periods: ps, Ifaces: []*config.Interface{e.cfg.Interfaces["X"]}, Out: &out}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "CHAMA_PACK OK"); n != 24 {
		t.Errorf("%d OK lines, want 24:\n%s", n, out.String())
	}
	got := readGz(t, filepath.Join(e.outDir("2024121207"), "a_2024121207_X_0001.dat.gz"))
	if len(got) != 1 || got[0] != "7|x" {
		t.Errorf("hour 07 holds %q", got)
	}
	if _, err := e.pack("20241212"); err == nil || !strings.Contains(err.Error(), "the interface is hourly") {
		t.Errorf("a day through Pack: %v", err)
	}
}

// Only causes a rerun can cure are transient (exit 3): a busy period, a
// timed-out or reset link. A truncated input and a name that does not
// resolve are not.
func TestIsTransient(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{exit.Busy(errors.New("held")), true},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{fmt.Errorf("read: %w", os.ErrDeadlineExceeded), true},
		{fmt.Errorf("input a.gz: %w", io.ErrUnexpectedEOF), false},
		{fmt.Errorf("dial: %w", &net.DNSError{Err: "no such host", Name: "nn1", IsNotFound: true}), false},
		{errors.New("field 3 contains the output delimiter"), false},
	} {
		if got := isTransient(c.err); got != c.want {
			t.Errorf("isTransient(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
