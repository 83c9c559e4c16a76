package pack

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/delivery"
	"github.com/chama-data/chama/internal/manifest"
	"github.com/chama-data/chama/internal/workdir"
	"github.com/chama-data/chama/naming"
)

// HourState is one hour of an hourly_pack day as the files on disk tell
// it (`chama status --by-hour`): its chunk, whether the day folder holds
// its files, and how many of them each target confirmed.
type HourState struct {
	Iface string `json:"iface"`
	Day   string `json:"day"`
	Hour  string `json:"hour"`
	// Packed: the hour's chunk exists, with Files files of Rows rows.
	Packed bool  `json:"packed"`
	Files  int   `json:"files"`
	Rows   int64 `json:"rows"`
	// Assembled: "day" (in the assembled day), "partial" (in partial.json,
	// the day not assembled yet), "stale" (the day holds other files for
	// this hour than its chunk: re-packed since, assemble again) or "".
	Assembled string `json:"assembled"`
	// Seqs are the day's sequence numbers of the hour's files ("4-6").
	Seqs string `json:"seqs,omitempty"`
	// Pushed is, per target, "confirmed/files" of the hour's files.
	Pushed map[string]string `json:"pushed,omitempty"`
}

// HourStatus reads the chunks, the day folder and its delivery records of
// every hourly_pack interface for the periods (an hour narrows its day).
func HourStatus(c *config.Config, periods []naming.Period, ifaces []*config.Interface) []HourState {
	var out []HourState
	for _, p := range periods {
		day := p.Day()
		for _, ifc := range ifaces {
			if !ifc.HourlyPack {
				continue
			}
			dir := workdir.New(c.Workdir).Out(ifc.Name, day.String())
			dm, full, _ := readDayFolder(dir)
			byHour := map[string][]manifest.File{}
			if dm != nil {
				for _, s := range dm.Sets {
					for _, f := range s.Files {
						f.Name = s.Part + "\x00" + f.Name
						byHour[f.Hour] = append(byHour[f.Hour], f)
					}
				}
			}
			var recs []*delivery.Record
			for _, rt := range ifc.Routes {
				if d, err := delivery.Read(dir, rt.Target); err == nil && d != nil && dm != nil && d.Resend == dm.Resend {
					recs = append(recs, d)
				}
			}
			// The day folder covers every hour once assembled; before, the
			// hours 00..k-1 packed in a row (what the last refresh linked).
			prefix := true
			for _, h := range day.Hours() {
				st := HourState{Iface: ifc.Name, Day: day.String(), Hour: h.Hour()}
				var chunk []manifest.File
				if cm, err := manifest.Read(chunkDir(c, ifc.Name, h)); err == nil {
					st.Packed, st.Rows = true, cm.Rows.Written
					for _, s := range cm.Sets {
						chunk = append(chunk, s.Files...)
					}
					st.Files = len(chunk)
				}
				prefix = prefix && st.Packed
				mine := byHour[h.Hour()]
				if dm != nil && (full || prefix || len(mine) > 0) {
					st.Assembled = "partial"
					if full {
						st.Assembled = "day"
					}
					if !sameFiles(chunk, mine) {
						st.Assembled = "stale"
					}
				}
				if p.Hourly && h.String() != p.String() {
					continue
				}
				if len(mine) > 0 {
					seqs := map[int]bool{}
					lo, hi := mine[0].Seq, mine[0].Seq
					for _, f := range mine {
						seqs[f.Seq] = true
						lo, hi = min(lo, f.Seq), max(hi, f.Seq)
					}
					st.Seqs = fmt.Sprintf("%d-%d", lo, hi)
					if lo == hi {
						st.Seqs = fmt.Sprint(lo)
					}
					if len(dm.Sets) > 1 {
						st.Seqs = "" // per partition: no single range
					}
				}
				for _, d := range recs {
					got := 0
					for _, f := range mine {
						part, name, _ := strings.Cut(f.Name, "\x00")
						for _, e := range d.Files {
							if !e.Verf && e.Set == part && e.Name == name && e.Bytes == f.Bytes && (e.MD5 == "" || e.MD5 == f.MD5) {
								got++
								break
							}
						}
					}
					if st.Pushed == nil {
						st.Pushed = map[string]string{}
					}
					st.Pushed[d.Target] = fmt.Sprintf("%d/%d", got, len(mine))
				}
				out = append(out, st)
			}
		}
	}
	return out
}

// sameFiles tells whether the day's files of an hour are the chunk's.
func sameFiles(chunk, day []manifest.File) bool {
	if len(chunk) != len(day) {
		return false
	}
	a := make([]string, 0, len(chunk))
	b := make([]string, 0, len(day))
	for _, f := range chunk {
		a = append(a, f.MD5)
	}
	for _, f := range day {
		b = append(b, f.MD5)
	}
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// WriteHourStatus prints the per-hour table.
func WriteHourStatus(w io.Writer, hs []HourState) error {
	if len(hs) == 0 {
		_, err := fmt.Fprintln(w, "no hourly_pack interface among those selected: --by-hour shows hour chunks only")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "IFACE\tDAY\tHOUR\tPACKED\tFILES\tROWS\tASSEMBLED\tSEQ\tPUSHED")
	for _, h := range hs {
		packed, files, rows := "no", "-", "-"
		if h.Packed {
			packed, files, rows = "yes", fmt.Sprint(h.Files), fmt.Sprint(h.Rows)
		}
		asm := h.Assembled
		if asm == "" {
			asm = "no"
		}
		seq := h.Seqs
		if seq == "" {
			seq = "-"
		}
		var pushed []string
		for t, v := range h.Pushed {
			pushed = append(pushed, t+" "+v)
		}
		slices.Sort(pushed)
		p := strings.Join(pushed, ", ")
		if p == "" {
			p = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", h.Iface, h.Day, h.Hour, packed, files, rows, asm, seq, p)
	}
	return tw.Flush()
}
