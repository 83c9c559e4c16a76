package funcs

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// Lookup is one dimension join of a layer, loaded for a run: the rows of a
// dimension table (after the join's where and distinct) by the text of
// their key columns. dim_value and dim_match read it; the transform stage
// fills it (etl/transform/dims.go) and config declares it, without rows,
// so that calls are checked at validation.
//
// It follows Hive's equi-join: a NULL key on either side never matches;
// a key that two dimension rows share would repeat the joined row in Hive,
// so Add refuses it rather than pick one.
type Lookup struct {
	ID  string // the join's name in dim_value and dim_match calls
	Dim string // the dimension table, for messages
	// Cols are the dimension's columns and Types their types (string,
	// bigint, double); KeyCols the columns the join compares.
	Cols, Types []string
	KeyCols     []string
	// Distinct collapses rows equal on Project (SELECT DISTINCT).
	Distinct bool
	Project  []string

	col     map[string]int
	keyIdx  []int
	keyNum  []bool // key column is bigint
	projIdx []int
	rows    [][]Val
	origin  []string
	index   map[string]int32
	bytes   int64
	// Load counts.
	NullKeys  int64 // rows whose key has a NULL (never match)
	Collapsed int64 // rows distinct dropped as equal to a kept one
}

// NewLookup declares a join on the dimension columns cols (of types).
func NewLookup(id, dim string, cols, types, keyCols []string) (*Lookup, error) {
	l := &Lookup{ID: id, Dim: dim, Cols: cols, Types: types, KeyCols: keyCols, col: map[string]int{}, index: map[string]int32{}}
	for i, c := range cols {
		l.col[c] = i
	}
	for _, k := range keyCols {
		i, ok := l.col[k]
		if !ok {
			return nil, fmt.Errorf("lookup %s: %s is not a column of dim %s", id, k, dim)
		}
		if types[i] == "double" {
			return nil, fmt.Errorf("lookup %s: key column %s is a double: Hive compares double keys as numbers, chama refuses them (cast the dimension column to bigint or string)", id, k)
		}
		l.keyIdx = append(l.keyIdx, i)
		l.keyNum = append(l.keyNum, types[i] == "bigint")
	}
	return l, nil
}

// SetDistinct makes Add collapse rows equal on the columns project.
func (l *Lookup) SetDistinct(project []string) error {
	l.Distinct, l.Project, l.projIdx = true, project, nil
	for _, c := range project {
		i, ok := l.col[c]
		if !ok {
			return fmt.Errorf("lookup %s: distinct column %s is not a column of dim %s", l.ID, c, l.Dim)
		}
		l.projIdx = append(l.projIdx, i)
	}
	return nil
}

// Rows is the number of rows a join can match.
func (l *Lookup) Rows() int { return len(l.rows) }

// Bytes is what the loaded keys and values hold.
func (l *Lookup) Bytes() int64 { return l.bytes }

// HasColumn reports whether dim_value may read column c.
func (l *Lookup) HasColumn(c string) bool { _, ok := l.col[c]; return ok }

// DuplicateKeyError is a key two dimension rows share.
type DuplicateKeyError struct {
	Lookup, Dim, Key string
	First, Second    string // where each row was read
}

func (e *DuplicateKeyError) Error() string {
	return fmt.Sprintf("dim %s: key %s appears twice (%s and %s): a Hive join would repeat every matching row, chama refuses; make the key unique (distinct, or a where that keeps one row per key)", e.Dim, e.Key, e.First, e.Second)
}

// Add adds one dimension row (values in Cols order); origin says where it
// was read ("file line n"). A row with a NULL key is counted and left
// out: it can never match.
func (l *Lookup) Add(row []Val, origin string) error {
	var kb []byte
	for _, i := range l.keyIdx {
		v := row[i]
		if v.K == KNull {
			l.NullKeys++
			return nil
		}
		s, _ := v.Str()
		kb = l.appendPart(kb, s)
	}
	key := string(kb)
	if at, ok := l.index[key]; ok {
		if l.Distinct && l.sameProjection(l.rows[at], row) {
			l.Collapsed++
			return nil
		}
		return &DuplicateKeyError{Lookup: l.ID, Dim: l.Dim, Key: l.keyText(row), First: l.origin[at], Second: origin}
	}
	l.index[key] = int32(len(l.rows))
	kept := make([]Val, len(row))
	copy(kept, row)
	l.rows = append(l.rows, kept)
	l.origin = append(l.origin, origin)
	l.bytes += int64(len(key)) + 16
	for _, v := range row {
		l.bytes += int64(len(v.S)) + 8
	}
	return nil
}

func (l *Lookup) sameProjection(a, b []Val) bool {
	for _, i := range l.projIdx {
		if a[i].K != b[i].K || a[i].Box() != b[i].Box() {
			return false
		}
	}
	return true
}

// keyText shows a row's key in messages: col=value, ...
func (l *Lookup) keyText(row []Val) string {
	out := make([]string, len(l.keyIdx))
	for j, i := range l.keyIdx {
		s, _ := row[i].Str()
		out[j] = l.KeyCols[j] + "=" + strconv.Quote(s)
	}
	return strings.Join(out, ", ")
}

// appendPart appends one key value: as it is for a one-column key, with
// its length before it for a composite one, so that no two different
// keys have the same bytes whatever their values hold.
func (l *Lookup) appendPart(b []byte, s string) []byte {
	if len(l.keyIdx) > 1 {
		b = binary.AppendUvarint(b, uint64(len(s)))
	}
	return append(b, s...)
}

// find returns the row whose key is args (nil: no match, or a NULL
// key). A key whose type differs from the dimension column's is an error:
// Hive would compare a string with a bigint as doubles ('007' = 7), and a
// port that compared text instead would differ without a word.
func (l *Lookup) find(args []Val, buf *[]byte) ([]Val, error) {
	if len(args) != len(l.keyIdx) {
		return nil, fmt.Errorf("lookup %s: %d key values for %d key columns", l.ID, len(args), len(l.keyIdx))
	}
	if len(args) == 1 && args[0].K == KStr && !l.keyNum[0] {
		at, ok := l.index[args[0].S] // the common case: one string key
		if !ok {
			return nil, nil
		}
		return l.rows[at], nil
	}
	b := (*buf)[:0]
	for j, v := range args {
		if v.K == KNull {
			return nil, nil
		}
		var err error
		if b, err = l.appendKey(b, j, v); err != nil {
			return nil, err
		}
	}
	*buf = b
	at, ok := l.index[string(b)] // no copy for a map index
	if !ok {
		return nil, nil
	}
	return l.rows[at], nil
}

// appendKey appends key value j as the dimension column's text.
func (l *Lookup) appendKey(b []byte, j int, v Val) ([]byte, error) {
	num := l.keyNum[j]
	switch x := v.Box().(type) {
	case string:
		if !num {
			return l.appendPart(b, x), nil
		}
	case int:
		if num {
			return l.appendPart(b, strconv.Itoa(x)), nil
		}
	}
	want := "string"
	if num {
		want = "bigint"
	}
	return nil, fmt.Errorf("lookup %s: key %s of dim %s is a %s but the row's value %s is a %s: Hive would compare them as doubles, chama refuses; convert the row's side with %s(...)",
		l.ID, l.KeyCols[j], l.Dim, want, ToString(v.Box()), kindOf(v), want)
}

func kindOf(v Val) string {
	switch v.Box().(type) {
	case string:
		return "string"
	case int:
		return "bigint"
	case float64:
		return "double"
	case bool:
		return "boolean"
	}
	return fmt.Sprintf("%T", v.Box())
}

// lookupFuncs are dim_value and dim_match, the calls a join compiles to.
func (s *Set) lookupFuncs() []fn {
	return []fn{
		{name: "dim_value", body: boxed(s.dimValueV()), types: []any{sigN}},
		{name: "dim_match", body: boxed(s.dimMatchV()), types: []any{sigN}},
	}
}

// lookup finds the join a call names (its first argument).
func (s *Set) lookup(fn string, args []Val) (*Lookup, error) {
	id, ok := args[0].Str()
	if !ok || args[0].K != KStr {
		return nil, fmt.Errorf("%s: the first argument names a lookup", fn)
	}
	l := s.sh.Lookups[id]
	if l == nil {
		return nil, fmt.Errorf("%s: no lookup %q is loaded", fn, id)
	}
	return l, nil
}

// dimValueV is dim_value(lookup, column, key...): the column of the
// dimension row whose key is key, or NULL when none is (a left join's
// NULLs; an inner join has dropped the row already).
func (s *Set) dimValueV() FastFunc {
	var buf []byte
	return func(args []Val, dst *Val) error {
		if len(args) < 3 {
			return fmt.Errorf("dim_value: wrong number of arguments (%d)", len(args))
		}
		l, err := s.lookup("dim_value", args)
		if err != nil {
			return err
		}
		c, _ := args[1].Str()
		ci, ok := l.col[c]
		if !ok {
			return fmt.Errorf("dim_value: %s is not a column of dim %s", c, l.Dim)
		}
		row, err := l.find(args[2:], &buf)
		if err != nil {
			return err
		}
		if row == nil {
			*dst = Val{}
			return nil
		}
		*dst = row[ci]
		return nil
	}
}

// dimMatchV is dim_match(lookup, key...): whether a dimension row has the
// key (an inner join keeps the row only then; a NULL key never matches).
func (s *Set) dimMatchV() FastFunc {
	var buf []byte
	return func(args []Val, dst *Val) error {
		if len(args) < 2 {
			return fmt.Errorf("dim_match: wrong number of arguments (%d)", len(args))
		}
		l, err := s.lookup("dim_match", args)
		if err != nil {
			return err
		}
		row, err := l.find(args[1:], &buf)
		if err != nil {
			return err
		}
		*dst = Bool(row != nil)
		return nil
	}
}

// boxed is a FastFunc as a generic function (expr's VM path).
func boxed(f FastFunc) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		vs := make([]Val, len(args))
		for i, a := range args {
			vs[i] = Any(a)
		}
		var out Val
		if err := f(vs, &out); err != nil {
			return nil, err
		}
		return out.Box(), nil
	}
}
