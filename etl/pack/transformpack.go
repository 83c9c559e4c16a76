package pack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/etl/transform"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/naming"
	"github.com/chama-data/chama/transfer/pull"
	"github.com/chama-data/chama/transfer/source"
)

// An interface with `from: transform` is packed straight from its
// transform.ads entry: transform runs for the period and hands its ADS
// batches, in input order, to the same packer that text partitions go
// through (cutting, compression, naming, .verf, manifest, atomic
// publish). No intermediate file is written, and memory stays bounded by
// transform's batches plus pack's blocks.

// inputPath is the path template whose folders an interface reads: its
// own, or that of the ODS table behind its transform.ads entry.
func inputPath(c *config.Config, i *config.Interface) string {
	if i.From == config.FromTransform && c != nil && c.Transform != nil {
		if o := c.Transform.ODSFor(i.Name); o != nil {
			return o.Path
		}
	}
	return i.Path
}

// transformFeed runs the interface's transform.ads entry for the period
// into the packer (or takes its share of a pass run for several
// interfaces, o.shared). Rows reconcile as read = written + filtered +
// rejected: read and filtered are transform's (for this interface,
// filtered is every valid row it did not take), rejected is transform's
// rejects (bad ODS lines, written to pack's reject file with their source
// file and line) plus pack's own (a value with a line break, a character
// the charset cannot hold, a partition value that cannot be a folder name).
func transformFeed(o Options, log *slog.Logger, workers int) func(context.Context, *packer) (manifest.Rows, []manifest.Input, error) {
	return func(ctx context.Context, p *packer) (manifest.Rows, []manifest.Input, error) {
		var rows manifest.Rows // pack's side: written, rejected, delimiters
		var trRejected manifest.Rows
		var sum *transform.Summary
		name := p.iface.Name
		err := p.drive(ctx, workers, func(ctx context.Context, cancel context.CancelCauseFunc) error {
			var err error
			if o.shared != nil {
				sum, err = o.shared.consume(ctx, p, &rows, &trRejected)
			} else {
				var sinkErr error
				topt := transformOptions(o.Config, p.period, []string{name}, o.Source, o.Input, log)
				topt.OnReject = func(source string, line int64, reason string, raw []byte) error {
					return p.reject(source, line, reason, raw, &trRejected)
				}
				sum, err = transform.Stream(ctx, topt, func(hour string, out transform.Output) error {
					sinkErr = p.batch(hour, out, &rows)
					return sinkErr
				})
				if sinkErr != nil {
					err = sinkErr // pack's own error, already naming the interface and period
				}
			}
			if err != nil {
				cancel(err)
			}
			return err
		})
		var ins []manifest.Input
		if sum != nil {
			table := odsTable(o.Config, p.iface)
			for _, st := range sum.Streams {
				if st.Table == table {
					ins = append(ins, st.Inputs...)
					p.input = st.InputOf
				}
			}
		}
		if err != nil {
			return rows, ins, err
		}
		tr, ok := sum.Rows[name]
		if !ok {
			return rows, ins, fmt.Errorf("transform: no accounting for %s", name)
		}
		if trRejected.Rejected != tr.Rejected {
			return rows, ins, fmt.Errorf("accounting: transform counted %d rejected rows but reported %d to the reject file", tr.Rejected, trRejected.Rejected)
		}
		if got := rows.Written + rows.Rejected; got != tr.Written {
			return rows, ins, fmt.Errorf("accounting: transform routed %d rows to %s but pack received %d", tr.Written, name, got)
		}
		return manifest.Rows{Read: tr.Read, Written: rows.Written, Filtered: tr.Filtered,
			Rejected: tr.Rejected + rows.Rejected, Delimiters: rows.Delimiters}, ins, nil
	}
}

func transformOptions(c *config.Config, period naming.Period, names []string, src source.Source, input pull.Mode, log *slog.Logger) transform.Options {
	o := transform.Options{Config: c, Layer: transform.LayerADS, Period: period, Names: names, Input: input, Log: log}
	if src != nil {
		o.Source = func(string) (source.Source, error) { return src, nil }
	}
	return o
}

// sharedPass is one transform pass whose ADS outputs go to the packers of
// several interfaces at once (all from one ODS table), so the table is
// read and the DWD columns are derived once. Each interface gets its
// batches, in input order, on its own channel, and every transform reject.
// A packer that stops (it failed) quits; the pass drops its outputs and
// stops when no packer is left.
type sharedPass struct {
	subs map[string]*passSub
	done chan struct{} // closed when the pass ended: sum and err are set
	sum  *transform.Summary
	err  error
}

type passSub struct {
	ch   chan passItem
	quit chan struct{}
	once sync.Once
	pass *sharedPass
}

// passItem is an output batch (retained for the packer) or a reject.
type passItem struct {
	hour   string
	out    transform.Output
	reject *passReject
}

type passReject struct {
	source, reason string
	line           int64
	raw            []byte
}

var errAllQuit = errors.New("every interface of the transform pass stopped")

// startSharedPass starts the pass; each interface's Pack takes its share
// through Options.shared and must call stop when it returns.
func startSharedPass(ctx context.Context, c *config.Config, period naming.Period, names []string, input pull.Mode, log *slog.Logger) *sharedPass {
	sp := &sharedPass{subs: map[string]*passSub{}, done: make(chan struct{})}
	for _, n := range names {
		sp.subs[n] = &passSub{ch: make(chan passItem, 4), quit: make(chan struct{}), pass: sp}
	}
	ctx, cancel := context.WithCancel(ctx)
	left := make(chan struct{})
	go func() { // stop the pass once no packer is left
		for _, s := range sp.subs {
			<-s.quit
		}
		close(left)
		cancel()
	}()
	send := func(s *passSub, it passItem) bool {
		select {
		case s.ch <- it:
			return true
		case <-s.quit:
		case <-ctx.Done():
		}
		return false
	}
	go func() {
		defer close(sp.done)
		defer cancel()
		o := transformOptions(c, period, names, nil, input, log)
		o.OnReject = func(source string, line int64, reason string, raw []byte) error {
			for _, n := range names {
				send(sp.subs[n], passItem{reject: &passReject{source: source, line: line, reason: reason, raw: bytes.Clone(raw)}})
			}
			return nil
		}
		sp.sum, sp.err = transform.Stream(ctx, o, func(hour string, out transform.Output) error {
			out.Rec.Retain()
			if !send(sp.subs[out.Name], passItem{hour: hour, out: out}) {
				out.Rec.Release()
			}
			select {
			case <-left:
				return errAllQuit
			default:
				return nil
			}
		})
		for _, s := range sp.subs {
			close(s.ch)
		}
	}()
	return sp
}

// sub is the share of one interface.
func (sp *sharedPass) sub(name string) *passSub { return sp.subs[name] }

// stop says the interface's packer is done with the pass (idempotent);
// batches still queued for it are released.
func (s *passSub) stop() {
	s.once.Do(func() {
		close(s.quit)
		go func() {
			for it := range s.ch { // closed when the pass ends
				if it.out.Rec != nil {
					it.out.Rec.Release()
				}
			}
		}()
	})
}

// consume packs the interface's share of the pass until the pass ends.
func (s *passSub) consume(ctx context.Context, p *packer, rows, trRejected *manifest.Rows) (*transform.Summary, error) {
	defer s.stop()
	for {
		select {
		case it, ok := <-s.ch:
			if !ok {
				<-s.pass.done
				return s.pass.sum, s.pass.err
			}
			var err error
			if r := it.reject; r != nil {
				err = p.reject(r.source, r.line, r.reason, r.raw, trRejected)
			} else {
				err = p.batch(it.hour, it.out, rows)
				it.out.Rec.Release()
			}
			if err != nil {
				return nil, err
			}
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
}

// batch adds one ADS batch (one partition value) to its set. A pack
// reject (or an embedded_delimiter: fail) names the interface, the hour and
// the row's number in the interface's output of the period, counted over
// all partitions in delivery order (batch by batch, partition values in
// order within a batch); transform does not carry the ODS line of an
// output row.
func (p *packer) batch(hour string, out transform.Output, rows *manifest.Rows) error {
	n := int(out.Rec.NumRows())
	src := "transform.ads." + out.Name + " output (hour " + hour + ")"
	p.rec = out.Rec
	p.conv.scanRecord(out.Rec)
	defer func() { p.rec = nil; p.conv.scanRecord(nil) }()
	part := []byte(out.Part)
	if p.partitioned && !validPart(part) {
		reason := fmt.Sprintf("partition value %q (column %s) is not letters, digits or '-'", out.Part, p.iface.ADSPartition)
		for r := 0; r < n; r++ {
			p.row = r
			p.outRows++
			if err := p.reject(src, p.outRows, reason, p.recordLine(), rows); err != nil {
				return err
			}
		}
		return nil
	}
	po, err := p.part(part, src, p.outRows+1)
	if err != nil {
		return err
	}
	for r := 0; r < n; r++ {
		p.row = r
		p.outRows++
		var v verdict
		if err := p.add(po, nil, src, p.outRows, &v, rows); err != nil {
			return err
		}
	}
	return nil
}

// recordLine is the current transform row as text, for the reject file,
// with line breaks written as \n and \r so each reject stays one line.
func (p *packer) recordLine() []byte {
	line := transform.AppendLine(nil, p.rec, p.row, p.conv.out, "")
	if bytes.IndexByte(line, '\n') < 0 && bytes.IndexByte(line, '\r') < 0 {
		return line
	}
	return []byte(strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(string(line)))
}

// emitRecord appends row `row` of an ADS batch as one output line: the
// columns joined by the output delimiter (null as ""), each value under the
// embedded-delimiter policy, then the charset and '\n' (as emit does for
// a text line). A value holding a line break is a reject, so that every
// file keeps exactly its counted lines.
func (c *converter) emitRecord(dst []byte, rec arrow.RecordBatch, row int, v *verdict) []byte {
	start := len(dst)
	clean := c.clean
	if c.scanned != rec {
		clean = nil
	}
	for k := 0; k < int(rec.NumCols()); k++ {
		if k > 0 {
			dst = append(dst, c.out)
		}
		if clean != nil && clean[k] != nil {
			if a := clean[k]; !a.IsNull(row) {
				dst = append(dst, a.Value(row)...)
			}
			continue
		}
		cs := len(dst)
		dst = transform.AppendValue(dst, rec.Column(k), row, "")
		val := dst[cs:]
		if bytes.IndexByte(val, '\n') >= 0 || bytes.IndexByte(val, '\r') >= 0 {
			v.reject = fmt.Sprintf("column %d (%s) holds a line break", k+1, rec.ColumnName(k))
			return dst[:start]
		}
		if bytes.IndexByte(val, c.out) >= 0 {
			c.scratch = append(c.scratch[:0], val...)
			var ok bool
			if dst, ok = c.value(dst[:cs], c.scratch, k+1, v); !ok {
				return dst[:start]
			}
		}
	}
	return c.finish(dst, start, v)
}

// scanRecord looks once through each string column of rec for line
// breaks and the output delimiter, so that emitRecord copies the columns
// holding none without looking at each value: three short scans a value
// (153 a row of 51 columns) were a sixth of packing a transform's output.
// A nil rec forgets the last one.
func (c *converter) scanRecord(rec arrow.RecordBatch) {
	c.scanned, c.clean = rec, c.clean[:0]
	if rec == nil {
		return
	}
	for k := 0; k < int(rec.NumCols()); k++ {
		a, ok := rec.Column(k).(*array.String)
		if ok {
			// Bytes of null slots are scanned too: at worst a clean column
			// is checked value by value.
			b := a.ValueBytes()
			if bytes.IndexByte(b, '\n') >= 0 || bytes.IndexByte(b, '\r') >= 0 || bytes.IndexByte(b, c.out) >= 0 {
				a = nil
			}
		}
		c.clean = append(c.clean, a)
	}
}

// packUnit is one interface and period of a RunAll.
type packUnit struct {
	p naming.Period
	i *config.Interface
}

type packResult struct {
	m     *manifest.Manifest
	input pull.InputOf
	err   error
	took  time.Duration
}

// odsTable is the ODS table behind a from: transform interface ("" if none).
func odsTable(c *config.Config, i *config.Interface) string {
	if i.From != config.FromTransform || i.HourlyPack || c.Transform == nil {
		return ""
	}
	a := c.Transform.ADS[i.Name]
	if a == nil || c.Transform.DWD[a.From] == nil {
		return ""
	}
	return c.Transform.DWD[a.From].From
}

// sharedGroup is unit k and, when it is a from: transform interface, every
// later unhandled unit of the same period whose ADS entry reads the same
// ODS table: they are packed from one transform pass.
func sharedGroup(c *config.Config, units []packUnit, handled []bool, k int) []int {
	group := []int{k}
	table := odsTable(c, units[k].i)
	if table == "" {
		return group
	}
	for j := k + 1; j < len(units); j++ {
		if !handled[j] && units[j].p == units[k].p && units[j].i.Name != units[k].i.Name && odsTable(c, units[j].i) == table {
			group = append(group, j)
		}
	}
	return group
}

// packShared packs the units of a group at once, each Pack taking its
// interface's share of one transform pass.
func packShared(ctx context.Context, o AllOptions, units []packUnit, group []int) []packResult {
	names := make([]string, len(group))
	for j, g := range group {
		names[j] = units[g].i.Name
	}
	pass := startSharedPass(ctx, o.Config, units[group[0]].p, names, o.Input, o.Log)
	res := make([]packResult, len(group))
	var wg sync.WaitGroup
	for j, g := range group {
		u := units[g]
		sub := pass.sub(u.i.Name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer sub.stop()
			start := time.Now()
			m, input, err := run(ctx, Options{Config: o.Config, Iface: u.i, Period: u.p, Resend: o.Resend, Input: o.Input, Log: o.Log, Workers: o.Workers, Version: o.Version, shared: sub})
			res[j] = packResult{m, input, err, time.Since(start)}
		}()
	}
	wg.Wait()
	<-pass.done
	return res
}
