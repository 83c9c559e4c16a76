package transform

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unsafe"

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
	dwds []*dwdEval
	nder int // derived values per row, all DWD tables
	mode evalMode
	// v is the column-at-a-time state (vec.go); nil in evalVM mode, where
	// rows are evaluated one at a time on expr's VM (the tests' oracle).
	v *vecState
	// vmNodes counts expressions that run on expr's VM inside the column
	// evaluator (shapes compileVec does not know).
	vmNodes  int
	slotProg []*prog // each derived slot's expression and name
	slotName []string
	// evalVM's row state: the ODS columns a program reads (put in env per
	// row), the row's derived values and the generation each was
	// computed in, scratch for one output row.
	ods   []int
	dv    []funcs.Val
	gen   uint64
	dvGen []uint64
	row   []funcs.Val
	// The current batch's columns by type, and the current row.
	cols []arrow.Array
	strs []*array.String
	sraw []strRaw // the string columns' buffers, read without Value's checks
	i64s []*array.Int64
	f64s []*array.Float64
	cur  int
	// scratch formats numbers for output.
	scratch []byte
	// fv holds a filter's result (a local escaped: an allocation a row).
	fv funcs.Val
}

// strRaw is a string column's offsets and bytes, for the per-row reads
// (String.Value re-checks the index and offset on each of them).
type strRaw struct {
	offs  []int32
	data  string // the values' bytes, from offs[0]
	base  int32
	nulls bool
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
	vec   vexpr
	p     *vm.Program
}

// evalMode chooses how an evaluator runs its expressions. Tests compare
// the two; the run uses evalVector.
type evalMode int

const (
	evalVector evalMode = iota // column at a time (vec.go)
	evalVM                     // a row at a time, every expression on expr's VM
)

type dwdEval struct {
	plan   *dwdPlan
	derive []prog
	slots  []int // dv slot of each derived column
	out    []ref // DWD output columns
	ads    []*adsEval
	hint   []int // each output column's bytes in the previous batch
}

// dwdOut is one batch's DWD table. The table holds every row in order, so
// its ODS columns are the batch's own arrays, passed through; its derived
// columns are built as strings. Appending each value through arrow's
// builders was 29% of a DWD run's evaluation.
type dwdOut struct {
	cols []*strCol // by output column; nil for an ODS column
}

func (o *dwdOut) release() {
	for _, c := range o.cols {
		if c != nil {
			c.release()
		}
	}
}

type adsEval struct {
	plan   *adsPlan
	filter *prog
	cols   []prog
	// partHint is each part's size in the previous batch ("" when not
	// partitioned), so its columns are allocated at once in the next.
	partHint map[string]*partHint
}

// partHint is the size of a part in the previous batch.
type partHint struct {
	rows  int
	bytes []int
}

func newEvaluator(st *stream, sh *funcs.Shared, mem memory.Allocator, mode evalMode) (*evaluator, error) {
	e := &evaluator{st: st, set: sh.NewSet(), env: map[string]any{}, mem: mem, mode: mode}
	usedODS := map[int]bool{}
	compile := func(code string, visible []string, scope map[string]ref, what string, names ...map[string]string) (prog, error) {
		c, err := e.set.Compile(code, visible, names...)
		if err != nil {
			return prog{}, fmt.Errorf("%s: %s: %w", what, code, err)
		}
		pr := prog{code: code, p: c.Program}
		if c.Ident != "" {
			pr.ident, pr.ref = true, scope[c.Ident]
			return pr, nil
		}
		if e.mode == evalVM {
			for _, col := range c.Columns {
				if r := scope[col]; r.derived < 0 {
					usedODS[r.ods] = true
				}
			}
			return pr, nil
		}
		if f, ok := e.compileVec(c.Program.Node(), scope); ok {
			pr.vec = f
		} else {
			pr.vec = e.vmVec(c.Program, c.Columns, scope)
			e.vmNodes++
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
			names := a.spec.Names() // the lookups' columns
			// The filter with the inner lookups' matches (config.ADSSpec.Condition).
			if cond := a.spec.Condition(); cond != "" {
				pr, err := compile(cond, d.cols, scope, "ads "+a.iface+" filter", names)
				if err != nil {
					return nil, err
				}
				ae.filter = &pr
			}
			for _, x := range a.spec.Columns {
				pr, err := compile(x.Expr, d.cols, scope, "ads "+a.iface+"."+x.Name, names)
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
	e.dv = make([]funcs.Val, e.nder)
	e.dvGen = make([]uint64, e.nder)
	if e.mode != evalVM {
		e.v = newVecState(e.nder)
		e.set.Vector(vecW)
	}
	for _, d := range e.dwds {
		for k := range d.derive {
			e.slotProg = append(e.slotProg, &d.derive[k])
			e.slotName = append(e.slotName, d.plan.name+"."+d.plan.spec.Derive[k].Name)
		}
	}
	return e, nil
}

// derivedPtr returns derived column k of the current row, computing it
// on first use (in place, without copying it around).
func (e *evaluator) derivedPtr(k int) (*funcs.Val, error) {
	p := &e.dv[k]
	if e.dvGen[k] == e.gen {
		return p, nil
	}
	pr := e.slotProg[k]
	if err := e.runInto(pr, p); err != nil {
		return p, fmt.Errorf("dwd %s: %w", e.slotName[k], err)
	}
	e.dvGen[k] = e.gen
	return p, nil
}

// getInto reads a column of the current row (derived ones computed on
// demand).
func (e *evaluator) getInto(r ref, dst *funcs.Val) error {
	if r.derived >= 0 {
		p, err := e.derivedPtr(r.derived)
		if err == nil {
			*dst = *p
		}
		return err
	}
	e.valueInto(r.ods, dst)
	return nil
}

// setBatch points the evaluator at a record's columns.
func (e *evaluator) setBatch(rec arrow.RecordBatch) {
	n := int(rec.NumCols())
	e.cols = e.cols[:0]
	e.strs, e.i64s, e.f64s = make([]*array.String, n), make([]*array.Int64, n), make([]*array.Float64, n)
	e.sraw = make([]strRaw, n)
	for i := 0; i < n; i++ {
		c := rec.Column(i)
		e.cols = append(e.cols, c)
		switch a := c.(type) {
		case *array.String:
			e.strs[i] = a
			if a.Len() == 0 {
				continue // no row reads it
			}
			offs, b := a.ValueOffsets(), a.ValueBytes()
			e.sraw[i] = strRaw{offs: offs, data: unsafe.String(unsafe.SliceData(b), len(b)), base: offs[0], nulls: a.NullN() > 0}
		case *array.Int64:
			e.i64s[i] = a
		case *array.Float64:
			e.f64s[i] = a
		}
	}
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

// value reads a column of the current row, unboxed (derived columns must
// have been computed: eager mode).
func (e *evaluator) value(r ref) funcs.Val {
	if r.derived >= 0 {
		return e.dv[r.derived]
	}
	var v funcs.Val
	e.valueInto(r.ods, &v)
	return v
}

// valueInto reads ODS column i of the current row.
func (e *evaluator) valueInto(i int, dst *funcs.Val) {
	row := e.cur
	if s := e.strs[i]; s != nil {
		r := &e.sraw[i]
		if r.nulls && s.IsNull(row) {
			*dst = funcs.Val{}
		} else {
			*dst = funcs.Val{S: r.data[r.offs[row]-r.base : r.offs[row+1]-r.base], K: funcs.KStr}
		}
		return
	}
	*dst = e.valueOther(i)
}

// valueOther reads a bigint or double column.
func (e *evaluator) valueOther(i int) funcs.Val {
	row := e.cur
	if e.cols[i].IsNull(row) {
		return funcs.Val{}
	}
	if a := e.i64s[i]; a != nil {
		return funcs.Val{A: int(a.Value(row)), K: funcs.KAny}
	}
	if a := e.f64s[i]; a != nil {
		return funcs.Val{A: a.Value(row), K: funcs.KAny}
	}
	return funcs.Val{}
}

func (e *evaluator) runInto(pr *prog, dst *funcs.Val) error {
	if pr.ident {
		return e.getInto(pr.ref, dst)
	}
	v, err := e.vm.Run(pr.p, e.env)
	if err != nil {
		return fmt.Errorf("%s: %w", pr.code, err)
	}
	*dst = funcs.Any(v)
	return nil
}

// Output is one batch of one output: an interface (or a DWD table) and,
// for partitioned interfaces, one partition value.
type Output struct {
	Layer string
	Name  string // interface (ads) or DWD table (dwd)
	Part  string // partition value; "" when not partitioned
	Rec   arrow.RecordBatch
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

// partBuilders collects one output's rows by partition value, in string
// columns (ADS columns are all strings).
type partBuilders struct {
	schema *arrow.Schema
	last   string // the last part used, with its columns
	lastC  *partCols
	cols   map[string]*partCols
}

// partCols is one part's columns. Columns that copy an ODS column as is
// are not appended per row: sel lists the part's input rows and gather
// copies those columns one at a time at the end of the batch, which
// profiles showed cheaper than 20-odd appends per row across columns.
type partCols struct {
	cs  []*strCol
	sel []int32
}

// get returns a part's columns. A part new in the batch gets columns
// sized from its share of the previous batch (hints), plus a sixteenth,
// so that they do not grow by doubling.
func (pb *partBuilders) get(mem memory.Allocator, part string, hints map[string]*partHint) *partCols {
	if pb.lastC != nil && pb.last == part {
		return pb.lastC
	}
	pc, ok := pb.cols[part]
	if !ok {
		rows, h := 64, hints[part]
		if h != nil {
			rows = h.rows + h.rows/16
		}
		var cs []*strCol
		for i := range pb.schema.NumFields() {
			b := 0
			if h != nil {
				b = h.bytes[i] + h.bytes[i]/16
			}
			cs = append(cs, newStrCol(mem, rows, b))
		}
		// The value may point into the input batch, which is recycled
		// before the sink sees Output.Part: keep a copy.
		part = strings.Clone(part)
		pc = &partCols{cs: cs, sel: make([]int32, 0, rows)}
		pb.cols[part] = pc
	}
	pb.last, pb.lastC = part, pc
	return pc
}

// record turns one part's columns into a record batch (gathered columns
// must have been filled).
func (pb *partBuilders) record(part string) arrow.RecordBatch {
	cs := pb.cols[part].cs
	arrs := make([]arrow.Array, len(cs))
	for i, c := range cs {
		arrs[i] = c.finish()
	}
	rec := array.NewRecordBatch(pb.schema, arrs, int64(cs[0].n))
	for _, a := range arrs {
		a.Release()
	}
	delete(pb.cols, part)
	return rec
}

func (pb *partBuilders) release() {
	for _, pc := range pb.cols {
		for _, c := range pc.cs {
			c.release()
		}
	}
	pb.cols = nil
}

// appendCol appends a value to a string column.
func appendCol(c *strCol, v *funcs.Val) {
	switch v.K {
	case funcs.KNull:
		c.appendNull()
	case funcs.KStr:
		c.append(v.S)
	default:
		c.append(funcs.ToString(v.A))
	}
}

// appendColRef appends an ODS column of the current row without going
// through Val.
func (e *evaluator) appendColRef(c *strCol, i int) {
	if s := e.strs[i]; s != nil {
		if s.IsNull(e.cur) {
			c.appendNull()
		} else {
			c.append(s.Value(e.cur))
		}
		return
	}
	if a := e.i64s[i]; a != nil { // bigint: format without boxing
		if a.IsNull(e.cur) {
			c.appendNull()
		} else {
			e.scratch = strconv.AppendInt(e.scratch[:0], a.Value(e.cur), 10)
			c.appendBytes(e.scratch)
		}
		return
	}
	v := e.valueOther(i)
	appendCol(c, &v)
}

// gatherRef appends ODS column i of the input rows sel, in order.
func (e *evaluator) gatherRef(c *strCol, i int, sel []int32) {
	if s := e.strs[i]; s != nil {
		c.gatherStr(s, sel)
		return
	}
	save := e.cur
	for _, r := range sel {
		e.cur = int(r)
		e.appendColRef(c, i)
	}
	e.cur = save
}

// eval runs one ODS batch through the DWD derivations and ADS routing.
func (e *evaluator) eval(layer string, rec arrow.RecordBatch) (*batchOut, error) {
	n := int(rec.NumRows())
	out := &batchOut{rows: int64(n), written: map[string]int64{}}
	// Appended here, not in a helper, so that their arrays may stay on the
	// stack.
	var dwdB []*dwdOut
	var adsB [][]*partBuilders
	for _, d := range e.dwds {
		dwdB = append(dwdB, e.newDWDOut(d, n))
		adsB = append(adsB, newPartBuilders(d))
	}
	defer releaseBuilders(dwdB, adsB)
	e.setBatch(rec)
	defer e.set.EndBatch()
	if e.v != nil {
		if err := e.evalVec(rec, out, dwdB, adsB); err != nil {
			return nil, err
		}
		return e.finish(rec, out, dwdB, adsB), nil
	}
	if err := e.evalRows(n, out, dwdB, adsB); err != nil {
		return nil, err
	}
	return e.finish(rec, out, dwdB, adsB), nil
}

// newDWDOut makes a DWD table's columns for a batch of n rows when the
// table is an output (nil otherwise): its derived columns, sized from the
// previous batch (hint).
func (e *evaluator) newDWDOut(d *dwdEval, n int) *dwdOut {
	if !d.plan.emit {
		return nil
	}
	if d.hint == nil {
		d.hint = make([]int, len(d.out))
	}
	b := &dwdOut{cols: make([]*strCol, len(d.out))}
	for c, r := range d.out {
		if r.derived >= 0 {
			b.cols[c] = newStrCol(e.mem, n, d.hint[c]+d.hint[c]/16)
		}
	}
	return b
}

// newPartBuilders makes a batch's builders for a DWD table's interfaces.
func newPartBuilders(d *dwdEval) []*partBuilders {
	var ps []*partBuilders
	for _, a := range d.ads {
		ps = append(ps, &partBuilders{schema: a.plan.schema, cols: map[string]*partCols{}})
	}
	return ps
}

// releaseBuilders releases what finish did not take: what an error left
// unfinished.
func releaseBuilders(dwdB []*dwdOut, adsB [][]*partBuilders) {
	for _, b := range dwdB {
		if b != nil {
			b.release()
		}
	}
	for _, ps := range adsB {
		for _, pb := range ps {
			pb.release()
		}
	}
}

// evalRows is eval's evalVM loop: a row at a time, every derived column
// of every row first (the VM reads columns from env), as a plain oracle
// for the tests.
func (e *evaluator) evalRows(n int, out *batchOut, dwdB []*dwdOut, adsB [][]*partBuilders) error {
	names := e.st.schema.Fields()
	for row := 0; row < n; row++ {
		e.cur = row
		for _, i := range e.ods {
			e.env[names[i].Name] = odsValue(e.cols[i], row)
		}
		routed := false
		e.gen++
		for di, d := range e.dwds {
			if err := e.rowDerive(d); err != nil {
				return err
			}
			if b := dwdB[di]; b != nil {
				if err := e.rowDWD(d, b); err != nil {
					return err
				}
				routed = true
			}
			for ai, a := range d.ads {
				took, err := e.rowADS(a, adsB[di][ai], row, out)
				if err != nil {
					return err
				}
				routed = routed || took
			}
		}
		if routed {
			out.routed++
		}
	}
	return nil
}

// rowDerive computes a DWD table's derived columns of the current row
// and puts them in env for the programs that read them.
func (e *evaluator) rowDerive(d *dwdEval) error {
	for k := range d.derive {
		v, err := e.derivedPtr(d.slots[k])
		if err != nil {
			return err
		}
		e.env[d.plan.spec.Derive[k].Name] = v.Box()
	}
	return nil
}

// rowDWD appends the current row's derived columns to a DWD output.
func (e *evaluator) rowDWD(d *dwdEval, b *dwdOut) error {
	for c, r := range d.out {
		if col := b.cols[c]; col != nil {
			v, err := e.derivedPtr(r.derived)
			if err != nil {
				return err
			}
			appendCol(col, v)
		}
	}
	return nil
}

// rowADS appends the current row (batch row row) to an interface's part
// when the interface's filter takes it, and reports whether it did.
func (e *evaluator) rowADS(a *adsEval, pb *partBuilders, row int, out *batchOut) (bool, error) {
	if a.filter != nil {
		ok, err := e.rowFilter(a)
		if err != nil || !ok {
			return false, err
		}
	}
	out.written[a.plan.iface]++
	if cap(e.row) < len(a.cols) {
		e.row = make([]funcs.Val, len(a.cols))
	}
	e.row = e.row[:len(a.cols)]
	for k := range a.cols {
		pr := &a.cols[k]
		if pr.ident && pr.ref.derived < 0 {
			continue // copied directly below
		}
		if err := e.runInto(pr, &e.row[k]); err != nil {
			return false, fmt.Errorf("ads %s.%s: %w", a.plan.iface, a.plan.spec.Columns[k].Name, err)
		}
	}
	pc := pb.get(e.mem, e.rowPart(a), a.partHint)
	pc.sel = append(pc.sel, int32(row))
	for k := range a.cols {
		if !a.cols[k].ident || a.cols[k].ref.derived >= 0 {
			appendCol(pc.cs[k], &e.row[k])
		}
	}
	return true, nil
}

// rowFilter runs an interface's filter on the current row; null is
// false, and anything but a boolean or null an error.
func (e *evaluator) rowFilter(a *adsEval) (bool, error) {
	v := &e.fv
	if err := e.runInto(a.filter, v); err != nil {
		return false, fmt.Errorf("ads %s filter: %w", a.plan.iface, err)
	}
	if _, isBool := v.A.(bool); v.K != funcs.KNull && (v.K != funcs.KAny || !isBool) {
		return false, fmt.Errorf("ads %s filter: %s gave %s, want a boolean", a.plan.iface, a.filter.code, kindName(*v))
	}
	return v.True(), nil
}

// rowPart is the current row's partition value for an interface ("" when
// it is not partitioned, NullPart for null or empty), from e.row.
func (e *evaluator) rowPart(a *adsEval) string {
	pi := a.plan.partIdx
	if pi < 0 {
		return ""
	}
	pv := e.row[pi]
	if a.cols[pi].ident && a.cols[pi].ref.derived < 0 {
		pv = e.value(a.cols[pi].ref)
	}
	part, _ := pv.Str()
	if part == "" {
		part = NullPart
	}
	return part
}

// finish gathers the plain ODS output columns and turns the batch's
// builders into records.
func (e *evaluator) finish(rec arrow.RecordBatch, out *batchOut, dwdB []*dwdOut, adsB [][]*partBuilders) *batchOut {
	n := int(rec.NumRows())
	for di, d := range e.dwds {
		if b := dwdB[di]; b != nil {
			cols := make([]arrow.Array, len(d.out))
			for c, r := range d.out {
				if sc := b.cols[c]; sc != nil {
					d.hint[c] = sc.size
					cols[c] = sc.finish()
					b.cols[c] = nil
				} else {
					cols[c] = rec.Column(r.ods)
					cols[c].Retain()
				}
			}
			out.outs = append(out.outs, Output{Layer: LayerDWD, Name: d.plan.name, Rec: array.NewRecordBatch(d.plan.schema, cols, int64(n))})
			for _, c := range cols {
				c.Release()
			}
			out.written[d.plan.name] += int64(n)
		}
		for ai, a := range d.ads {
			pb := adsB[di][ai]
			parts := sortedKeys(pb.cols)
			for _, p := range parts {
				pc := pb.cols[p]
				for k := range a.cols {
					if a.cols[k].ident && a.cols[k].ref.derived < 0 {
						e.gatherRef(pc.cs[k], a.cols[k].ref.ods, pc.sel)
					}
				}
			}
			// Each part's size, for the next batch (parts seen once in a
			// while are forgotten with the rest past 4096).
			if a.partHint == nil || len(a.partHint) >= 4096 {
				a.partHint = map[string]*partHint{}
			}
			for _, p := range parts {
				pc := pb.cols[p]
				h := a.partHint[p]
				if h == nil {
					h = &partHint{bytes: make([]int, len(pc.cs))}
					a.partHint[p] = h // p is pb's own copy, not batch memory
				}
				h.rows = len(pc.sel)
				for k, c := range pc.cs {
					h.bytes[k] = c.size
				}
			}
			for _, p := range parts {
				out.outs = append(out.outs, Output{Layer: LayerADS, Name: a.plan.iface, Part: p, Rec: pb.record(p)})
			}
		}
	}
	return out
}
