package stages

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/chama-data/chama/etl/transform"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/obs"
	"github.com/chama-data/chama/naming"
)

// Transform runs the transform o describes for each period in turn (o's
// Period is set to each), writes a CHAMA_TRANSFORM status line per period
// to w and records each run with rc. A usage error stops it; otherwise it
// carries on and returns the first error.
func Transform(ctx context.Context, w io.Writer, rc *obs.Recorder, o transform.Options, periods []naming.Period) error {
	var firstErr error
	for _, p := range periods {
		done := TrackTransform(ctx, rc, o.Config, o.Layer, o.Names, p.String())
		o.Period = p
		sum, err := transform.Run(ctx, o)
		done(sum, err)
		if err != nil {
			status := "FAIL"
			if exit.Code(err) == exit.NotReady {
				status = "NOTREADY"
			}
			fmt.Fprintf(w, "CHAMA_TRANSFORM %s layer=%s period=%s err=%q\n", status, o.Layer, p, err.Error())
			if firstErr == nil {
				firstErr = err
			}
			if exit.Code(err) == exit.Usage {
				return err
			}
			continue
		}
		fmt.Fprintln(w, transformLine(o.Layer, p.String(), sum))
	}
	return firstErr
}

// transformLine is the CHAMA_TRANSFORM OK line of a period; it ends with
// where the ODS partitions were read from (input=pulled, source or mixed).
func transformLine(layer, period string, sum *transform.Summary) string {
	var t transform.Counts
	for _, s := range sum.Streams {
		t.Read += s.Total.Read
		t.Routed += s.Total.Routed
		t.Filtered += s.Total.Filtered
		t.Rejected += s.Total.Rejected
	}
	var ws []string
	names := make([]string, 0, len(sum.Rows))
	for n := range sum.Rows {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ws = append(ws, fmt.Sprintf("%s:%d", n, sum.Rows[n].Written))
	}
	line := fmt.Sprintf("CHAMA_TRANSFORM OK layer=%s period=%s read=%d routed=%d filtered=%d rejected=%d written=%s",
		layer, period, t.Read, t.Routed, t.Filtered, t.Rejected, strings.Join(ws, ","))
	if sum.Input != "" {
		line += " input=" + sum.Input
	}
	return line
}
