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
	"syscall"
	"time"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/chunkstore"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/fence"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/naming"
	"github.com/chama-data/chama/transfer/pull"
	"github.com/chama-data/chama/transfer/source"
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
	// Claim, when set, takes the lease of each interface and period
	// before it is packed (several machines on one ledger): it returns the
	// context to pack in (carrying the lease for the fencing check before
	// publish) and the release; a lease held elsewhere is busy (exit 3).
	Claim func(ctx context.Context, iface, period string) (context.Context, func(), error)
	// Store and Repack: see Options.
	Store  *chunkstore.Store
	Repack bool
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
	for k := range units {
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
		results := packGroup(ctx, o, units, group)
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
	case errors.Is(err, source.ErrUnavailable):
		// No namenode could be reached: the cluster may be back on the
		// next run.
		return true
	}
	return false
}

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

// packGroup packs the units of one group (one unit, or the interfaces of
// a shared transform pass), each first taking its lease (o.Claim): a unit
// whose lease is held elsewhere fails busy, the others are packed.
func packGroup(ctx context.Context, o AllOptions, units []packUnit, group []int) []packResult {
	results := make([]packResult, len(group))
	ctxs := make([]context.Context, len(group))
	var live []int // positions in group whose lease was taken
	for j, g := range group {
		ctxs[j] = ctx
		if o.Claim != nil {
			c, release, err := o.Claim(ctx, units[g].i.Name, units[g].p.String())
			if err != nil {
				results[j] = packResult{err: err}
				continue
			}
			defer release()
			ctxs[j] = c
		}
		live = append(live, j)
	}
	switch {
	case len(live) == 0:
	case len(group) > 1:
		// One pass publishes for every interface of the group: it must
		// hold all their leases.
		sub := make([]int, len(live))
		all := make(fence.All, len(live))
		for k, j := range live {
			sub[k], all[k] = group[j], fence.From(ctxs[j])
		}
		for k, r := range packShared(fence.With(ctx, all), o, units, sub) {
			r.err = fencedStop(ctxs[live[k]], r.err)
			results[live[k]] = r
		}
	default:
		u, uctx := units[group[0]], ctxs[0]
		start := time.Now()
		opts := Options{Config: o.Config, Iface: u.i, Period: u.p, Resend: o.Resend, Input: o.Input, Log: o.Log, Workers: o.Workers, Version: o.Version,
			Bars: o.Bars, ProgressEvery: o.ProgressEvery, Store: o.Store, Repack: o.Repack}
		if o.Claim != nil {
			opts.ClaimHour = func(hctx context.Context, h naming.Period) (context.Context, func(), error) {
				return o.Claim(hctx, u.i.Name, h.String())
			}
		}
		m, input, err := run(uctx, opts)
		results[0] = packResult{m, input, fencedStop(uctx, err), time.Since(start)}
	}
	return results
}
