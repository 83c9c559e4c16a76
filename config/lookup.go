package config

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/chama-data/chama/etl/funcs"
)

// DimTable is a dimension table: a small table (a mapping such as
// dim_domain_interface_di) read whole when a run starts and joined to a
// layer's rows by its lookups.
type DimTable struct {
	FileTable `yaml:",inline"`
	// Path is a folder relative to the source root (a Hive partition:
	// every file in it, e.g. dim/dim_domain_interface_di/dt={date});
	// File names one file instead. {date} is the run's period date.
	Path string `yaml:"path"`
	File string `yaml:"file"`
	// MaxRows and MaxBytes bound what one lookup of the table holds in
	// memory (defaults 1,000,000 rows and 256 MiB); a table above either
	// fails the run: a dimension that grew past them is a problem to see.
	MaxRows  int   `yaml:"max_rows"`
	MaxBytes int64 `yaml:"max_bytes"`
}

// Dimension table limits when unset.
const (
	DefaultDimMaxRows  = 1_000_000
	DefaultDimMaxBytes = 256 << 20
)

// Join types of a lookup.
const (
	JoinInner = "inner"
	JoinLeft  = "left"
)

// Lookup joins a layer's rows to a dimension table on equal keys, as
// Hive's `[LEFT] JOIN dim ON row.k = dim.k`: an inner lookup keeps only
// the rows that have a match (the others are counted filtered), a left
// lookup keeps every row and gives NULL columns where none matches.
type Lookup struct {
	Dim string `yaml:"dim"`
	// As names the lookup in the layer (default the dim's name).
	As   string `yaml:"as"`
	Type string `yaml:"type"` // inner (default, as Hive's JOIN) or left
	// On pairs each key column of the dim with an expression over the
	// layer's columns: `dim_column: expression`.
	On Exprs `yaml:"on"`
	// Where keeps the dim rows it is true for before the join (an
	// expression over the dim's columns), as the WHERE of a subquery.
	Where string `yaml:"where"`
	// Distinct collapses dim rows equal on the key and the looked-up
	// columns (SELECT DISTINCT); without it a key two dim rows share is
	// an error, since Hive's join would repeat the row.
	Distinct bool `yaml:"distinct"`
	// Columns are what the lookup adds to the layer: `name: dim_column`.
	Columns Exprs `yaml:"columns"`

	// ID names the lookup in dim_value and dim_match calls
	// (<layer>.<table>.<as>, e.g. ads.51010.dim_domain_interface).
	ID string `yaml:"-"`
	// Project is what Distinct compares (a SELECT DISTINCT's list; from
	// YAML, the key and the looked-up columns).
	Project []string `yaml:"-"`
}

// alias is the lookup's name in its layer.
func (l *Lookup) alias() string {
	if l.As != "" {
		return l.As
	}
	return l.Dim
}

// Inner reports whether rows without a match are dropped.
func (l *Lookup) Inner() bool { return l.Type == JoinInner }

// keyArgs are the On expressions, as the key arguments of a call.
func (l *Lookup) keyArgs() string {
	out := make([]string, len(l.On))
	for i, o := range l.On {
		out[i] = o.Expr
	}
	return strings.Join(out, ", ")
}

// ValueExpr is the expression of dim column col for the current row.
func (l *Lookup) ValueExpr(col string) string {
	return fmt.Sprintf("dim_value(%s, %s, %s)", strconv.Quote(l.ID), strconv.Quote(col), l.keyArgs())
}

// MatchExpr is true when a dim row matches the current row.
func (l *Lookup) MatchExpr() string {
	return fmt.Sprintf("dim_match(%s, %s)", strconv.Quote(l.ID), l.keyArgs())
}

// KeyCols are the dim columns the lookup compares.
func (l *Lookup) KeyCols() []string { return l.On.Names() }

// Names are the columns the lookups of an ADS entry add, each standing
// for its dim_value call (funcs.Compile replaces them).
func (a *ADSSpec) Names() map[string]string {
	if len(a.Lookups) == 0 {
		return nil
	}
	m := map[string]string{}
	for _, l := range a.Lookups {
		for _, c := range l.Columns {
			m[c.Name] = l.ValueExpr(c.Expr)
		}
	}
	return m
}

// Condition is the entry's filter with its inner lookups: a row is
// routed when every inner lookup matches and the filter is true.
func (a *ADSSpec) Condition() string {
	var parts []string
	for _, l := range a.Lookups {
		if l.Inner() {
			parts = append(parts, l.MatchExpr())
		}
	}
	if a.Filter != "" {
		if len(parts) == 0 {
			return a.Filter
		}
		parts = append(parts, "("+a.Filter+")")
	}
	return strings.Join(parts, " && ")
}

// Lookups lists every lookup of the transform section, DWD tables first,
// each table's in order.
func (t *Transform) Lookups() []*Lookup {
	var out []*Lookup
	for _, n := range sortedKeys(t.DWD) {
		if d := t.DWD[n]; d != nil {
			out = append(out, d.Lookups...)
		}
	}
	for _, n := range sortedKeys(t.ADS) {
		if a := t.ADS[n]; a != nil {
			out = append(out, a.Lookups...)
		}
	}
	return out
}

func (d *DimTable) applyDefaults() {
	d.FileTable.applyDefaults()
	if d.MaxRows == 0 {
		d.MaxRows = DefaultDimMaxRows
	}
	if d.MaxBytes == 0 {
		d.MaxBytes = DefaultDimMaxBytes
	}
}

// Type is the type of column c ("" when the table has no such column).
func (d *DimTable) Type(c string) string {
	for _, x := range d.Columns {
		if x.Name == c {
			return x.Expr
		}
	}
	return ""
}

// Location is the folder or file of the table for a period's date.
func (d *DimTable) Location(date string) (p string, isFile bool) {
	if d.File != "" {
		return strings.ReplaceAll(d.File, "{date}", date), true
	}
	return strings.ReplaceAll(d.Path, "{date}", date), false
}

// expandLookups names each lookup and gives a DWD table's lookup columns
// their place as derived columns (after the table's own), so that both
// evaluators, validation and the ADS layer see them as columns.
func (t *Transform) expandLookups() {
	for _, d := range t.Dims {
		if d != nil {
			d.applyDefaults()
		}
	}
	for _, name := range sortedKeys(t.DWD) {
		d := t.DWD[name]
		if d == nil || d.lookupsExpanded {
			continue
		}
		d.lookupsExpanded = true
		for i, l := range d.Lookups {
			l.prepare("dwd." + name)
			for _, c := range l.Columns {
				d.Derive = append(d.Derive, NamedExpr{Name: c.Name, Expr: l.ValueExpr(c.Expr), Line: c.Line,
					Key: fmt.Sprintf("lookups[%d].columns.%s", i, c.Name)})
			}
		}
	}
	for _, name := range sortedKeys(t.ADS) {
		if a := t.ADS[name]; a != nil {
			for _, l := range a.Lookups {
				l.prepare("ads." + name)
			}
		}
	}
}

// prepare sets the lookup's defaults and ID in the layer table at prefix.
func (l *Lookup) prepare(prefix string) {
	if l == nil {
		return
	}
	if l.Type == "" {
		l.Type = JoinInner
	}
	if l.ID == "" {
		l.ID = prefix + "." + l.alias()
	}
	if l.Distinct && l.Project == nil {
		l.Project = append(l.KeyCols(), l.dimColumns()...)
	}
}

// dimColumns are the dim columns the lookup's Columns read.
func (l *Lookup) dimColumns() []string {
	out := make([]string, len(l.Columns))
	for i, c := range l.Columns {
		out[i] = c.Expr
	}
	return out
}

// Declare builds the lookup's funcs declaration (no rows) from its dim.
func (l *Lookup) Declare(d *DimTable) (*funcs.Lookup, error) {
	cols, types := d.Columns.Names(), make([]string, len(d.Columns))
	for i, c := range d.Columns {
		types[i] = c.Expr
	}
	fl, err := funcs.NewLookup(l.ID, l.Dim, cols, types, l.KeyCols())
	if err != nil {
		return nil, err
	}
	if l.Distinct {
		proj := l.Project
		if len(proj) == 0 { // SELECT DISTINCT *
			proj = cols
		}
		if err := fl.SetDistinct(proj); err != nil {
			return nil, err
		}
	}
	return fl, nil
}

// declareLookups adds every lookup whose dim is known to sh, for
// validation.
func (t *Transform) declareLookups(sh *funcs.Shared) {
	sh.Lookups = map[string]*funcs.Lookup{}
	for _, l := range t.Lookups() {
		if l == nil {
			continue
		}
		if d := t.Dims[l.Dim]; d != nil {
			fl, err := l.Declare(d)
			if err != nil && l.Distinct { // a bad distinct list is reported at the lookup
				c := *l
				c.Distinct = false
				fl, err = c.Declare(d)
			}
			if err == nil {
				sh.Lookups[l.ID] = fl
			}
		}
	}
}

// validate checks one dimension table (at k).
func (d *DimTable) validate(c *Config, k string, bad badFunc) {
	d.FileTable.validate(c, k, bad)
	switch {
	case d.Path == "" && d.File == "":
		bad(k+".path", "missing: a folder (every file in it, e.g. dim/mapping/dt={date}) or file: one file")
	case d.Path != "" && d.File != "":
		bad(k+".file", "set path (a folder) or file, not both")
	}
	if strings.Contains(d.Path+d.File, "{hour}") {
		bad(k+".path", "a dimension table is read once a run: {date} only, no {hour}")
	}
	if d.MaxRows < 1 {
		bad(k+".max_rows", "must be at least 1")
	}
	if d.MaxBytes < 1 {
		bad(k+".max_bytes", "must be at least 1")
	}
}

// validateLookups checks a layer table's lookups (at k): visible are the
// columns their keys may use; it returns the columns they add. A DWD
// table keeps every row, so only left lookups belong there.
func (t *Transform) validateLookups(ls []*Lookup, sel SQL, dwd bool, visible []string, set *funcs.Set, k string, bad badFunc) []string {
	seen := map[string]bool{}
	have := map[string]bool{}
	for _, v := range visible {
		have[v] = true
	}
	names := map[string]string{}
	var added []string
	for i, l := range ls {
		lk := fmt.Sprintf("%s.lookups[%d]", k, i)
		if sel.set() && l != nil {
			lk = fmt.Sprintf("%s.select (JOIN %s, as translated)", k, l.alias())
		}
		if l == nil {
			bad(lk, "empty lookup")
			continue
		}
		d := t.Dims[l.Dim]
		if d == nil {
			bad(lk+".dim", "unknown dim %q (declare it under transform.dims)", l.Dim)
			continue
		}
		if seen[l.alias()] {
			bad(lk+".as", "two lookups are named %s in one table: set as", l.alias())
		}
		seen[l.alias()] = true
		if !validColumn(l.alias()) {
			bad(lk+".as", "a lookup name is letters, digits and _")
		}
		switch {
		case l.Type != JoinInner && l.Type != JoinLeft:
			bad(lk+".type", "%q is not inner or left", l.Type)
		case dwd && l.Inner():
			bad(lk+".type", "an inner lookup drops rows, and a dwd table keeps every row: use type: left here, or put the inner lookup in the ads entry")
		}
		keysOK := t.validateOn(l, d, visible, names, set, lk, bad)
		if l.Where != "" {
			if _, err := set.Compile(l.Where, d.Columns.Names()); err != nil {
				bad(lk+".where", "in: %s\n    %v", l.Where, err)
			}
		}
		for _, c := range l.Columns {
			ck := lk + ".columns." + c.Name
			switch {
			case !validColumn(c.Name):
				bad(ck, "a column name is letters, digits and _ and starts with a letter or _")
			case have[c.Name]:
				bad(ck, "%s is already a column here: name the looked-up column differently", c.Name)
			case d.Type(c.Expr) == "":
				bad(ck, "%q is not a column of dim %s (it has %s)", c.Expr, l.Dim, strings.Join(d.Columns.Names(), ", "))
			}
			have[c.Name] = true
			names[c.Name] = l.ValueExpr(c.Expr)
			added = append(added, c.Name)
		}
		if !keysOK {
			continue // reported above
		}
		if _, err := l.Declare(d); err != nil {
			bad(lk+".on", "%v", err)
		} else if l.Inner() {
			if _, err := set.Compile(l.MatchExpr(), visible, names); err != nil {
				bad(lk+".on", "in: %s\n    %v", l.MatchExpr(), err)
			}
		}
	}
	return added
}

// validateOn checks a lookup's key pairs: dim key columns and the
// expressions (over visible and the earlier lookups' names) they match.
// It reports whether they are all usable.
func (t *Transform) validateOn(l *Lookup, d *DimTable, visible []string, names map[string]string, set *funcs.Set, lk string, bad badFunc) bool {
	ok := true
	if len(l.On) == 0 {
		bad(lk+".on", "missing: pair each key column of dim %s with an expression, e.g. on: {domain: domain}", l.Dim)
		ok = false
	}
	for _, o := range l.On {
		if d.Type(o.Name) == "" {
			bad(lk+".on."+o.Name, "%q is not a column of dim %s (it has %s)", o.Name, l.Dim, strings.Join(d.Columns.Names(), ", "))
			ok = false
			continue
		}
		if _, err := set.Compile(o.Expr, visible, names); err != nil {
			bad(lk+".on."+o.Name, "%s\n    in: %s\n    %v", exprAt(o), o.Expr, err)
			ok = false
		}
	}
	return ok
}
