// Package exit carries chama's documented process exit codes through
// ordinary error values, so every command ends the same way.
package exit

import (
	"errors"
	"fmt"
)

// The exit codes, documented in the README.
const (
	OK       = 0 // success
	Failure  = 1 // something failed (or verify found a problem)
	Usage    = 2 // bad flags, bad period, unknown interface, bad config
	Partial  = 3 // partly done; safe to run again
	NotReady = 4 // nothing to do yet (input not ready); retry later
)

// Error is an error with an exit code.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// With wraps err with code; nil stays nil.
func With(code int, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Err: err}
}

// Usagef is a usage error.
func Usagef(format string, a ...any) error {
	return &Error{Code: Usage, Err: fmt.Errorf(format, a...)}
}

// ErrBusy marks a run refused because another run of the same stage and
// period holds its lock: it changed nothing, and running again later is
// safe (exit 3). Its ledger row must not hide the other run's outcome.
var ErrBusy = errors.New("busy")

// Busy wraps err as a busy refusal: exit 3, errors.Is(err, ErrBusy).
func Busy(err error) error {
	return &Error{Code: Partial, Err: busyError{err}}
}

type busyError struct{ error }

func (b busyError) Unwrap() []error { return []error{b.error, ErrBusy} }

// Code is the exit code for err: 0 for nil, the wrapped code, else 1.
func Code(err error) int {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Failure
}
