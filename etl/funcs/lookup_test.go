package funcs

import (
	"errors"
	"strings"
	"testing"
)

// testLookup joins on (k string, n bigint): rows (a, 1) and (b, 2).
func testLookup(t *testing.T) *Lookup {
	t.Helper()
	l, err := NewLookup("t.d", "dim", []string{"k", "n", "name"}, []string{"string", "bigint", "string"}, []string{"k", "n"})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range [][]Val{{Str("a"), Any(1), Str("A")}, {Str("b"), Any(2), Str("B")}, {Val{}, Any(3), Str("null key")}} {
		if err := l.Add(r, "f line "+string(rune('1'+i))); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// dim_value and dim_match follow Hive's equi-join: NULL never matches,
// a composite key matches on every column, types must agree.
func TestLookupFind(t *testing.T) {
	s := (&Shared{Lookups: map[string]*Lookup{"t.d": testLookup(t)}}).NewSet()
	val, match := s.Fast("dim_value"), s.Fast("dim_match")
	for _, c := range []struct {
		k, n  Val
		want  any
		match bool
	}{
		{Str("a"), Any(1), "A", true},
		{Str("b"), Any(2), "B", true},
		{Str("a"), Any(2), nil, false},
		{Val{}, Any(3), nil, false},
		{Str("a"), Val{}, nil, false},
		{Str("c"), Any(1), nil, false},
	} {
		var v, m Val
		if err := val([]Val{Str("t.d"), Str("name"), c.k, c.n}, &v); err != nil {
			t.Fatal(err)
		}
		if err := match([]Val{Str("t.d"), c.k, c.n}, &m); err != nil {
			t.Fatal(err)
		}
		if v.Box() != c.want || m.True() != c.match {
			t.Errorf("(%v, %v): value %v match %v, want %v %v", c.k.Box(), c.n.Box(), v.Box(), m.True(), c.want, c.match)
		}
	}
	var v Val
	err := val([]Val{Str("t.d"), Str("name"), Str("a"), Str("1")}, &v)
	if err == nil || !strings.Contains(err.Error(), "key n of dim dim is a bigint but the row's value 1 is a string: Hive would compare them as doubles") {
		t.Errorf("string against bigint: %v", err)
	}
	err = val([]Val{Str("t.d"), Str("name"), Any(1.5), Any(1)}, &v)
	if err == nil || !strings.Contains(err.Error(), "is a double") {
		t.Errorf("double against string: %v", err)
	}
	// Composite keys whose joined bytes would be equal stay apart.
	c, _ := NewLookup("t.c", "dim", []string{"a", "b"}, []string{"string", "string"}, []string{"a", "b"})
	if err := c.Add([]Val{Str("x\x00"), Str("y")}, "1"); err != nil {
		t.Fatal(err)
	}
	if err := c.Add([]Val{Str("x"), Str("\x00y")}, "2"); err != nil {
		t.Fatalf("two keys taken as one: %v", err)
	}
	var buf []byte
	if r, _ := c.find([]Val{Str("x"), Str("\x00y")}, &buf); r == nil || r[1].S != "\x00y" {
		t.Errorf("composite find: %v", r)
	}
	l := testLookup(t)
	if l.Rows() != 2 || l.NullKeys != 1 {
		t.Errorf("rows %d null keys %d", l.Rows(), l.NullKeys)
	}
}

// A key two rows share is refused, unless distinct and the rows agree on
// the projection.
func TestLookupDuplicates(t *testing.T) {
	l, _ := NewLookup("t.d", "dim", []string{"k", "v", "w"}, []string{"string", "string", "bigint"}, []string{"k"})
	_ = l.Add([]Val{Str("a"), Str("x"), Any(1)}, "f line 1")
	err := l.Add([]Val{Str("a"), Str("x"), Any(1)}, "f line 2")
	var dup *DuplicateKeyError
	if !errors.As(err, &dup) || dup.First != "f line 1" || dup.Second != "f line 2" || dup.Key != `k="a"` {
		t.Fatalf("without distinct: %v", err)
	}
	l, _ = NewLookup("t.d", "dim", []string{"k", "v", "w"}, []string{"string", "string", "bigint"}, []string{"k"})
	if err := l.SetDistinct([]string{"k", "v"}); err != nil {
		t.Fatal(err)
	}
	_ = l.Add([]Val{Str("a"), Str("x"), Any(1)}, "f line 1")
	if err := l.Add([]Val{Str("a"), Str("x"), Any(2)}, "f line 2"); err != nil || l.Collapsed != 1 {
		t.Fatalf("distinct on k, v: %v, collapsed %d", err, l.Collapsed)
	}
	if err := l.Add([]Val{Str("a"), Str("y"), Any(1)}, "f line 3"); !errors.As(err, &dup) {
		t.Fatalf("distinct rows sharing a key: %v", err)
	}
	if _, err := NewLookup("t.d", "dim", []string{"k"}, []string{"double"}, []string{"k"}); err == nil {
		t.Error("a double key was accepted")
	}
}

// Compile checks a call against the declared lookups and replaces names.
func TestLookupCompile(t *testing.T) {
	s := (&Shared{Lookups: map[string]*Lookup{"t.d": testLookup(t)}}).NewSet()
	for code, want := range map[string]string{
		`dim_value("t.x", "name", a, 1)`: `no lookup "t.x"`,
		`dim_value("t.d", "zz", a, 1)`:   "zz is not a column of dim dim (it has k, n, name)",
		`dim_match("t.d", a)`:            "lookup t.d joins on 2 column(s) (k, n), got 1 key value(s)",
		`dim_value(a, "name", a, 1)`:     "the first argument names a lookup, as a string",
	} {
		_, err := s.Compile(code, []string{"a"})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", code, err, want)
		}
	}
	c, err := s.Compile(`concat(nm, "!") == "A!" && nm2 != ""`, []string{"a"}, map[string]string{"nm": `dim_value("t.d", "name", a, 1)`, "nm2": "nm"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Columns, ",") != "a" || strings.Join(c.Funcs, ",") != "concat,dim_value" {
		t.Errorf("columns %v funcs %v", c.Columns, c.Funcs)
	}
	// A name that is also a function's: calls keep the function.
	if _, err := s.Compile(`trim(trim)`, []string{"a"}, map[string]string{"trim": `dim_value("t.d", "name", a, 1)`}); err != nil {
		t.Errorf("a name shadowing a function: %v", err)
	}
}

func TestIdents(t *testing.T) {
	for code, want := range map[string]string{
		`trim(trim) + a`:                 "a,trim",
		`concat(x, "y") == upper(z)`:     "x,z",
		`dim_value("t.d", "name", k, n)`: "k,n",
		`bad (`:                          "",
	} {
		if got := strings.Join(Idents(code), ","); got != want {
			t.Errorf("%s: %q, want %q", code, got, want)
		}
	}
}
