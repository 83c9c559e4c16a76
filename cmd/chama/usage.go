package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chama-data/chama/internal/exit"
)

// execute runs root and returns the error main reports. cobra reports a
// stray argument or an unknown subcommand ("unknown command ...") as a
// plain error, which would exit 1 like a failed run; it is a usage error
// (exit 2), as a bad flag already is (root's flag error func).
//
// One rule for every command: a run interrupted by SIGINT or SIGTERM (the
// scheduler's timeout) that did not finish is exit 3. Every stage
// publishes atomically, so nothing is half-published and running the same
// command again is safe; before, pack said 1, push 3 and verify 2.
func execute(ctx context.Context, root *cobra.Command) error {
	err := root.ExecuteContext(ctx)
	if exit.Code(err) == exit.Failure && strings.HasPrefix(err.Error(), "unknown command ") {
		return exit.With(exit.Usage, fmt.Errorf("%w (see 'chama --help')", err))
	}
	if err != nil && ctx.Err() != nil && exit.Code(err) != exit.NotReady {
		return exit.With(exit.Partial, fmt.Errorf("interrupted: %w (nothing half-published; run the same command again)", err))
	}
	return err
}

// printJSON writes a command's --json summary (indented) to w and returns
// the command's own error, else the write error: a summary is printed
// even for a failed run, whose exit code must not be lost.
func printJSON(w io.Writer, v any, runErr error) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil && runErr == nil {
		return err
	}
	return runErr
}
