package funcs

import (
	"fmt"
	"reflect"

	"github.com/expr-lang/expr/ast"
)

// Hive's [] on arrays and maps: arr[i] past either end is NULL, m[k] of a
// missing key is NULL, and NULL[i] is NULL. expr's indexing instead fails
// the run out of range (split(a, ",")[5] on a short value) and on a NULL
// map, and counts negative indexes from the end. So Compile rewrites
// every member and index access (x[i], x["k"], x.k) into sql_index(x, i),
// which follows Hive.

// indexPatch is the expr patcher that makes the rewrite.
type indexPatch struct{}

func (indexPatch) Visit(n *ast.Node) {
	x, ok := (*n).(*ast.MemberNode)
	if !ok || x.Method {
		return
	}
	call := sqlCall("sql_index", x.Node, x.Property)
	call.SetLocation(x.Location())
	ast.Patch(n, call)
}

// indexFunc is sql_index, for sqlFuncs.
func indexFunc() fn {
	return fn{name: "sql_index", body: sqlIndex, types: []any{sig2}}
}

// sqlIndex is x[i]: an array's element i (0-based; NULL out of range or
// for a NULL or non-integer index), a map's value for a key (NULL when
// absent), NULL for a NULL x. Indexing a string is an error (Hive has no
// such operator; substr is meant).
func sqlIndex(args ...any) (any, error) {
	if err := arity("sql_index", args, 2, 2); err != nil {
		return nil, err
	}
	x, i := args[0], args[1]
	if x == nil || i == nil {
		return nil, nil
	}
	switch c := x.(type) {
	case []any:
		if k, ok := indexInt(i); ok && k >= 0 && k < len(c) {
			return c[k], nil
		}
		return nil, nil
	case []string:
		if k, ok := indexInt(i); ok && k >= 0 && k < len(c) {
			return c[k], nil
		}
		return nil, nil
	case map[string]any:
		k, _ := str(i)
		return c[k], nil
	case map[string]string:
		if v, ok := c[ToString(i)]; ok {
			return v, nil
		}
		return nil, nil
	case string:
		return nil, fmt.Errorf("cannot index the string %q with %v: Hive has no [] on strings (use substr)", c, i)
	}
	v := reflect.ValueOf(x)
	switch v.Kind() {
	case reflect.Slice, reflect.Array:
		if k, ok := indexInt(i); ok && k >= 0 && k < v.Len() {
			return v.Index(k).Interface(), nil
		}
		return nil, nil
	case reflect.Map:
		if k := reflect.ValueOf(i); k.Type().AssignableTo(v.Type().Key()) {
			if e := v.MapIndex(k); e.IsValid() {
				return e.Interface(), nil
			}
		}
		return nil, nil
	}
	return nil, fmt.Errorf("cannot index %T with %v", x, i)
}

// indexInt reads an array index: an integer (a whole double too).
func indexInt(i any) (int, bool) {
	switch k := i.(type) {
	case int:
		return k, true
	case int64:
		return int(k), true
	case int32:
		return int(k), true
	case float64:
		if k == float64(int(k)) {
			return int(k), true
		}
	}
	return 0, false
}
