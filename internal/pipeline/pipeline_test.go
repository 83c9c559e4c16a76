package pipeline

import (
	"context"
	"errors"
	"strings"
	"testing"

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
