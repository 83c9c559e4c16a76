package transform

import (
	"fmt"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/expr-lang/expr/vm"

	"github.com/chama-data/chama/etl/funcs"
)

// evaluator is one worker's compiled copy of a stream's spec. Programs are
// compiled once per worker because each worker's function set carries its
// own caches (user agents, JSON, regexps), so nothing is locked per row.
type evaluator struct {
	st   *stream
	set  *funcs.Set
	vm   vm.VM
	env  map[string]any
	mem  memory.Allocator
	ods  []int // ODS columns some program reads (set in env per row)
	dwds []*dwdEval
	nder int   // derived values per row, all DWD tables
	dv   []any // this row's derived values
	row  []any // scratch for one output row
}

// ref names where a value comes from: an ODS column or a derived slot.
type ref struct {
	ods     int // ODS column index, or -1
	derived int // slot in evaluator.dv, or -1
}

// prog is one expression: a direct column reference or a program.
type prog struct {
	code  string
	ident bool
	ref   ref
	p     *vm.Program
}

type dwdEval struct {
	plan   *dwdPlan
	derive []prog
	slots  []int // dv slot of each derived column
	out    []ref // DWD output columns
	ads    []*adsEval
}

type adsEval struct {
	plan   *adsPlan
	filter *prog
	cols   []prog
}

func newEvaluator(st *stream, sh *funcs.Shared, mem memory.Allocator) (*evaluator, error) {
	e := &evaluator{st: st, set: sh.NewSet(), env: map[string]any{}, mem: mem}
	odsIdx := map[string]int{}
	for i, f := range st.schema.Fields() {
		odsIdx[f.Name] = i
	}
	usedODS := map[int]bool{}
	compile := func(code string, visible []string, scope map[string]ref, what string) (prog, error) {
		c, err := e.set.Compile(code, visible)
		if err != nil {
			return prog{}, fmt.Errorf("%s: %s: %w", what, code, err)
		}
		pr := prog{code: code, p: c.Program}
		if c.Ident != "" {
			pr.ident, pr.ref = true, scope[c.Ident]
			return pr, nil
		}
		for _, col := range c.Columns {
			if r := scope[col]; r.derived < 0 {
				usedODS[r.ods] = true
			}
		}
		return pr, nil
	}
	for _, d := range st.dwds {
		de := &dwdEval{plan: d}
		scope := map[string]ref{}
		var visible []string
		for i, f := range st.schema.Fields() {
			scope[f.Name] = ref{ods: i, derived: -1}
			visible = append(visible, f.Name)
		}
		for _, x := range d.spec.Derive {
			pr, err := compile(x.Expr, visible, scope, "dwd "+d.name+"."+x.Name)
			if err != nil {
				return nil, err
			}
			de.derive = append(de.derive, pr)
			de.slots = append(de.slots, e.nder)
			scope[x.Name] = ref{ods: -1, derived: e.nder}
			visible = append(visible, x.Name)
			e.nder++
		}
		for _, c := range d.cols {
			de.out = append(de.out, scope[c])
		}
		for _, a := range d.ads {
			ae := &adsEval{plan: a}
			if a.spec.Filter != "" {
				pr, err := compile(a.spec.Filter, d.cols, scope, "ads "+a.iface+" filter")
				if err != nil {
					return nil, err
				}
				ae.filter = &pr
			}
			for _, x := range a.spec.Columns {
				pr, err := compile(x.Expr, d.cols, scope, "ads "+a.iface+"."+x.Name)
				if err != nil {
					return nil, err
				}
				ae.cols = append(ae.cols, pr)
			}
			de.ads = append(de.ads, ae)
		}
		e.dwds = append(e.dwds, de)
	}
	for i := range usedODS {
		e.ods = append(e.ods, i)
	}
	sort.Ints(e.ods)
	e.dv = make([]any, e.nder)
	return e, nil
}

// odsValue reads one cell as an expression value (nil for null).
func odsValue(col arrow.Array, row int) any {
	if col.IsNull(row) {
		return nil
	}
	switch a := col.(type) {
	case *array.String:
		return a.Value(row)
	case *array.Int64:
		return int(a.Value(row))
	case *array.Float64:
		return a.Value(row)
	}
	return nil
}

func (e *evaluator) value(rec arrow.Record, r ref, row int) any {
	if r.derived >= 0 {
		return e.dv[r.derived]
	}
	return odsValue(rec.Column(r.ods), row)
}

func (e *evaluator) run(pr *prog, rec arrow.Record, row int) (any, error) {
	if pr.ident {
		return e.value(rec, pr.ref, row), nil
	}
	v, err := e.vm.Run(pr.p, e.env)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pr.code, err)
	}
	return v, nil
}

// Output is one batch of one output: an interface (or a DWD table) and,
// for partitioned interfaces, one partition value.
type Output struct {
	Layer string
	Name  string // interface (ads) or DWD table (dwd)
	Part  string // partition value; "" when not partitioned
	Rec   arrow.Record
}

// NullPart names the partition of rows whose partition column is null or empty.
const NullPart = "null"

// batchOut is what a worker returns for one input batch.
type batchOut struct {
	outs    []Output
	rows    int64 // valid rows evaluated
	routed  int64 // rows written to at least one output
	written map[string]int64
}

// partBuilders collects one output's rows by partition value.
type partBuilders struct {
	schema *arrow.Schema
	byPart map[string]*array.RecordBuilder
}

func (pb *partBuilders) get(mem memory.Allocator, part string) *array.RecordBuilder {
	b, ok := pb.byPart[part]
	if !ok {
		b = array.NewRecordBuilder(mem, pb.schema)
		pb.byPart[part] = b
	}
	return b
}

func appendValue(b array.Builder, v any) {
	switch bb := b.(type) {
	case *array.StringBuilder:
		switch x := v.(type) {
		case nil:
			bb.AppendNull()
		case string:
			bb.Append(x)
		default:
			bb.Append(funcs.ToString(x))
		}
	case *array.Int64Builder:
		switch x := v.(type) {
		case int:
			bb.Append(int64(x))
		case int64:
			bb.Append(x)
		default:
			bb.AppendNull()
		}
	case *array.Float64Builder:
		if x, ok := v.(float64); ok {
			bb.Append(x)
		} else {
			bb.AppendNull()
		}
	}
}

// appendRef copies a column cell straight from the input, without boxing
// strings.
func (e *evaluator) appendRef(b array.Builder, rec arrow.Record, r ref, row int) {
	if r.derived < 0 {
		col := rec.Column(r.ods)
		if sb, ok := b.(*array.StringBuilder); ok {
			if s, ok := col.(*array.String); ok {
				if s.IsNull(row) {
					sb.AppendNull()
				} else {
					sb.Append(s.Value(row))
				}
				return
			}
		}
	}
	appendValue(b, e.value(rec, r, row))
}

// eval runs one ODS batch through the DWD derivations and ADS routing.
func (e *evaluator) eval(layer string, rec arrow.Record) (*batchOut, error) {
	n := int(rec.NumRows())
	out := &batchOut{rows: int64(n), written: map[string]int64{}}
	var dwdB []*array.RecordBuilder
	var adsB [][]*partBuilders
	for _, d := range e.dwds {
		if d.plan.emit {
			b := array.NewRecordBuilder(e.mem, d.plan.schema)
			b.Reserve(n)
			dwdB = append(dwdB, b)
		} else {
			dwdB = append(dwdB, nil)
		}
		var ps []*partBuilders
		for _, a := range d.ads {
			ps = append(ps, &partBuilders{schema: a.plan.schema, byPart: map[string]*array.RecordBuilder{}})
		}
		adsB = append(adsB, ps)
	}
	defer func() {
		for _, b := range dwdB {
			if b != nil {
				b.Release()
			}
		}
		for _, ps := range adsB {
			for _, pb := range ps {
				for _, b := range pb.byPart {
					b.Release()
				}
			}
		}
	}()
	cols := make([]arrow.Array, rec.NumCols())
	for i := range cols {
		cols[i] = rec.Column(i)
	}
	names := e.st.schema.Fields()
	for row := 0; row < n; row++ {
		for _, i := range e.ods {
			e.env[names[i].Name] = odsValue(cols[i], row)
		}
		routed := false
		for di, d := range e.dwds {
			for k := range d.derive {
				v, err := e.run(&d.derive[k], rec, row)
				if err != nil {
					return nil, fmt.Errorf("dwd %s.%s: %w", d.plan.name, d.plan.spec.Derive[k].Name, err)
				}
				e.dv[d.slots[k]] = v
				e.env[d.plan.spec.Derive[k].Name] = v
			}
			if b := dwdB[di]; b != nil {
				for c, r := range d.out {
					e.appendRef(b.Field(c), rec, r, row)
				}
				routed = true
			}
			for ai, a := range d.ads {
				if a.filter != nil {
					v, err := e.run(a.filter, rec, row)
					if err != nil {
						return nil, fmt.Errorf("ads %s filter: %w", a.plan.iface, err)
					}
					ok, isBool := v.(bool)
					if v != nil && !isBool {
						return nil, fmt.Errorf("ads %s filter: %s gave %T, want a boolean", a.plan.iface, a.filter.code, v)
					}
					if !ok {
						continue
					}
				}
				routed = true
				out.written[a.plan.iface]++
				e.row = e.row[:0]
				for k := range a.cols {
					pr := &a.cols[k]
					if pr.ident {
						e.row = append(e.row, nil) // copied directly below
						continue
					}
					v, err := e.run(pr, rec, row)
					if err != nil {
						return nil, fmt.Errorf("ads %s.%s: %w", a.plan.iface, a.plan.spec.Columns[k].Name, err)
					}
					e.row = append(e.row, v)
				}
				part := ""
				if pi := a.plan.partIdx; pi >= 0 {
					var pv any
					if a.cols[pi].ident {
						pv = e.value(rec, a.cols[pi].ref, row)
					} else {
						pv = e.row[pi]
					}
					part = funcs.ToString(pv)
					if part == "" {
						part = NullPart
					}
				}
				b := adsB[di][ai].get(e.mem, part)
				for k := range a.cols {
					if a.cols[k].ident {
						e.appendRef(b.Field(k), rec, a.cols[k].ref, row)
					} else {
						appendValue(b.Field(k), e.row[k])
					}
				}
			}
		}
		if routed {
			out.routed++
		}
	}
	for di, d := range e.dwds {
		if b := dwdB[di]; b != nil {
			out.outs = append(out.outs, Output{Layer: LayerDWD, Name: d.plan.name, Rec: b.NewRecordBatch()})
			out.written[d.plan.name] += int64(n)
		}
		for ai, a := range d.ads {
			pb := adsB[di][ai]
			parts := sortedKeys(pb.byPart)
			for _, p := range parts {
				out.outs = append(out.outs, Output{Layer: LayerADS, Name: a.plan.iface, Part: p, Rec: pb.byPart[p].NewRecordBatch()})
			}
		}
	}
	return out, nil
}
