package pipeline

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/naming"
)

// Stages run in order per period; a failure skips the later stages of
// that period only, and the worst exit code wins.
func TestRunOrderAndFailure(t *testing.T) {
	var log []string
	stage := func(name string, failOn string, code int) Stage {
		return Stage{Name: name, Run: func(ctx context.Context, p Params, period naming.Period) error {
			log = append(log, name+" "+period.String())
			if period.String() == failOn {
				return exit.With(code, errors.New("boom"))
			}
			return nil
		}}
	}
	ps, _ := naming.ParsePeriods("20241211..20241213")
	err := Run(context.Background(), []Stage{stage("pack", "20241212", exit.NotReady), stage("push", "20241213", exit.Failure)}, Params{}, ps)
	want := "pack 20241211,push 20241211,pack 20241212,pack 20241213,push 20241213"
	if strings.Join(log, ",") != want {
		t.Errorf("ran %v, want %s", log, want)
	}
	if exit.Code(err) != exit.Failure || !strings.Contains(err.Error(), "2 periods failed; first: pack 20241212: boom") {
		t.Errorf("err %v code %d", err, exit.Code(err))
	}
	log = nil
	if err := Run(context.Background(), []Stage{stage("pack", "", 0)}, Params{}, ps); err != nil || len(log) != 3 {
		t.Errorf("all ok: %v %v", err, log)
	}
}

// A stage that fails for some interfaces only (FailedIfaces) lets the
// later stages run for the others; the exit code is still the stage's
// (here partial, 3), and a stage failing for every interface stops them.
func TestRunContinuesWithoutFailedInterfaces(t *testing.T) {
	ifs := []*config.Interface{{Name: "51007"}, {Name: "CM001"}, {Name: "51006"}}
	var log []string
	pack := Stage{Name: "pack", Run: func(ctx context.Context, p Params, period naming.Period) error {
		if period.String() == "20241212" {
			return exit.With(exit.Partial, &FailedIfaces{Names: []string{"CM001"}, Err: errors.New("CM001: partition not found")})
		}
		var names []string
		for _, i := range p.Ifaces {
			names = append(names, i.Name)
		}
		return exit.With(exit.Failure, &FailedIfaces{Names: names, Err: errors.New("all failed")})
	}}
	push := Stage{Name: "push", Run: func(ctx context.Context, p Params, period naming.Period) error {
		for _, i := range p.Ifaces {
			log = append(log, period.String()+":"+i.Name)
		}
		return nil
	}}
	ps, _ := naming.ParsePeriods("20241212,20241213")
	err := Run(context.Background(), []Stage{pack, push}, Params{Ifaces: ifs}, ps)
	if got := strings.Join(log, ","); got != "20241212:51007,20241212:51006" {
		t.Errorf("push ran for %s, want the two interfaces that packed on 20241212 only", got)
	}
	if exit.Code(err) != exit.Failure || !strings.Contains(err.Error(), "2 periods failed; first: pack 20241212: CM001: partition not found") {
		t.Errorf("err %v code %d", err, exit.Code(err))
	}
	if len(ifs) != 3 {
		t.Error("the caller's interface list was changed")
	}
}
