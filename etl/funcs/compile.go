package funcs

import (
	"fmt"
	"sort"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// Compiled is one checked expression.
type Compiled struct {
	Code    string
	Program *vm.Program
	// Columns are the column names it reads, sorted.
	Columns []string
	// Funcs are the functions it calls, sorted.
	Funcs []string
	// Ident is set when the whole expression is one column name: the
	// transform copies such columns without running the VM.
	Ident string
}

// Compile checks code against the given column names (every column may be
// null) and this set's functions. Errors carry expr's line:column and a
// caret under the offending spot, e.g. "unknown name osx (1:1)".
//
// names are names that stand for an expression (a lookup's columns: an
// ADS entry's `iface` is dim_value("ads.51010.dim", "interface", domain));
// each use is replaced by the expression before anything else.
func (s *Set) Compile(code string, columns []string, names ...map[string]string) (*Compiled, error) {
	env := make(map[string]any, len(columns))
	for _, c := range columns {
		env[c] = nil
	}
	// expr's own `if c { a } else { b }` gives way to Hive's if(c, a, b).
	opts := []expr.Option{expr.Env(env), expr.DisableIfOperator()}
	for _, m := range names {
		if len(m) > 0 {
			opts = append(opts, expr.Patch(&namePatch{names: m}))
		}
	}
	opts = append(append(opts, expr.Patch(sqlPatch{}), expr.Patch(indexPatch{})), s.Options()...)
	p, err := expr.Compile(code, opts...)
	if err != nil {
		return nil, err
	}
	c := &Compiled{Code: code, Program: p}
	cols, fns := map[string]bool{}, map[string]bool{}
	v := &walker{cols: cols, fns: fns, env: env, src: p.Source(), set: s}
	root := p.Node()
	ast.Walk(&root, v)
	if v.err != nil {
		return nil, v.err
	}
	if id, ok := root.(*ast.IdentifierNode); ok {
		c.Ident = id.Value
	}
	c.Columns, c.Funcs = keys(cols), keys(fns)
	for _, f := range c.Funcs {
		switch Needs(f) {
		case "ip":
			if s.sh.IP == nil {
				return nil, fmt.Errorf("%s needs an ip2region database: set transform.ip_db", f)
			}
		case "mobile":
			if s.sh.Mobile == nil {
				return nil, fmt.Errorf("%s needs a key: set transform.mobile_key_env or transform.mobile_key_file", f)
			}
		}
	}
	return c, nil
}

// walker collects names and checks constant regexp patterns, so a bad
// pattern is reported at validation with its position, not mid-run.
type walker struct {
	cols, fns map[string]bool
	env       map[string]any
	src       file.Source
	err       error
	set       *Set
}

// datePatternFuncs take a Java date pattern at that argument: a constant
// one is checked at validation, not on the first row.
var datePatternFuncs = map[string]int{"from_unixtime": 1, "unix_timestamp": 1, "date_format": 1}

var patternFuncs = map[string]int{"regexp_like": 1, "rlike": 1, "regexp_extract": 1, "regexp_replace": 1, "split": 1}

func (w *walker) Visit(n *ast.Node) {
	switch x := (*n).(type) {
	case *ast.IdentifierNode:
		if _, ok := w.env[x.Value]; ok {
			w.cols[x.Value] = true
		}
	case *ast.CallNode:
		id, ok := x.Callee.(*ast.IdentifierNode)
		if !ok {
			return
		}
		if IsSQLOp(id.Value) {
			w.nilCompare(x, id.Value)
			w.stringPlus(x, id.Value)
			return
		}
		w.fns[id.Value] = true
		w.lookupCall(x, id.Value)
		if i, ok := datePatternFuncs[id.Value]; ok && i < len(x.Arguments) {
			if lit, ok := x.Arguments[i].(*ast.StringNode); ok {
				if err := CheckDatePattern(lit.Value); err != nil && w.err == nil {
					e := &file.Error{Location: lit.Location(), Message: fmt.Sprintf("%s: %v", id.Value, err)}
					w.err = e.Bind(w.src)
				}
			}
		}
		if i, ok := patternFuncs[id.Value]; ok && i < len(x.Arguments) {
			if lit, ok := x.Arguments[i].(*ast.StringNode); ok {
				if err := CheckPattern(lit.Value); err != nil && w.err == nil {
					e := &file.Error{Location: lit.Location(), Message: fmt.Sprintf("%s: bad pattern %q: %v", id.Value, lit.Value, err)}
					w.err = e.Bind(w.src)
				}
			}
		}
	}
}

// nilCompare refuses x == nil and x != nil: in SQL both are NULL for
// every row, so a spec ported from chama's old null-equals-null rule would
// silently keep or drop every row. is_null says what was meant.
func (w *walker) nilCompare(x *ast.CallNode, fn string) {
	if fn != "sql_eq" && fn != "sql_ne" || w.err != nil {
		return
	}
	for _, a := range x.Arguments {
		if _, ok := a.(*ast.NilNode); ok {
			want := "is_null(x)"
			if fn == "sql_ne" {
				want = "!is_null(x)"
			}
			e := &file.Error{Location: x.Location(), Message: fmt.Sprintf("comparing with nil is NULL in SQL (Hive: x = NULL is never true); write %s", want)}
			w.err = e.Bind(w.src)
			return
		}
	}
}

// stringPlus refuses + with a string literal: expr joined strings with
// +, Hive adds numbers ('a' + 'b' is NULL), and a port must not quietly
// turn a concatenation into NULLs.
func (w *walker) stringPlus(x *ast.CallNode, fn string) {
	if fn != "sql_add" || w.err != nil {
		return
	}
	for _, a := range x.Arguments {
		if _, ok := a.(*ast.StringNode); ok {
			e := &file.Error{Location: x.Location(), Message: "+ adds numbers in Hive ('a' + 'b' is NULL); join strings with concat(a, b)"}
			w.err = e.Bind(w.src)
			return
		}
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// namePatch replaces each name of names by its expression, parsed anew
// for every use (the checker types each node in place). A function's name
// is left alone: a lookup column called trim does not hide trim().
type namePatch struct {
	names    map[string]string
	depth    int
	replaced map[ast.Node]*ast.IdentifierNode
}

func (p *namePatch) Visit(n *ast.Node) {
	switch x := (*n).(type) {
	case *ast.CallNode:
		// Children are visited first: put a callee replaced by mistake back.
		if id, ok := p.replaced[x.Callee]; ok {
			x.Callee = id
		}
		return
	case *ast.IdentifierNode:
		code, ok := p.names[x.Value]
		if !ok || p.depth > 16 {
			return
		}
		tree, err := parser.Parse(code)
		if err != nil {
			return // config validation compiles every name's expression alone
		}
		p.depth++
		ast.Walk(&tree.Node, p) // a name's expression may use earlier names
		p.depth--
		if p.replaced == nil {
			p.replaced = map[ast.Node]*ast.IdentifierNode{}
		}
		p.replaced[tree.Node] = x
		ast.Patch(n, tree.Node)
	}
}

// lookupCall checks a dim_value or dim_match call against the lookups
// the set declares: the lookup, the column and the number of keys.
func (w *walker) lookupCall(x *ast.CallNode, fn string) {
	if fn != "dim_value" && fn != "dim_match" || w.err != nil || len(x.Arguments) == 0 {
		return
	}
	fail := func(format string, a ...any) {
		e := &file.Error{Location: x.Location(), Message: fmt.Sprintf(format, a...)}
		w.err = e.Bind(w.src)
	}
	lit, ok := x.Arguments[0].(*ast.StringNode)
	if !ok {
		fail("%s: the first argument names a lookup, as a string", fn)
		return
	}
	l := w.set.sh.Lookups[lit.Value]
	if l == nil {
		fail("%s: no lookup %q (a layer's lookups or JOINs declare them)", fn, lit.Value)
		return
	}
	keys := x.Arguments[1:]
	if fn == "dim_value" {
		if len(keys) == 0 {
			fail("dim_value: want (lookup, column, key...)")
			return
		}
		c, ok := keys[0].(*ast.StringNode)
		if !ok {
			fail("dim_value: the second argument names a column of dim %s, as a string", l.Dim)
			return
		}
		if !l.HasColumn(c.Value) {
			fail("dim_value: %s is not a column of dim %s (it has %s)", c.Value, l.Dim, strings.Join(l.Cols, ", "))
			return
		}
		keys = keys[1:]
	}
	if len(keys) != len(l.KeyCols) {
		fail("%s: lookup %s joins on %d column(s) (%s), got %d key value(s)", fn, l.ID, len(l.KeyCols), strings.Join(l.KeyCols, ", "), len(keys))
	}
}

// Idents lists the names an expression reads (not the functions it
// calls), without checking it; nil when it does not parse.
func Idents(code string) []string {
	tree, err := parser.Parse(code)
	if err != nil {
		return nil
	}
	v := identCollector{}
	ast.Walk(&tree.Node, v)
	var out []string
	for k, n := range v {
		if n > 0 {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// identCollector counts each name's uses, less its uses as a callee.
type identCollector map[string]int

func (v identCollector) Visit(n *ast.Node) {
	switch x := (*n).(type) {
	case *ast.CallNode:
		if id, ok := x.Callee.(*ast.IdentifierNode); ok {
			v[id.Value]-- // counted when its callee was visited
		}
	case *ast.IdentifierNode:
		v[x.Value]++
	}
}
