// Command archstats prints the size figures the architecture review uses:
// the largest Go files and the longest functions of the product (tests and
// scripts excluded), so a before/after comparison is one command.
//
//	go run ./scripts/archstats [-n 15] [dir]
package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

type item struct {
	name  string
	lines int
}

func main() {
	n := flag.Int("n", 15, "how many of each to print")
	flag.Parse()
	root := "."
	if flag.NArg() > 0 {
		root = flag.Arg(0)
	}
	var files, funcs []item
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (name == "scripts" || name == "testdata" || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		files = append(files, item{path, fset.Position(f.End()).Line})
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			name := fn.Name.Name
			if fn.Recv != nil && len(fn.Recv.List) > 0 {
				name = "(" + recv(fn.Recv.List[0].Type) + ")." + name
			}
			lines := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1
			funcs = append(funcs, item{fmt.Sprintf("%s %s", filepath.Dir(path), name), lines})
		}
		return nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "archstats:", err)
		os.Exit(1)
	}
	total := 0
	for _, f := range files {
		total += f.lines
	}
	fmt.Printf("product Go: %d files, %d lines, %d functions\n", len(files), total, len(funcs))
	show("largest files (lines)", files, *n)
	show("longest functions (lines)", funcs, *n)
}

func recv(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return "*" + recv(t.X)
	case *ast.Ident:
		return t.Name
	case *ast.IndexExpr:
		return recv(t.X)
	case *ast.IndexListExpr:
		return recv(t.X)
	}
	return "?"
}

func show(title string, items []item, n int) {
	sort.SliceStable(items, func(i, j int) bool { return items[i].lines > items[j].lines })
	fmt.Printf("\n%s\n", title)
	for i := 0; i < n && i < len(items); i++ {
		fmt.Printf("%6d  %s\n", items[i].lines, items[i].name)
	}
}
