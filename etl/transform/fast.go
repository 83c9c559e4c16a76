package transform

import (
	"fmt"
	"reflect"

	"github.com/expr-lang/expr/ast"

	"github.com/chama-data/chama/etl/funcs"
)

// fexpr evaluates one expression for the evaluator's current row into dst.
// Results go through a pointer rather than being returned: profiles showed
// the copies of returned values through the closure layers as a large part
// of the per-row cost.
type fexpr func(dst *funcs.Val) error

// compileFast turns a checked expr AST into Go closures over the current
// row: columns are read straight from the Arrow arrays, strings are never
// boxed, and functions with an unboxed implementation are called directly.
// Profiling showed expr's VM (a Run per expression, map lookups for
// columns, boxing) was most of the per-row cost. Node kinds it does not
// know make it return ok=false, and that expression runs on expr's VM.
func (e *evaluator) compileFast(n ast.Node, scope map[string]ref) (fexpr, bool) {
	if c, ok := constVal(n); ok {
		return func(dst *funcs.Val) error { *dst = c; return nil }, true
	}
	switch x := n.(type) {
	case *ast.IdentifierNode:
		r, ok := scope[x.Value]
		if !ok {
			return nil, false
		}
		return e.refExpr(r), true
	case *ast.ConstantNode:
		if _, isSet := x.Value.(map[string]struct{}); isSet {
			return nil, false // only as the right side of `in`
		}
		switch x.Value.(type) {
		case nil, string, int, bool, float64:
			v := funcs.Any(x.Value)
			return func(dst *funcs.Val) error { *dst = v; return nil }, true
		}
		return nil, false
	case *ast.UnaryNode:
		if x.Operator != "!" && x.Operator != "not" {
			return nil, false
		}
		in, ok := e.compileFast(x.Node, scope)
		if !ok {
			return nil, false
		}
		return func(dst *funcs.Val) error {
			if err := in(dst); err != nil {
				return err
			}
			b, isBool := dst.A.(bool)
			if dst.K != funcs.KAny || !isBool {
				return fmt.Errorf("invalid operation: ! %s", kindName(*dst))
			}
			*dst = funcs.Bool(!b)
			return nil
		}, true
	case *ast.ConditionalNode:
		c, ok1 := e.compileFast(x.Cond, scope)
		a, ok2 := e.compileFast(x.Exp1, scope)
		b, ok3 := e.compileFast(x.Exp2, scope)
		if !ok1 || !ok2 || !ok3 {
			return nil, false
		}
		return func(dst *funcs.Val) error {
			if err := c(dst); err != nil {
				return err
			}
			if _, isBool := dst.A.(bool); dst.K != funcs.KAny || !isBool {
				return fmt.Errorf("non-bool expression (type %s) used as condition", kindName(*dst))
			}
			if dst.True() {
				return a(dst)
			}
			return b(dst)
		}, true
	case *ast.BinaryNode:
		return e.compileBinary(x, scope)
	case *ast.CallNode:
		id, ok := x.Callee.(*ast.IdentifierNode)
		if !ok {
			return nil, false
		}
		// Constant arguments are filled in once; column arguments are read
		// directly; only nested expressions are called per row.
		buf := make([]funcs.Val, len(x.Arguments))
		var dyn []argSrc
		for i, a := range x.Arguments {
			if c, ok := constVal(a); ok {
				buf[i] = c
				continue
			}
			if id, ok := a.(*ast.IdentifierNode); ok {
				if r, ok := scope[id.Value]; ok {
					dyn = append(dyn, argSrc{i: i, ref: r, isRef: true})
					continue
				}
			}
			f, ok := e.compileFast(a, scope)
			if !ok {
				return nil, false
			}
			dyn = append(dyn, argSrc{i: i, f: f})
		}
		fill := func() error {
			for k := range dyn {
				d := &dyn[k]
				var err error
				switch {
				case !d.isRef:
					err = d.f(&buf[d.i])
				case d.ref.derived >= 0:
					var p *funcs.Val
					if p, err = e.derivedPtr(d.ref.derived); err == nil {
						buf[d.i] = *p
					}
				default:
					e.valueInto(d.ref.ods, &buf[d.i])
				}
				if err != nil {
					return err
				}
			}
			return nil
		}
		if ff := e.set.Fast(id.Value); ff != nil {
			// The common shape, one column argument, skips the loop.
			if len(dyn) == 1 && dyn[0].isRef && dyn[0].ref.derived < 0 {
				i, col := dyn[0].i, dyn[0].ref.ods
				return func(dst *funcs.Val) error {
					e.valueInto(col, &buf[i])
					return ff(buf, dst)
				}, true
			}
			if len(dyn) == 1 && dyn[0].isRef {
				i, k := dyn[0].i, dyn[0].ref.derived
				return func(dst *funcs.Val) error {
					p, err := e.derivedPtr(k)
					if err != nil {
						return err
					}
					buf[i] = *p
					return ff(buf, dst)
				}, true
			}
			return func(dst *funcs.Val) error {
				if err := fill(); err != nil {
					return err
				}
				return ff(buf, dst)
			}, true
		}
		g := e.set.Func(id.Value)
		if g == nil {
			return nil, false
		}
		boxed := make([]any, len(buf))
		return func(dst *funcs.Val) error {
			if err := fill(); err != nil {
				return err
			}
			for i := range buf {
				boxed[i] = buf[i].Box()
			}
			r, err := g(boxed...)
			if err != nil {
				return fmt.Errorf("%s: %w", id.Value, err)
			}
			*dst = funcs.Any(r)
			return nil
		}, true
	}
	return nil, false
}

// argSrc is a per-row argument of a call: a column or a nested expression.
type argSrc struct {
	i     int
	isRef bool
	ref   ref
	f     fexpr
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

func (e *evaluator) compileBinary(x *ast.BinaryNode, scope map[string]ref) (fexpr, bool) {
	switch x.Operator {
	case "in":
		l, ok := e.compileFast(x.Left, scope)
		if !ok {
			return nil, false
		}
		var set map[string]struct{}
		switch r := x.Right.(type) {
		case *ast.ConstantNode:
			set, _ = r.Value.(map[string]struct{})
		case *ast.ArrayNode:
			set = map[string]struct{}{}
			for _, n := range r.Nodes {
				s, ok := n.(*ast.StringNode)
				if !ok {
					return nil, false
				}
				set[s.Value] = struct{}{}
			}
		}
		if set == nil {
			return nil, false
		}
		if len(set) <= 8 {
			// A routing list of a few ids: comparing is cheaper than
			// hashing the value.
			list := sortedKeys(set)
			return func(dst *funcs.Val) error {
				if err := l(dst); err != nil {
					return err
				}
				in := false
				if dst.K == funcs.KStr {
					for _, s := range list {
						if s == dst.S {
							in = true
							break
						}
					}
				}
				*dst = funcs.Bool(in)
				return nil
			}, true
		}
		return func(dst *funcs.Val) error {
			if err := l(dst); err != nil {
				return err
			}
			in := false
			if dst.K == funcs.KStr {
				_, in = set[dst.S]
			}
			*dst = funcs.Bool(in)
			return nil
		}, true
	case "==", "!=":
		l, ok1 := e.compileFast(x.Left, scope)
		r, ok2 := e.compileFast(x.Right, scope)
		if !ok1 || !ok2 {
			return nil, false
		}
		neg := x.Operator == "!="
		// The right side's value lives with the closure: a local escapes
		// through the indirect call and cost an allocation per row. A
		// node never runs inside itself, so one slot is enough.
		rv := new(funcs.Val)
		return func(dst *funcs.Val) error {
			if err := l(dst); err != nil {
				return err
			}
			if err := r(rv); err != nil {
				return err
			}
			b := *rv
			a := dst
			var eq bool
			switch {
			case a.K == funcs.KStr && b.K == funcs.KStr:
				eq = a.S == b.S
			case a.K == funcs.KNull || b.K == funcs.KNull:
				eq = a.K == b.K
			case a.K == funcs.KAny && b.K == funcs.KAny:
				eq = reflect.DeepEqual(a.A, b.A)
			}
			*dst = funcs.Bool(eq != neg)
			return nil
		}, true
	case "&&", "and", "||", "or":
		l, ok1 := e.compileFast(x.Left, scope)
		r, ok2 := e.compileFast(x.Right, scope)
		if !ok1 || !ok2 {
			return nil, false
		}
		and := x.Operator == "&&" || x.Operator == "and"
		return func(dst *funcs.Val) error {
			if err := l(dst); err != nil {
				return err
			}
			if !isBoolVal(dst) {
				return fmt.Errorf("invalid operation: %s on %s", x.Operator, kindName(*dst))
			}
			if dst.True() != and { // false && ..., true || ...
				return nil
			}
			if err := r(dst); err != nil {
				return err
			}
			if !isBoolVal(dst) {
				return fmt.Errorf("invalid operation: %s on %s", x.Operator, kindName(*dst))
			}
			return nil
		}, true
	}
	return nil, false
}
