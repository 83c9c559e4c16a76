package logkey

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// No product code types a fixed key by hand in a log call: a typo there
// ("ifcae") would silently leave the JSON schema's column null.
func TestLogCallsUseTheConstants(t *testing.T) {
	root := filepath.Join("..", "..")
	var bad []string
	calls := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && p != root) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			c, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			first := logArgs(c)
			if first < 0 {
				return true
			}
			calls++
			for i := first; i < len(c.Args); i += 2 {
				lit, ok := c.Args[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					break // an slog.Attr: the pairs stop here
				}
				if k, _ := strconv.Unquote(lit.Value); slices.Contains(Fixed, k) {
					bad = append(bad, fset.Position(lit.Pos()).String()+": "+lit.Value)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls < 50 {
		t.Fatalf("found only %d log calls: is the walk looking at the repository?", calls)
	}
	for _, b := range bad {
		t.Errorf("%s: use the logkey constant", b)
	}
}

// logArgs gives the index of a logger call's first key, or -1 when c is
// not a call on a logger (log, Log, logger or the slog package).
func logArgs(c *ast.CallExpr) int {
	sel, ok := c.Fun.(*ast.SelectorExpr)
	if !ok {
		return -1
	}
	var recv string
	switch x := sel.X.(type) {
	case *ast.Ident:
		recv = x.Name
	case *ast.SelectorExpr:
		recv = x.Sel.Name
	}
	if !slices.Contains([]string{"log", "Log", "logger", "slog"}, recv) {
		return -1
	}
	switch sel.Sel.Name {
	case "Info", "Warn", "Error", "Debug":
		return 1
	case "With":
		return 0
	}
	return -1
}
