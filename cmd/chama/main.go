// Command chama produces and delivers the offline interface files of a
// tracking-data team: pull, transform, pack, push, verify.
//
// This package is the CLI only: each command turns flags into an options
// struct and hands it to a run function in the package that owns the work.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/chama-data/chama/internal/exit"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := execute(ctx, newRoot())
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "chama:", err)
	}
	os.Exit(exit.Code(err))
}
