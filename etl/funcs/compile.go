package funcs

import (
	"fmt"
	"sort"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
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
func (s *Set) Compile(code string, columns []string) (*Compiled, error) {
	env := make(map[string]any, len(columns))
	for _, c := range columns {
		env[c] = nil
	}
	opts := append([]expr.Option{expr.Env(env)}, s.Options()...)
	p, err := expr.Compile(code, opts...)
	if err != nil {
		return nil, err
	}
	c := &Compiled{Code: code, Program: p}
	cols, fns := map[string]bool{}, map[string]bool{}
	v := &walker{cols: cols, fns: fns, env: env, src: p.Source()}
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
}

var patternFuncs = map[string]int{"regexp_like": 1, "regexp_extract": 1, "regexp_replace": 1, "split": 1}

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
		w.fns[id.Value] = true
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

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
