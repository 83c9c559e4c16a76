package hivesql

import (
	"fmt"
	"sort"
	"strings"

	"vitess.io/vitess/go/vt/sqlparser"
)

// statement translates the parsed statement: one SELECT of one table.
func (t *translator) statement(stmt sqlparser.Statement) (*Query, error) {
	sel, ok := stmt.(*sqlparser.Select)
	if !ok {
		if _, u := stmt.(*sqlparser.Union); u {
			return nil, t.errAt(t.find(0, "UNION", "INTERSECT", "EXCEPT"), "UNION is not supported: one SELECT per layer")
		}
		return nil, t.errAt(0, "only a SELECT statement is supported")
	}
	if err := t.clauses(sel); err != nil {
		return nil, err
	}
	q := &Query{}
	if err := t.from(sel, q); err != nil {
		return nil, err
	}
	if sel.Where != nil {
		f, err := t.expr(sel.Where.Expr)
		if err != nil {
			return nil, err
		}
		q.Filter = f
	}
	seen := map[string]bool{}
	for _, se := range sel.SelectExprs.Exprs {
		c, err := t.column(se)
		if err != nil {
			return nil, err
		}
		if !c.Star {
			if seen[c.Name] {
				return nil, t.errAt(-1, "the select list names %s twice", c.Name)
			}
			seen[c.Name] = true
		}
		q.Columns = append(q.Columns, c)
	}
	for n := range t.bare {
		q.Bare = append(q.Bare, n)
	}
	sort.Strings(q.Bare)
	return q, nil
}

// clauses refuses the parts of a SELECT a layer has no counterpart for.
func (t *translator) clauses(sel *sqlparser.Select) error {
	switch {
	case sel.With != nil:
		return t.errAt(t.find(0, "WITH"), "WITH (common table expressions) is not supported")
	case sel.Distinct:
		return t.errAt(t.find(0, "DISTINCT"), "DISTINCT is not supported")
	case sel.GroupBy != nil:
		return t.errAt(t.find(0, "GROUP"), "GROUP BY is not supported (a layer maps rows one to one)")
	case sel.Having != nil:
		return t.errAt(t.find(0, "HAVING"), "HAVING is not supported")
	case len(sel.Windows) > 0:
		return t.errAt(t.find(0, "WINDOW"), "window functions are not supported")
	case len(sel.OrderBy) > 0:
		return t.errAt(t.find(0, "ORDER"), "ORDER BY is not supported (output order is input order)")
	case sel.Limit != nil:
		return t.errAt(t.find(0, "LIMIT"), "LIMIT is not supported")
	case sel.Into != nil:
		return t.errAt(t.find(0, "INTO"), "INTO is not supported")
	case sel.Lock != sqlparser.NoLock:
		return t.errAt(t.find(0, "FOR", "LOCK"), "locking clauses are not supported")
	case sel.HighPriority || sel.StraightJoinHint || sel.SQLSmallResult || sel.SQLBigResult ||
		sel.SQLBufferResult || sel.SQLCalcFoundRows || sel.Cache != nil:
		return t.errAt(t.findIdxPos(1), "MySQL SELECT options are not supported")
	}
	return nil
}

// findIdxPos is the offset of token i, or -1.
func (t *translator) findIdxPos(i int) int {
	if i < len(t.toks) {
		return t.toks[i].pos
	}
	return -1
}

// from reads the FROM clause: one table, optionally with an alias.
func (t *translator) from(sel *sqlparser.Select, q *Query) error {
	fromIdx := t.findIdx(0, "FROM")
	if fromIdx < 0 {
		return t.errAt(-1, "FROM <table> is missing")
	}
	if len(sel.From) != 1 {
		return t.errAt(t.find(fromIdx, ","), "FROM a, b is a cross join, not supported: write JOIN ... ON")
	}
	switch f := sel.From[0].(type) {
	case *sqlparser.JoinTableExpr:
		return t.joins(fromIdx, f, q)
	case *sqlparser.AliasedTableExpr:
		return t.baseTable(fromIdx, f, q)
	}
	return t.errAt(t.toks[fromIdx].next, "FROM takes a table name and an optional alias only")
}

// column translates one entry of the select list.
func (t *translator) column(se sqlparser.SelectExpr) (Column, error) {
	switch x := se.(type) {
	case *sqlparser.StarExpr:
		if x.TableName.IsEmpty() && len(t.joinList) > 0 {
			return Column{}, t.errAt(t.find(0, "*"), "with a JOIN, Hive's * includes the dimension's columns too: write %s.* and name the dimension's columns", t.fromName())
		}
		if j := t.joinByAlias(x.TableName.Name.String()); j != nil && x.TableName.Qualifier.IsEmpty() {
			return Column{}, t.errAt(t.find(0, j.Alias), "%s.*: name the dimension's columns (%s.col AS name)", j.Alias, j.Alias)
		}
		if !x.TableName.IsEmpty() {
			if err := t.qualifier(x.TableName); err != nil {
				return Column{}, err
			}
		}
		return Column{Star: true}, nil
	case *sqlparser.AliasedExpr:
		name := x.As.String()
		if c, ok := x.Expr.(*sqlparser.ColName); ok {
			if name == "" {
				name = c.Name.String()
			}
			e, err := t.colRef(c)
			if err != nil {
				return Column{}, err
			}
			return Column{Name: name, Expr: e, Ref: e == c.Name.String()}, nil
		}
		e, err := t.expr(x.Expr)
		if err != nil {
			return Column{}, err
		}
		if name == "" {
			return Column{}, t.errAt(-1, "give the expression a name with AS: %s", sqlparser.String(x.Expr))
		}
		return Column{Name: name, Expr: e}, nil
	}
	return Column{}, t.errAt(-1, "%s is not supported in the select list", sqlparser.String(se))
}

// qualifier checks the t of a `t.col`: the FROM table or its alias.
func (t *translator) qualifier(q sqlparser.TableName) error {
	if q.IsEmpty() {
		return nil
	}
	n := q.Name.String()
	// Hive's names are case-insensitive.
	if q.Qualifier.IsEmpty() && (strings.EqualFold(n, t.alias) || t.alias == "" && strings.EqualFold(n, t.table)) {
		return nil
	}
	return t.errAt(t.find(0, n), "%s is not the table of FROM (%s)", sqlparser.String(q), t.fromName())
}

func (t *translator) fromName() string {
	if t.alias != "" {
		return t.alias
	}
	return t.table
}

// operand is an expression as an operand of an operator: parenthesised
// unless it is a name, a literal or a call.
func (t *translator) operand(e sqlparser.Expr) (string, error) {
	s, err := t.expr(e)
	if err != nil {
		return "", err
	}
	switch x := e.(type) {
	case *sqlparser.ColName, *sqlparser.Literal, *sqlparser.NullVal, sqlparser.BoolVal, *sqlparser.FuncExpr,
		*sqlparser.SubstrExpr, *sqlparser.TrimFuncExpr, *sqlparser.LocateExpr, *sqlparser.RegexpLikeExpr,
		*sqlparser.RegexpReplaceExpr, *sqlparser.CastExpr, *sqlparser.NotExpr, *sqlparser.IsExpr, *sqlparser.UnaryExpr:
		// A name, a literal, a call, or ! or - of one.
		return s, nil
	case *sqlparser.ComparisonExpr:
		switch x.Operator {
		case sqlparser.LikeOp, sqlparser.NotLikeOp, sqlparser.RegexpOp, sqlparser.NotRegexpOp:
			return s, nil // like(...), regexp_like(...)
		}
	}
	return "(" + s + ")", nil
}

// binary is `l op r` with both sides as operands.
func (t *translator) binary(l sqlparser.Expr, op string, r sqlparser.Expr) (string, error) {
	a, err := t.operand(l)
	if err != nil {
		return "", err
	}
	b, err := t.operand(r)
	if err != nil {
		return "", err
	}
	if op == "*" || op == "/" || op == "%" {
		// expr's ! binds looser than * / %: !a * b is !(a * b).
		if strings.HasPrefix(a, "!") {
			a = "(" + a + ")"
		}
		if strings.HasPrefix(b, "!") {
			b = "(" + b + ")"
		}
	}
	return a + " " + op + " " + b, nil
}

// call is name(args...).
func (t *translator) call(name string, args ...sqlparser.Expr) (string, error) {
	out := make([]string, 0, len(args))
	for _, a := range args {
		if a == nil {
			continue
		}
		s, err := t.expr(a)
		if err != nil {
			return "", err
		}
		out = append(out, s)
	}
	return name + "(" + strings.Join(out, ", ") + ")", nil
}

// not is !s of an s that is a call ("!f(x)"), or of a compound s when
// wrap ("!(a && b)").
func not(s string, wrap bool, err error) (string, error) {
	if err != nil {
		return "", err
	}
	if wrap {
		return "!(" + s + ")", nil
	}
	return "!" + s, nil
}

var comparisons = map[sqlparser.ComparisonExprOperator]string{
	sqlparser.EqualOp: "==", sqlparser.NotEqualOp: "!=", sqlparser.LessThanOp: "<",
	sqlparser.LessEqualOp: "<=", sqlparser.GreaterThanOp: ">", sqlparser.GreaterEqualOp: ">=",
}

var arithmetic = map[sqlparser.BinaryExprOperator]string{
	sqlparser.PlusOp: "+", sqlparser.MinusOp: "-", sqlparser.MultOp: "*", sqlparser.DivOp: "/", sqlparser.ModOp: "%",
}

// expr translates one expression into expr syntax.
func (t *translator) expr(e sqlparser.Expr) (string, error) {
	switch x := e.(type) {
	case *sqlparser.ColName:
		return t.colRef(x)
	case *sqlparser.Literal:
		return t.literal(x)
	case *sqlparser.NullVal:
		return "nil", nil
	case sqlparser.BoolVal:
		if x {
			return "true", nil
		}
		return "false", nil
	case *sqlparser.AndExpr:
		return t.binary(x.Left, "&&", x.Right)
	case *sqlparser.OrExpr:
		return t.binary(x.Left, "||", x.Right)
	case *sqlparser.NotExpr:
		s, err := t.operand(x.Expr)
		return not(s, false, err)
	case *sqlparser.ComparisonExpr:
		return t.comparison(x)
	case *sqlparser.BetweenExpr:
		s, err := t.between(x)
		if err != nil || x.IsBetween {
			return s, err
		}
		return not(s, true, nil)
	case *sqlparser.IsExpr:
		switch x.Right {
		case sqlparser.IsNullOp:
			return t.call("is_null", x.Left)
		case sqlparser.IsNotNullOp:
			s, err := t.call("is_null", x.Left)
			return not(s, false, err)
		}
		return "", t.errAt(t.find(0, "IS"), "%s is not supported (IS NULL and IS NOT NULL are)", sqlparser.String(x))
	case *sqlparser.BinaryExpr:
		op, ok := arithmetic[x.Operator]
		if !ok {
			return "", t.errAt(-1, "operator %s is not supported (in %s)", x.Operator.ToString(), sqlparser.String(x))
		}
		return t.binary(x.Left, op, x.Right)
	case *sqlparser.UnaryExpr:
		if x.Operator != sqlparser.UMinusOp {
			return "", t.errAt(-1, "operator %s is not supported (in %s)", x.Operator.ToString(), sqlparser.String(x))
		}
		s, err := t.operand(x.Expr)
		if strings.HasPrefix(s, "-") {
			s = "(" + s + ")"
		}
		return "-" + s, err
	case *sqlparser.CaseExpr:
		return t.caseExpr(x)
	case *sqlparser.CastExpr:
		return t.cast(x)
	case *sqlparser.FuncExpr:
		return t.funcExpr(x)
	case *sqlparser.SubstrExpr:
		return t.call("substr", x.Name, x.From, x.To)
	case *sqlparser.TrimFuncExpr:
		if x.TrimArg != nil {
			return "", t.errAt(t.find(0, "TRIM"), "TRIM(... FROM ...) is not supported: Hive's trim(s) is")
		}
		name := map[sqlparser.TrimFuncType]string{sqlparser.NormalTrimType: "trim", sqlparser.LTrimType: "ltrim", sqlparser.RTrimType: "rtrim"}[x.TrimFuncType]
		return t.call(name, x.StringArg)
	case *sqlparser.LocateExpr:
		return t.call("locate", x.SubStr, x.Str, x.Pos)
	case *sqlparser.RegexpLikeExpr:
		if x.MatchType != nil {
			return "", t.errAt(t.find(0, "REGEXP_LIKE"), "regexp_like takes two arguments")
		}
		return t.call("regexp_like", x.Expr, x.Pattern)
	case *sqlparser.RegexpReplaceExpr:
		if x.Occurrence != nil || x.Position != nil || x.MatchType != nil {
			return "", t.errAt(t.find(0, "REGEXP_REPLACE"), "regexp_replace takes three arguments")
		}
		return t.call("regexp_replace", x.Expr, x.Pattern, x.Repl)
	case *sqlparser.Subquery, *sqlparser.ExistsExpr:
		return "", t.errAt(t.find(1, "SELECT"), "subqueries are not supported")
	case sqlparser.ValTuple:
		return "", t.errAt(-1, "a row value %s is not supported", sqlparser.String(x))
	}
	_, window := e.(sqlparser.WindowFunc)
	_, aggr := e.(sqlparser.AggrFunc)
	if window && (!aggr || t.find(0, "OVER") >= 0) {
		return "", t.errAt(t.find(0, "OVER"), "window functions (OVER) are not supported")
	}
	if aggr {
		return "", t.errAt(-1, "aggregate function %s is not supported (a layer maps rows one to one)", sqlparser.String(e))
	}
	return "", t.errAt(-1, "%s is not supported", sqlparser.String(e))
}

// literal is a string, number or boolean constant.
func (t *translator) literal(x *sqlparser.Literal) (string, error) {
	switch x.Type {
	case sqlparser.StrVal:
		return quote(x.Val), nil
	case sqlparser.IntVal, sqlparser.FloatVal, sqlparser.DecimalVal:
		return x.Val, nil
	}
	return "", t.errAt(-1, "literal %s is not supported (strings and numbers are)", sqlparser.String(x))
}

// quote is an expr string literal.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}

func (t *translator) comparison(x *sqlparser.ComparisonExpr) (string, error) {
	if x.Modifier != sqlparser.Missing {
		return "", t.errAt(t.find(0, "ANY", "ALL", "SOME"), "ANY/ALL comparisons are not supported")
	}
	if x.Escape != nil {
		return "", t.errAt(t.find(0, "ESCAPE"), "LIKE ... ESCAPE is not supported (\\ escapes)")
	}
	if op, ok := comparisons[x.Operator]; ok {
		return t.binary(x.Left, op, x.Right)
	}
	switch x.Operator {
	case sqlparser.InOp, sqlparser.NotInOp:
		list, ok := x.Right.(sqlparser.ValTuple)
		if !ok {
			if _, sub := x.Right.(*sqlparser.Subquery); sub {
				return "", t.errAt(t.find(1, "SELECT"), "subqueries are not supported")
			}
			return "", t.errAt(t.find(0, "IN"), "IN takes a list of values")
		}
		l, err := t.operand(x.Left)
		if err != nil {
			return "", err
		}
		items := make([]string, len(list))
		for i, v := range list {
			if items[i], err = t.expr(v); err != nil {
				return "", err
			}
		}
		s := l + " in [" + strings.Join(items, ", ") + "]"
		if x.Operator == sqlparser.NotInOp {
			return not(s, true, nil)
		}
		return s, nil
	case sqlparser.LikeOp:
		return t.call("like", x.Left, x.Right)
	case sqlparser.NotLikeOp:
		s, err := t.call("like", x.Left, x.Right)
		return not(s, false, err)
	case sqlparser.RegexpOp:
		return t.call("regexp_like", x.Left, x.Right)
	case sqlparser.NotRegexpOp:
		s, err := t.call("regexp_like", x.Left, x.Right)
		return not(s, false, err)
	}
	return "", t.errAt(t.find(0, "<=>"), "operator %s is not supported", x.Operator.ToString())
}

func (t *translator) between(x *sqlparser.BetweenExpr) (string, error) {
	l, err := t.operand(x.Left)
	if err != nil {
		return "", err
	}
	a, err := t.operand(x.From)
	if err != nil {
		return "", err
	}
	b, err := t.operand(x.To)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s >= %s && %s <= %s", l, a, l, b), nil
}

// caseExpr is CASE as nested ?: (a NULL condition takes the else branch,
// as chama's ?: does).
func (t *translator) caseExpr(x *sqlparser.CaseExpr) (string, error) {
	out := "nil"
	if x.Else != nil {
		s, err := t.operand(x.Else)
		if err != nil {
			return "", err
		}
		out = s
	}
	for i := len(x.Whens) - 1; i >= 0; i-- {
		w := x.Whens[i]
		var cond string
		var err error
		if x.Expr != nil {
			cond, err = t.binary(x.Expr, "==", w.Cond)
		} else {
			cond, err = t.expr(w.Cond)
		}
		if err != nil {
			return "", err
		}
		val, err := t.operand(w.Val)
		if err != nil {
			return "", err
		}
		out = "(" + cond + ") ? " + val + " : " + out
		if i > 0 {
			out = "(" + out + ")"
		}
	}
	return out, nil
}

// cast is CAST(x AS type) with the Hive types of the pre-pass.
func (t *translator) cast(x *sqlparser.CastExpr) (string, error) {
	typ := ""
	switch {
	case strings.HasPrefix(x.Type.Charset.Name, castMark):
		typ = strings.TrimPrefix(x.Type.Charset.Name, castMark)
	case strings.EqualFold(x.Type.Type, "double") && x.Type.Length == nil:
		typ = "double"
	}
	if typ == "" || x.Array {
		return "", t.errAt(t.find(0, "CAST"), "CAST to %s is not supported (INT, BIGINT, DOUBLE, STRING, BOOLEAN are)", sqlparser.String(x.Type))
	}
	return t.call(typ, x.Expr)
}

// funcExpr is a function call: the same name, lower-cased; the normal
// validation reports the unknown ones.
func (t *translator) funcExpr(x *sqlparser.FuncExpr) (string, error) {
	if !x.Qualifier.IsEmpty() {
		return "", t.errAt(-1, "qualified function %s is not supported", sqlparser.String(x))
	}
	name := x.Name.Lowered()
	switch name {
	case "isnull":
		name = "is_null"
	case "isnotnull":
		s, err := t.call("is_null", x.Exprs...)
		return not(s, false, err)
	}
	return t.call(name, x.Exprs...)
}
