package transform

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/expr-lang/expr/vm"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/etl/funcs"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/logkey"
	"github.com/chama-data/chama/internal/workdir"
	"github.com/chama-data/chama/transfer/source"
)

// Dimension tables. A layer's lookups join its rows to small tables
// (mappings such as dim_domain_interface_di) that are read whole when the
// run starts, once, into a hash map per lookup (funcs.Lookup), which every
// worker reads. A lookup's where and distinct are applied as the rows are
// read, so only what a join can match is held; a lookup above its dim's
// max_rows or max_bytes fails the run.

// LookupSummary accounts for one lookup's dimension rows:
// read = kept + where_dropped + null_keys + collapsed.
type LookupSummary struct {
	ID    string   `json:"id"`
	Dim   string   `json:"dim"`
	Files []string `json:"files"`
	Read  int64    `json:"read"`
	Kept  int64    `json:"kept"`
	// WhereDropped rows failed the lookup's where.
	WhereDropped int64 `json:"where_dropped"`
	// NullKeys rows had a NULL key, which never matches.
	NullKeys int64 `json:"null_keys"`
	// Collapsed rows were equal to a kept one (distinct).
	Collapsed int64 `json:"collapsed"`
	Bytes     int64 `json:"bytes"`
}

// Check is the lookup's accounting identity.
func (l LookupSummary) Check() error {
	if l.Read != l.Kept+l.WhereDropped+l.NullKeys+l.Collapsed {
		return fmt.Errorf("lookup %s: dim rows do not reconcile: read %d != kept %d + where %d + null keys %d + collapsed %d",
			l.ID, l.Read, l.Kept, l.WhereDropped, l.NullKeys, l.Collapsed)
	}
	return nil
}

// planLookups lists the lookups the planned tables use, once each.
func planLookups(streams []*stream) []*config.Lookup {
	var out []*config.Lookup
	seen := map[string]bool{}
	add := func(ls []*config.Lookup) {
		for _, l := range ls {
			if l != nil && !seen[l.ID] {
				seen[l.ID] = true
				out = append(out, l)
			}
		}
	}
	for _, st := range streams {
		for _, d := range st.dwds {
			add(d.spec.Lookups)
			for _, a := range d.ads {
				add(a.spec.Lookups)
			}
		}
	}
	return out
}

// dimLoad is one lookup being filled from its dimension's rows.
type dimLoad struct {
	spec  *config.Lookup
	look  *funcs.Lookup
	where *vm.Program
	env   map[string]any
	sum   LookupSummary
	max   int
	maxB  int64
}

// loadLookups reads every dimension table the planned lookups join (each
// table once, for all its lookups) and returns the loaded lookups by ID.
func loadLookups(ctx context.Context, o Options, t *config.Transform, sh *funcs.Shared, streams []*stream) (map[string]*funcs.Lookup, []LookupSummary, error) {
	byDim := map[string][]*dimLoad{}
	var order []string
	for _, l := range planLookups(streams) {
		d := t.Dims[l.Dim]
		if d == nil {
			return nil, nil, exit.Usagef("lookup %s: unknown dim %q", l.ID, l.Dim)
		}
		ld, err := newDimLoad(l, d, sh)
		if err != nil {
			return nil, nil, exit.With(exit.Usage, err)
		}
		if byDim[l.Dim] == nil {
			order = append(order, l.Dim)
		}
		byDim[l.Dim] = append(byDim[l.Dim], ld)
	}
	out := map[string]*funcs.Lookup{}
	var sums []LookupSummary
	for _, name := range order {
		loads := byDim[name]
		if err := readDim(ctx, o, name, t.Dims[name], loads); err != nil {
			return nil, nil, err
		}
		for _, ld := range loads {
			ld.sum.Kept, ld.sum.NullKeys, ld.sum.Collapsed = int64(ld.look.Rows()), ld.look.NullKeys, ld.look.Collapsed
			ld.sum.Bytes = ld.look.Bytes()
			out[ld.spec.ID] = ld.look
			sums = append(sums, ld.sum)
			o.Log.Info("lookup loaded", "lookup", ld.spec.ID, "dim", name, "read", ld.sum.Read, "kept", ld.sum.Kept,
				"where_dropped", ld.sum.WhereDropped, "null_keys", ld.sum.NullKeys, "collapsed", ld.sum.Collapsed, logkey.Bytes, ld.sum.Bytes)
		}
	}
	return out, sums, nil
}

// newDimLoad prepares a lookup's map and compiles its where.
func newDimLoad(l *config.Lookup, d *config.DimTable, sh *funcs.Shared) (*dimLoad, error) {
	look, err := l.Declare(d)
	if err != nil {
		return nil, err
	}
	ld := &dimLoad{spec: l, look: look, env: map[string]any{}, max: d.MaxRows, maxB: d.MaxBytes,
		sum: LookupSummary{ID: l.ID, Dim: l.Dim}}
	if l.Where != "" {
		c, err := sh.NewSet().Compile(l.Where, d.Columns.Names())
		if err != nil {
			return nil, fmt.Errorf("lookup %s where: %s: %w", l.ID, l.Where, err)
		}
		ld.where = c.Program
	}
	return ld, nil
}

// dimSchema is a dimension table's typed Arrow schema.
func dimSchema(d *config.DimTable) *arrow.Schema {
	var fs []arrow.Field
	for _, c := range d.Columns {
		fs = append(fs, arrow.Field{Name: c.Name, Type: arrowType(c.Expr), Nullable: true})
	}
	return arrow.NewSchema(fs, nil)
}

// dimFiles lists a dimension table's files for the run's period: a
// folder under its source's readiness rule, or one file. Not there yet
// is "not ready" (exit 4), as for an ODS partition.
func dimFiles(ctx context.Context, o Options, name string, d *config.DimTable, src source.Source) ([]string, error) {
	loc, isFile := d.Location(o.Period.Date())
	if isFile {
		ok, err := src.Exists(ctx, loc)
		if err != nil {
			return nil, fmt.Errorf("dim %s: %w", name, err)
		}
		if !ok {
			return nil, exit.With(exit.NotReady, fmt.Errorf("dim %s: file not found: %s in %s", name, loc, src))
		}
		return []string{loc}, nil
	}
	p := source.Partition{Iface: "dim " + name, Period: o.Period.String(), Path: loc, Source: d.Source}
	fs, reason, err := source.Ready(ctx, o.Config.Sources[d.Source], src, p, time.Now())
	if err != nil {
		return nil, fmt.Errorf("dim %s: %w", name, err)
	}
	if reason != "" {
		return nil, fmt.Errorf("dim %s: %w", name, source.NotReady(p, reason, src))
	}
	var out []string
	for _, f := range fs {
		out = append(out, f.Path)
	}
	return out, nil
}

// readDim reads one dimension table into its lookups.
func readDim(ctx context.Context, o Options, name string, d *config.DimTable, loads []*dimLoad) error {
	src, err := openSource(o, d.Source)
	if err != nil {
		return fmt.Errorf("dim %s: %w", name, err)
	}
	if o.Source == nil {
		defer source.Close(src)
	}
	files, err := dimFiles(ctx, o, name, d, src)
	if err != nil {
		return err
	}
	schema := dimSchema(d)
	mem := memory.NewGoAllocator()
	dec := newDecoder(mem, schema, d.Delimiter[0], d.Null) // text files
	for _, f := range files {
		for _, ld := range loads {
			ld.sum.Files = append(ld.sum.Files, f)
		}
		var rows int64 // Parquet rows read before the chunk, for positions
		emit := func(ch *chunk) error {
			err := addChunk(ch, rows, dec, schema, loads)
			if ch.rec != nil {
				rows += ch.rec.NumRows()
				if err == nil {
					ch.rec.Release() // on an error readParquet releases it
				}
			}
			return err
		}
		if d.Format == "parquet" {
			err = readParquet(ctx, src, f, "", schema, 8192, mem, workdir.New(o.Config.Workdir).Spool(), emit)
		} else {
			err = readText(ctx, src, f, "", 8192, emit)
		}
		if err != nil {
			return fmt.Errorf("dim %s: %w", name, err)
		}
	}
	return nil
}

// addChunk decodes one chunk of a dimension file and adds its rows to
// each lookup. A line that does not decode fails the run: a dimension
// missing rows would change the join without a word.
// Parquet chunks stay the caller's; before counts the file's rows before one.
func addChunk(ch *chunk, before int64, dec *decoder, schema *arrow.Schema, loads []*dimLoad) error {
	rec := ch.rec
	if rec == nil {
		var rejects []reject
		rec, rejects = dec.decode(ch)
		putRaw(ch.raw)
		defer rec.Release()
		if len(rejects) > 0 {
			r := rejects[0]
			return fmt.Errorf("%s line %d: %s (a dimension table must read whole: fix the file or its columns)", r.source, r.line, r.reason)
		}
	}
	row := make([]funcs.Val, rec.NumCols())
	for i := 0; i < int(rec.NumRows()); i++ {
		for c := range row {
			v := odsValue(rec.Column(c), i)
			if s, ok := v.(string); ok {
				v = strings.Clone(s) // the record's buffers are released
			}
			row[c] = funcs.Any(v)
		}
		origin := fmt.Sprintf("%s row %d", ch.source, before+int64(i)+1)
		if ch.rec == nil {
			origin = fmt.Sprintf("%s line %d", ch.source, ch.firstLine+int64(i))
		}
		for _, ld := range loads {
			if err := ld.add(row, origin, schema); err != nil {
				return err
			}
		}
	}
	return nil
}

// add puts one dimension row into the lookup, through its where.
func (ld *dimLoad) add(row []funcs.Val, origin string, schema *arrow.Schema) error {
	ld.sum.Read++
	if ld.where != nil {
		for i, f := range schema.Fields() {
			ld.env[f.Name] = row[i].Box()
		}
		v, err := vm.Run(ld.where, ld.env)
		if err != nil {
			return fmt.Errorf("lookup %s where: %s: %s: %w", ld.spec.ID, ld.spec.Where, origin, err)
		}
		keep, isBool := v.(bool)
		if v != nil && !isBool {
			return fmt.Errorf("lookup %s where: %s gave %v at %s, want a boolean", ld.spec.ID, ld.spec.Where, v, origin)
		}
		if !keep {
			ld.sum.WhereDropped++
			return nil
		}
	}
	if err := ld.look.Add(row, origin); err != nil {
		return fmt.Errorf("lookup %s: %w", ld.spec.ID, err)
	}
	if ld.look.Rows() > ld.max {
		return fmt.Errorf("dim %s: lookup %s holds more than max_rows (%d) rows at %s: raise transform.dims.%s.max_rows, or narrow the lookup's where",
			ld.spec.Dim, ld.spec.ID, ld.max, origin, ld.spec.Dim)
	}
	if ld.look.Bytes() > ld.maxB {
		return fmt.Errorf("dim %s: lookup %s holds more than max_bytes (%d) at %s: raise transform.dims.%s.max_bytes, or narrow the lookup's where",
			ld.spec.Dim, ld.spec.ID, ld.maxB, origin, ld.spec.Dim)
	}
	return nil
}
