package etl

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/etl/transform"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/transfer"
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
// into the packer. Rows reconcile as read = written + filtered + rejected:
// read and filtered are transform's (for this interface, filtered is every
// valid row it did not take), rejected is transform's rejects (bad ODS
// lines, written to pack's reject file with their source file and line)
// plus pack's own (a value with a line break, a character the charset
// cannot hold, a partition value that cannot be a folder name).
func transformFeed(o PackOptions, log *slog.Logger, workers int) func(context.Context, *packer) (manifest.Rows, []manifest.Input, error) {
	return func(ctx context.Context, p *packer) (manifest.Rows, []manifest.Input, error) {
		var rows manifest.Rows // pack's side: written, rejected, delimiters
		var trRejected manifest.Rows
		var sum *transform.Summary
		name := p.iface.Name
		topt := transform.Options{
			Config: o.Config, Layer: transform.LayerADS, Period: p.period, Names: []string{name}, Log: log,
			OnReject: func(source string, line int64, reason string, raw []byte) error {
				return p.reject(source, line, reason, raw, &trRejected)
			},
		}
		if o.Source != nil {
			topt.Source = func(string) (transfer.Source, error) { return o.Source, nil }
		}
		err := p.drive(ctx, workers, func(ctx context.Context, cancel context.CancelCauseFunc) error {
			var sinkErr error
			var err error
			sum, err = transform.Run(ctx, topt, func(hour string, out transform.Output) error {
				sinkErr = p.batch(hour, out, &rows)
				return sinkErr
			})
			if sinkErr != nil {
				err = sinkErr // pack's own error, already naming the interface and period
			}
			if err != nil {
				cancel(err)
			}
			return err
		})
		var ins []manifest.Input
		if sum != nil {
			for _, st := range sum.Streams {
				ins = append(ins, st.Inputs...)
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
	defer func() { p.rec = nil }()
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
func (c *converter) emitRecord(dst []byte, rec arrow.Record, row int, v *verdict) []byte {
	start := len(dst)
	for k := 0; k < int(rec.NumCols()); k++ {
		if k > 0 {
			dst = append(dst, c.out)
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
