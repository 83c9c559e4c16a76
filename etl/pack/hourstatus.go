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
		for _, ifc := range ifaces {
			if !ifc.HourlyPack {
				continue
			}
			out = appendHourStates(out, c, p, ifc)
		}
	}
	return out
}

// appendHourStates appends the hours of p (its day's 24, or p alone when
// it is an hour) of one interface to out.
func appendHourStates(out []HourState, c *config.Config, p naming.Period, ifc *config.Interface) []HourState {
	day := p.Day()
	dir := workdir.New(c.Workdir).Out(ifc.Name, day.String())
	dm, full, _ := readDayFolder(dir)
	byHour := dayFilesByHour(dm)
	recs := dayRecords(dir, ifc, dm)
	// The day folder covers every hour once assembled; before, the
	// hours 00..k-1 packed in a row (what the last refresh linked).
	prefix := true
	for _, h := range day.Hours() {
		st := HourState{Iface: ifc.Name, Day: day.String(), Hour: h.Hour()}
		chunk := readChunkState(c, ifc.Name, h, &st)
		prefix = prefix && st.Packed
		mine := byHour[h.Hour()]
		if dm != nil && (full || prefix || len(mine) > 0) {
			st.Assembled = assembledState(full, chunk, mine)
		}
		if p.Hourly && h.String() != p.String() {
			continue
		}
		if len(mine) > 0 {
			st.Seqs = seqRange(mine, len(dm.Sets) > 1)
		}
		st.Pushed = pushedCounts(recs, mine)
		out = append(out, st)
	}
	return out
}

// dayFilesByHour groups the data files of the day folder's manifest dm
// (nil: none) by hour; each name is prefixed with its set's partition
// and a NUL, so files of different sets stay apart.
func dayFilesByHour(dm *manifest.Manifest) map[string][]manifest.File {
	byHour := map[string][]manifest.File{}
	if dm != nil {
		for _, s := range dm.Sets {
			for _, f := range s.Files {
				f.Name = s.Part + "\x00" + f.Name
				byHour[f.Hour] = append(byHour[f.Hour], f)
			}
		}
	}
	return byHour
}

// dayRecords reads the delivery records of the interface's targets in
// the day folder dir, keeping those of the folder's re-send number.
func dayRecords(dir string, ifc *config.Interface, dm *manifest.Manifest) []*delivery.Record {
	var recs []*delivery.Record
	for _, rt := range ifc.Routes {
		if d, err := delivery.Read(dir, rt.Target); err == nil && d != nil && dm != nil && d.Resend == dm.Resend {
			recs = append(recs, d)
		}
	}
	return recs
}

// readChunkState records in st whether hour h has a chunk, and its file
// and row counts, and returns the chunk's files (nil: not packed).
func readChunkState(c *config.Config, iface string, h naming.Period, st *HourState) []manifest.File {
	var chunk []manifest.File
	if cm, err := manifest.Read(chunkDir(c, iface, h)); err == nil {
		st.Packed, st.Rows = true, cm.Rows.Written
		for _, s := range cm.Sets {
			chunk = append(chunk, s.Files...)
		}
		st.Files = len(chunk)
	}
	return chunk
}

// assembledState is HourState.Assembled of an hour the day folder
// covers, from the hour's chunk files and its files in the day.
func assembledState(full bool, chunk, mine []manifest.File) string {
	state := "partial"
	if full {
		state = "day"
	}
	if !sameFiles(chunk, mine) {
		state = "stale"
	}
	return state
}

// seqRange is HourState.Seqs of an hour's files in the day ("4-6", or
// "4" for one); partitioned, a day has no single range.
func seqRange(mine []manifest.File, partitioned bool) string {
	lo, hi := mine[0].Seq, mine[0].Seq
	for _, f := range mine {
		lo, hi = min(lo, f.Seq), max(hi, f.Seq)
	}
	seqs := fmt.Sprintf("%d-%d", lo, hi)
	if lo == hi {
		seqs = fmt.Sprint(lo)
	}
	if partitioned {
		seqs = "" // per partition: no single range
	}
	return seqs
}

// pushedCounts is HourState.Pushed: per target, how many of the hour's
// files its delivery record confirms ("confirmed/files"); nil without
// records.
func pushedCounts(recs []*delivery.Record, mine []manifest.File) map[string]string {
	var pushed map[string]string
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
		if pushed == nil {
			pushed = map[string]string{}
		}
		pushed[d.Target] = fmt.Sprintf("%d/%d", got, len(mine))
	}
	return pushed
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
