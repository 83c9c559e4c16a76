package hivesql

import (
	"slices"
	"strconv"
	"strings"

	"vitess.io/vitess/go/vt/sqlparser"
)

// Join is a `[LEFT] JOIN dim d ON ...` of the statement: a lookup of a
// dimension table. A column of it (d.col) translates to
// dim_value("<ID>", "col", <key expressions>); an inner join adds
// dim_match to the layer's condition (config does that).
type Join struct {
	Dim   string // the dimension table (in a subquery: its FROM)
	Alias string // the name the statement gives it (default Dim)
	ID    string // the lookup's name in dim_value and dim_match
	Left  bool   // LEFT [OUTER] JOIN; else an inner join
	// Keys pair dim columns with expressions over the FROM table.
	Keys []Key
	// Where is what ON tests of the dim alone and a subquery's WHERE, as
	// an expression over the dim's columns ("" when nothing).
	Where string
	// Distinct and Project come from a subquery SELECT [DISTINCT] list;
	// Project is nil for a plain table or `*`.
	Distinct bool
	Project  []string
}

// Key is one `table expression = d.column` of an ON clause.
type Key struct{ Col, Expr string }

// joins reads a FROM clause with joins: the left-most table is the FROM
// table, each join a lookup, left to right.
func (t *translator) joins(fromIdx int, j *sqlparser.JoinTableExpr, q *Query) error {
	switch l := j.LeftExpr.(type) {
	case *sqlparser.JoinTableExpr:
		if err := t.joins(fromIdx, l, q); err != nil {
			return err
		}
	case *sqlparser.AliasedTableExpr:
		if err := t.baseTable(fromIdx, l, q); err != nil {
			return err
		}
	default:
		return t.errAt(t.toks[fromIdx].next, "FROM takes a table name and an optional alias only")
	}
	jn := &Join{}
	switch j.Join {
	case sqlparser.NormalJoinType:
	case sqlparser.LeftJoinType:
		jn.Left = true
	case sqlparser.RightJoinType:
		return t.errAt(t.find(fromIdx, "RIGHT"), "RIGHT JOIN is not supported (a dimension lookup is JOIN or LEFT JOIN, the dimension on the right)")
	default:
		return t.errAt(t.find(fromIdx, "NATURAL", "STRAIGHT_JOIN"), "%s is not supported (JOIN and LEFT JOIN ... ON are)", j.Join.ToString())
	}
	if err := t.joinTable(fromIdx, j.RightExpr, jn); err != nil {
		return err
	}
	if j.Condition == nil || j.Condition.On == nil {
		if j.Condition != nil && len(j.Condition.Using) > 0 {
			return t.errAt(t.find(fromIdx, "USING"), "JOIN ... USING is not supported: write ON %s.col = %s.col", t.fromName(), jn.Alias)
		}
		return t.errAt(t.find(fromIdx, "JOIN", ","), "JOIN needs ON <table column> = %s.<column> (a cross join is not supported)", jn.Alias)
	}
	if t.joinByAlias(jn.Alias) != nil || strings.EqualFold(jn.Alias, t.fromName()) {
		return t.errAt(t.find(fromIdx, jn.Alias), "%s names two tables: give the join an alias", jn.Alias)
	}
	jn.ID = t.idPrefix + jn.Alias
	t.joinList = append(t.joinList, jn)
	t.onIdx = t.findIdx(t.onIdx+1, "ON")
	if err := t.on(jn, j.Condition.On); err != nil {
		return err
	}
	t.ready[jn.Alias] = true
	q.Joins = append(q.Joins, *jn)
	return nil
}

// baseTable is the FROM table: a name and an optional alias.
func (t *translator) baseTable(fromIdx int, f *sqlparser.AliasedTableExpr, q *Query) error {
	tx, ok := f.Expr.(sqlparser.TableName)
	if !ok {
		if _, sub := f.Expr.(*sqlparser.DerivedTable); sub {
			return t.errAt(t.find(fromIdx, "SELECT"), "subqueries are not supported (but as a joined dimension)")
		}
		return t.errAt(t.toks[fromIdx].next, "FROM takes a table name and an optional alias only")
	}
	if !tx.Qualifier.IsEmpty() {
		return t.errAt(t.toks[fromIdx].next, "FROM %s.%s: name the table only (%s)", tx.Qualifier.String(), tx.Name.String(), tx.Name.String())
	}
	if len(f.Partitions) > 0 || len(f.Hints) > 0 || len(f.Columns) > 0 {
		return t.errAt(t.toks[fromIdx].next, "FROM takes a table name and an optional alias only")
	}
	q.From = tx.Name.String()
	t.table = q.From
	t.alias = f.As.String()
	return nil
}

// joinTable reads the right side of a join: a dimension table with an
// optional alias, or a subquery SELECT [DISTINCT] cols FROM dim [WHERE].
func (t *translator) joinTable(fromIdx int, te sqlparser.TableExpr, jn *Join) error {
	f, ok := te.(*sqlparser.AliasedTableExpr)
	if !ok {
		return t.errAt(t.find(fromIdx, "("), "a join's right side is a dimension table or (SELECT ... FROM dim) alias")
	}
	jn.Alias = f.As.String()
	switch x := f.Expr.(type) {
	case sqlparser.TableName:
		if !x.Qualifier.IsEmpty() || len(f.Partitions) > 0 || len(f.Hints) > 0 || len(f.Columns) > 0 {
			return t.errAt(t.find(fromIdx, x.Name.String()), "JOIN takes a dimension table name and an optional alias only")
		}
		jn.Dim = x.Name.String()
		if jn.Alias == "" {
			jn.Alias = jn.Dim
		}
		return nil
	case *sqlparser.DerivedTable:
		if jn.Alias == "" {
			return t.errAt(t.find(fromIdx, "("), "a joined subquery needs an alias: (SELECT ...) d")
		}
		return t.dimSubquery(fromIdx, x, jn)
	}
	return t.errAt(t.find(fromIdx, "JOIN"), "a join's right side is a dimension table or (SELECT ... FROM dim) alias")
}

// dimSubquery reads (SELECT [DISTINCT] col, ... FROM dim [alias] [WHERE c]).
func (t *translator) dimSubquery(fromIdx int, dt *sqlparser.DerivedTable, jn *Join) error {
	subIdx := t.findIdx(fromIdx+1, "SELECT")
	sel, ok := dt.Select.(*sqlparser.Select)
	if !ok || dt.Lateral {
		return t.errAt(t.toks[max(subIdx, 0)].pos, "a joined subquery is one SELECT [DISTINCT] col, ... FROM dim [WHERE ...]")
	}
	switch {
	case sel.With != nil, sel.GroupBy != nil, sel.Having != nil, len(sel.Windows) > 0, len(sel.OrderBy) > 0, sel.Limit != nil, sel.Into != nil, sel.Lock != sqlparser.NoLock:
		return t.errAt(t.toks[max(subIdx, 0)].pos, "a joined subquery is one SELECT [DISTINCT] col, ... FROM dim [WHERE ...]: no GROUP BY, ORDER BY, LIMIT or WITH")
	}
	if len(sel.From) != 1 {
		return t.errAt(t.find(subIdx, "JOIN", ","), "a joined subquery reads one dimension table")
	}
	f, ok := sel.From[0].(*sqlparser.AliasedTableExpr)
	var tn sqlparser.TableName
	if ok {
		tn, ok = f.Expr.(sqlparser.TableName)
	}
	if !ok || !tn.Qualifier.IsEmpty() {
		return t.errAt(t.find(subIdx, "FROM"), "a joined subquery reads one dimension table, by name")
	}
	jn.Dim, jn.Distinct = tn.Name.String(), sel.Distinct
	inner := []string{jn.Dim}
	if a := f.As.String(); a != "" {
		inner = []string{a}
	}
	for _, se := range sel.SelectExprs.Exprs {
		switch x := se.(type) {
		case *sqlparser.StarExpr:
			jn.Project = nil
			if len(sel.SelectExprs.Exprs) > 1 {
				return t.errAt(t.find(subIdx, "*"), "a joined subquery selects * or columns, not both")
			}
		case *sqlparser.AliasedExpr:
			c, ok := x.Expr.(*sqlparser.ColName)
			if !ok || (!x.As.IsEmpty() && x.As.String() != c.Name.String()) {
				return t.errAt(t.toks[subIdx].pos, "a joined subquery selects plain columns (%s): compute in the outer SELECT", sqlparser.String(x))
			}
			if q := c.Qualifier; !q.IsEmpty() && (!q.Qualifier.IsEmpty() || !slices.ContainsFunc(inner, func(n string) bool { return strings.EqualFold(n, q.Name.String()) })) {
				return t.errAt(t.find(subIdx, q.Name.String()), "%s: the subquery reads %s only", sqlparser.String(c), inner[0])
			}
			jn.Project = append(jn.Project, c.Name.String())
		default:
			return t.errAt(t.toks[subIdx].pos, "%s is not supported in a joined subquery", sqlparser.String(se))
		}
	}
	if sel.Where != nil {
		w, err := t.dimExpr(inner, sel.Where.Expr)
		if err != nil {
			return err
		}
		jn.Where = w
	}
	return nil
}

// on reads a join's ON: each AND-ed part is a key (table expression =
// d.column) or a test of the dim's columns alone (kept as Where). Columns
// are qualified there, so that which side each belongs to is plain.
func (t *translator) on(jn *Join, on sqlparser.Expr) error {
	onPos := t.toks[max(t.onIdx, 0)].pos
	var where []string
	for _, part := range sqlparser.SplitAndExpression(nil, on) {
		refs := t.tablesIn(part)
		if refs[""] {
			return t.errAt(t.findCol(t.onIdx, "", unqualified(part)), "qualify the columns of ON (%s.col = %s.col) in %s", t.fromName(), jn.Alias, sqlparser.String(part))
		}
		if k, ok := t.key(jn, part); ok {
			if jn.Project != nil && !slices.Contains(jn.Project, k.col) {
				return t.errAt(onPos, "ON %s: the subquery %s does not select %s", sqlparser.String(part), jn.Alias, k.col)
			}
			e, err := t.expr(k.other)
			if err != nil {
				return err
			}
			jn.Keys = append(jn.Keys, Key{Col: k.col, Expr: e})
			continue
		}
		if len(refs) == 1 && t.isAlias(refs, jn.Alias) {
			t.onJoin = jn
			w, err := t.dimExpr([]string{jn.Alias}, part)
			t.onJoin = nil
			if err != nil {
				return err
			}
			where = append(where, w)
			continue
		}
		if jn.Left {
			return t.errAt(onPos, "ON %s: in a LEFT JOIN a condition on %s keeps its rows with NULLs where it is false; chama's lookups do not support that (moving it to WHERE would drop those rows instead)",
				sqlparser.String(part), t.fromName())
		}
		return t.errAt(onPos, "ON %s: a join compares a column of %s with an expression over %s (a key), or tests %s's columns alone; move other conditions to WHERE",
			sqlparser.String(part), jn.Alias, t.fromName(), jn.Alias)
	}
	if len(jn.Keys) == 0 {
		return t.errAt(onPos, "ON needs a key: %s.<column> = %s.<column>", t.fromName(), jn.Alias)
	}
	if jn.Where != "" {
		where = append([]string{jn.Where}, where...)
	}
	if len(where) > 1 {
		for i := range where {
			where[i] = "(" + where[i] + ")"
		}
	}
	jn.Where = strings.Join(where, " && ")
	return nil
}

// isAlias reports whether the one qualifier in refs is alias (in any case).
func (t *translator) isAlias(refs map[string]bool, alias string) bool {
	for r := range refs {
		if !strings.EqualFold(r, alias) {
			return false
		}
	}
	return len(refs) == 1
}

// keyPart is one side of an ON equality that is a column of the join.
type keyPart struct {
	col   string
	other sqlparser.Expr
}

// key reports whether part is `expr = d.col` (either way round) with a
// table column on the expr side and none of d's.
func (t *translator) key(jn *Join, part sqlparser.Expr) (keyPart, bool) {
	c, ok := part.(*sqlparser.ComparisonExpr)
	if !ok || c.Operator != sqlparser.EqualOp {
		return keyPart{}, false
	}
	for _, side := range [][2]sqlparser.Expr{{c.Left, c.Right}, {c.Right, c.Left}} {
		col, ok := side[0].(*sqlparser.ColName)
		if !ok || !strings.EqualFold(col.Qualifier.Name.String(), jn.Alias) || !col.Qualifier.Qualifier.IsEmpty() {
			continue
		}
		refs := t.tablesIn(side[1])
		if len(refs) > 0 && !t.uses(refs, jn.Alias) {
			return keyPart{col: col.Name.String(), other: side[1]}, true
		}
	}
	return keyPart{}, false
}

// uses reports whether refs holds alias (in any case).
func (t *translator) uses(refs map[string]bool, alias string) bool {
	for r := range refs {
		if strings.EqualFold(r, alias) {
			return true
		}
	}
	return false
}

// tablesIn lists the qualifiers of the columns in e ("" for an
// unqualified one; the FROM table under its own name).
func (t *translator) tablesIn(e sqlparser.Expr) map[string]bool {
	refs := map[string]bool{}
	_ = sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		if c, ok := n.(*sqlparser.ColName); ok {
			refs[c.Qualifier.Name.String()] = true
		}
		return true, nil
	}, e)
	return refs
}

// unqualified is the first unqualified column name in e.
func unqualified(e sqlparser.Expr) string {
	name := ""
	_ = sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		if c, ok := n.(*sqlparser.ColName); ok && c.Qualifier.IsEmpty() && name == "" {
			name = c.Name.String()
		}
		return true, nil
	}, e)
	return name
}

// dimExpr translates an expression over a dim's columns alone, each
// written bare or qualified by one of names.
func (t *translator) dimExpr(names []string, e sqlparser.Expr) (string, error) {
	save := t.dimNames
	t.dimNames = names
	defer func() { t.dimNames = save }()
	return t.expr(e)
}

// joinByAlias is the join a qualifier names (nil: none).
func (t *translator) joinByAlias(a string) *Join {
	for _, j := range t.joinList {
		if strings.EqualFold(j.Alias, a) {
			return j
		}
	}
	return nil
}

// colRef translates a column reference: a column of the FROM table by its
// name, a column of a join as its dim_value call.
func (t *translator) colRef(c *sqlparser.ColName) (string, error) {
	q, name := c.Qualifier, c.Name.String()
	if t.dimNames != nil {
		if !(q.IsEmpty() || q.Qualifier.IsEmpty() && slices.ContainsFunc(t.dimNames, func(n string) bool { return strings.EqualFold(n, q.Name.String()) })) {
			return "", t.errAt(t.find(0, q.Name.String()), "%s: only the dimension's own columns can be used here", sqlparser.String(c))
		}
		if j := t.onJoin; j != nil && j.Project != nil && !slices.Contains(j.Project, name) {
			return "", t.errAt(t.findCol(t.onIdx, q.Name.String(), name), "%s: the subquery %s does not select %s", sqlparser.String(c), j.Alias, name)
		}
		return name, nil
	}
	if q.IsEmpty() && len(t.joinList) > 0 {
		t.bare[name] = true
	}
	if !q.IsEmpty() && q.Qualifier.IsEmpty() {
		if j := t.joinByAlias(q.Name.String()); j != nil {
			return t.dimValue(j, name, c)
		}
	}
	if err := t.qualifier(q); err != nil {
		return "", err
	}
	return name, nil
}

// dimValue is the dim_value call of column name of join j.
func (t *translator) dimValue(j *Join, name string, c *sqlparser.ColName) (string, error) {
	if !t.ready[j.Alias] {
		return "", t.errAt(t.find(0, sqlparser.String(c)), "%s: a join's own columns in its ON are keys (= a table expression) or tests of the dimension alone", sqlparser.String(c))
	}
	if j.Project != nil && !slices.Contains(j.Project, name) {
		return "", t.errAt(t.find(0, j.Alias), "%s: the subquery %s does not select %s", sqlparser.String(c), j.Alias, name)
	}
	keys := make([]string, len(j.Keys))
	for i, k := range j.Keys {
		keys[i] = k.Expr
	}
	return "dim_value(" + strconv.Quote(j.ID) + ", " + strconv.Quote(name) + ", " + strings.Join(keys, ", ") + ")", nil
}

// findCol is the offset of the column reference q.name (q "": a bare
// name, not after a dot) at or after token index from, or -1.
func (t *translator) findCol(from int, q, name string) int {
	for i := max(from, 0); i < len(t.toks); i++ {
		switch {
		case q == "" && strings.EqualFold(t.toks[i].raw, name) && (i == 0 || t.toks[i-1].raw != "."):
			return t.toks[i].pos
		case q != "" && i+2 < len(t.toks) && strings.EqualFold(t.toks[i].raw, q) && t.toks[i+1].raw == "." && strings.EqualFold(t.toks[i+2].raw, name):
			return t.toks[i].pos
		}
	}
	return -1
}
