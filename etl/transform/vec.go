package transform

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"

	"github.com/chama-data/chama/etl/funcs"
)

// Column-at-a-time evaluation. Walking every expression's closures once a
// row (chama's first evaluator) cost more than the functions themselves
// with 50 output columns: calls, checks and copies between layers. Here
// each expression node runs once per window of up to vecW rows, over a
// selection vector of the window's rows, so the per-row work left is the
// function call and a copy: filters run first and narrow the selection,
// derived columns are computed for the rows that read them (and only
// once), and output columns are appended one column at a time.
//
// Node kinds compileVec does not know (map indexing, arithmetic) run on
// expr's VM inside a vector node, a row at a time over its selection; the
// rest of the spec stays column at a time. The results are those of expr's
// VM evaluating every expression row by row (TestEvalModesAgree,
// TestEvalModesAgreeAcrossWindows and TestEvalModesAgreeRandomSpecs).

// vecW is the window: 512 values of 40 bytes keep a node's vector in L1/L2.
const vecW = 512

// vexpr evaluates an expression for batch rows sel (ascending, inside the
// current window) into out[:len(sel)].
type vexpr func(sel []int32, out []funcs.Val) error

// vecState is the evaluator's column-at-a-time state.
type vecState struct {
	lo  int    // first batch row of the window
	win uint32 // window stamp (derived values computed in it carry it)
	// Per derived slot: values by window row, the stamp each was computed
	// in, and scratch for the rows still missing.
	dv   [][]funcs.Val
	done [][]uint32
	miss [][]int32
	tmp  [][]funcs.Val
	// Scratch for the window's rows, filters and output columns.
	all    []int32
	routed []bool
	filt   []funcs.Val
	sel    []int32
	col    []funcs.Val
	// Partition groups: a value's id, its name and rows in the window,
	// and the ids in order of first appearance.
	partID map[string]int
	names  []string
	groups [][]int32 // batch rows
	gpos   [][]int32 // their positions in the window's sel
	order  []int
	// Where the current call appends: a part and its rows of sel.
	targets []target
}

// target is one part's share of a window: batch rows (for derived
// values) and their positions in sel (for computed ones; nil: all).
type target struct {
	pc        *partCols
	rows, pos []int32
}

func newVecState(nder int) *vecState {
	v := &vecState{
		all: make([]int32, vecW), routed: make([]bool, vecW), filt: make([]funcs.Val, vecW),
		sel: make([]int32, 0, vecW), col: make([]funcs.Val, vecW), partID: map[string]int{},
	}
	for range nder {
		v.dv = append(v.dv, make([]funcs.Val, vecW))
		v.done = append(v.done, make([]uint32, vecW))
		v.miss = append(v.miss, make([]int32, 0, vecW))
		v.tmp = append(v.tmp, make([]funcs.Val, vecW))
	}
	return v
}

// vrun evaluates a compiled expression over sel, wrapping errors as
// runInto does.
func (e *evaluator) vrun(pr *prog, sel []int32, out []funcs.Val) error {
	if pr.ident {
		return e.vref(pr.ref, sel, out)
	}
	if err := pr.vec(sel, out); err != nil {
		return fmt.Errorf("%s: %w", pr.code, err)
	}
	return nil
}

// vref reads a column (an ODS column or a derived one) for rows sel.
func (e *evaluator) vref(r ref, sel []int32, out []funcs.Val) error {
	if r.derived >= 0 {
		return e.vderived(r.derived, sel, out)
	}
	e.vread(r.ods, sel, out)
	return nil
}

// vread reads ODS column i for rows sel.
func (e *evaluator) vread(i int, sel []int32, out []funcs.Val) {
	if s := e.strs[i]; s != nil {
		r := &e.sraw[i]
		for j, row := range sel {
			if r.nulls && s.IsNull(int(row)) {
				out[j] = funcs.Val{}
			} else {
				out[j] = funcs.Val{S: r.data[r.offs[row]-r.base : r.offs[row+1]-r.base], K: funcs.KStr}
			}
		}
		return
	}
	save := e.cur
	for j, row := range sel {
		e.cur = int(row)
		out[j] = e.valueOther(i)
	}
	e.cur = save
}

// vderived returns derived slot k for rows sel (out may be nil), computing
// it first for the rows of sel the window has not computed yet: a column
// no output of a row reads is never computed for that row.
func (e *evaluator) vderived(k int, sel []int32, out []funcs.Val) error {
	v := e.v
	vals, done := v.dv[k], v.done[k]
	miss := v.miss[k][:0]
	for _, r := range sel {
		if done[int(r)-v.lo] != v.win {
			miss = append(miss, r)
		}
	}
	if len(miss) > 0 {
		tmp := v.tmp[k][:len(miss)]
		if err := e.vrun(e.slotProg[k], miss, tmp); err != nil {
			return fmt.Errorf("dwd %s: %w", e.slotName[k], err)
		}
		for j, r := range miss {
			vals[int(r)-v.lo] = tmp[j]
			done[int(r)-v.lo] = v.win
		}
	}
	for j, r := range sel[:len(out)] {
		out[j] = vals[int(r)-v.lo]
	}
	return nil
}

// evalVec is eval's loop, column at a time over windows of vecW rows.
func (e *evaluator) evalVec(rec arrow.RecordBatch, out *batchOut, dwdB []*dwdOut, adsB [][]*partBuilders) error {
	n := int(rec.NumRows())
	for lo := 0; lo < n; lo += vecW {
		if err := e.vwindow(lo, min(vecW, n-lo), out, dwdB, adsB); err != nil {
			return err
		}
	}
	return nil
}

// vwindow evaluates the w batch rows from lo for every DWD table and
// interface, and counts the rows some output took.
func (e *evaluator) vwindow(lo, w int, out *batchOut, dwdB []*dwdOut, adsB [][]*partBuilders) error {
	all, routed := e.v.window(lo, w)
	for di, d := range e.dwds {
		if b := dwdB[di]; b != nil {
			if err := e.vdwd(d, b, all); err != nil {
				return err
			}
			for j := range routed {
				routed[j] = true
			}
		}
		for ai, a := range d.ads {
			if err := e.vroute(a, adsB[di][ai], all, routed, out); err != nil {
				return err
			}
		}
	}
	for _, r := range routed {
		if r {
			out.routed++
		}
	}
	return nil
}

// window starts the window of the w batch rows from lo: a new stamp, so
// no derived value is computed yet, its rows, and none of them routed.
func (v *vecState) window(lo, w int) (all []int32, routed []bool) {
	v.lo = lo
	if v.win++; v.win == 0 { // 2^32 windows: stale stamps would match again
		for _, d := range v.done {
			clear(d)
		}
		v.win = 1
	}
	all = v.all[:w]
	for j := range all {
		all[j] = int32(lo + j)
	}
	routed = v.routed[:w]
	clear(routed)
	return all, routed
}

// vdwd appends the window to a DWD table that is an output: every derived
// column of every row, in order (its ODS columns pass through in finish).
func (e *evaluator) vdwd(d *dwdEval, b *dwdOut, all []int32) error {
	for k := range d.derive {
		if err := e.vderived(d.slots[k], all, nil); err != nil {
			return err
		}
	}
	for c, r := range d.out {
		if col := b.cols[c]; col != nil {
			col.appendVals(e.v.dv[r.derived][:len(all)], nil, 0)
		}
	}
	return nil
}

// vroute appends the window's rows an interface's filter takes to its
// output, marking them routed.
func (e *evaluator) vroute(a *adsEval, pb *partBuilders, all []int32, routed []bool, out *batchOut) error {
	sel := all
	if a.filter != nil {
		var err error
		if sel, err = e.vfilter(a, all); err != nil {
			return err
		}
	}
	if len(sel) == 0 {
		return nil
	}
	out.written[a.plan.iface] += int64(len(sel))
	lo := e.v.lo
	for _, r := range sel {
		routed[int(r)-lo] = true
	}
	return e.vads(a, pb, sel)
}

// vfilter runs an interface's filter over the window and returns the rows
// it takes; null is false, and anything but a boolean or null an error.
func (e *evaluator) vfilter(a *adsEval, all []int32) ([]int32, error) {
	v := e.v
	fv := v.filt[:len(all)]
	if err := e.vrun(a.filter, all, fv); err != nil {
		return nil, fmt.Errorf("ads %s filter: %w", a.plan.iface, err)
	}
	sel := v.sel[:0]
	for j := range fv {
		x := &fv[j]
		if x.K != funcs.KNull && !isBoolVal(x) {
			return nil, fmt.Errorf("ads %s filter: %s gave %s, want a boolean", a.plan.iface, a.filter.code, kindName(*x))
		}
		if x.True() {
			sel = append(sel, all[j])
		}
	}
	return sel, nil
}

// vads appends the rows sel to one interface's output, by partition.
func (e *evaluator) vads(a *adsEval, pb *partBuilders, sel []int32) error {
	v := e.v
	pi := a.plan.partIdx
	if pi < 0 {
		pc := pb.get(e.mem, "", a.partHint)
		pc.sel = append(pc.sel, sel...)
		v.targets = append(v.targets[:0], target{pc: pc, rows: sel})
		return e.vcols(a, sel)
	}
	pv := v.col[:len(sel)]
	if err := e.vrun(&a.cols[pi], sel, pv); err != nil {
		return fmt.Errorf("ads %s.%s: %w", a.plan.iface, a.plan.spec.Columns[pi].Name, err)
	}
	// Group the rows by partition value, in order of first appearance.
	// The map is only read with values from the batch: an assignment
	// would replace its stored key with one that points into the batch,
	// whose buffers are recycled (Go updates string keys on assignment).
	if len(v.partID) >= 4096 {
		// Many distinct values over time: start again, here where every
		// group is empty (a call adds at most vecW more).
		clear(v.partID)
		v.names, v.groups, v.gpos = v.names[:0], v.groups[:0], v.gpos[:0]
	}
	defer func() {
		for _, g := range v.order {
			v.groups[g] = v.groups[g][:0]
			v.gpos[g] = v.gpos[g][:0]
		}
		v.order = v.order[:0]
	}()
	for j, r := range sel {
		p, _ := pv[j].Str()
		if p == "" {
			p = NullPart
		}
		g, ok := v.partID[p]
		if !ok {
			g = len(v.names)
			name := strings.Clone(p)
			v.partID[name] = g
			v.names, v.groups, v.gpos = append(v.names, name), append(v.groups, nil), append(v.gpos, nil)
		}
		if len(v.groups[g]) == 0 {
			v.order = append(v.order, g)
		}
		v.groups[g] = append(v.groups[g], r)
		v.gpos[g] = append(v.gpos[g], int32(j))
	}
	v.targets = v.targets[:0]
	for _, g := range v.order {
		pc := pb.get(e.mem, v.names[g], a.partHint)
		pc.sel = append(pc.sel, v.groups[g]...)
		v.targets = append(v.targets, target{pc: pc, rows: v.groups[g], pos: v.gpos[g]})
	}
	return e.vcols(a, sel)
}

// vcols evaluates an interface's computed columns once for the window's
// rows sel and appends each target's values to its part; plain ODS
// columns are gathered at the end of the batch. Evaluating per group
// instead cost a call per column for a dozen rows when a batch is split
// by province.
func (e *evaluator) vcols(a *adsEval, sel []int32) error {
	v := e.v
	col := v.col[:len(sel)]
	for k := range a.cols {
		pr := &a.cols[k]
		if pr.ident && pr.ref.derived < 0 {
			continue
		}
		if pr.ident {
			// A derived column: appended from the window's values.
			if err := e.vderived(pr.ref.derived, sel, nil); err != nil {
				return fmt.Errorf("ads %s.%s: %w", a.plan.iface, a.plan.spec.Columns[k].Name, err)
			}
			for _, t := range v.targets {
				t.pc.cs[k].appendVals(v.dv[pr.ref.derived], t.rows, v.lo)
			}
			continue
		}
		if err := e.vrun(pr, sel, col); err != nil {
			return fmt.Errorf("ads %s.%s: %w", a.plan.iface, a.plan.spec.Columns[k].Name, err)
		}
		for _, t := range v.targets {
			t.pc.cs[k].appendVals(col, t.pos, 0)
		}
	}
	return nil
}

// compileVec compiles a checked expression's AST to vector closures:
// columns, literals, !, ?:, ==, !=, in, &&, || and calls of the funcs
// package (unboxed where it has a fast form). ok is false for other node
// kinds; the caller runs those expressions on expr's VM.
func (e *evaluator) compileVec(n ast.Node, scope map[string]ref) (vexpr, bool) {
	if c, ok := constVal(n); ok {
		return vconst(c), true
	}
	switch x := n.(type) {
	case *ast.IdentifierNode:
		r, ok := scope[x.Value]
		if !ok {
			return nil, false
		}
		return func(sel []int32, out []funcs.Val) error { return e.vref(r, sel, out) }, true
	case *ast.ConstantNode:
		if _, isSet := x.Value.(map[string]struct{}); isSet {
			return nil, false
		}
		switch x.Value.(type) {
		case nil, string, int, bool, float64:
			return vconst(funcs.Any(x.Value)), true
		}
		return nil, false
	case *ast.ConditionalNode:
		return e.compileVecCond(x, scope)
	case *ast.CallNode:
		if f, ok, done := e.compileVecSQL(x, scope); done {
			return f, ok
		}
		return e.compileVecCall(x, scope)
	}
	return nil, false
}

// compileVecSQL compiles the operators funcs.Compile turned into sql_*
// calls that have a vector form here (SQL's three-valued logic, as the
// boxed functions the row evaluator runs); done is false for the others,
// which run as ordinary calls.
func (e *evaluator) compileVecSQL(x *ast.CallNode, scope map[string]ref) (f vexpr, ok, done bool) {
	id, isID := x.Callee.(*ast.IdentifierNode)
	if !isID || !funcs.IsSQLOp(id.Value) {
		return nil, false, false
	}
	a := x.Arguments
	switch {
	case id.Value == "sql_in" && len(a) == 2:
		f, ok = e.compileVecIn(a[0], a[1], scope)
	case (id.Value == "sql_eq" || id.Value == "sql_ne") && len(a) == 2:
		f, ok = e.compileVecEq(a[0], a[1], id.Value == "sql_ne", scope)
	case (id.Value == "sql_and" || id.Value == "sql_or") && len(a) == 2:
		f, ok = e.compileVecLogic(a[0], a[1], id.Value == "sql_and", scope)
	case id.Value == "sql_not" && len(a) == 1:
		f, ok = e.compileVecNot(a[0], scope)
	case id.Value == "sql_cond" && len(a) == 1:
		f, ok = e.compileVecTruth(a[0], scope)
	default:
		return nil, false, false
	}
	return f, ok, true
}

// compileVecNot compiles NOT: NULL stays NULL.
func (e *evaluator) compileVecNot(n ast.Node, scope map[string]ref) (vexpr, bool) {
	in, ok := e.compileVec(n, scope)
	if !ok {
		return nil, false
	}
	return func(sel []int32, out []funcs.Val) error {
		if err := in(sel, out); err != nil {
			return err
		}
		for j := range sel {
			t, null, err := funcs.Truth(out[j], "!")
			if err != nil {
				return err
			}
			if !null {
				out[j] = funcs.Bool(!t)
			}
		}
		return nil
	}, true
}

// compileVecTruth compiles a condition of ?:: true stays true, false and
// NULL become false (Hive's IF and CASE take the else branch for NULL).
func (e *evaluator) compileVecTruth(n ast.Node, scope map[string]ref) (vexpr, bool) {
	in, ok := e.compileVec(n, scope)
	if !ok {
		return nil, false
	}
	return func(sel []int32, out []funcs.Val) error {
		if err := in(sel, out); err != nil {
			return err
		}
		for j := range sel {
			t, _, err := funcs.Truth(out[j], "?:")
			if err != nil {
				return funcs.CondError(out[j])
			}
			out[j] = funcs.Bool(t)
		}
		return nil
	}, true
}

// compileVecCond compiles c ? a : b, each branch evaluated for its own
// rows only.
func (e *evaluator) compileVecCond(x *ast.ConditionalNode, scope map[string]ref) (vexpr, bool) {
	c, ok1 := e.compileVec(x.Cond, scope)
	a, ok2 := e.compileVec(x.Exp1, scope)
	b, ok3 := e.compileVec(x.Exp2, scope)
	if !ok1 || !ok2 || !ok3 {
		return nil, false
	}
	s := newSplit()
	return func(sel []int32, out []funcs.Val) error {
		if err := c(sel, out); err != nil {
			return err
		}
		for j := range sel {
			if !isBoolVal(&out[j]) {
				return fmt.Errorf("non-bool expression (type %s) used as condition", kindName(out[j]))
			}
		}
		if ca, ok := constVal(x.Exp1); ok {
			if cb, ok := constVal(x.Exp2); ok {
				// Both branches constant (flags like `x ? "1" : "0"`).
				for j := range sel {
					if out[j].True() {
						out[j] = ca
					} else {
						out[j] = cb
					}
				}
				return nil
			}
		}
		s.split(sel, out, true)
		if err := s.run(a, s.selA, s.posA, out); err != nil {
			return err
		}
		return s.run(b, s.selB, s.posB, out)
	}, true
}

func vconst(c funcs.Val) vexpr {
	return func(sel []int32, out []funcs.Val) error {
		for j := range sel {
			out[j] = c
		}
		return nil
	}
}

// split divides a selection in two by a predicate on each row's value,
// for the branches of ?: and the right side of && and ||, each evaluated
// over its own rows only, as the row evaluator would.
type split struct {
	selA, selB []int32
	posA, posB []int32
	tmp        []funcs.Val
}

func newSplit() *split {
	return &split{
		selA: make([]int32, 0, vecW), selB: make([]int32, 0, vecW),
		posA: make([]int32, 0, vecW), posB: make([]int32, 0, vecW), tmp: make([]funcs.Val, vecW),
	}
}

// split puts the rows whose value's truth is want in A, the others in B.
func (s *split) split(sel []int32, vals []funcs.Val, want bool) {
	s.selA, s.selB, s.posA, s.posB = s.selA[:0], s.selB[:0], s.posA[:0], s.posB[:0]
	for j, r := range sel {
		if vals[j].True() == want {
			s.selA, s.posA = append(s.selA, r), append(s.posA, int32(j))
		} else {
			s.selB, s.posB = append(s.selB, r), append(s.posB, int32(j))
		}
	}
}

// run evaluates f over rows sel and scatters the values to out at pos.
func (s *split) run(f vexpr, sel, pos []int32, out []funcs.Val) error {
	if len(sel) == 0 {
		return nil
	}
	tmp := s.tmp[:len(sel)]
	if err := f(sel, tmp); err != nil {
		return err
	}
	for j, p := range pos {
		out[p] = tmp[j]
	}
	return nil
}

// compileVecIn compiles x in a list of string literals (a constant set
// once expr has folded it): NULL for a NULL x, true for a string in the
// list, and a number compared with each element as sql_in does.
func (e *evaluator) compileVecIn(left, right ast.Node, scope map[string]ref) (vexpr, bool) {
	l, ok := e.compileVec(left, scope)
	if !ok {
		return nil, false
	}
	set := stringSet(right)
	if set == nil {
		return nil, false
	}
	list := sortedKeys(set)
	return func(sel []int32, out []funcs.Val) error {
		if err := l(sel, out); err != nil {
			return err
		}
		for j := range sel {
			v := &out[j]
			switch v.K {
			case funcs.KNull:
				continue
			case funcs.KAny:
				r, err := funcs.InList(*v, list)
				if err != nil {
					return err
				}
				out[j] = r
				continue
			}
			in := false
			if len(list) <= 8 {
				for _, s := range list {
					if s == v.S {
						in = true
						break
					}
				}
			} else {
				_, in = set[v.S]
			}
			out[j] = funcs.Bool(in)
		}
		return nil
	}, true
}

// stringSet is the set of strings of the right side of in: a folded
// constant set or an array of string literals; nil for anything else.
func stringSet(n ast.Node) map[string]struct{} {
	var set map[string]struct{}
	switch r := n.(type) {
	case *ast.ConstantNode:
		switch v := r.Value.(type) {
		case map[string]struct{}:
			set = v
		case []any: // a folded list of literals
			set = map[string]struct{}{}
			for _, x := range v {
				s, ok := x.(string)
				if !ok {
					return nil
				}
				set[s] = struct{}{}
			}
		}
	case *ast.ArrayNode:
		set = map[string]struct{}{}
		for _, n := range r.Nodes {
			s, ok := n.(*ast.StringNode)
			if !ok {
				return nil
			}
			set[s.Value] = struct{}{}
		}
	}
	return set
}

// compileVecEq compiles = and != as SQL does: NULL when either side is
// NULL, strings by value, other values as funcs.Compare orders them.
func (e *evaluator) compileVecEq(left, right ast.Node, neg bool, scope map[string]ref) (vexpr, bool) {
	l, ok1 := e.compileVec(left, scope)
	r, ok2 := e.compileVec(right, scope)
	if !ok1 || !ok2 {
		return nil, false
	}
	if c, ok := constVal(right); ok && c.K == funcs.KStr {
		// column == "literal": no vector for the literal.
		return func(sel []int32, out []funcs.Val) error {
			if err := l(sel, out); err != nil {
				return err
			}
			for j := range sel {
				a := &out[j]
				switch a.K {
				case funcs.KStr:
					out[j] = funcs.Bool((a.S == c.S) != neg)
				case funcs.KAny:
					if err := eqInto(a, c, neg); err != nil {
						return err
					}
				}
			}
			return nil
		}, true
	}
	rv := make([]funcs.Val, vecW)
	return func(sel []int32, out []funcs.Val) error {
		if err := l(sel, out); err != nil {
			return err
		}
		if err := r(sel, rv[:len(sel)]); err != nil {
			return err
		}
		for j := range sel {
			a, b := &out[j], rv[j]
			if a.K == funcs.KStr && b.K == funcs.KStr {
				out[j] = funcs.Bool((a.S == b.S) != neg)
				continue
			}
			if err := eqInto(a, b, neg); err != nil {
				return err
			}
		}
		return nil
	}, true
}

// eqInto sets *a to a = b (a != b when neg), three-valued.
func eqInto(a *funcs.Val, b funcs.Val, neg bool) error {
	c, null, err := funcs.Compare(*a, b)
	switch {
	case err != nil:
		return err
	case null:
		*a = funcs.Val{}
	default:
		*a = funcs.Bool((c == 0) != neg)
	}
	return nil
}

// compileVecLogic compiles AND and OR with SQL's NULLs, short-circuiting:
// the right side runs only for the rows the left does not decide (false
// for AND, true for OR).
func (e *evaluator) compileVecLogic(left, right ast.Node, and bool, scope map[string]ref) (vexpr, bool) {
	l, ok1 := e.compileVec(left, scope)
	r, ok2 := e.compileVec(right, scope)
	if !ok1 || !ok2 {
		return nil, false
	}
	op := "||"
	if and {
		op = "&&"
	}
	s := newSplit()
	return func(sel []int32, out []funcs.Val) error {
		if err := l(sel, out); err != nil {
			return err
		}
		s.selA, s.posA = s.selA[:0], s.posA[:0]
		for j, row := range sel {
			t, null, err := funcs.Truth(out[j], op)
			if err != nil {
				return err
			}
			if null || t == and { // undecided
				s.selA, s.posA = append(s.selA, row), append(s.posA, int32(j))
			}
		}
		if len(s.selA) == 0 {
			return nil
		}
		tmp := s.tmp[:len(s.selA)]
		if err := r(s.selA, tmp); err != nil {
			return err
		}
		for k, p := range s.posA {
			a, an, _ := funcs.Truth(out[p], op)
			b, bn, err := funcs.Truth(tmp[k], op)
			if err != nil {
				return err
			}
			out[p] = funcs.Logic(and, a, an, b, bn)
		}
		return nil
	}, true
}

// vecArg is a per-row argument of a call. Columns are read in place in
// the call loop (an ODS column from the batch, a derived one from the
// window's values); a nested expression is evaluated into vals first.
type vecArg struct {
	i       int
	ods     int // ODS column, or -1
	derived int // derived slot, or -1
	f       vexpr
	vals    []funcs.Val // nested expressions, and numeric columns (made on first use)
}

// prepare evaluates the argument for rows sel.
func (e *evaluator) prepare(d *vecArg, sel []int32) error {
	switch {
	case d.derived >= 0:
		return e.vderived(d.derived, sel, nil)
	case d.ods >= 0:
		if e.strs[d.ods] == nil { // bigint, double: read through Val
			if d.vals == nil {
				d.vals = make([]funcs.Val, vecW)
			}
			e.vread(d.ods, sel, d.vals[:len(sel)])
		}
		return nil
	}
	return d.f(sel, d.vals[:len(sel)])
}

// arg sets the argument's value for row r (position j in sel).
func (e *evaluator) arg(d *vecArg, j int, r int32, dst *funcs.Val) {
	switch {
	case d.derived >= 0:
		*dst = e.v.dv[d.derived][int(r)-e.v.lo]
	case d.ods >= 0 && e.strs[d.ods] != nil:
		c := &e.sraw[d.ods]
		if c.nulls && e.strs[d.ods].IsNull(int(r)) {
			*dst = funcs.Val{}
		} else {
			*dst = funcs.Val{S: c.data[c.offs[r]-c.base : c.offs[r+1]-c.base], K: funcs.KStr}
		}
	default:
		*dst = d.vals[j]
	}
}

// args sets a call's arguments for row r (position j in the selection)
// and names the row to the function set's memos.
func (e *evaluator) args(dyn []vecArg, j int, r int32, buf []funcs.Val) {
	e.set.Row(int(r) - e.v.lo)
	for k := range dyn {
		e.arg(&dyn[k], j, r, &buf[dyn[k].i])
	}
}

// compileVecCall compiles a call of a funcs function: its fast form
// (unboxed values) when it has one, else the boxed one.
func (e *evaluator) compileVecCall(x *ast.CallNode, scope map[string]ref) (vexpr, bool) {
	id, ok := x.Callee.(*ast.IdentifierNode)
	if !ok {
		return nil, false
	}
	buf, dyn, ok := e.compileVecArgs(x.Arguments, scope)
	if !ok {
		return nil, false
	}
	if ff := e.set.Fast(id.Value); ff != nil {
		if len(dyn) == 1 {
			return e.vecFast1(ff, buf, &dyn[0]), true
		}
		return e.vecFast(ff, buf, dyn), true
	}
	g := e.set.Func(id.Value)
	if g == nil {
		return nil, false
	}
	return e.vecBoxed(g, id.Value, buf, dyn), true
}

// compileVecArgs compiles a call's arguments: literals go in buf once,
// the others (dyn) are set per row, columns read in place.
func (e *evaluator) compileVecArgs(args []ast.Node, scope map[string]ref) ([]funcs.Val, []vecArg, bool) {
	buf := make([]funcs.Val, len(args))
	var dyn []vecArg
	for i, a := range args {
		if c, ok := constVal(a); ok {
			buf[i] = c
			continue
		}
		if id, ok := a.(*ast.IdentifierNode); ok {
			if r, ok := scope[id.Value]; ok {
				dyn = append(dyn, vecArg{i: i, ods: r.ods, derived: r.derived}) // read in place
				continue
			}
		}
		f, ok := e.compileVec(a, scope)
		if !ok {
			return nil, nil, false
		}
		dyn = append(dyn, vecArg{i: i, ods: -1, derived: -1, f: f, vals: make([]funcs.Val, vecW)})
	}
	return buf, dyn, true
}

// prepareArgs evaluates a call's arguments for rows sel.
func (e *evaluator) prepareArgs(dyn []vecArg, sel []int32) error {
	for k := range dyn {
		if err := e.prepare(&dyn[k], sel); err != nil {
			return err
		}
	}
	return nil
}

// vecFast1 is a fast call with one column or expression argument d, the
// common shape: a loop per kind of argument.
func (e *evaluator) vecFast1(ff funcs.FastFunc, buf []funcs.Val, d *vecArg) vexpr {
	set := e.set
	a := &buf[d.i]
	return func(sel []int32, out []funcs.Val) error {
		if err := e.prepare(d, sel); err != nil {
			return err
		}
		lo := e.v.lo
		switch {
		case d.derived >= 0:
			vals := e.v.dv[d.derived]
			for j, r := range sel {
				set.Row(int(r) - lo)
				*a = vals[int(r)-lo]
				if err := ff(buf, &out[j]); err != nil {
					return err
				}
			}
		case d.ods >= 0 && e.strs[d.ods] != nil && !e.sraw[d.ods].nulls:
			c := &e.sraw[d.ods]
			for j, r := range sel {
				set.Row(int(r) - lo)
				*a = funcs.Val{S: c.data[c.offs[r]-c.base : c.offs[r+1]-c.base], K: funcs.KStr}
				if err := ff(buf, &out[j]); err != nil {
					return err
				}
			}
		default:
			for j, r := range sel {
				set.Row(int(r) - lo)
				e.arg(d, j, r, a)
				if err := ff(buf, &out[j]); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

// vecFast is a fast call with any other number of per-row arguments.
func (e *evaluator) vecFast(ff funcs.FastFunc, buf []funcs.Val, dyn []vecArg) vexpr {
	return func(sel []int32, out []funcs.Val) error {
		if err := e.prepareArgs(dyn, sel); err != nil {
			return err
		}
		for j, r := range sel {
			e.args(dyn, j, r, buf)
			if err := ff(buf, &out[j]); err != nil {
				return err
			}
		}
		return nil
	}
}

// vecBoxed is a call of a function without a fast form: its arguments
// boxed for each row.
func (e *evaluator) vecBoxed(g func(...any) (any, error), name string, buf []funcs.Val, dyn []vecArg) vexpr {
	boxed := make([]any, len(buf))
	return func(sel []int32, out []funcs.Val) error {
		if err := e.prepareArgs(dyn, sel); err != nil {
			return err
		}
		for j, r := range sel {
			e.args(dyn, j, r, buf)
			for i := range buf {
				boxed[i] = buf[i].Box()
			}
			v, err := g(boxed...)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			out[j] = funcs.Any(v)
		}
		return nil
	}
}

// vmVec runs a checked program on expr's VM for each row of the selection,
// with the columns it reads (ODS or derived, computed first) in its env.
func (e *evaluator) vmVec(p *vm.Program, names []string, scope map[string]ref) vexpr {
	refs := make([]ref, len(names))
	vals := make([][]funcs.Val, len(names))
	for i, n := range names {
		refs[i], vals[i] = scope[n], make([]funcs.Val, vecW)
	}
	env := make(map[string]any, len(names))
	return func(sel []int32, out []funcs.Val) error {
		for i, r := range refs {
			if err := e.vref(r, sel, vals[i][:len(sel)]); err != nil {
				return err
			}
		}
		lo := e.v.lo
		for j, r := range sel {
			e.set.Row(int(r) - lo)
			for i, n := range names {
				env[n] = vals[i][j].Box()
			}
			v, err := e.vm.Run(p, env)
			if err != nil {
				return err
			}
			out[j] = funcs.Any(v)
		}
		return nil
	}
}

// constVal reports the value of a literal node.
func constVal(n ast.Node) (funcs.Val, bool) {
	switch x := n.(type) {
	case *ast.StringNode:
		return funcs.Str(x.Value), true
	case *ast.IntegerNode:
		return funcs.Any(x.Value), true
	case *ast.BoolNode:
		return funcs.Bool(x.Value), true
	case *ast.NilNode:
		return funcs.Val{}, true
	}
	return funcs.Val{}, false
}

func kindName(v funcs.Val) string {
	switch v.K {
	case funcs.KNull:
		return "<nil>"
	case funcs.KStr:
		return "string"
	}
	return reflect.TypeOf(v.A).String()
}

func isBoolVal(v *funcs.Val) bool {
	_, ok := v.A.(bool)
	return v.K == funcs.KAny && ok
}
