package pack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/naming"
	"github.com/chama-data/chama/transfer/pull"
)

// AllOptions is what `chama pack` asks for: periods x interfaces.
type AllOptions struct {
	Config  *config.Config
	Periods []naming.Period
	Ifaces  []*config.Interface
	Resend  int
	// Input is where partitions are read from (see Options.Input).
	Input pull.Mode
	// Out receives one status line per interface and period.
	Out     io.Writer
	Log     *slog.Logger
	Workers int
	Version string
	// Bars and ProgressEvery: see Options.
	Bars          io.Writer
	ProgressEvery time.Duration
	// Track, when set, is called as each interface and period starts; the
	// function it returns gets the outcome (the run ledger hooks in here).
	Track func(ctx context.Context, iface, period string) func(*manifest.Manifest, error)
}

// StatusPrefix starts every status line, so jobs can be scraped for it.
const StatusPrefix = "CHAMA_PACK"

// RunAll packs every period for every interface, in that order (a day of
// an hourly interface as its 24 hours), printing
// one stable, greppable status line per pair:
//
//	CHAMA_PACK OK iface=51007 period=20241212 sets=1 files=12 read=9600000 rows=9600000 filtered=0 rejected=0 embedded_delimiters=0 bytes=1500000000 secs=41.2 input=pulled
//	CHAMA_PACK FAIL iface=51007 period=20241213 err="partition not found: ..."
//
// A failure does not stop the others. The error carries the exit code:
// 2 when every failure is a usage error; 1 when any failure needs an
// operator (bad data under embedded_delimiter: fail, too many rejects, a
// sequence overflow: running again gives the same answer); 4 when every
// failure is an input not ready yet; else 3 (transient: another run held
// the period, the source's link broke), safe to run again.
func RunAll(ctx context.Context, o AllOptions) error {
	var failed, notReady, usage, transient, ok int
	var first error
	var units []packUnit
	for _, p := range o.Periods {
		for _, i := range o.Ifaces {
			if i.Granularity == "hour" && !p.Hourly {
				// An hourly interface delivers each hour of a day on its own.
				for _, h := range p.Hours() {
					units = append(units, packUnit{h, i})
				}
				continue
			}
			units = append(units, packUnit{p, i})
		}
	}
	handled := make([]bool, len(units))
	for k, u := range units {
		if ctx.Err() != nil {
			break
		}
		if handled[k] {
			continue
		}
		// from: transform interfaces of one period and ODS table share
		// one transform pass (transformpack.go).
		group := sharedGroup(o.Config, units, handled, k)
		dones := make([]func(*manifest.Manifest, error), len(group))
		if o.Track != nil {
			for j, g := range group {
				dones[j] = o.Track(ctx, units[g].i.Name, units[g].p.String())
			}
		}
		var results []packResult
		if len(group) > 1 {
			results = packShared(ctx, o, units, group)
		} else {
			start := time.Now()
			m, input, err := run(ctx, Options{Config: o.Config, Iface: u.i, Period: u.p, Resend: o.Resend, Input: o.Input, Log: o.Log, Workers: o.Workers, Version: o.Version,
				Bars: o.Bars, ProgressEvery: o.ProgressEvery})
			results = []packResult{{m, input, err, time.Since(start)}}
		}
		for j, g := range group {
			handled[g] = true
			u, m, err := units[g], results[j].m, results[j].err
			if dones[j] != nil {
				dones[j](m, err)
			}
			if o.Out != nil {
				fmt.Fprintln(o.Out, StatusLine(u.i.Name, u.p.String(), m, results[j].input.Input, err, results[j].took))
			}
			if err != nil {
				failed++
				switch exit.Code(err) {
				case exit.NotReady:
					notReady++
				case exit.Usage: // e.g. a transform spec that cannot run
					usage++
				default:
					if isTransient(err) {
						transient++
					}
				}
				if first == nil {
					first = err
				}
				continue
			}
			ok++
		}
	}
	if err := ctx.Err(); err != nil && failed == 0 {
		return err
	}
	if failed == 0 {
		return nil
	}
	err := first
	if failed > 1 {
		err = fmt.Errorf("%d of %d packs failed; first: %w", failed, failed+ok, first)
	}
	switch {
	case usage == failed:
		return exit.With(exit.Usage, err)
	case failed > notReady+transient:
		return exit.With(exit.Failure, err) // deterministic: an operator must look
	case notReady == failed:
		return exit.With(exit.NotReady, err)
	}
	return exit.With(exit.Partial, err)
}

// isTransient: a failure that running again can cure: another run held
// the period's lock, or the link to the source broke or timed out. Not a
// truncated input (an unexpected EOF is bad data as often as a broken
// link) nor a name that does not resolve (a typo stays a typo).
func isTransient(err error) bool {
	var ne net.Error
	switch {
	case errors.Is(err, exit.ErrBusy), exit.Code(err) == exit.Partial:
		return true
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, os.ErrDeadlineExceeded),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE):
		return true
	case strings.Contains(err.Error(), noNamenode):
		// colinmarc/hdfs words "every namenode refused or timed out" with
		// %s, so the network error is not in the chain: the cluster may
		// be back on the next run.
		return true
	}
	return false
}

// noNamenode is how colinmarc/hdfs says that no namenode could be reached.
const noNamenode = "no available namenodes"

// StatusLine is the one-line result of packing one interface and period.
// input (pull.InputPulled, InputSource or InputMixed) ends an OK line as
// input=...; "" leaves it out.
func StatusLine(iface, period string, m *manifest.Manifest, input string, err error, took time.Duration) string {
	if err != nil {
		msg := err.Error()
		var ee *exit.Error
		if errors.As(err, &ee) && ee.Code == exit.NotReady {
			return fmt.Sprintf("%s NOTREADY iface=%s period=%s err=%s", StatusPrefix, iface, period, strconv.Quote(msg))
		}
		return fmt.Sprintf("%s FAIL iface=%s period=%s err=%s", StatusPrefix, iface, period, strconv.Quote(msg))
	}
	// read = rows (written) + filtered + rejected, checkable from the line.
	line := fmt.Sprintf("%s OK iface=%s period=%s sets=%d files=%d read=%d rows=%d filtered=%d rejected=%d embedded_delimiters=%d bytes=%d secs=%.1f",
		StatusPrefix, iface, period, len(m.Sets), FileCount(m), m.Rows.Read, m.Rows.Written, m.Rows.Filtered, m.Rows.Rejected, m.Rows.Delimiters, ByteCount(m), took.Seconds())
	if input != "" {
		line += " input=" + input
	}
	return line
}
