package funcs

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/ast"
)

// Hive's SQL semantics for expr's operators. expr compares null equal to
// null, calls `nil != "x"` true and refuses `n + 1` on a column whose type
// it cannot know; Hive gives NULL for all three. So Compile rewrites every
// comparison, arithmetic, logical and `in` operator into a call of one of
// the sql_* functions below, which follow Hive:
//
//   - a comparison or arithmetic with a NULL operand is NULL;
//   - AND is false when either side is false, else NULL when either is
//     NULL; OR is true when either side is true, else NULL when either is
//     NULL; NOT NULL is NULL;
//   - x IN (...) is NULL for a NULL x, and for a value not found in a
//     list that holds a NULL;
//   - a string meeting a number is read as a double (Hive's implicit cast;
//     one that does not parse gives NULL), `/` always gives a double, and
//     a zero divisor of `/` or `%` gives NULL;
//   - the condition of `c ? a : b` takes the else branch when c is NULL,
//     as Hive's IF and CASE do, and a filter keeps a row only when it is
//     true.
//
// The row evaluator runs these functions on expr's VM; the column
// evaluator (etl/transform) has vector forms of sql_eq, sql_ne, sql_in,
// sql_and, sql_or, sql_not and sql_cond that give the same answers.

// The rewritten operators and the functions that replace them.
var sqlBinary = map[string]string{
	"==": "sql_eq", "!=": "sql_ne", "<": "sql_lt", "<=": "sql_le", ">": "sql_gt", ">=": "sql_ge",
	"+": "sql_add", "-": "sql_sub", "*": "sql_mul", "/": "sql_div", "%": "sql_mod",
	"&&": "sql_and", "and": "sql_and", "||": "sql_or", "or": "sql_or", "in": "sql_in",
}

// stringOps are expr's string operators, which refuse a NULL operand at
// run time; they become the functions that give NULL for NULL as Hive's
// RLIKE and instr do.
var stringOps = map[string]string{
	"matches": "regexp_like", "contains": "str_contains", "startsWith": "starts_with", "endsWith": "ends_with",
}

// IsSQLOp reports whether name is one of the functions operators become;
// they are internal and not listed among a spec's functions.
func IsSQLOp(name string) bool { return strings.HasPrefix(name, "sql_") }

// sqlPatch rewrites operators into sql_* calls (an expr patcher: it runs
// before type checking, which is what lets `n + 1` on a column compile).
type sqlPatch struct{}

func (sqlPatch) Visit(n *ast.Node) {
	var call *ast.CallNode
	switch x := (*n).(type) {
	case *ast.BinaryNode:
		name, ok := sqlBinary[x.Operator]
		if !ok {
			name, ok = stringOps[x.Operator]
		}
		if !ok {
			return
		}
		call = sqlCall(name, x.Left, x.Right)
	case *ast.UnaryNode:
		switch x.Operator {
		case "!", "not":
			call = sqlCall("sql_not", x.Node)
		case "-":
			call = sqlCall("sql_neg", x.Node)
		default:
			return
		}
	case *ast.ConditionalNode:
		if c, ok := x.Cond.(*ast.CallNode); ok && calls(c, "sql_cond") {
			return
		}
		cond := sqlCall("sql_cond", x.Cond)
		cond.SetLocation(x.Cond.Location())
		x.Cond = cond
		return
	default:
		return
	}
	call.SetLocation((*n).Location())
	ast.Patch(n, call)
}

func sqlCall(name string, args ...ast.Node) *ast.CallNode {
	return &ast.CallNode{Callee: &ast.IdentifierNode{Value: name}, Arguments: args}
}

// calls reports whether c calls the function name.
func calls(c *ast.CallNode, name string) bool {
	id, ok := c.Callee.(*ast.IdentifierNode)
	return ok && id.Value == name
}

// sqlFuncs are the operator functions, for Set.table.
func sqlFuncs() []fn {
	cmp := func(name string, f func(int) bool) fn {
		return fn{name: name, body: func(args ...any) (any, error) {
			if err := arity(name, args, 2, 2); err != nil {
				return nil, err
			}
			c, null, err := sqlCompare(args[0], args[1])
			if null || err != nil {
				return nil, err
			}
			return f(c), nil
		}, types: []any{sig2}}
	}
	arith := func(name string) fn {
		return fn{name: name, body: func(args ...any) (any, error) {
			if err := arity(name, args, 2, 2); err != nil {
				return nil, err
			}
			return sqlArith(name, args[0], args[1])
		}, types: []any{sig2}}
	}
	return []fn{
		cmp("sql_eq", func(c int) bool { return c == 0 }),
		cmp("sql_ne", func(c int) bool { return c != 0 }),
		cmp("sql_lt", func(c int) bool { return c < 0 }),
		cmp("sql_le", func(c int) bool { return c <= 0 }),
		cmp("sql_gt", func(c int) bool { return c > 0 }),
		cmp("sql_ge", func(c int) bool { return c >= 0 }),
		arith("sql_add"), arith("sql_sub"), arith("sql_mul"), arith("sql_div"), arith("sql_mod"),
		{name: "sql_neg", body: sqlNeg, types: []any{sig1}},
		{name: "sql_and", body: sqlLogic("sql_and"), types: []any{sig2}},
		{name: "sql_or", body: sqlLogic("sql_or"), types: []any{sig2}},
		{name: "sql_not", body: sqlNot, types: []any{sig1}},
		{name: "sql_in", body: sqlIn, types: []any{sig2}},
		{name: "sql_cond", body: sqlCond, types: []any{sig1b}},
		indexFunc(),
	}
}

// opName is the operator a sql_* function stands for, for messages.
func opName(fn string) string {
	if op, ok := sqlOpNames[fn]; ok {
		return op
	}
	return fn
}

var sqlOpNames = map[string]string{
	"sql_eq": "==", "sql_ne": "!=", "sql_lt": "<", "sql_le": "<=", "sql_gt": ">", "sql_ge": ">=",
	"sql_add": "+", "sql_sub": "-", "sql_mul": "*", "sql_div": "/", "sql_mod": "%",
	"sql_and": "&&", "sql_or": "||", "sql_not": "!", "sql_neg": "-", "sql_in": "in",
}

// Truth reads a logical operand: t is its value, null is set for NULL,
// and anything but a boolean or NULL is an error naming op (&&, ||, !).
func Truth(v Val, op string) (t, null bool, err error) {
	switch v.K {
	case KNull:
		return false, true, nil
	case KAny:
		if b, ok := v.A.(bool); ok {
			return b, false, nil
		}
	}
	return false, false, fmt.Errorf("invalid operation: %s on %s", op, KindName(v))
}

// KindName names a value's type in error messages.
func KindName(v Val) string {
	switch v.K {
	case KNull:
		return "nil"
	case KStr:
		return "string"
	}
	return fmt.Sprintf("%T", v.A)
}

func sqlLogic(name string) func(args ...any) (any, error) {
	and, op := name == "sql_and", opName(name)
	return func(args ...any) (any, error) {
		if err := arity(name, args, 2, 2); err != nil {
			return nil, err
		}
		a, an, err := Truth(Any(args[0]), op)
		if err != nil {
			return nil, err
		}
		b, bn, err := Truth(Any(args[1]), op)
		if err != nil {
			return nil, err
		}
		return Logic(and, a, an, b, bn).Box(), nil
	}
}

// Logic is Hive's AND (and) or OR of two operands that are each a
// boolean or NULL.
func Logic(and bool, a, an, b, bn bool) Val {
	if and {
		switch {
		case (!a && !an) || (!b && !bn):
			return vFalse
		case an || bn:
			return Val{}
		}
		return vTrue
	}
	switch {
	case (a && !an) || (b && !bn):
		return vTrue
	case an || bn:
		return Val{}
	}
	return vFalse
}

func sqlNot(args ...any) (any, error) {
	if err := arity("sql_not", args, 1, 1); err != nil {
		return nil, err
	}
	t, null, err := Truth(Any(args[0]), "!")
	if err != nil || null {
		return nil, err
	}
	return !t, nil
}

// CondError is the error of a condition that is neither boolean nor NULL.
func CondError(v Val) error {
	return fmt.Errorf("non-bool expression (type %s) used as condition", KindName(v))
}

func sqlCond(args ...any) (any, error) {
	if err := arity("sql_cond", args, 1, 1); err != nil {
		return nil, err
	}
	v := Any(args[0])
	t, _, err := Truth(v, "?:")
	if err != nil {
		return nil, CondError(v)
	}
	return t, nil
}

// sqlIn is x IN (list): NULL for a NULL x, true when an element equals
// x, else NULL when the list holds a NULL, else false.
func sqlIn(args ...any) (any, error) {
	if err := arity("sql_in", args, 2, 2); err != nil {
		return nil, err
	}
	if args[0] == nil || args[1] == nil {
		return nil, nil
	}
	list, ok := args[1].([]any)
	if !ok {
		return nil, fmt.Errorf("in: want a list on the right, got %T", args[1])
	}
	sawNull := false
	for _, e := range list {
		if e == nil {
			sawNull = true
			continue
		}
		c, null, err := sqlCompare(args[0], e)
		if err != nil {
			return nil, err
		}
		if !null && c == 0 {
			return true, nil
		}
		sawNull = sawNull || null
	}
	if sawNull {
		return nil, nil
	}
	return false, nil
}

// number is a numeric operand: an integer (isInt) or a double.
type number struct {
	i     int64
	f     float64
	isInt bool
}

// toNumber reads a numeric operand; a string is read as a double as
// Hive's implicit cast does (null: it does not parse). ok is false for a
// value that is no number at all (a boolean, a list).
func toNumber(v any) (n number, null, ok bool) {
	switch x := v.(type) {
	case int:
		return number{i: int64(x), f: float64(x), isInt: true}, false, true
	case int64:
		return number{i: x, f: float64(x), isInt: true}, false, true
	case int32:
		return number{i: int64(x), f: float64(x), isInt: true}, false, true
	case float64:
		return number{f: x}, false, true
	case float32:
		return number{f: float64(x)}, false, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return number{}, true, true
		}
		return number{f: f}, false, true
	}
	return number{}, false, false
}

// sqlCompare orders two values: strings by their bytes (Hive compares
// UTF-8 text the same way for every character below U+10000), numbers by
// value, a string against a number as doubles, booleans false < true.
// null is set when either side is NULL or a string does not parse.
func sqlCompare(a, b any) (c int, null bool, err error) {
	if a == nil || b == nil {
		return 0, true, nil
	}
	if sa, ok := a.(string); ok {
		if sb, ok := b.(string); ok {
			return strings.Compare(sa, sb), false, nil
		}
	}
	if ba, ok := a.(bool); ok {
		if bb, ok := b.(bool); ok {
			return boolInt(ba) - boolInt(bb), false, nil
		}
		return 0, false, fmt.Errorf("cannot compare bool with %T", b)
	}
	na, nullA, okA := toNumber(a)
	nb, nullB, okB := toNumber(b)
	if !okA || !okB {
		return 0, false, fmt.Errorf("cannot compare %T with %T", a, b)
	}
	if nullA || nullB {
		return 0, true, nil
	}
	if na.isInt && nb.isInt {
		switch {
		case na.i < nb.i:
			return -1, false, nil
		case na.i > nb.i:
			return 1, false, nil
		}
		return 0, false, nil
	}
	switch {
	case na.f < nb.f:
		return -1, false, nil
	case na.f > nb.f:
		return 1, false, nil
	case na.f == nb.f:
		return 0, false, nil
	}
	return 0, true, nil // NaN
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// sqlArith is + - * / % as Hive computes them: integers stay integers
// (wrapping as Java's long does) except under /, anything with a double
// or a string is a double, a zero divisor gives NULL.
func sqlArith(name string, a, b any) (any, error) {
	if a == nil || b == nil {
		return nil, nil
	}
	na, nullA, okA := toNumber(a)
	nb, nullB, okB := toNumber(b)
	if !okA || !okB {
		return nil, fmt.Errorf("invalid operation: %T %s %T", a, opName(name), b)
	}
	if nullA || nullB {
		return nil, nil
	}
	if na.isInt && nb.isInt && name != "sql_div" {
		switch name {
		case "sql_add":
			return int(na.i + nb.i), nil
		case "sql_sub":
			return int(na.i - nb.i), nil
		case "sql_mul":
			return int(na.i * nb.i), nil
		case "sql_mod":
			if nb.i == 0 {
				return nil, nil
			}
			return int(na.i % nb.i), nil
		}
	}
	x, y := na.f, nb.f
	switch name {
	case "sql_add":
		return x + y, nil
	case "sql_sub":
		return x - y, nil
	case "sql_mul":
		return x * y, nil
	case "sql_div":
		if y == 0 {
			return nil, nil
		}
		return x / y, nil
	}
	if y == 0 {
		return nil, nil
	}
	return math.Mod(x, y), nil
}

func sqlNeg(args ...any) (any, error) {
	if err := arity("sql_neg", args, 1, 1); err != nil {
		return nil, err
	}
	if args[0] == nil {
		return nil, nil
	}
	n, null, ok := toNumber(args[0])
	switch {
	case !ok:
		return nil, fmt.Errorf("invalid operation: - %T", args[0])
	case null:
		return nil, nil
	case n.isInt:
		return int(-n.i), nil
	}
	return -n.f, nil
}

// Compare is sqlCompare on unboxed values, for the column evaluator.
func Compare(a, b Val) (c int, null bool, err error) {
	if a.K == KStr && b.K == KStr {
		return strings.Compare(a.S, b.S), false, nil
	}
	return sqlCompare(a.Box(), b.Box())
}

// InList is sql_in of a non-string x over a list of strings.
func InList(x Val, list []string) (Val, error) {
	if x.K == KNull {
		return Val{}, nil
	}
	sawNull := false
	for _, s := range list {
		c, null, err := Compare(x, Str(s))
		if err != nil {
			return Val{}, err
		}
		if !null && c == 0 {
			return vTrue, nil
		}
		sawNull = sawNull || null
	}
	if sawNull {
		return Val{}, nil
	}
	return vFalse, nil
}
