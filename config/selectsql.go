package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/chama-data/chama/etl/funcs"
	"github.com/chama-data/chama/internal/hivesql"
)

// SQL is a layer written as one Hive SELECT statement (`select: |`),
// translated by internal/hivesql into the keys it stands for.
type SQL struct {
	Text string
	// Line is the config line of the statement's first line.
	Line int
}

// UnmarshalYAML keeps the statement's config line.
func (s *SQL) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: select: want one SELECT statement as text (select: |)", n.Line)
	}
	s.Text, s.Line = n.Value, n.Line
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		s.Line++ // the text starts below the | or >
	}
	return nil
}

// key is the key path of a problem with part (derive, filter, columns)
// of the layer at k, entry name: in a SELECT, its WHERE or the select
// list entry name (the expression shown is the translation).
func (s SQL) key(k, part, name string) string {
	switch {
	case !s.set() && name == "":
		return k + "." + part
	case !s.set():
		return k + "." + part + "." + name
	case part == "filter":
		return k + ".select (WHERE, as translated)"
	}
	return k + ".select (" + name + ", as translated)"
}

// set reports whether the layer is written as a SELECT.
func (s SQL) set() bool { return strings.TrimSpace(s.Text) != "" }

// problem is a translation error with the config line of its position.
func (s SQL) problem(err error) string {
	var he *hivesql.Error
	if errors.As(err, &he) && he.Line > 0 {
		return fmt.Sprintf("%s\n    at line %d, column %d of the statement (config line %d)", he.Msg, he.Line, he.Col, s.Line+he.Line-1)
	}
	return fmt.Sprintf("%v\n    in the statement at config line %d", err, s.Line)
}

// expandSelects fills the keys of the DWD tables and ADS entries written
// as a SELECT, so that validation and both evaluators see the same spec
// as written in YAML. A statement that cannot be translated is kept in
// selectErr and reported by validate.
func (t *Transform) expandSelects() {
	for _, name := range sortedKeys(t.DWD) {
		if d := t.DWD[name]; d != nil && d.Select.set() && !d.expanded {
			d.selectErr, d.expanded = t.expandDWD(name, d), true
		}
	}
	for _, name := range sortedKeys(t.ADS) {
		if a := t.ADS[name]; a != nil && a.Select.set() && !a.expanded {
			a.selectErr, a.expanded = t.expandADS(name, a), true
		}
	}
}

// expandDWD: FROM names the ODS table; a `*` keeps every ODS column, a
// plain column keeps it, and any other entry (or a renamed column) is a
// derived column. A LEFT JOIN is a lookup; an inner JOIN would drop rows,
// which a dwd table does not.
func (t *Transform) expandDWD(name string, d *DWDTable) string {
	for _, k := range []struct {
		key string
		set bool
	}{{"from", d.From != ""}, {"derive", len(d.Derive) > 0}, {"keep", len(d.Keep) > 0}, {"drop", len(d.Drop) > 0}, {"lookups", len(d.Lookups) > 0}} {
		if k.set {
			return fmt.Sprintf("set select or %s, not both (the SELECT says what %s says)", k.key, k.key)
		}
	}
	q, err := hivesql.TranslateIn(d.Select.Text, "dwd."+name+".")
	if err != nil {
		return d.Select.problem(err)
	}
	for _, j := range q.Joins {
		if !j.Left {
			return fmt.Sprintf("JOIN %s is an inner join, which drops the rows without a match, and a dwd table keeps every row: write LEFT JOIN here, or join in the ads layer\n    in the statement at config line %d", j.Alias, d.Select.Line)
		}
	}
	d.Lookups = lookupsOf(q.Joins)
	o := t.ODS[q.From]
	if o == nil {
		return fmt.Sprintf("FROM %s: unknown ods table (known: %s)\n    in the statement at config line %d", q.From, strings.Join(sortedKeys(t.ODS), ", "), d.Select.Line)
	}
	names := o.Columns.Names()
	for _, c := range q.Columns {
		names = append(names, c.Name)
	}
	if msg := t.checkBare(q, names); msg != "" {
		return fmt.Sprintf("%s\n    in the statement at config line %d", msg, d.Select.Line)
	}
	if q.Filter != "" {
		return fmt.Sprintf("WHERE is not supported in a dwd select (a dwd table keeps every row; filter in the ads layer)\n    in the statement at config line %d", d.Select.Line)
	}
	d.From = q.From
	star := slices.ContainsFunc(q.Columns, func(c hivesql.Column) bool { return c.Star })
	kept := map[string]bool{}
	for _, c := range q.Columns {
		switch {
		case c.Star:
		case c.Ref && c.Name == c.Expr && slices.Contains(o.Columns.Names(), c.Name):
			kept[c.Name] = true
		default:
			d.Derive = append(d.Derive, NamedExpr{Name: c.Name, Expr: c.Expr, Line: d.Select.Line})
		}
	}
	if msg := shadowed(d.Derive, o.Columns.Names()); msg != "" {
		return fmt.Sprintf("%s\n    in the statement at config line %d", msg, d.Select.Line)
	}
	if !star {
		// Without *, the ODS columns not listed are dropped.
		for _, n := range o.Columns.Names() {
			if !kept[n] {
				d.Drop = append(d.Drop, n)
			}
		}
	}
	return ""
}

// expandADS: FROM names the DWD table, WHERE is the filter, the select
// list the output columns (`*`: every DWD column, in order), each JOIN a
// lookup.
func (t *Transform) expandADS(name string, a *ADSSpec) string {
	for _, k := range []struct {
		key string
		set bool
	}{{"from", a.From != ""}, {"filter", a.Filter != ""}, {"columns", len(a.Columns) > 0}, {"lookups", len(a.Lookups) > 0}} {
		if k.set {
			return fmt.Sprintf("set select or %s, not both (the SELECT says what %s says)", k.key, k.key)
		}
	}
	q, err := hivesql.TranslateIn(a.Select.Text, "ads."+name+".")
	if err != nil {
		return a.Select.problem(err)
	}
	a.Lookups = lookupsOf(q.Joins)
	d := t.DWD[q.From]
	if d == nil {
		return fmt.Sprintf("FROM %s: unknown dwd table (known: %s)\n    in the statement at config line %d", q.From, strings.Join(sortedKeys(t.DWD), ", "), a.Select.Line)
	}
	a.From, a.Filter = q.From, q.Filter
	if t.ODS[d.From] != nil {
		if msg := t.checkBare(q, t.DWDColumns(q.From)); msg != "" {
			return fmt.Sprintf("%s\n    in the statement at config line %d", msg, a.Select.Line)
		}
	}
	seen := map[string]bool{}
	add := func(name, expr string) string {
		if seen[name] {
			return fmt.Sprintf("the select list names %s twice\n    in the statement at config line %d", name, a.Select.Line)
		}
		seen[name] = true
		a.Columns = append(a.Columns, NamedExpr{Name: name, Expr: expr, Line: a.Select.Line})
		return ""
	}
	for _, c := range q.Columns {
		if !c.Star {
			if msg := add(c.Name, c.Expr); msg != "" {
				return msg
			}
			continue
		}
		if o := t.ODS[d.From]; o == nil {
			return "" // the dwd table's from is reported by its own validation
		}
		for _, n := range t.DWDColumns(q.From) {
			if msg := add(n, n); msg != "" {
				return msg
			}
		}
	}
	return ""
}

// lookupsOf turns a statement's joins into lookups (their columns are
// used as dim_value calls in the translated expressions).
func lookupsOf(joins []hivesql.Join) []*Lookup {
	var out []*Lookup
	for _, j := range joins {
		l := &Lookup{Dim: j.Dim, As: j.Alias, Type: JoinInner, Where: j.Where, Distinct: j.Distinct, ID: j.ID}
		if j.Left {
			l.Type = JoinLeft
		}
		for _, k := range j.Keys {
			l.On = append(l.On, NamedExpr{Name: k.Col, Expr: k.Expr})
		}
		if j.Distinct {
			l.Project = j.Project
			if l.Project == nil { // SELECT DISTINCT *: every column
				l.Project = []string{}
			}
		}
		out = append(out, l)
	}
	return out
}

// checkBare resolves the bare column names of a statement with joins as
// Hive does, against every table: a name of the FROM table (cols) and of
// a joined dimension is ambiguous, and one of a dimension only must be
// written with its alias (chama reads bare names from the FROM table).
func (t *Transform) checkBare(q *hivesql.Query, cols []string) string {
	for _, n := range q.Bare {
		for _, j := range q.Joins {
			dc := j.Project
			if dc == nil {
				if d := t.Dims[j.Dim]; d != nil {
					dc = d.Columns.Names()
				}
			}
			if !slices.Contains(dc, n) {
				continue
			}
			if slices.Contains(cols, n) {
				return fmt.Sprintf("%s is a column of both %s and %s: qualify it (Hive: ambiguous column reference)", n, q.From, j.Alias)
			}
			return fmt.Sprintf("%s is a column of %s, not of %s: write %s.%s", n, j.Alias, q.From, j.Alias, n)
		}
	}
	return ""
}

// shadowed refuses, in a DWD SELECT, a new column named like an ODS
// column that a later entry reads: Hive's later expressions (and ON keys)
// read the ODS column, chama's would read the new one.
func shadowed(derive []NamedExpr, ods []string) string {
	for i, x := range derive {
		if !slices.Contains(ods, x.Name) {
			continue
		}
		for _, y := range derive[i+1:] {
			if slices.Contains(funcs.Idents(y.Expr), x.Name) {
				return fmt.Sprintf("%s AS %s replaces the ods column %s, which %s reads after it: Hive would read the ods column there, chama the new one; give the new column another name",
					x.Expr, x.Name, x.Name, y.Name)
			}
		}
	}
	return ""
}
