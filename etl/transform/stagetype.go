package transform

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"

	"github.com/chama-data/chama/config"
)

// Typed staging. ADS columns are text (they become the lines of interface
// files), but a column that only copies an ODS bigint or double column is
// staged as INT64 or DOUBLE, as Hive's table would hold it: smaller files
// (no digits as bytes), and readers get numbers. The text form is exact to
// parse back: chama wrote it from the same int64 (strconv) or float64
// (Java's Double.toString, shortest digits).

// stageTypes gives, per ADS interface, the output columns (by position)
// staged as numbers. DWD outputs are typed already.
func stageTypes(t *config.Transform, layer string) map[string]map[int]arrow.DataType {
	if layer != LayerADS {
		return nil
	}
	out := map[string]map[int]arrow.DataType{}
	for name, a := range t.ADS {
		if a == nil || t.DWD[a.From] == nil || t.ODS[t.DWD[a.From].From] == nil {
			continue
		}
		d := t.DWD[a.From]
		derived := map[string]bool{}
		for _, x := range d.Derive {
			derived[x.Name] = true
		}
		kept := map[string]bool{}
		for _, c := range t.DWDColumns(a.From) {
			kept[c] = true
		}
		odsType := map[string]string{}
		for _, c := range t.ODS[d.From].Columns {
			odsType[c.Name] = c.Expr
		}
		for i, c := range a.Columns {
			id := strings.TrimSpace(c.Expr)
			if !kept[id] || derived[id] {
				continue
			}
			switch odsType[id] {
			case "bigint":
				if out[name] == nil {
					out[name] = map[int]arrow.DataType{}
				}
				out[name][i] = arrow.PrimitiveTypes.Int64
			case "double":
				if out[name] == nil {
					out[name] = map[int]arrow.DataType{}
				}
				out[name][i] = arrow.PrimitiveTypes.Float64
			}
		}
	}
	return out
}

// typed returns rec with the columns of types parsed into numbers (a new
// record the caller releases), or rec retained when there are none.
func typed(rec arrow.RecordBatch, types map[int]arrow.DataType, mem memory.Allocator) (arrow.RecordBatch, error) {
	if len(types) == 0 {
		rec.Retain()
		return rec, nil
	}
	fs := append([]arrow.Field(nil), rec.Schema().Fields()...)
	cols := make([]arrow.Array, len(fs))
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i := range fs {
		typ, ok := types[i]
		src, isStr := rec.Column(i).(*array.String)
		if !ok || !isStr {
			cols[i] = rec.Column(i)
			cols[i].Retain()
			continue
		}
		c, err := parseColumn(src, typ, mem)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", fs[i].Name, err)
		}
		cols[i] = c
		fs[i] = arrow.Field{Name: fs[i].Name, Type: typ, Nullable: true}
	}
	return array.NewRecordBatch(arrow.NewSchema(fs, nil), cols, rec.NumRows()), nil
}

// parseColumn reads a text column of numbers chama itself formatted.
func parseColumn(src *array.String, typ arrow.DataType, mem memory.Allocator) (arrow.Array, error) {
	n := src.Len()
	if typ.ID() == arrow.INT64 {
		b := array.NewInt64Builder(mem)
		defer b.Release()
		b.Reserve(n)
		for j := 0; j < n; j++ {
			if src.IsNull(j) {
				b.AppendNull()
				continue
			}
			v, err := strconv.ParseInt(src.Value(j), 10, 64)
			if err != nil {
				return nil, err
			}
			b.UnsafeAppend(v)
		}
		return b.NewArray(), nil
	}
	b := array.NewFloat64Builder(mem)
	defer b.Release()
	b.Reserve(n)
	for j := 0; j < n; j++ {
		if src.IsNull(j) {
			b.AppendNull()
			continue
		}
		v, err := strconv.ParseFloat(src.Value(j), 64)
		if err != nil {
			return nil, err
		}
		b.UnsafeAppend(v)
	}
	return b.NewArray(), nil
}

// Dictionary encoding where it pays in bytes (transform.stage_dictionary):
// a text column whose first batch repeats its values (at most one distinct
// value in dictMaxShare of a sample of at least dictMinRows) is
// dictionary-encoded; the rest stay plain. On the 51007 bench that made
// staged files 14% smaller for 25% more CPU (BenchmarkStage51007), so it
// is off by default; encoding all 51 columns cost more CPU than the whole
// transform.
const (
	dictSample   = 4096
	dictMinRows  = 64
	dictMaxShare = 10 // distinct values <= sampled rows / dictMaxShare
)

// dictColumns names the text columns of rec worth a dictionary.
func dictColumns(rec arrow.RecordBatch) []string {
	var out []string
	for i, f := range rec.Schema().Fields() {
		s, ok := rec.Column(i).(*array.String)
		if !ok {
			continue
		}
		n := min(s.Len(), dictSample)
		if n < dictMinRows {
			continue
		}
		seen := make(map[string]struct{}, 64)
		limit := n / dictMaxShare
		for j := 0; j < n && len(seen) <= limit; j++ {
			if !s.IsNull(j) {
				seen[s.Value(j)] = struct{}{}
			}
		}
		if len(seen) <= limit {
			out = append(out, f.Name)
		}
	}
	return out
}

// dictProps are the staging settings with dictionaries for cols.
func dictProps(base []parquet.WriterProperty, cols []string) *parquet.WriterProperties {
	opts := append([]parquet.WriterProperty(nil), base...)
	for _, c := range cols {
		opts = append(opts, parquet.WithDictionaryFor(c, true))
	}
	return parquet.NewWriterProperties(opts...)
}
